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

from ecotui.errors import EcotuiError
from ecotui.kube.client import HttpStatusError
from ecotui.ops.api import KubeAPI
from ecotui.ops.drain_run import DrainRun
from ecotui.ops.drain_types import (DS_FATAL, DS_WARNING, LOCAL_FATAL, LOCAL_WARNING, MIRROR_ANNOTATION,
                                    ORPHAN_WARNING, UNMANAGED_FATAL, UNMANAGED_WARNING, DrainOptions, DrainPod,
                                    DrainPodList, DrainProgress, PdbBlock, PodProgress, PodRef, SkippedPod,
                                    controller_of, finished, selector_matches, short_error)
from ecotui.ops.outcome import Outcome, Preview, Target

# ---- the plan -----------------------------------------------------------------------------------------

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
               if (c := controller_of(p)) is not None and c.kind == "DaemonSet" and not finished(p)}
    ds_keys = sorted(ds_refs)
    ds_state = dict(zip(ds_keys, await asyncio.gather(*(_daemonset_exists(api, ns, n) for ns, n in ds_keys))))

    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    evict: list[tuple[DrainPod, tuple[str, ...]]] = []
    skipped: list[SkippedPod] = []
    for p in pods:
        key = f"{p.metadata.namespace}/{p.metadata.name}"
        ctrl = controller_of(p)
        flags: list[str] = []
        if ctrl is not None and ctrl.kind == "DaemonSet" and not finished(p):
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
        if not finished(p) and any(v.emptyDir is not None for v in p.spec.volumes):
            if not opts.delete_emptydir_data:
                errors.append((LOCAL_FATAL, key))
                continue
            warnings.append((LOCAL_WARNING, key))
            flags.append("emptyDir")
        if not finished(p) and ctrl is None:
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



__all__ = ["DrainOptions", "DrainPlan", "DrainProgress", "DrainRun", "PdbBlock", "PodProgress", "PodRef",
           "SkippedPod", "plan_drain"]
