"""Secrets (core/v1): NAME TYPE DATA AGE. **Values never leave the decoder.**

* The LIST/WATCH decodes into `SecretWire`, whose `data` values are `msgspec.Raw` (undecoded slices of the
  response, never turned into strings); `convert` keeps metadata, type and key names only, so the cached
  `Secret` holds no value and no reference to the response buffer. `item_type` is the wire type because it
  is what the informer decodes watch events into before calling `convert`.
* Describe GETs the secret as `SecretDetailWire` (`detail_type`, not plain dicts) and shows `key:  N bytes`
  (the decoded size, computed from the base64 length) like `kubectl describe secret`.
* Metadata is slim: `ObjectMeta` has no annotations (the `last-applied-configuration` annotation of an
  applied secret contains its values); the describe frame drops that annotation.
"""
from __future__ import annotations

import sys
from typing import Any

from ecotui.kube.models import ObjectMetaDetail

from .common import ListMeta, ObjectMeta, S, age_cell, field, inert, int_cell, msgspec, name_cell, ns_cell, shared_text
from .spec import GVR, Cap, Cells, KindSpec


class SecretWire(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    type: str = ""
    data: dict[str, msgspec.Raw] = {}


class SecretWireList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[SecretWire] = []


class SecretDetailWire(msgspec.Struct, **S):
    """The fresh GET for describe: values stay undecoded `Raw` and only their lengths are read."""
    metadata: ObjectMetaDetail = ObjectMetaDetail()
    type: str = ""
    data: dict[str, msgspec.Raw] = {}


class Secret(msgspec.Struct, **S):
    """What the cache keeps: metadata, type and key names, never values."""
    metadata: ObjectMeta = ObjectMeta()
    type: str = ""
    keys: tuple[str, ...] = ()


def convert(w: SecretWire) -> Secret:
    if isinstance(w, Secret):
        return w
    return Secret(w.metadata, sys.intern(w.type), tuple(sys.intern(k) for k in w.data))


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("type", "TYPE"), ("data", "DATA"), ("age", "AGE")]


def cells(s: Secret, now: float) -> Cells:
    md = s.metadata
    return (ns_cell(md), name_cell(md), shared_text(s.type), int_cell(len(s.keys)),
            age_cell(md.creationTimestamp, now))


def decoded_size(raw: msgspec.Raw) -> int:
    """Bytes the base64 value of `raw` (a JSON string, quotes included) decodes to, without decoding it."""
    b = bytes(raw)
    n = len(b) - 2 - b.count(b"\\")        # Go never escapes base64 characters, but "\/" is valid JSON
    pad = 2 if b.endswith(b'=="') else 1 if b.endswith(b'="') else 0
    return max(0, n * 3 // 4 - pad)


def describe(obj: SecretDetailWire, now: float) -> list[str]:
    out: list[str] = []
    field(out, "Type", inert(obj.type))
    out += ["", "Data", "===="]
    if obj.data:
        out.extend(f"{inert(k)}:  {decoded_size(v)} bytes" for k, v in sorted(obj.data.items()))
    else:
        out.append("<none>")
    return out


SPEC = KindSpec(GVR("", "v1", "secrets"), "Secret", "Secrets", namespaced=True, names=("secrets", "secret"),
                list_type=SecretWireList, item_type=SecretWire, columns=COLUMNS, cells=cells, describe=describe,
                detail_type=SecretDetailWire, convert=convert,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 64, "type": 40})
