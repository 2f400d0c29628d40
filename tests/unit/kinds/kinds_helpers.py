"""Shared helpers of the kinds unit tests: decode an object as the API server returns it, render a row."""
from __future__ import annotations

import json
from typing import Any

import msgspec

from ecotui.kinds.spec import KindSpec

NOW = 1_700_000_000.0                       # 2023-11-14T22:13:20Z
CREATED = "2023-11-14T21:13:20Z"            # one hour before NOW
HOSTILE = "evil\x1b[2J\x9b31m\u202ename"    # ESC sequence, C1 CSI, bidi override


def meta(name: str, ns: str | None = "default", **extra: Any) -> dict:
    md = {"name": name, "uid": "0b5f-uid", "resourceVersion": "4711", "generation": 3,
          "creationTimestamp": CREATED, "labels": {"app": name}, **extra}
    if ns is not None:
        md["namespace"] = ns
    return md


def wire(obj: dict) -> bytes:
    return json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "4712"},
                       "items": [obj]}).encode()


def decode(spec: KindSpec, obj: dict) -> Any:
    """LIST body -> one cached item (through `convert` when the kind has one)."""
    item = msgspec.json.decode(wire(obj), type=spec.list_type).items[0]
    return spec.convert(item) if spec.convert else item


def row(spec: KindSpec, obj: dict) -> dict[str, str]:
    cells = spec.cells(decode(spec, obj), NOW)
    assert len(cells) == len(spec.columns)
    return {cid: c.text for (cid, _), c in zip(spec.columns, cells)}


def styles(spec: KindSpec, obj: dict) -> dict[str, str]:
    cells = spec.cells(decode(spec, obj), NOW)
    return {cid: c.style for (cid, _), c in zip(spec.columns, cells)}


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text, repr(text)
