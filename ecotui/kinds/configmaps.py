"""ConfigMaps (core/v1): NAME DATA AGE (DATA = number of keys in data + binaryData).

The cache keeps key names only: the LIST/WATCH decodes into `ConfigMapWire` whose values are `msgspec.Raw`
(undecoded slices of the response), and `convert` turns each into a `ConfigMap` with metadata and key names,
so no value (and no reference to the response buffer) outlives the decode. `item_type` is the wire type
because it is what the informer decodes watch events into before calling `convert`.
"""
from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Mapping
from typing import Any

from .common import ListMeta, ObjectMeta, S, age_cell, get, inert, int_cell, msgspec, name_cell, ns_cell
from .spec import GVR, Cap, Cells, KindSpec


class ConfigMapWire(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    data: dict[str, msgspec.Raw] = {}
    binaryData: dict[str, msgspec.Raw] = {}


class ConfigMapWireList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[ConfigMapWire] = []


class ConfigMap(msgspec.Struct, **S):
    """What the cache keeps: metadata and key names, never values."""
    metadata: ObjectMeta = ObjectMeta()
    keys: tuple[str, ...] = ()
    binaryKeys: tuple[str, ...] = ()


def convert(w: ConfigMapWire) -> ConfigMap:
    if isinstance(w, ConfigMap):
        return w
    return ConfigMap(w.metadata, tuple(sys.intern(k) for k in w.data),
                     tuple(sys.intern(k) for k in w.binaryData))


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("data", "DATA"), ("age", "AGE")]


def cells(cm: ConfigMap, now: float) -> Cells:
    md = cm.metadata
    return (ns_cell(md), name_cell(md), int_cell(len(cm.keys) + len(cm.binaryKeys)),
            age_cell(md.creationTimestamp, now))


def _b64_size(v: Any) -> int:
    try:
        return len(base64.b64decode(str(v), validate=False))
    except (binascii.Error, ValueError):
        return len(str(v)) * 3 // 4


def describe(obj: Any, now: float) -> list[str]:
    """Key names with their sizes (the values stay out of the description: keep it short)."""
    data = get(obj, "data", default={})
    binary = get(obj, "binaryData", default={})
    out = ["", "Data", "===="]
    if isinstance(data, Mapping) and data:
        out.extend(f"{inert(str(k))}:  {len(str(v).encode())} bytes" for k, v in sorted(data.items()))
    else:
        out.append("<none>")
    out += ["", "BinaryData", "===="]
    if isinstance(binary, Mapping) and binary:
        out.extend(f"{inert(str(k))}:  {_b64_size(v)} bytes" for k, v in sorted(binary.items()))
    else:
        out.append("<none>")
    return out


SPEC = KindSpec(GVR("", "v1", "configmaps"), "ConfigMap", "ConfigMaps", namespaced=True,
                names=("configmaps", "configmap", "cm"), list_type=ConfigMapWireList, item_type=ConfigMapWire,
                columns=COLUMNS, cells=cells, describe=describe, convert=convert,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 64})
