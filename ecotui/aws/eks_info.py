"""The runbook's EKS upgrade procedure made visible [eks_info]: cluster version and the upgrade available, node
groups (version, AMI release, desired/min/max, status, health issues), add-ons (version, status, newest compatible
version) and updates in progress (describe_update status and errors). Read-only: nothing here changes anything.

`await cluster_info(profile, region, name)` never raises for a part that cannot be read (an API that moto or an
older botocore lacks, AccessDenied on one call): that part says why in `notes`; only a cluster that cannot be
described at all raises AwsError.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from . import session as aws
from .errors import AwsError, explain

NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class NodeGroupInfo:
    name: str
    version: str = ""
    release_version: str = ""          # the AMI release
    desired: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    status: str = ""
    health: tuple[str, ...] = ()       # "code: message (resources)" per health issue
    instance_types: tuple[str, ...] = ()
    capacity_type: str = ""            # ON_DEMAND | SPOT
    ami_type: str = ""


@dataclass(frozen=True)
class AddonInfo:
    name: str
    version: str = ""
    status: str = ""
    newest: str | None = None          # newest version compatible with the cluster's version (None: unknown)
    health: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateInfo:
    id: str
    type: str = ""
    status: str = ""
    created: str = ""
    errors: tuple[str, ...] = ()
    params: tuple[str, ...] = ()       # "Version=1.31" …
    nodegroup: str | None = None       # None: a cluster update


@dataclass(frozen=True)
class EksInfo:
    name: str
    region: str
    profile: str | None
    version: str = ""
    status: str = ""
    platform_version: str = ""
    endpoint: str = ""
    arn: str = ""
    upgrade: str | None = None         # the next minor version, when there is one
    upgrade_note: str = ""             # how `upgrade` was found ("from describe_cluster_versions" …)
    nodegroups: tuple[NodeGroupInfo, ...] = ()
    addons: tuple[AddonInfo, ...] = ()
    updates: tuple[UpdateInfo, ...] = ()
    notes: tuple[str, ...] = ()        # parts that could not be read, one line each

    @property
    def problems(self) -> list[str]:
        """Lines worth standing out: degraded node groups, failed updates, add-ons not ACTIVE."""
        out = [f"node group {g.name}: {h}" for g in self.nodegroups for h in g.health]
        out += [f"node group {g.name}: {g.status}" for g in self.nodegroups
                if g.status and g.status not in ("ACTIVE", "UPDATING", "CREATING") and not g.health]
        out += [f"add-on {a.name}: {a.status}" for a in self.addons if a.status and a.status not in ("ACTIVE",
                                                                                                      "UPDATING")]
        out += [f"update {u.type} {u.id}: {u.status}" + (f" — {'; '.join(u.errors)}" if u.errors else "")
                for u in self.updates if u.status in ("Failed", "Cancelled") or u.errors]
        return out


def _minor(version: str) -> tuple[int, int] | None:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def _next_minor(version: str) -> str | None:
    mm = _minor(version)
    return f"{mm[0]}.{mm[1] + 1}" if mm else None


def _note(what: str, exc: BaseException, profile: str | None, region: str) -> str:
    name = type(exc).__name__
    if name in ("UnknownOperationError", "OperationNotPageableError") or isinstance(exc, AttributeError):
        return f"{what}: {NOT_AVAILABLE} (this API is unknown to the endpoint/botocore)"
    err = explain(exc, profile, region=region)
    if err.kind == "api" and ("failed: 404" in err.message or "404 Not Found" in err.message):
        return f"{what}: {NOT_AVAILABLE} (not implemented by this endpoint)"
    if err.kind == "api" and ("NotImplemented" in err.message or "not yet implemented" in err.message.lower()
                              or "404" in err.message):
        return f"{what}: {NOT_AVAILABLE} ({err.message})"
    return f"{what}: {NOT_AVAILABLE} — {err.message}"


def _health(issues: Any) -> tuple[str, ...]:
    out = []
    for i in issues or ():
        res = ", ".join(str(r) for r in (i.get("resourceIds") or ())[:5])
        out.append(f"{i.get('code', '?')}: {i.get('message', '')}" + (f" ({res})" if res else ""))
    return tuple(out)


def _update(u: dict[str, Any], nodegroup: str | None) -> UpdateInfo:
    errors = tuple(f"{e.get('errorCode', '?')}: {e.get('errorMessage', '')}" for e in u.get("errors") or ())
    params = tuple(f"{p.get('type', '?')}={p.get('value', '')}" for p in u.get("params") or ())
    created: Any = u.get("createdAt")
    return UpdateInfo(id=str(u.get("id", "")), type=str(u.get("type", "")), status=str(u.get("status", "")),
                      created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
                      errors=errors, params=params, nodegroup=nodegroup)


def _collect(profile: str | None, region: str, name: str) -> EksInfo:
    eks = aws.client("eks", profile, region)
    try:
        cl = eks.describe_cluster(name=name)["cluster"]
    except Exception as exc:
        raise explain(exc, profile, "eks:DescribeCluster", region) from None
    notes: list[str] = []
    version = str(cl.get("version") or "")
    upgrade, upgrade_note = _upgrade(eks, version, notes, profile, region)
    groups: list[NodeGroupInfo] = []
    try:
        ng_names = [n for page in eks.get_paginator("list_nodegroups").paginate(clusterName=name)
                    for n in page.get("nodegroups") or ()]
        for ng in ng_names:
            try:
                g = eks.describe_nodegroup(clusterName=name, nodegroupName=ng)["nodegroup"]
            except Exception as exc:
                notes.append(_note(f"node group {ng}", exc, profile, region))
                continue
            sc = g.get("scalingConfig") or {}
            groups.append(NodeGroupInfo(
                name=str(g.get("nodegroupName", ng)), version=str(g.get("version") or ""),
                release_version=str(g.get("releaseVersion") or ""), desired=sc.get("desiredSize"),
                min_size=sc.get("minSize"), max_size=sc.get("maxSize"), status=str(g.get("status") or ""),
                health=_health((g.get("health") or {}).get("issues")),
                instance_types=tuple(str(t) for t in g.get("instanceTypes") or ()),
                capacity_type=str(g.get("capacityType") or ""), ami_type=str(g.get("amiType") or "")))
    except Exception as exc:
        ng_names = []
        notes.append(_note("node groups", exc, profile, region))
    addons = _addons(eks, name, version, notes, profile, region)
    updates: list[UpdateInfo] = []
    for ng in [None, *ng_names]:
        try:
            kw: dict[str, Any] = {"name": name} if ng is None else {"name": name, "nodegroupName": ng}
            ids = eks.list_updates(**kw).get("updateIds") or ()
            for uid in ids:
                dkw: dict[str, Any] = {"name": name, "updateId": uid}
                if ng is not None:
                    dkw["nodegroupName"] = ng
                updates.append(_update(eks.describe_update(**dkw)["update"], ng))
        except Exception as exc:
            notes.append(_note("updates" + (f" of node group {ng}" if ng else ""), exc, profile, region))
            break
    return EksInfo(name=str(cl.get("name") or name), region=region, profile=profile, version=version,
                   status=str(cl.get("status") or ""), platform_version=str(cl.get("platformVersion") or ""),
                   endpoint=str(cl.get("endpoint") or ""), arn=str(cl.get("arn") or ""), upgrade=upgrade,
                   upgrade_note=upgrade_note, nodegroups=tuple(groups), addons=tuple(addons),
                   updates=tuple(updates), notes=tuple(notes))


def _upgrade(eks: Any, version: str, notes: list[str], profile: str | None,
             region: str) -> tuple[str | None, str]:
    nxt = _next_minor(version)
    if nxt is None:
        return None, "unknown (no cluster version)"
    try:
        got = eks.describe_cluster_versions(clusterVersions=[nxt])
        known = [str(v.get("clusterVersion")) for v in got.get("clusterVersions") or ()]
        if nxt in known:
            return nxt, "from describe_cluster_versions"
        return None, f"none: {version} is the newest version (describe_cluster_versions)"
    except Exception as exc:
        notes.append(_note("available versions", exc, profile, region))
        return nxt, "the next minor version; not confirmed (describe_cluster_versions not available)"


def _addons(eks: Any, name: str, version: str, notes: list[str], profile: str | None,
            region: str) -> list[AddonInfo]:
    out: list[AddonInfo] = []
    try:
        names = [n for page in eks.get_paginator("list_addons").paginate(clusterName=name)
                 for n in page.get("addons") or ()]
    except Exception as exc:
        notes.append(_note("add-ons", exc, profile, region))
        return out
    newest_ok = True
    for n in names:
        try:
            a = eks.describe_addon(clusterName=name, addonName=n)["addon"]
        except Exception as exc:
            notes.append(_note(f"add-on {n}", exc, profile, region))
            continue
        newest = None
        if newest_ok:
            try:
                v = eks.describe_addon_versions(addonName=n, kubernetesVersion=version)
                vers = [str(i.get("addonVersion")) for ad in v.get("addons") or ()
                        for i in ad.get("addonVersions") or () if i.get("addonVersion")]
                newest = max(vers, key=_version_key) if vers else None
            except Exception as exc:
                newest_ok = False
                notes.append(_note("add-on versions", exc, profile, region))
        out.append(AddonInfo(name=str(a.get("addonName", n)), version=str(a.get("addonVersion") or ""),
                             status=str(a.get("status") or ""), newest=newest,
                             health=_health((a.get("health") or {}).get("issues"))))
    return out


def _version_key(v: str) -> tuple[int, ...]:
    digits = []
    for part in v.lstrip("v").replace("-", ".").split("."):
        num = "".join(ch for ch in part if ch.isdigit())
        digits.append(int(num) if num else -1)
    return tuple(digits)


async def cluster_info(profile: str | None, region: str | None, name: str) -> EksInfo:
    """Everything [eks_info] shows about one cluster (calls in a worker thread). Raises AwsError only when the
    cluster itself cannot be described."""
    def run() -> EksInfo:
        r = aws.region_of(profile, region)
        if not r:
            raise AwsError(f"no AWS region for EKS cluster {name}", "set the context's eks.region", "config")
        return _collect(profile, r, name)
    return await asyncio.to_thread(run)
