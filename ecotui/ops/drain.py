"""`kubectl drain NODE`, planned first: which pods get evicted, which are skipped, what blocks.

`plan_drain` sends GETs only. It lists the node's pods like kubectl (`fieldSelector=spec.nodeName=NODE`,
`labelSelector=--pod-selector`, paged) and runs kubectl's filters in kubectl's order (pkg/drain/filters.go):
DaemonSet-managed (GET the DaemonSet; skipped with --ignore-daemonsets, an error without it, evicted with a
warning when the DaemonSet is gone and --force is set), mirror pods (skipped), local storage (emptyDir: an
error without --delete-emptydir-data), unmanaged (no controller ownerRef: an error without --force). Finished
pods (Succeeded/Failed) pass the DaemonSet, local-storage and unmanaged filters. Any error makes the preview
`blocked` with kubectl's own text, and nothing is evicted. The PodDisruptionBudgets of the namespaces
involved are read to flag the pods whose PDB allows no disruption right now.

`DrainPlan.apply` (or `DrainRun(api, plan, opts)` for live progress and cancel, see drain_run.py) cordons
and evicts. Running plan + apply again after a cancel or a failure resumes: evicted pods are no longer
listed, and an already cordoned node is left as it is.
"""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from ecotui.errors import EcotuiError
from ecotui.kube.client import HttpStatusError
from ecotui.ops.api import KubeAPI
from ecotui.ops.outcome import Outcome, Preview, Target

DS_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DS_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
ORPHAN_WARNING = "deleting DaemonSet Pods whose DaemonSet is gone"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(frozen=True)
class DrainOptions:
    ignore_daemonsets: bool = True
    delete_emptydir_data: bool = True
    force: bool = False            # unmanaged pods only when asked
    grace_period: int = -1         # -1: the pod's own terminationGracePeriodSeconds
    timeout: float = 300.0         # seconds for the whole drain; 0 = no limit
    pod_selector: str = ""         # label selector
    retry_delay: float = 5.0       # kubectl's EvictErrorRetryDelay (tests lower it)


# ---- the slice of a pod / PDB the drain reads ---------------------------------------------------------

_S: dict[str, Any] = dict(frozen=True, gc=False)


class _Owner(msgspec.Struct, **_S):
    kind: str = ""
    name: str = ""
    controller: bool = False


class _Meta(msgspec.Struct, **_S):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    deletionTimestamp: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    ownerReferences: tuple[_Owner, ...] = ()


class _Volume(msgspec.Struct, **_S):
    name: str = ""
    emptyDir: dict[str, Any] | None = None


class _PodSpec(msgspec.Struct, **_S):
    nodeName: str = ""
    volumes: tuple[_Volume, ...] = ()


class _PodStatus(msgspec.Struct, **_S):
    phase: str = ""


class DrainPod(msgspec.Struct, **_S):
    metadata: _Meta = _Meta()
    spec: _PodSpec = _PodSpec()
    status: _PodStatus = _PodStatus()


class _ListMeta(msgspec.Struct, **_S):
    resourceVersion: str = ""
    continue_: str = msgspec.field(default="", name="continue")


class DrainPodList(msgspec.Struct, **_S):
    items: tuple[DrainPod, ...] = ()
    metadata: _ListMeta = _ListMeta()


# ---- the plan -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PodRef:
    """A pod the drain evicts; `uid` guards against touching a different pod of the same name."""

    namespace: str
    name: str
    uid: str
    flags: tuple[str, ...] = ()        # "unmanaged", "emptyDir", "orphaned DaemonSet pod"
    pdbs: tuple[str, ...] = ()         # names of the PDBs (same namespace) selecting it

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class SkippedPod:
    namespace: str
    name: str
    reason: str                        # "DaemonSet", "mirror pod"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PdbBlock:
    pod: str                           # "ns/name"
    pdb: str                           # PDB name (the pod's namespace)
    disruptions_allowed: int


@dataclass(frozen=True)
class DrainPlan:
    node: str
    opts: DrainOptions
    preview: Preview
    evict: tuple[PodRef, ...] = ()
    skipped: tuple[SkippedPod, ...] = ()
    pdb_blocked: tuple[PdbBlock, ...] = ()
    node_uid: str = ""
    cordoned: bool = False             # the node was already unschedulable when planned

    async def apply(self, api: KubeAPI) -> Outcome:
        return await DrainRun(api, self, self.opts).run()


