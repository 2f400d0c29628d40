"""Turn the loaded keymap (action id -> keys) into Textual bindings.

No key is written in the UI code: every binding is built here from `ecotui.keymap.Keymap`, with the
action id as the Binding id. Screens and tables get their bindings through `with_bindings`, which
makes a subclass whose class-level ``BINDINGS`` hold the keymap's keys (Textual reads bindings from
the class, so this is the public way to give one app instance its own keys).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from textual.binding import Binding
from textual.dom import DOMNode

from ecotui.actions import ACTIONS
from ecotui.keymap import Keymap, display_key

N = TypeVar("N", bound=DOMNode)

_CACHE: dict[tuple[type, tuple[Binding, ...]], type] = {}


def make_bindings(
    keymap: Keymap,
    ids: Iterable[str],
    *,
    actions: Mapping[str, str] | None = None,
    show: Iterable[str] = (),
) -> list[Binding]:
    """One Binding per action id that the registry knows and the keymap binds.

    ``actions`` maps an id to the Textual action string to run (default: the id itself, i.e.
    ``action_<id>`` on the node that owns the binding).
    """
    actions = actions or {}
    shown = set(show)
    out: list[Binding] = []
    for aid in ids:
        spec = ACTIONS.get(aid)
        if spec is None:
            continue
        keys = list(keymap.keys_for(aid))
        if not keys:
            continue
        out.append(
            Binding(
                ",".join(keys),
                actions.get(aid, aid),
                spec.description,
                show=aid in shown,
                key_display=display_key(keys[0]),
                id=aid,
            )
        )
    return out


def with_bindings(cls: type[N], bindings: list[Binding]) -> type[N]:
    """A subclass of ``cls`` whose BINDINGS are ``bindings`` (added to the inherited ones; for the
    same key, ours win). Cached, so one keymap yields one class per base."""
    key = (cls, tuple(bindings))
    sub = _CACHE.get(key)
    if sub is None:
        sub = type(cls.__name__, (cls,), {"BINDINGS": list(bindings), "__module__": cls.__module__})
        _CACHE[key] = sub
    return sub


def hint_line(keymap: Keymap, ids: Iterable[str], labels: Mapping[str, str]) -> str:
    """Footer text such as "? help  / filter  : cmd" for the ids that have a key."""
    parts = []
    for aid in ids:
        keys = keymap.keys_for(aid)
        if keys:
            parts.append(f"{display_key(keys[0])} {labels.get(aid, aid)}")
    return "  ".join(parts)
