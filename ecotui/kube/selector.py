"""The `/` filter: a plain text search or a kubectl label selector.

How the text is read (simple and predictable):

* empty                      -> everything matches;
* ``l:<selector>``           -> always a label selector (e.g. ``l:app`` = "has label app");
* ``t:<text>``               -> always a plain text search (e.g. ``t:exit=1``);
* text containing ``=``, ``!``, ``<``, ``>``, `` in (`` or `` notin (`` -> a label selector;
* anything else              -> case-insensitive substring search over the row's text.

So a bare word is a text search; the selector "has label ``app``" is written ``l:app`` (or appears
next to another requirement, as in ``app,tier=web``).

Label selector grammar (kubectl's): requirements joined by ``,`` (AND): ``key=value``,
``key==value``, ``key!=value`` (also true when the label is absent), ``key in (a,b)``,
``key notin (a,b)`` (true when absent), ``key`` (exists), ``!key`` (does not exist), ``key>N`` and
``key<N`` (integer compare). A malformed selector raises ``ValueError`` with one clear line.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_DNS = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
_KEY_RE = re.compile(rf"(?:{_DNS}/)?{_NAME}")
_VALUE_RE = re.compile(rf"(?:{_NAME})?")
_TOKEN = r"[^\s=!<>(),]+"
_SET_RE = re.compile(rf"({_TOKEN})\s+(in|notin)\s*\((.*)\)")
_CMP_RE = re.compile(rf"({_TOKEN})\s*(==|=|!=|<|>)\s*([^\s=!<>(),]*)")
_EXISTS_RE = re.compile(_TOKEN)
_SELECTOR_HINT = re.compile(r"[=!<>]|\s(?:in|notin)\s*\(")
_FORMS = "key, !key, key=value, key!=value, key in (a,b), key notin (a,b)"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str                                 # "exists" "!exists" "=" "!=" "in" "notin" "<" ">"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        op = self.op
        if op == "exists":
            return present
        if op == "!exists":
            return not present
        if op in ("=", "in"):
            return present and value in self.values
        if op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:                     # "<" / ">": label must hold an integer
            return False
        try:
            n = int(value)  # type: ignore[arg-type]
        except ValueError:
            return False
        bound = int(self.values[0])
        return n < bound if op == "<" else n > bound


@dataclass(frozen=True)
class Filter:
    """A parsed filter; ``kind`` is "all", "text" or "labels"."""
    kind: str = "all"
    text: str = ""                          # lower-cased needle when kind == "text"
    requirements: tuple[Requirement, ...] = field(default=())
    source: str = ""

    def matches(self, labels: Mapping[str, str], text: str) -> bool:
        if self.kind == "text":
            return self.text in text.lower()
        if self.kind == "labels":
            return all(r.matches(labels) for r in self.requirements)
        return True

    @property
    def active(self) -> bool:
        return self.kind != "all"


def _split_top(s: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in s:
        if ch == "(":
            depth += 1
            if depth > 1:
                raise ValueError("label selector: nested '(' is not allowed")
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("label selector: ')' without a matching '('")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise ValueError("label selector: missing ')'")
    parts.append("".join(cur))
    return parts


def _check_key(key: str) -> str:
    if len(key) > 316 or not _KEY_RE.fullmatch(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise ValueError(f"label selector: invalid label key {key!r} "
                         "(letters, digits, '-', '_', '.', optional 'prefix/'; name up to 63 chars)")
    return key


def _check_value(key: str, value: str) -> str:
    if len(value) > 63 or not _VALUE_RE.fullmatch(value):
        raise ValueError(f"label selector: invalid value {value!r} for {key!r} "
                         "(up to 63 letters, digits, '-', '_', '.')")
    return value


def _parse_requirement(raw: str) -> Requirement:
    r = raw.strip()
    if not r:
        raise ValueError("label selector: empty requirement (stray ',')")
    if r.startswith("!"):
        key = r[1:].strip()
        if not _EXISTS_RE.fullmatch(key):
            raise ValueError(f"label selector: cannot parse {r!r}; expected {_FORMS}")
        return Requirement(_check_key(key), "!exists")
    m = _SET_RE.fullmatch(r)
    if m:
        key, op, inner = m.groups()
        values = tuple(v.strip() for v in inner.split(","))
        if values == ("",):
            raise ValueError(f"label selector: {op!r} needs at least one value in {r!r}")
        return Requirement(_check_key(key), op, tuple(_check_value(key, v) for v in values))
    m = _CMP_RE.fullmatch(r)
    if m:
        key, op, value = m.groups()
        _check_key(key)
        if op in ("<", ">"):
            if not re.fullmatch(r"-?\d+", value):
                raise ValueError(f"label selector: {op!r} needs an integer, got {value!r} in {r!r}")
            return Requirement(key, op, (value,))
        return Requirement(key, "=" if op == "==" else op, (_check_value(key, value),))
    if _EXISTS_RE.fullmatch(r):
        return Requirement(_check_key(r), "exists")
    raise ValueError(f"label selector: cannot parse {r!r}; expected {_FORMS}")


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """Parse a kubectl label selector; raises ValueError with one clear line."""
    if not text.strip():
        raise ValueError("label selector: empty")
    return tuple(_parse_requirement(p) for p in _split_top(text))


def is_selector(text: str) -> bool:
    """Would ``parse_filter`` read ``text`` as a label selector?"""
    t = text.strip()
    if t.startswith("l:"):
        return True
    if t.startswith("t:"):
        return False
    return bool(_SELECTOR_HINT.search(t))


def parse_filter(text: str) -> Filter:
    """Read the `/` filter text (see the module docstring for the rules)."""
    t = text.strip()
    if not t:
        return Filter(source=text)
    if t.startswith("t:"):
        needle = t[2:].strip()
        return Filter("text", needle.lower(), source=text) if needle else Filter(source=text)
    if t.startswith("l:"):
        return Filter("labels", requirements=parse_selector(t[2:]), source=text)
    if _SELECTOR_HINT.search(t):
        return Filter("labels", requirements=parse_selector(t), source=text)
    return Filter("text", t.lower(), source=text)


def format_label_selector(sel: Mapping[str, object]) -> str:
    """metav1.FormatLabelSelector without the "<none>": a LabelSelector (matchLabels + matchExpressions) or a
    Service's plain map as kubectl's string ("a=b,c in (d,e),!f"); "" when empty. Raw: callers make it inert."""
    if "matchLabels" not in sel and "matchExpressions" not in sel:
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    labels = sel.get("matchLabels") or {}
    parts = [f"{k}={v}" for k, v in sorted(labels.items())] if isinstance(labels, Mapping) else []
    exprs = sel.get("matchExpressions") or ()
    for e in exprs if isinstance(exprs, (list, tuple)) else ():
        if not isinstance(e, Mapping):
            continue
        key, op, vals = str(e.get("key", "")), str(e.get("operator", "")), [str(v) for v in e.get("values") or ()]
        if op == "In":
            parts.append(f"{key} in ({','.join(vals)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(vals)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {op} ({','.join(vals)})")
    return ",".join(parts)