def short_error(e: BaseException) -> str:
    """The API's message without the server/method/path prefix KubeClient puts in front of it."""
    msg = e.message if isinstance(e, EcotuiError) else str(e)
    for sep in (" failed with HTTP ", "forbidden: "):
        if sep in msg:
            head, _, tail = msg.partition(sep)
            return tail if sep == "forbidden: " else "HTTP " + tail
    return msg


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics: None matches nothing, {} matches everything."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or ():
        key, op, values = req.get("key", ""), req.get("operator", ""), req.get("values") or ()
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _controller(pod: DrainPod) -> _Owner | None:
    return next((o for o in pod.metadata.ownerReferences if o.controller), None)


def _finished(pod: DrainPod) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


async def _daemonset_exists(api: KubeAPI, ns: str, name: str) -> bool | str:
    """True / False (404) / the error text."""
    try:
        await api.get(f"/apis/apps/v1/namespaces/{ns}/daemonsets/{name}")
        return True
    except HttpStatusError as e:
        if e.status == 404:
            return False
        return short_error(e)
    except EcotuiError as e:
        return short_error(e)


async def _pdbs(api: KubeAPI, ns: str) -> list[dict[str, Any]] | str:
    try:
        body = await api.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets")
        return list((body or {}).get("items") or [])
    except EcotuiError as e:
        return short_error(e)


def _filter_rank(error: tuple[str, str]) -> int:
    """kubectl's filter order: DaemonSet (and its GET errors), local storage, unmanaged."""
    return {LOCAL_FATAL: 1, UNMANAGED_FATAL: 2}.get(error[0], 0)


def _group(pairs: list[tuple[str, str]]) -> list[str]:
    """[(message, pod key)] -> ["message: a, b", ...] in first-seen order (kubectl's grouping)."""
    by: dict[str, list[str]] = {}
    for msg, key in pairs:
        by.setdefault(msg, []).append(key)
    return [f"{m}: {', '.join(keys)}" for m, keys in by.items()]


