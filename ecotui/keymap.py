"""Load, normalise and validate key bindings (default ``keymaps.yaml`` + an optional user file).

Key names follow Textual: letters and digits as themselves ("q", "T", "1"), other printable
characters by name ("question_mark", "slash") — the literal character is accepted and normalised
("?" -> "question_mark") — and named keys (enter, escape, tab, space, backspace, delete, insert,
home, end, pageup, pagedown, up, down, left, right, f1–f24) with optional ``ctrl+``/``alt+``/
``shift+`` modifiers (stored sorted: ``alt+ctrl+shift+x``; ``shift+t`` becomes ``T``).

A bad user keymap never raises: unknown ids are ignored, an entry with an invalid key or one that
clashes keeps its default keys, and each problem is one line naming the file and the id.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecotui.actions import ACTIONS
from ecotui.resources import data_path

# Printable ASCII (non-alphanumeric) -> Textual key name (as textual.keys._character_to_key gives).
CHAR_NAMES: dict[str, str] = {
    "!": "exclamation_mark", '"': "quotation_mark", "#": "number_sign", "$": "dollar_sign",
    "%": "percent_sign", "&": "ampersand", "'": "apostrophe", "(": "left_parenthesis",
    ")": "right_parenthesis", "*": "asterisk", "+": "plus", ",": "comma", "-": "minus",
    ".": "full_stop", "/": "slash", ":": "colon", ";": "semicolon", "<": "less_than_sign",
    "=": "equals_sign", ">": "greater_than_sign", "?": "question_mark", "@": "at",
    "[": "left_square_bracket", "\\": "backslash", "]": "right_square_bracket",
    "^": "circumflex_accent", "_": "underscore", "`": "grave_accent", "{": "left_curly_bracket",
    "|": "vertical_line", "}": "right_curly_bracket", "~": "tilde", " ": "space",
}
NAME_CHARS: dict[str, str] = {v: k for k, v in CHAR_NAMES.items() if k != " "}
NAMED_KEYS: frozenset[str] = frozenset(
    {"enter", "escape", "tab", "space", "backspace", "delete", "insert", "home", "end",
     "pageup", "pagedown", "up", "down", "left", "right"} | {f"f{i}" for i in range(1, 25)}
)
ALIASES: dict[str, str] = {
    "esc": "escape", "return": "enter", "pgup": "pageup", "pgdn": "pagedown", "page_up": "pageup",
    "page_down": "pagedown", "del": "delete", "ins": "insert", "bs": "backspace",
    "control": "ctrl", "meta": "alt", "option": "alt",
}
MODIFIERS: tuple[str, ...] = ("alt", "ctrl", "shift")
_DISPLAY: dict[str, str] = {
    "escape": "esc", "pageup": "pgup", "pagedown": "pgdn", "delete": "del", "insert": "ins",
    "backspace": "bksp",
}


def normalize_key(raw: str) -> str | None:
    """Canonical Textual key name for ``raw`` ("?" -> "question_mark", "Ctrl+C" -> "ctrl+c",
    "shift+t" -> "T", "esc" -> "escape"), or None when it is not a valid key."""
    if not isinstance(raw, str) or not raw or (raw != raw.strip() and raw != " "):
        return None
    if len(raw) == 1:
        return _base(raw)
    if raw.endswith("++"):                        # "ctrl++" is ctrl + plus
        parts = raw[:-2].split("+") + ["+"]
    else:
        parts = raw.split("+")
    *mods_raw, base_raw = parts
    mods: set[str] = set()
    for m in mods_raw:
        m = ALIASES.get(m.lower(), m.lower())
        if m not in MODIFIERS or m in mods:
            return None
        mods.add(m)
    if mods and len(base_raw) == 1 and base_raw.isalpha() and base_raw.isascii():
        base_raw = base_raw.lower() if "ctrl" in mods or "alt" in mods else base_raw
    base = _base(base_raw)
    if base is None:
        return None
    if mods == {"shift"} and len(base) == 1 and base.isalpha():
        return base.upper()                       # shift+t is what Textual calls "T"
    return "+".join(sorted(mods) + [base])


def _base(raw: str) -> str | None:
    if len(raw) == 1:
        if raw.isascii() and raw.isalnum():
            return raw
        return CHAR_NAMES.get(raw)
    low = raw.lower()
    low = ALIASES.get(low, low)
    if low in NAMED_KEYS or low in NAME_CHARS:
        return low
    return None


def display_key(key: str) -> str:
    """Short label for the footer/help: "ctrl+c" -> "^c", "question_mark" -> "?", "escape" -> "esc"."""
    parts = key.split("+")
    base = parts[-1] or "+"
    mods = parts[:-1]
    label = NAME_CHARS.get(base, _DISPLAY.get(base, base))
    prefix = ""
    for m in mods:
        prefix += "^" if m == "ctrl" else f"{m}+"
    return prefix + label


@dataclass(frozen=True)
class Keymap:
    bindings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def keys_for(self, action_id: str) -> tuple[str, ...]:
        """Keys bound to an action (empty when unbound or unknown)."""
        return tuple(self.bindings.get(action_id, ()))

    def textual_keymap(self) -> dict[str, str]:
        """``{binding id: "k1,k2"}`` for ``App.set_keymap`` (unbound actions left out)."""
        return {aid: ",".join(keys) for aid, keys in self.bindings.items() if keys}

    def display(self, action_id: str) -> str:
        """Keys of an action for the help screen, e.g. "d, enter"."""
        return ", ".join(display_key(k) for k in self.keys_for(action_id))


def _read_yaml(path: Path) -> tuple[dict[Any, Any] | None, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "file not found"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read: {exc.__class__.__name__}: {exc}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return None, f"not valid YAML{where}"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, "must be a mapping of action id -> key or list of keys"
    return data, None


def _parse_entry(value: Any) -> tuple[tuple[str, ...] | None, str | None]:
    """(normalised keys, None) or (None, problem text) for one YAML value."""
    if value is None:
        return (), None
    if isinstance(value, bool):
        return None, f"invalid key {value!r} (quote it)"
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        items: list[Any] = [value] if value in (",", " ") else [v.strip() for v in value.split(",")]
    elif isinstance(value, list):
        items = value
    else:
        return None, f"expected a key or a list of keys, got {type(value).__name__}"
    keys: list[str] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        norm = normalize_key(item) if isinstance(item, str) else None
        if norm is None:
            return None, f"invalid key {str(item)!r}"
        if norm not in keys:
            keys.append(norm)
    return tuple(keys), None


def _clashes(bindings: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(id_a, id_b, key) for every pair of actions that would fight over a key."""
    owners: dict[str, list[str]] = {}
    for aid, keys in bindings.items():
        for k in keys:
            owners.setdefault(k, []).append(aid)
    out: list[tuple[str, str, str]] = []
    for key, ids in owners.items():
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                ga, gb = ACTIONS[a].group, ACTIONS[b].group
                if ga == gb or "global" in (ga, gb):
                    out.append((a, b, key))
    return out


