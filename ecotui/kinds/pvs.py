"""PersistentVolumes (core/v1, cluster-scoped): NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM
STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE, like `kubectl get pv`. The slim struct also keeps where the
volume lives (the in-tree `awsElasticBlockStore.volumeID` or a CSI driver and `volumeHandle`), which the
VOLUME column does not show but the EBS snapshot action ([snapshot_volume]) and describe read."""
from __future__ import annotations

from typing import Any

from ecotui.kube.describe import parse_quantity

from .common import (Cell, ListMeta, ObjectMeta, S, age_cell, field, get, inert, msgspec, name_cell, shared_text)
from .pvcs import BETA_CLASS, access_modes, class_and_status
from .spec import GVR, Cap, Cells, KindSpec


class PVMeta(ObjectMeta, **S):
    annotations: dict[str, str] = {}  # for the beta storage-class annotation


class ClaimRef(msgspec.Struct, **S):
    namespace: str = ""
    name: str = ""


class EbsSource(msgspec.Struct, **S):
    volumeID: str = ""


class CsiSource(msgspec.Struct, **S):
    driver: str = ""
    volumeHandle: str = ""


class PVSpec(msgspec.Struct, **S):
    capacity: dict[str, str] = {}
    accessModes: tuple[str, ...] = ()
    persistentVolumeReclaimPolicy: str = ""
    storageClassName: str = ""
    volumeAttributesClassName: str | None = None
    claimRef: ClaimRef | None = None
    awsElasticBlockStore: EbsSource | None = None
    csi: CsiSource | None = None


class PVStatus(msgspec.Struct, **S):
    phase: str = ""
    reason: str = ""


class PersistentVolume(msgspec.Struct, **S):
    metadata: PVMeta = PVMeta()
    spec: PVSpec = PVSpec()
    status: PVStatus = PVStatus()


class PersistentVolumeList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[PersistentVolume] = []


COLUMNS = [("name", "NAME"), ("capacity", "CAPACITY"), ("access_modes", "ACCESS MODES"),
           ("reclaim", "RECLAIM POLICY"), ("status", "STATUS"), ("claim", "CLAIM"), ("storageclass", "STORAGECLASS"),
           ("volumeattributesclass", "VOLUMEATTRIBUTESCLASS"), ("reason", "REASON"), ("age", "AGE")]


def _status_style(phase: str) -> str:
    return {"Bound": "ok", "Available": "", "Released": "warning", "Failed": "critical"}.get(phase, "warning")


def cells(pv: PersistentVolume, now: float) -> Cells:
    md, sp, st = pv.metadata, pv.spec, pv.status
    phase = "Terminating" if md.deletionTimestamp else st.phase
    cap = sp.capacity.get("storage", "")
    size = parse_quantity(cap) if cap else None
    claim = f"{sp.claimRef.namespace}/{sp.claimRef.name}" if sp.claimRef is not None else ""
    cls = md.annotations.get(BETA_CLASS, sp.storageClassName)
    vac = "<unset>" if sp.volumeAttributesClassName is None else sp.volumeAttributesClassName
    return (name_cell(md), Cell(inert(cap), -1.0 if size is None else size),
            shared_text(access_modes(sp.accessModes)), shared_text(sp.persistentVolumeReclaimPolicy),
            shared_text(phase, _status_style(phase)), Cell(inert(claim), claim),
            shared_text(cls), shared_text(vac, "muted" if vac == "<unset>" else ""),
            Cell(inert(st.reason), st.reason), age_cell(md.creationTimestamp, now))


def source_line(spec: Any) -> str:
    """Where the volume lives, from a PV's spec as plain dicts: "AWSElasticBlockStore vol-…", "CSI ebs.csi… vol-…"."""
    ebs = get(spec, "awsElasticBlockStore", default=None)
    if isinstance(ebs, dict):
        return f"AWSElasticBlockStore (an AWS EBS volume) {ebs.get('volumeID', '')}"
    csi = get(spec, "csi", default=None)
    if isinstance(csi, dict):
        return f"CSI {csi.get('driver', '')} {csi.get('volumeHandle', '')}"
    for key in ("hostPath", "local", "nfs"):
        src = get(spec, key, default=None)
        if isinstance(src, dict):
            return f"{key} {src.get('path', '')}"
    return ""


def describe(obj: Any, now: float) -> list[str]:
    md, spec, st, out = class_and_status(obj)
    claim = spec.get("claimRef") or {}
    field(out, "Claim", inert(f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""))
    field(out, "Reclaim Policy", inert(str(spec.get("persistentVolumeReclaimPolicy", ""))))
    field(out, "Access Modes", access_modes(spec.get("accessModes") or ()))
    field(out, "VolumeMode", inert(str(spec.get("volumeMode", ""))) or "<unset>")
    field(out, "Capacity", inert(str(get(spec, "capacity", "storage", default=""))))
    field(out, "Message", inert(str(st.get("message", ""))))
    field(out, "Source", inert(source_line(spec)))
    return out


SPEC = KindSpec(GVR("", "v1", "persistentvolumes"), "PersistentVolume", "PersistentVolumes",
                namespaced=False, names=("persistentvolumes", "persistentvolume", "pv"),
                list_type=PersistentVolumeList, item_type=PersistentVolume,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE}),
                max_widths={"name": 48, "claim": 48})
