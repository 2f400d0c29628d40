"""Pod templates: kubectl's equality (`equalIgnoreHash`) and a readable diff for the undo preview.

The diff flattens each template into named items — `container app image`, `container app env LOG_LEVEL`,
`container app resources.limits.cpu`, `container app readinessProbe.httpGet.path`, `label tier`,
`spec.volumes` … — and prints what changes as `- item: old` / `+ item: new` lines, images first, then env,
resources, probes and everything else.
"""
from __future__ import annotations

import copy
import json
from typing import Any

HASH_LABEL = "pod-template-hash"   # appsv1.DefaultDeploymentUniqueLabelKey
MAX_VALUE = 240                    # longest value text shown on one line

_IMAGES, _ENV, _RESOURCES, _PROBES, _OTHER = range(5)
_PROBE_FIELDS = ("livenessProbe", "readinessProbe", "startupProbe")
_CONTAINER_LISTS = (("initContainers", "init container"), ("containers", "container"),
                    ("ephemeralContainers", "ephemeral container"))


def without_hash(template: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of a pod template without the pod-template-hash label (what undo patches back)."""
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def normalized(value: Any) -> Any:
    """Drop null, {} and [] recursively: Go's semantic equality treats them like a missing field."""
    if isinstance(value, dict):
        out = {k: normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def equal_ignore_hash(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """kubectl's `equalIgnoreHash`: equal after removing the pod-template-hash label from both."""
    return bool(normalized(without_hash(a)) == normalized(without_hash(b)))


def _text(value: Any) -> str:
    s = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return s if len(s) <= MAX_VALUE else s[:MAX_VALUE - 1] + "…"


def _leaves(prefix: str, value: Any, group: int, out: dict[str, tuple[int, str]]) -> None:
    """Dicts are walked down to their leaves (`resources.limits.cpu`); lists and scalars are one item."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _leaves(f"{prefix}.{k}", v, group, out)
    elif value not in (None, {}, []):
        out[prefix] = (group, _text(value))


def _container(prefix: str, c: dict[str, Any], out: dict[str, tuple[int, str]]) -> None:
    for key, value in c.items():
        if key == "name":
            continue
        if key == "image":
            out[f"{prefix} image"] = (_IMAGES, _text(value))
        elif key == "env":
            for e in value or ():
                name = e.get("name", "")
                v = e["value"] if "value" in e else {k: x for k, x in e.items() if k != "name"}
                out[f"{prefix} env {name}"] = (_ENV, _text(v))
        elif key == "envFrom":
            out[f"{prefix} envFrom"] = (_ENV, _text(value))
        elif key == "resources":
            _leaves(f"{prefix} resources", value, _RESOURCES, out)
        elif key in _PROBE_FIELDS:
            _leaves(f"{prefix} {key}", value, _PROBES, out)
        else:
            _leaves(f"{prefix} {key}", value, _OTHER, out)


def flatten(template: dict[str, Any] | None) -> dict[str, tuple[int, str]]:
    """Named items of a pod template: name -> (group, value text). The hash label is left out."""
    t = normalized(without_hash(template))
    out: dict[str, tuple[int, str]] = {}
    spec = t.get("spec") or {}
    for field, what in _CONTAINER_LISTS:
        for c in spec.get(field) or ():
            _container(f"{what} {c.get('name', '?')}", c, out)
    md = t.get("metadata") or {}
    for k, v in (md.get("labels") or {}).items():
        out[f"label {k}"] = (_OTHER, _text(v))
    for k, v in (md.get("annotations") or {}).items():
        out[f"annotation {k}"] = (_OTHER, _text(v))
    for k, v in md.items():
        if k not in ("labels", "annotations"):
            _leaves(f"metadata.{k}", v, _OTHER, out)
    for k, v in spec.items():
        if k not in {f for f, _w in _CONTAINER_LISTS}:
            _leaves(f"spec.{k}", v, _OTHER, out)
    return out


def _section(key: str) -> int:
    """Where an item sits in the template (containers, labels, annotations, metadata, spec), to keep an added
    item next to its kin."""
    for i, prefix in enumerate(("label ", "annotation ", "metadata.", "spec.")):
        if key.startswith(prefix):
            return i + 1
    return 0


def template_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, ...]:
    """`- item: old` / `+ item: new` lines for every item that differs, images first, then env, resources,
    probes and the rest (in template order within a group)."""
    a, b = flatten(old), flatten(new)
    keys = list(a) + [k for k in b if k not in a]
    keys.sort(key=lambda k: ((a.get(k) or b[k])[0], _section(k)))
    lines: list[str] = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if va is not None and vb is not None and va[1] == vb[1]:
            continue
        if va is not None:
            lines.append(f"- {k}: {va[1]}")
        if vb is not None:
            lines.append(f"+ {k}: {vb[1]}")
    return tuple(lines)


def images(template: dict[str, Any] | None) -> tuple[str, ...]:
    """The images of a pod template's init containers and containers, in order."""
    spec = (template or {}).get("spec") or {}
    return tuple(c.get("image", "") for f in ("initContainers", "containers") for c in spec.get(f) or ())
