"""The App's side of AWS/EKS (issue 12): which EKS cluster the active context is, the calls into the data side
(`ecotui.aws`, helper modules imported only here and only when an AWS feature is used), the node describe's EC2
section and the EBS snapshot flow.

    eks_target(app)            -> EksTarget | None   (config aws_profile/aws_region/eks_cluster or `eks:`, a
                                                      discovered context "eks:profile/region/name", or the
                                                      kubeconfig user's `aws eks get-token` exec plugin)
    aws_scope(app)             -> (profiles, regions) to discover in (config `aws:`, else AWS_PROFILE/AWS_REGION)
    ec2_section(app, providerID) -> the "EC2:" lines of a node's describe ("" for a node not on EC2)
    request_snapshot(app, kind, keys)  [snapshot_volume] on a PVC / PV row (the flow: ui/snapshot_flow.py)

Non-AWS contexts never reach `ecotui.aws`: `ec2_section` returns "" before importing anything when the node's
providerID is not `aws:///…` or the context is not an AWS context, and the node columns are only polled for AWS
contexts (ui/ec2_columns.py). Every AWS failure is one line (`ecotui.aws.errors.explain`).

The functions named `_aws_*` are the only calls into `ecotui.aws`; UI tests replace them with small fakes.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.textsafe import inert, one_line

AWS_TIMEOUT_S = 20.0     # one describe / discovery call, at most
PROGRESS_EVERY = 0.5     # how often the snapshot's progress is looked at


@dataclass(frozen=True)
class EksTarget:
    """The EKS cluster behind a context, and how to reach AWS for it."""

    cluster: str
    region: str | None
    profile: str | None
    role_arn: str | None = None
    source: str = "config"      # config | discovered | kubeconfig exec

    @property
    def where(self) -> str:
        return f"AWS profile {self.profile or 'default'} · region {self.region or '(default)'}"


# ---- calls into ecotui.aws (helper D's data side); UI tests monkeypatch these ------------------------------

def _aws_available() -> bool:
    try:
        from ecotui.aws.session import available
    except ImportError:
        return False
    return bool(available())


async def _aws_discover(profiles: Sequence[str | None], regions: Sequence[str]) -> tuple[list[Any], list[str]]:
    from ecotui.aws.discovery import discover
    clusters, problems = await discover(list(profiles), list(regions))
    return list(clusters), list(problems)


async def _aws_cluster_info(target: EksTarget) -> Any:
    from ecotui.aws.eks_info import cluster_info
    return await cluster_info(target.profile, target.region, target.cluster)


async def _aws_instances(profile: str | None, region: str | None, ids: Sequence[str]) -> dict[str, Any]:
    from ecotui.aws import ec2
    return dict(await ec2.instances(list(ids), profile=profile, region=region))


def _aws_volume_of(pv: Any) -> tuple[str, str | None] | None:
    from ecotui.aws.ebs import volume_of
    got = volume_of(pv)
    return None if got is None else (got[0], got[1])


async def _aws_plan_snapshot(target: EksTarget, volume_id: str, region: str | None, *, pv: str, pvc: str,
                             context: str) -> Any:
    from ecotui.aws.ebs import plan_snapshot
    return await plan_snapshot(volume_id, region=region, profile=target.profile, pv=pv, pvc=pvc, context=context)


async def _aws_create_snapshot(plan: Any, gate: Any, progress: Any) -> Any:
    from ecotui.aws.ebs import create_snapshot
    return await create_snapshot(plan, gate, progress)


def _aws_explain(exc: BaseException, profile: str | None) -> str:
    """One line for any AWS failure."""
    if isinstance(exc, EcotuiError):
        return exc.message
    try:
        from ecotui.aws.errors import explain
        return explain(exc, profile).message
    except Exception:  # noqa: BLE001 - never a traceback
        return f"{type(exc).__name__}: {one_line(str(exc), 200)}"


def explain(exc: BaseException, profile: str | None) -> str:
    return one_line(_aws_explain(exc, profile), 300)


# ---- the active context -------------------------------------------------------------------------------------

def factory_of(app: Any) -> Any:
    """The WorkspaceFactory behind the App (its `build` is the App's workspace_factory), or None."""
    f = getattr(app, "aws_factory", None)
    if f is not None:
        return f
    return getattr(getattr(app, "workspace_factory", None), "__self__", None)


def parse_context_name(name: str) -> EksTarget | None:
    """A discovered context "eks:profile/region/cluster" → its target (profile "default" = the default chain)."""
    if not name.startswith("eks:"):
        return None
    parts = name[4:].split("/", 2)
    if len(parts) != 3 or not all(parts[1:]):
        return None
    profile = parts[0] or None
    return EksTarget(parts[2], parts[1], None if profile == "default" else profile, source="discovered")


def eks_target(app: Any) -> EksTarget | None:
    """The EKS cluster of the active context, or None for a context that is not EKS (no AWS call is made)."""
    ws = app.workspace
    prof = ws.profile
    aws = prof.aws
    cluster = getattr(aws, "cluster", None)
    if cluster:
        return EksTarget(cluster, aws.region, aws.profile, getattr(aws, "role_arn", None), "config")
    auth = getattr(getattr(ws.session, "auth", None), "eks", None)   # config eks:, exec match, discovered
    if auth is not None and getattr(auth, "cluster", None):
        source = "discovered" if prof.context.startswith("eks:") else "eks token"
        return EksTarget(auth.cluster, getattr(auth, "region", None) or aws.region,
                         getattr(auth, "profile", None) or aws.profile, getattr(auth, "role_arn", None), source)
    named = parse_context_name(prof.context)
    if named is not None:
        return named
    return _exec_target(app, prof.context, aws)


def _exec_target(app: Any, context: str, aws: Any) -> EksTarget | None:
    """The kubeconfig user's exec plugin (`aws eks get-token --cluster-name X …`, aws-iam-authenticator)."""
    factory = factory_of(app)
    kubeconfig = getattr(factory, "kubeconfig", None)
    if kubeconfig is None:
        return None
    try:
        ex = kubeconfig.resolve(context).user.exec
    except Exception:  # noqa: BLE001 - not an exec user, or not in the kubeconfig (a discovered context)
        return None
    if ex is None:
        return None
    try:
        from ecotui.aws.execmatch import eks_from_exec
        got = eks_from_exec(ex)
    except Exception:  # noqa: BLE001
        return None
    if got is None:
        return None
    return EksTarget(got.cluster, getattr(got, "region", None) or aws.region,
                     getattr(got, "profile", None) or aws.profile, getattr(got, "role_arn", None), "kubeconfig exec")


def aws_scope(app: Any) -> tuple[list[str | None], list[str]]:
    """Profiles and regions to discover clusters in: config `aws: {profiles, regions}`, else the active context's
    aws_profile / aws_region; empty = the defaults of `discover` (AWS_PROFILE / the default chain, and each
    profile's own region)."""
    cfg = getattr(getattr(factory_of(app), "config", None), "aws", None)
    profiles: list[str | None] = [p for p in (getattr(cfg, "profiles", None) or ()) if p]
    regions = [r for r in (getattr(cfg, "regions", None) or ()) if r]
    aws = app.workspace.profile.aws
    if not profiles and aws.profile:
        profiles = [aws.profile]
    if not regions and aws.region:
        regions = [aws.region]
    return profiles, regions


def ec2_columns_wanted(app: Any) -> bool:
    """Config `aws: {node_columns_ec2: true}` (the columns then show on AWS contexts only)."""
    cfg = getattr(factory_of(app), "config", None)
    if cfg is None:
        return bool(getattr(app, "ec2_columns", False))
    return bool(getattr(getattr(cfg, "aws", None), "node_columns_ec2", False))


# ---- node → EC2 ---------------------------------------------------------------------------------------------

def instance_of(provider_id: str) -> tuple[str, str] | None:
    """"aws:///us-east-1a/i-0abc" → ("us-east-1a", "i-0abc"); None for anything else (no import of botocore)."""
    if not provider_id.startswith("aws://"):
        return None
    parts = [p for p in provider_id[len("aws://"):].split("/") if p]
    if not parts or not parts[-1].startswith("i-"):
        return None
    return (parts[-2] if len(parts) >= 2 else "", parts[-1])


def region_of_zone(zone: str) -> str | None:
    """"us-east-1a" → "us-east-1" (local zones "us-east-1-bos-1a" too)."""
    if not zone:
        return None
    return zone[:-1] if zone[-1].isalpha() and zone[-2:-1].isdigit() else None


def _a(obj: Any, *names: str, default: Any = "") -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v not in (None, ""):
            return v
    return default


def event_text(e: Any) -> str:
    """"instance-retirement 2026-12-03T00:00:00Z: The instance is scheduled for retirement"."""
    if isinstance(e, str):
        return e
    code, when, what = _a(e, "code"), _a(e, "not_before"), _a(e, "description")
    return f"{code}{' ' + str(when) if when else ''}{': ' + str(what) if what else ''}"


def problems_of(info: Any) -> list[str]:
    got = getattr(info, "problems", ())
    return list(got() if callable(got) else got)


def ec2_lines(instance: str, info: Any) -> list[str]:
    """The describe section of one instance (values made inert)."""
    def row(label: str, value: Any) -> str:
        return f"  {label + ':':<19}{inert(one_line(str(value), 200)) if value not in (None, '') else '<unknown>'}"
    events = _a(info, "events", "scheduled_events", default=())
    out = ["EC2:", row("Instance", instance), row("Instance Type", _a(info, "instance_type", "type")),
           row("Availability Zone", _a(info, "zone", "az", "availability_zone")),
           row("Lifecycle", _a(info, "lifecycle", default="on-demand")),
           row("Launch Time", _a(info, "launch_time")), row("State", _a(info, "state")),
           row("Status Checks", f"system {_a(info, 'system_status', default='?')}, "
                                f"instance {_a(info, 'instance_status', default='?')}")]
    if events:
        out.append("  Scheduled Events:")
        out.extend(f"    {inert(one_line(event_text(e), 200))}" for e in events)
    else:
        out.append(row("Scheduled Events", "<none>"))
    for p in problems_of(info):
        out.append(f"  ! {inert(one_line(p, 200))}")
    return out


async def ec2_section(app: Any, provider_id: str) -> str:
    """The "EC2:" section for a node's describe: "" when the node is not an EC2 instance; one line when the
    context is not an AWS context or AWS fails. Never raises."""
    inst = instance_of(provider_id or "")
    if inst is None:
        return ""
    target = eks_target(app)
    if target is None:
        return "EC2:\n  (not fetched: this context is not an AWS context — set aws_profile/aws_region/eks_cluster)\n"
    zone, iid = inst
    region = region_of_zone(zone) or target.region
    try:
        got = await asyncio.wait_for(_aws_instances(target.profile, region, [iid]), AWS_TIMEOUT_S)
    except asyncio.TimeoutError:
        return f"EC2:\n  (EC2 did not answer within {AWS_TIMEOUT_S:g} s)\n"
    except Exception as exc:  # noqa: BLE001 - one line in the describe
        return f"EC2:\n  ({explain(exc, target.profile)})\n"
    info = got.get(iid)
    if info is None:
        return f"EC2:\n  {inert(iid)}: not found in {region or 'the region'} ({target.where})\n"
    return "\n".join(ec2_lines(iid, info)) + "\n"


# ---- [snapshot_volume] ------------------------------------------------------------------------------------

SNAPSHOT_KINDS = ("persistentvolumeclaims", "persistentvolumes")


def request_snapshot(app: Any, kind: str, keys: list[str]) -> None:
    from ecotui.ui.snapshot_flow import SnapshotFlow
    SnapshotFlow(app).request(kind, keys)
