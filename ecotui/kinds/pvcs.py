"""PersistentVolumeClaims (core/v1): NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS
VOLUMEATTRIBUTESCLASS AGE, like `kubectl get pvc` (capacity and access modes only once bound to a volume;
the storage class from the beta annotation first, then spec.storageClassName)."""
from __future__ import annotations

from typing import Any

from ecotui.kube.describe import parse_quantity

from .common import (Cell, ListMeta, ObjectMeta, S, age_cell, field, get, inert, mapping, msgspec, name_cell,
                     ns_cell, shared_text)
from .spec import GVR, Cap, Cells, KindSpec

BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


class PVCMeta(ObjectMeta, **S):
    annotations: dict[str, str] = {}  # for the beta storage-class annotation


class PVCResources(msgspec.Struct, **S):
    requests: dict[str, str] = {}


class PVCSpec(msgspec.Struct, **S):
    volumeName: str = ""
    storageClassName: str | None = None
    volumeAttributesClassName: str | None = None
    resources: PVCResources = PVCResources()


class PVCStatus(msgspec.Struct, **S):
    phase: str = ""
    accessModes: tuple[str, ...] = ()
    capacity: dict[str, str] = {}


class PersistentVolumeClaim(msgspec.Struct, **S):
    metadata: PVCMeta = PVCMeta()
    spec: PVCSpec = PVCSpec()
    status: PVCStatus = PVCStatus()


class PersistentVolumeClaimList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[PersistentVolumeClaim] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("status", "STATUS"), ("volume", "VOLUME"),
           ("capacity", "CAPACITY"), ("access_modes", "ACCESS MODES"), ("storageclass", "STORAGECLASS"),
           ("volumeattributesclass", "VOLUMEATTRIBUTESCLASS"), ("age", "AGE")]


def access_modes(modes: Any) -> str:
    """kubectl's GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order, duplicates once."""
    have = set(modes)
    return ",".join(short for long, short in _MODES if long in have)


def storage_class(pvc: PersistentVolumeClaim) -> str:
    cls = pvc.metadata.annotations.get(BETA_CLASS)
    if cls is not None:
        return cls
    return pvc.spec.storageClassName or ""


def _status_style(phase: str) -> str:
    return {"Bound": "ok", "Lost": "critical"}.get(phase, "warning")


def cells(pvc: PersistentVolumeClaim, now: float) -> Cells:
    md, sp, st = pvc.metadata, pvc.spec, pvc.status
    phase = "Terminating" if md.deletionTimestamp else st.phase
    cap = modes = ""
    if sp.volumeName:
        modes = access_modes(st.accessModes)
        cap = st.capacity.get("storage", "0")   # Go: the zero Quantity prints "0"
    size = parse_quantity(cap) if cap else None
    vac = "<unset>" if sp.volumeAttributesClassName is None else sp.volumeAttributesClassName
    cls = storage_class(pvc)
    return (ns_cell(md), name_cell(md), shared_text(phase, _status_style(phase)),
            Cell(inert(sp.volumeName), sp.volumeName),
            Cell(inert(cap), -1.0 if size is None else size),
            shared_text(modes), shared_text(cls),
            shared_text(vac, "muted" if vac == "<unset>" else ""),
            age_cell(md.creationTimestamp, now))


def class_and_status(obj: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """(metadata, spec, status, the StorageClass and Status lines) — what PVC and PV describe start with."""
    md, spec, st = get(obj, "metadata", default={}), get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    cls = get(md, "annotations", BETA_CLASS, default=None)
    field(out, "StorageClass", inert(str(cls if cls is not None else spec.get("storageClassName") or "")))
    phase = "Terminating" if md.get("deletionTimestamp") else str(st.get("phase", ""))
    field(out, "Status", inert(phase))
    return md, spec, st, out


def describe(obj: Any, now: float) -> list[str]:
    md, spec, st, out = class_and_status(obj)
    field(out, "Volume", inert(str(spec.get("volumeName", ""))))
    bound = bool(spec.get("volumeName"))
    field(out, "Capacity", inert(str(get(st, "capacity", "storage", default="0"))) if bound else "")
    field(out, "Access Modes", access_modes(st.get("accessModes") or ()) if bound else "")
    field(out, "Requested", inert(str(get(spec, "resources", "requests", "storage", default=""))))
    field(out, "VolumeMode", inert(str(spec.get("volumeMode", ""))) or "<unset>")
    if spec.get("volumeAttributesClassName"):
        field(out, "VolumeAttributesClass", inert(str(spec["volumeAttributesClassName"])), width=24)
    field(out, "Selector", mapping(get(spec, "selector", "matchLabels", default={})).replace("\n", ","))
    src = spec.get("dataSource") or spec.get("dataSourceRef")
    if isinstance(src, dict):
        field(out, "DataSource", inert(f"{src.get('kind', '')}/{src.get('name', '')}"))
    return out


SPEC = KindSpec(GVR("", "v1", "persistentvolumeclaims"), "PersistentVolumeClaim", "PersistentVolumeClaims",
                namespaced=True, names=("persistentvolumeclaims", "persistentvolumeclaim", "pvc"),
                list_type=PersistentVolumeClaimList, item_type=PersistentVolumeClaim,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 56, "volume": 48})
