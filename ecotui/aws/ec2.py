"""Node → EC2 instance: type, AZ, lifecycle (spot/on-demand), launch time, state, status checks and scheduled events
(spot interruptions, retirement, reboots). For node describe and the optional node columns.

`instance_id("aws:///us-east-1a/i-0abc")` → ("us-east-1a", "i-0abc"). `InstanceLookup(profile, region)` batches
describe_instances + describe_instance_status (IncludeAllInstances) 100 ids a call and caches answers ~60 s;
`await instances(ids, profile, region)` uses one shared lookup per (profile, region).
"""
from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import session as aws
from .errors import explain

BATCH = 100
CACHE_TTL_S = 60.0
_PROVIDER = re.compile(r"^aws:///(?P<zone>[a-z0-9-]+)/(?P<id>i-[0-9a-f]+)$")


def instance_id(provider_id: str | None) -> tuple[str, str] | None:
    """(zone, instance id) from a node's spec.providerID, or None when it is not an EC2 instance."""
    m = _PROVIDER.match((provider_id or "").strip())
    return (m.group("zone"), m.group("id")) if m else None


def region_of_zone(zone: str) -> str:
    """us-east-1a → us-east-1 (Local/Wavelength zones like us-east-1-bos-1a → us-east-1)."""
    m = re.match(r"^([a-z]{2}(?:-gov)?-[a-z]+-\d+)", zone)
    return m.group(1) if m else zone.rstrip("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class ScheduledEvent:
    code: str                     # instance-retirement | instance-stop | system-reboot | … | (spot) marked
    description: str = ""
    not_before: str = ""


@dataclass(frozen=True)
class InstanceInfo:
    id: str
    type: str = ""
    zone: str = ""
    lifecycle: str = "on-demand"  # on-demand | spot | scheduled | capacity-block
    launch_time: str = ""         # ISO 8601
    state: str = ""               # pending | running | stopping | stopped | shutting-down | terminated
    system_status: str = ""       # ok | impaired | insufficient-data | not-applicable | initializing
    instance_status: str = ""
    events: tuple[ScheduledEvent, ...] = ()
    private_dns: str = ""
    ami: str = ""

    @property
    def problems(self) -> list[str]:
        """Failing status checks and scheduled events (why a node should stand out); [] when all is well."""
        out = []
        if self.state and self.state not in ("running", "pending"):
            out.append(f"instance {self.state}")
        for what, st in (("system", self.system_status), ("instance", self.instance_status)):
            if st in ("impaired", "insufficient-data"):
                out.append(f"{what} status check {st}")
        for e in self.events:
            if e.description.startswith("[Completed]") or e.description.startswith("[Canceled]"):
                continue
            out.append(f"scheduled {e.code}" + (f" {e.not_before}" if e.not_before else "")
                       + (f": {e.description}" if e.description else ""))
        return out


def _iso(v: Any) -> str:
    return v.isoformat() if hasattr(v, "isoformat") else str(v or "")


def _from_instance(i: dict[str, Any]) -> InstanceInfo:
    return InstanceInfo(id=str(i.get("InstanceId", "")), type=str(i.get("InstanceType") or ""),
                        zone=str((i.get("Placement") or {}).get("AvailabilityZone") or ""),
                        lifecycle=str(i.get("InstanceLifecycle") or "on-demand"),
                        launch_time=_iso(i.get("LaunchTime")), state=str((i.get("State") or {}).get("Name") or ""),
                        private_dns=str(i.get("PrivateDnsName") or ""), ami=str(i.get("ImageId") or ""))


class InstanceLookup:
    """describe_instances + describe_instance_status for one (profile, region), cached `ttl` seconds."""

    def __init__(self, profile: str | None, region: str | None, *, ttl: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.profile, self.region, self._ttl, self._clock = profile, region, ttl, clock
        self._cache: dict[str, tuple[float, InstanceInfo | None]] = {}
        self.calls = 0    # AWS calls made (tests)

    def _fetch(self, ids: list[str]) -> dict[str, InstanceInfo]:
        ec2 = aws.client("ec2", self.profile, self.region)
        found: dict[str, InstanceInfo] = {}
        for start in range(0, len(ids), BATCH):
            batch = ids[start:start + BATCH]
            try:
                self.calls += 1
                got = _describe_tolerant(ec2, batch)
                for r in got:
                    for i in r.get("Instances") or ():
                        info = _from_instance(i)
                        found[info.id] = info
                known = [i for i in batch if i in found]
                if not known:
                    continue
                self.calls += 1
                st = ec2.describe_instance_status(InstanceIds=known, IncludeAllInstances=True)
                for s in st.get("InstanceStatuses") or ():
                    iid = str(s.get("InstanceId"))
                    base = found.get(iid)
                    if base is None:
                        continue
                    events = tuple(ScheduledEvent(str(e.get("Code", "")), str(e.get("Description") or ""),
                                                  _iso(e.get("NotBefore"))) for e in s.get("Events") or ())
                    found[iid] = InstanceInfo(
                        **{**base.__dict__, "system_status": str((s.get("SystemStatus") or {}).get("Status") or ""),
                           "instance_status": str((s.get("InstanceStatus") or {}).get("Status") or ""),
                           "events": events})
            except Exception as exc:
                raise explain(exc, self.profile, "ec2:DescribeInstances", self.region) from None
        return found

    async def instances(self, ids: Iterable[str]) -> dict[str, InstanceInfo]:
        """InstanceInfo per id that exists (unknown ids are left out). Raises AwsError (one line)."""
        now = self._clock()
        wanted = list(dict.fromkeys(ids))
        missing = [i for i in wanted if i not in self._cache or now - self._cache[i][0] >= self._ttl]
        if missing:
            got = await asyncio.to_thread(self._fetch, missing)
            now = self._clock()
            for i in missing:
                self._cache[i] = (now, got.get(i))
        out = {}
        for i in wanted:
            info = self._cache[i][1]
            if info is not None:
                out[i] = info
        return out

    def invalidate(self) -> None:
        self._cache.clear()


def _describe_tolerant(ec2: Any, ids: list[str]) -> list[dict[str, Any]]:
    """describe_instances of ids; an id that does not exist (InvalidInstanceID.NotFound fails the whole call) is
    dropped and the rest asked again."""
    remaining = list(ids)
    for _ in range(len(ids) + 1):
        if not remaining:
            return []
        try:
            return list(ec2.describe_instances(InstanceIds=remaining).get("Reservations") or ())
        except Exception as exc:
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")
            if code not in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                raise
            bad = set(re.findall(r"i-[0-9a-f]+", str(exc)))
            if not bad & set(remaining):
                return []
            remaining = [i for i in remaining if i not in bad]
    return []


_lookups: dict[tuple[str | None, str | None], InstanceLookup] = {}


def lookup(profile: str | None, region: str | None) -> InstanceLookup:
    """The shared InstanceLookup of (profile, region)."""
    key = (profile, region)
    lk = _lookups.get(key)
    if lk is None:
        lk = _lookups[key] = InstanceLookup(profile, region)
    return lk


async def instances(ids: Iterable[str], profile: str | None = None,
                    region: str | None = None) -> dict[str, InstanceInfo]:
    """InstanceInfo per existing instance id, through the shared cached lookup of (profile, region)."""
    return await lookup(profile, region).instances(ids)
