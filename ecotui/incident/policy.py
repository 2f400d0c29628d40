"""The incident policy: the runbook's severities, workflow phases, escalation matrix and communication templates.

`policy.yaml` next to this module (shipped in the wheel) holds the defaults, taken from the runbook. A team file
(config `incident: {policy: FILE}`) is merged over it key by key: mappings merge, any other value replaces the
default (`null` on a severity's `escalate_after` level removes that level's countdown). The merged result is
checked field by field; a bad file raises `PolicyError` with one line naming the file and the field.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ecotui.errors import EcotuiError
from ecotui.incident.model import TEMPLATE_KINDS, Level, Phase, Policy, Severity, Template

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")

_TOP = ("severities", "phases", "levels", "templates", "postmortem_headings")
_SEV = ("name", "description", "response_time", "response_minutes", "escalation", "examples", "update_minutes",
        "escalate_after")
_PHASE = ("start_minutes", "end_minutes", "steps", "after_resolve")
_LEVEL = ("name", "response_minutes", "responsibilities", "criteria", "after_minutes")
_TEMPLATE = ("subject", "body")


class PolicyError(EcotuiError):
    """The incident policy file is missing, not YAML, or has a bad field."""


class _Bad(ValueError):
    pass


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"incident policy {path}: file not found",
                          hint="check incident.policy in the config") from None
    except IsADirectoryError:
        raise PolicyError(f"incident policy {path}: is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"incident policy {path}: cannot read ({exc.__class__.__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyError(f"incident policy {path}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"incident policy {path}: must be a YAML mapping ({', '.join(_TOP)})")
    return data


def _merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key; anything else in `over` replaces `base`."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _map(raw: Any, where: str, known: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Bad(f"{where} must be a mapping")
    if known is not None:
        extra = sorted(str(k) for k in raw if k not in known)
        if extra:
            raise _Bad(f"{where}: unknown key {extra[0]!r} (known: {', '.join(known)})")
    return {str(k): v for k, v in raw.items()}


def _text(raw: Any, where: str, empty_ok: bool = False) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or (not empty_ok and not raw.strip()):
        raise _Bad(f"{where} must be a non-empty string (got {raw!r})")
    return raw


def _minutes(raw: Any, where: str, none_ok: bool = False, zero_ok: bool = False) -> int | None:
    if raw is None and none_ok:
        return None
    low = 0 if zero_ok else 1
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= 525_600:
        also = " or null" if none_ok else ""
        raise _Bad(f"{where} must be a whole number of minutes from {low} to 525600{also} (got {raw!r})")
    return raw


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return tuple(s.strip() for s in raw.split(",") if s.strip())
    if not isinstance(raw, list) or not all(isinstance(s, (str, int, float)) for s in raw):
        raise _Bad(f"{where} must be a list of strings")
    return tuple(str(s) for s in raw)


def _severities(raw: Any, levels: dict[str, Level]) -> tuple[Severity, ...]:
    out = []
    for key, item in _map(raw, "severities").items():
        w = f"severities.{key}"
        d = _map(item, w, _SEV)
        for need in ("name", "description", "response_minutes", "escalation"):
            if need not in d:
                raise _Bad(f"{w}.{need} is missing")
        after: dict[str, int] = {}
        for lv, mins in _map(d.get("escalate_after") or {}, f"{w}.escalate_after").items():
            if lv not in levels:
                raise _Bad(f"{w}.escalate_after: unknown level {lv!r} (known: {', '.join(levels)})")
            m = _minutes(mins, f"{w}.escalate_after.{lv}", none_ok=True)
            if m is not None:
                after[lv] = m
        response = _minutes(d["response_minutes"], f"{w}.response_minutes")
        update = _minutes(d.get("update_minutes", 30), f"{w}.update_minutes")
        assert response is not None and update is not None
        out.append(Severity(key=key, name=_text(d["name"], f"{w}.name"),
                            description=_text(d["description"], f"{w}.description"),
                            response_minutes=response, escalation=_text(d["escalation"], f"{w}.escalation"),
                            examples=_strings(d.get("examples"), f"{w}.examples"), update_minutes=update,
                            escalate_after=after,
                            response_text=_text(d.get("response_time", ""), f"{w}.response_time", empty_ok=True)))
    if not out:
        raise _Bad("severities must name at least one severity")
    return tuple(out)


def _phases(raw: Any) -> tuple[Phase, ...]:
    out = []
    for name, item in _map(raw, "phases").items():
        w = f"phases.{name}"
        d = _map(item or {}, w, _PHASE)
        start = _minutes(d.get("start_minutes", 0), f"{w}.start_minutes", zero_ok=True)
        end = _minutes(d.get("end_minutes"), f"{w}.end_minutes", none_ok=True)
        assert start is not None
        if end is not None and end <= start:
            raise _Bad(f"{w}.end_minutes must be after start_minutes ({start})")
        after = d.get("after_resolve", False)
        if not isinstance(after, bool):
            raise _Bad(f"{w}.after_resolve must be true or false")
        out.append(Phase(name=name, start_minutes=start, end_minutes=end, steps=_strings(d.get("steps"), f"{w}.steps"),
                         after_resolve=after))
    if not any(not p.after_resolve for p in out):
        raise _Bad("phases must hold at least one phase of an open incident")
    return tuple(out)


def _levels(raw: Any) -> dict[str, Level]:
    out: dict[str, Level] = {}
    for key, item in _map(raw, "levels").items():
        w = f"levels.{key}"
        d = _map(item, w, _LEVEL)
        for need in ("name", "response_minutes"):
            if need not in d:
                raise _Bad(f"{w}.{need} is missing")
        response = _minutes(d["response_minutes"], f"{w}.response_minutes")
        assert response is not None
        out[key] = Level(key=key, name=_text(d["name"], f"{w}.name"), response_minutes=response,
                         responsibilities=_text(d.get("responsibilities", ""), f"{w}.responsibilities", True),
                         criteria=_text(d.get("criteria", ""), f"{w}.criteria", True),
                         after_minutes=_minutes(d.get("after_minutes"), f"{w}.after_minutes", none_ok=True))
    if not out:
        raise _Bad("levels must name at least one level")
    return out


def _templates(raw: Any) -> dict[str, Template]:
    d = _map(raw, "templates")
    out = {}
    for kind in TEMPLATE_KINDS:
        if kind not in d:
            raise _Bad(f"templates.{kind} is missing")
    for kind, item in d.items():
        w = f"templates.{kind}"
        t = _map(item, w, _TEMPLATE)
        out[kind] = Template(subject=_text(t.get("subject"), f"{w}.subject"), body=_text(t.get("body"), f"{w}.body"))
    return out


def build_policy(data: Mapping[str, Any], source: str = "defaults") -> Policy:
    """A merged policy mapping → Policy. `_Bad` (ValueError) with the field on a bad value."""
    levels = _levels(data.get("levels"))
    headings = _strings(data.get("postmortem_headings", ["Root cause", "Improvements", "Procedure updates"]),
                        "postmortem_headings")
    return Policy(severities=_severities(data.get("severities"), levels), phases=_phases(data.get("phases")),
                  levels=tuple(levels.values()), templates=_templates(data.get("templates")),
                  postmortem_headings=headings, source=source)


def load_policy(path: str | None = None) -> Policy:
    """The shipped defaults, with the team file at `path` (if any) merged over them."""
    data: Any = _read(DEFAULT_POLICY_PATH)
    source = "defaults"
    named = DEFAULT_POLICY_PATH
    if path is not None:
        named = Path(path).expanduser()
        over = _read(named)
        extra = sorted(str(k) for k in over if k not in _TOP)
        if extra:
            raise PolicyError(f"incident policy {named}: unknown key {extra[0]!r} (known: {', '.join(_TOP)})")
        data = _merge(data, over)
        source = str(named)
    try:
        return build_policy(data, source)
    except _Bad as exc:
        raise PolicyError(f"incident policy {named}: {exc}", hint="fix the file (see ecotui/incident/policy.yaml)") \
            from None
