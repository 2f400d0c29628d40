"""EBS snapshots of a PersistentVolume's volume [snapshot_volume] — the runbook's
`aws ec2 create-snapshot --volume-id <id> --description "EcoTrack backup $(date)"`, through the write gate.

`volume_of(pv)` finds the EBS volume of a PV (in-tree `awsElasticBlockStore.volumeID` as `aws://us-east-1a/vol-…`
or `vol-…`; CSI `ebs.csi.aws.com` `volumeHandle`) and a region hint (from the zone in the volume ID, the PV's
topology labels or node affinity). `await plan_snapshot(...)` describes the volume (size, AZ, state) for the
preview; `await create_snapshot(plan, gate, progress_cb)` checks the gate first (`POST aws:ec2:CreateSnapshot`:
read-only refuses before any request), creates the snapshot and polls describe_snapshots until completed or error
(bounded), reporting progress.
"""
from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import session as aws
from .ec2 import region_of_zone
from .errors import AwsError, explain

CSI_DRIVER = "ebs.csi.aws.com"
GATE_PATH = "aws:ec2:CreateSnapshot"
_VOL = re.compile(r"^(?:aws://(?P<zone>[a-z0-9-]*)/)?(?P<id>vol-[0-9a-f]+)$")
_ZONE_LABELS = ("topology.ebs.csi.aws.com/zone", "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")


