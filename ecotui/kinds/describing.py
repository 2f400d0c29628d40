"""Describe any registry kind from a fresh GET plus its events (pods and nodes have their own, richer path
in the App). Returns text; never raises for a cluster problem: the reason is part of the text."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ecotui.errors import EcotuiError
from ecotui.kube.session_api import SessionAPI
from ecotui.textsafe import one_line

from .common import describe_object
from .spec import KindSpec


def _as_mapping(obj: Any) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        return obj
    md = getattr(obj, "metadata", None)  # a struct detail type (secrets): only its metadata is framed
    return {"metadata": msgspec.to_builtins(md) if md is not None else {}}


async def describe_fresh(session: SessionAPI, spec: KindSpec, key: str, now: float) -> str:
    ns, name = spec.split_key(key)
    if spec.describe is None:
        return f"{spec.kind} {key}: no description available\n"
    try:
        obj = await session.get_object(spec, ns, name)
    except EcotuiError as exc:
        return f"{spec.kind} {key} could not be loaded: {one_line(exc.message, 200)}\n"
    try:
        events = await session.object_events(spec.kind, ns, name)
        why = ""
    except EcotuiError as exc:
        events, why = [], exc.message
    text = describe_object(spec.kind, _as_mapping(obj), spec.describe(obj, now), events, now, spec.namespaced)
    if why:
        text += f"\nEvents could not be loaded: {one_line(why, 200)}\n"
    return text