def _fmt_keys(keys: tuple[str, ...]) -> str:
    return ", ".join(keys) if keys else "(none)"


def _load_file(path: Path, label: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    data, err = _read_yaml(path)
    if err is not None or data is None:  # data is None only with an error
        problems.append(f"{label}: {err}")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for raw_id, value in data.items():
        aid = str(raw_id)
        if aid not in ACTIONS:
            problems.append(f"{label}: {aid}: unknown action id (ignored)")
            continue
        keys, perr = _parse_entry(value)
        if perr is not None:
            problems.append(f"{label}: {aid}: {perr}; keeping the default")
            continue
        out[aid] = keys  # type: ignore[assignment]
    return out


# Used only when the packaged default keymap is missing or broken, so the app stays usable.
_EMERGENCY = {"quit": ("q",), "help": ("question_mark",), "back": ("escape",)}


def load_keymap(user_path: str | None = None) -> tuple[Keymap, list[str]]:
    """Default keymap (keymaps.yaml) overridden per id by ``user_path``; returns (keymap, problems)."""
    problems: list[str] = []
    default_file = data_path("keymaps.yaml")
    defaults = _load_file(default_file, default_file.name, problems)
    if not defaults:
        defaults = dict(_EMERGENCY)
    bindings: dict[str, tuple[str, ...]] = {aid: defaults.get(aid, ()) for aid in ACTIONS}
    for a, b, key in _clashes(bindings):
        problems.append(f"{default_file.name}: {b}: key {key!r} clashes with {a}")

    if user_path:
        upath = Path(os.path.expanduser(user_path))
        label = str(user_path)
        user = _load_file(upath, label, problems)
        bindings.update(user)
        overridden = set(user)
        # Revert user entries that create clashes, one at a time, until none remain.
        for _ in range(len(ACTIONS) + 1):
            bad = [(a, b, k) for a, b, k in _clashes(bindings) if a in overridden or b in overridden]
            if not bad:
                break
            a, b, key = bad[0]
            culprit, other = (b, a) if b in overridden else (a, b)
            bindings[culprit] = defaults.get(culprit, ())
            overridden.discard(culprit)
            problems.append(
                f"{label}: {culprit}: key {key!r} clashes with {other} ({ACTIONS[other].group}); "
                f"keeping the default {_fmt_keys(bindings[culprit])}"
            )
    return Keymap(bindings=bindings), problems


def help_rows(keymap: Keymap) -> list[tuple[str, str, str, str]]:
    """(group, action id, keys for display, description) for every action, registry order."""
    return [(spec.group, aid, keymap.display(aid), spec.description) for aid, spec in ACTIONS.items()]