def volume_of(pv: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(volume id, region hint or None) of a PV backed by EBS, else None."""
    spec = pv.get("spec") or {}
    raw = None
    if isinstance(spec.get("awsElasticBlockStore"), Mapping):
        raw = str(spec["awsElasticBlockStore"].get("volumeID") or "")
    elif isinstance(spec.get("csi"), Mapping) and spec["csi"].get("driver") == CSI_DRIVER:
        raw = str(spec["csi"].get("volumeHandle") or "")
    if not raw:
        return None
    m = _VOL.match(raw.strip())
    if not m:
        return None
    zone = m.group("zone") or _zone_hint(pv)
    labels = (pv.get("metadata") or {}).get("labels") or {}
    region = next((str(labels[k]) for k in _REGION_LABELS if labels.get(k)), None)
    return m.group("id"), region or (region_of_zone(zone) if zone else None)


def _zone_hint(pv: Mapping[str, Any]) -> str | None:
    labels = (pv.get("metadata") or {}).get("labels") or {}
    for k in _ZONE_LABELS:
        if labels.get(k):
            return str(labels[k])
    terms = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")
    for t in terms or ():
        for e in t.get("matchExpressions") or ():
            if e.get("key") in _ZONE_LABELS and e.get("values"):
                return str(e["values"][0])
    return None


def runbook_description(now: datetime | None = None) -> str:
    """"EcoTrack backup <date>" like the runbook's `$(date)` (UTC)."""
    t = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return "EcoTrack backup " + t.strftime("%a %b %d %H:%M:%S UTC %Y")


@dataclass(frozen=True)
class SnapshotPlan:
    volume_id: str
    region: str
    profile: str | None
    description: str
    size_gib: int | None = None
    zone: str = ""
    volume_state: str = ""
    pv: str = ""
    pvc: str = ""                  # namespace/name
    context: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def preview(self) -> list[str]:
        size = f"{self.size_gib} GiB" if self.size_gib is not None else "size unknown"
        lines = [f"EBS snapshot of {self.volume_id} ({size}, {self.zone or self.region}, {self.volume_state or '?'})",
                 f"description: {self.description}",
                 f"AWS profile {self.profile or 'default'}, region {self.region}"]
        if self.pvc or self.pv:
            lines.append("volume of " + ", ".join(x for x in (f"PVC {self.pvc}" if self.pvc else "",
                                                               f"PV {self.pv}" if self.pv else "") if x))
        return lines


@dataclass(frozen=True)
class SnapshotProgress:
    snapshot_id: str
    state: str          # pending | completed | error
    progress: int       # percent
    elapsed_s: float


@dataclass(frozen=True)
class SnapshotResult:
    snapshot_id: str
    state: str          # completed | error | pending (timed out while still pending)
    progress: int
    elapsed_s: float
    error: str = ""
    volume_id: str = ""
    description: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "completed"


async def plan_snapshot(volume_id: str, *, region: str | None, profile: str | None, pv: str = "", pvc: str = "",
                        context: str = "", now: datetime | None = None) -> SnapshotPlan:
    """Describe the volume (a read) and say what will be done. Raises AwsError (one line) — also when the volume
    does not exist."""
    def run() -> SnapshotPlan:
        r = aws.region_of(profile, region)
        if not r:
            raise AwsError(f"no AWS region for volume {volume_id}", "set the context's eks.region", "config")
        ec2 = aws.client("ec2", profile, r)
        try:
            vols = ec2.describe_volumes(VolumeIds=[volume_id]).get("Volumes") or []
        except Exception as exc:
            raise explain(exc, profile, "ec2:DescribeVolumes", r) from None
        if not vols:
            raise AwsError(f"EBS volume {volume_id} not found in {r}", "check the PV and the context's AWS region",
                           "notfound")
        v = vols[0]
        tags: tuple[tuple[str, str], ...] = (("ecotui:pv", pv),) if pv else ()
        tags += (("ecotui:pvc", pvc),) if pvc else ()
        tags += (("ecotui:context", context),) if context else ()
        return SnapshotPlan(volume_id=volume_id, region=r, profile=profile, description=runbook_description(now),
                            size_gib=v.get("Size"), zone=str(v.get("AvailabilityZone") or ""),
                            volume_state=str(v.get("State") or ""), pv=pv, pvc=pvc, context=context, tags=tags)
    return await asyncio.to_thread(run)


ProgressCb = Callable[[SnapshotProgress], Any]


async def create_snapshot(plan: SnapshotPlan, gate: Any, progress_cb: ProgressCb | None = None, *,
                          poll_s: float = 3.0, timeout_s: float = 1800.0,
                          clock: Callable[[], float] = time.monotonic) -> SnapshotResult:
    """Create the snapshot and follow it until completed/error or `timeout_s` (then state "pending").
    `gate.check("POST", "aws:ec2:CreateSnapshot")` first: ReadOnlyError before any request. Raises AwsError when
    the snapshot cannot be created; a snapshot that ends in error is a result with state "error"."""
    gate.check("POST", GATE_PATH)
    ec2 = aws.client("ec2", plan.profile, plan.region)
    kw: dict[str, Any] = {"VolumeId": plan.volume_id, "Description": plan.description}
    if plan.tags:
        kw["TagSpecifications"] = [{"ResourceType": "snapshot",
                                    "Tags": [{"Key": k, "Value": v[:255]} for k, v in plan.tags]}]
    t0 = clock()
    try:
        snap = await asyncio.to_thread(lambda: ec2.create_snapshot(**kw))
    except Exception as exc:
        raise explain(exc, plan.profile, "ec2:CreateSnapshot", plan.region) from None
    sid = str(snap.get("SnapshotId", ""))
    state, pct, err = str(snap.get("State") or "pending"), _pct(snap.get("Progress")), str(snap.get("StateMessage") or "")
    max_polls = max(1, int(timeout_s / max(poll_s, 0.01)) + 1)
    for _ in range(max_polls):
        if progress_cb is not None:
            progress_cb(SnapshotProgress(sid, state, pct, clock() - t0))
        if state in ("completed", "error") or clock() - t0 >= timeout_s:
            break
        await asyncio.sleep(poll_s)
        try:
            got = await asyncio.to_thread(lambda: ec2.describe_snapshots(SnapshotIds=[sid]))
        except Exception as exc:
            e = explain(exc, plan.profile, "ec2:DescribeSnapshots", plan.region)
            if e.kind in ("unreachable",):
                continue   # keep following; bounded by max_polls
            raise e from None
        snaps = got.get("Snapshots") or []
        if snaps:
            s = snaps[0]
            state, pct = str(s.get("State") or state), _pct(s.get("Progress"), pct)
            err = str(s.get("StateMessage") or err)
    if state == "completed":
        pct = 100
    return SnapshotResult(sid, state, pct, clock() - t0, error=err if state == "error" else "",
                          volume_id=plan.volume_id, description=plan.description)


def _pct(v: Any, default: int = 0) -> int:
    try:
        return int(str(v or "").rstrip("%") or default)
    except ValueError:
        return default
