"""Incident mode's settings (config top-level key `incident:`)::

    incident:
      policy: ~/.config/ecotui/incident-policy.yaml   # the team's overrides of the runbook policy (policy.yaml)
      bell: true                                      # ring the terminal bell once at each passed deadline
      updates_file: ~/incidents/updates.md            # where sent status updates are appended
                                                      #   (default: <state dir>/incidents/<id>/updates.md)
      export_dir: ~/incidents                         # where the post-mortem export goes (default: next to the
                                                      #   incident, <state dir>/incidents/<id>/)
      state_dir: ~/.local/state/ecotui                # incident files go to <state_dir>/incidents/ (default:
                                                      #   $ECOTUI_STATE_DIR or $XDG_STATE_HOME/ecotui)

Paths are expanded (`~`) and, when relative, taken relative to the config file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

_KEYS = ("policy", "bell", "updates_file", "export_dir", "state_dir")


@dataclass(frozen=True)
class IncidentSettings:
    policy: str | None = None         # team policy file (None: the shipped runbook defaults)
    bell: bool = True
    updates_file: str | None = None
    export_dir: str | None = None
    state_dir: str | None = None      # incidents in <state_dir>/incidents/ (None: ecotui.ops.journal.state_dir())


def _path(raw: Any, where: str, base: Path | None) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{where} must be a non-empty path (got {raw!r})")
    p = Path(raw.strip()).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return str(p)


def parse_incident(raw: Any, where: str = "incident", base: Path | None = None) -> IncidentSettings:
    """An `incident:` mapping → IncidentSettings (missing keys keep the defaults). ValueError with one line.
    `base`: the directory relative paths are taken from (the config file's)."""
    if raw is None:
        return IncidentSettings()
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping ({', '.join(_KEYS)})")
    extra = sorted(str(k) for k in raw if k not in _KEYS)
    if extra:
        raise ValueError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(_KEYS)})")
    bell = raw.get("bell", True)
    if not isinstance(bell, bool):
        raise ValueError(f"{where}.bell must be true or false (got {bell!r})")
    return IncidentSettings(policy=_path(raw.get("policy"), f"{where}.policy", base), bell=bell,
                            updates_file=_path(raw.get("updates_file"), f"{where}.updates_file", base),
                            export_dir=_path(raw.get("export_dir"), f"{where}.export_dir", base),
                            state_dir=_path(raw.get("state_dir"), f"{where}.state_dir", base))