async def plan_drain(api: KubeAPI, node: str, opts: DrainOptions) -> DrainPlan:
    """GETs only: the node, its pods (kubectl's filters), the DaemonSets and PDBs involved."""
    params = opts_dict(opts)
    targets = (Target("nodes", node),)

    def blocked(text: str) -> DrainPlan:
        return DrainPlan(node, opts, Preview("drain", targets, blocked=text, params=params))

    try:
        node_obj = await api.get(f"/api/v1/nodes/{node}")
    except HttpStatusError as e:
        return blocked(f'node "{node}" not found' if e.status == 404 else short_error(e))
    except EcotuiError as e:
        return blocked(short_error(e))
    node_uid = str((node_obj.get("metadata") or {}).get("uid", ""))
    cordoned = bool((node_obj.get("spec") or {}).get("unschedulable"))

    q = {"fieldSelector": f"spec.nodeName={node}"}
    if opts.pod_selector:
        q["labelSelector"] = opts.pod_selector
    try:
        items, _ = await api.list("/api/v1/pods", DrainPodList, params=q)
    except EcotuiError as e:
        return blocked(short_error(e))
    pods = sorted((p for p in items if p.spec.nodeName == node),  # re-check: never another node's pod
                  key=lambda p: (p.metadata.namespace, p.metadata.name))

    ds_refs = {(p.metadata.namespace, c.name) for p in pods
               if (c := _controller(p)) is not None and c.kind == "DaemonSet" and not _finished(p)}
    ds_keys = sorted(ds_refs)
    ds_state = dict(zip(ds_keys, await asyncio.gather(*(_daemonset_exists(api, ns, n) for ns, n in ds_keys))))

    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    evict: list[tuple[DrainPod, tuple[str, ...]]] = []
    skipped: list[SkippedPod] = []
    for p in pods:
        key = f"{p.metadata.namespace}/{p.metadata.name}"
        ctrl = _controller(p)
        flags: list[str] = []
        if ctrl is not None and ctrl.kind == "DaemonSet" and not _finished(p):
            state = ds_state[(p.metadata.namespace, ctrl.name)]
            if state is False and opts.force:
                warnings.append((ORPHAN_WARNING, key))
                flags.append("orphaned DaemonSet pod")
            elif state is not True:
                errors.append((state if isinstance(state, str) else
                               f'daemonsets.apps "{ctrl.name}" not found', key))
                continue
            elif not opts.ignore_daemonsets:
                errors.append((DS_FATAL, key))
                continue
            else:
                warnings.append((DS_WARNING, key))
                skipped.append(SkippedPod(p.metadata.namespace, p.metadata.name, "DaemonSet"))
                continue
        if MIRROR_ANNOTATION in p.metadata.annotations:
            skipped.append(SkippedPod(p.metadata.namespace, p.metadata.name, "mirror pod"))
            continue
        if not _finished(p) and any(v.emptyDir is not None for v in p.spec.volumes):
            if not opts.delete_emptydir_data:
                errors.append((LOCAL_FATAL, key))
                continue
            warnings.append((LOCAL_WARNING, key))
            flags.append("emptyDir")
        if not _finished(p) and ctrl is None:
            if not opts.force:
                errors.append((UNMANAGED_FATAL, key))
                continue
            warnings.append((UNMANAGED_WARNING, key))
            flags.append("unmanaged")
        evict.append((p, tuple(flags)))

    # the PDBs of the namespaces involved: which of them select each pod, which allow nothing now
    namespaces = sorted({p.metadata.namespace for p, _ in evict})
    pdb_lists = dict(zip(namespaces, await asyncio.gather(*(_pdbs(api, ns) for ns in namespaces))))
    refs: list[PodRef] = []
    blocks: list[PdbBlock] = []
    pdb_warnings: list[str] = []
    for p, pflags in evict:
        key = f"{p.metadata.namespace}/{p.metadata.name}"
        pdbs = pdb_lists[p.metadata.namespace]
        names: list[str] = []
        if isinstance(pdbs, str):
            pdb_warnings.append(f"cannot read the PodDisruptionBudgets of {p.metadata.namespace}: {pdbs}")
            pdbs = []
        for pdb in pdbs:
            if selector_matches((pdb.get("spec") or {}).get("selector"), p.metadata.labels):
                name = str((pdb.get("metadata") or {}).get("name", ""))
                names.append(name)
                allowed = int((pdb.get("status") or {}).get("disruptionsAllowed") or 0)
                if allowed <= 0:
                    blocks.append(PdbBlock(key, name, allowed))
        refs.append(PodRef(p.metadata.namespace, p.metadata.name, p.metadata.uid, pflags, tuple(names)))

    lines = [f"cordon node {node}" + (" (already cordoned)" if cordoned else "")]
    for r in refs:
        tags = [f"[{f}]" for f in r.flags]
        tags += [f"[PDB {b.pdb} allows {b.disruptions_allowed} disruptions now]" for b in blocks if b.pod == r.key]
        lines.append(" ".join([f"evict {r.key}", *tags]))
    lines += [f"skip {s.key} ({s.reason})" for s in skipped]
    if not refs:
        lines.append("no pod to evict")
    warn = _group(warnings) + list(dict.fromkeys(pdb_warnings))
    if blocks:
        warn.append("evictions wait while a PodDisruptionBudget allows no disruption: " + ", ".join(
            sorted({f"{b.pod.split('/', 1)[0]}/{b.pdb}" for b in blocks})))
    preview = Preview("drain", targets, tuple(lines), tuple(warn),
                      blocked="; ".join(f"cannot delete {e}" for e in _group(sorted(errors, key=_filter_rank))),
                      params=params)
    return DrainPlan(node, opts, preview, tuple(refs), tuple(skipped), tuple(blocks), node_uid, cordoned)


def opts_dict(opts: DrainOptions) -> dict[str, Any]:
    return asdict(opts)


from ecotui.ops.drain_run import DrainProgress, DrainRun, PodProgress  # noqa: E402  (drain_run needs no name from here at import time)

__all__ = ["DrainOptions", "DrainPlan", "DrainProgress", "DrainRun", "PdbBlock", "PodProgress", "PodRef",
           "SkippedPod", "plan_drain"]
