"""Where the incidents live, and the one cheap question the App asks at start: has this machine ever had one?

(So a user who never opens an incident pays a stat per second for incident mode, not its imports and policy.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ecotui.ops.journal import state_dir


def incidents_root(settings: Any = None) -> Path:
    """config `incident.state_dir` + /incidents, else `$ECOTUI_STATE_DIR` or the XDG state dir + /incidents."""
    d = getattr(settings, "state_dir", None)
    return Path(d).expanduser() / "incidents" if d else state_dir() / "incidents"


def any_incident(settings: Any = None) -> bool:
    """True once an incident was started under this root (`<root>/current` exists, open or resolved)."""
    try:
        return (incidents_root(settings) / "current").exists()
    except OSError:
        return True     # let the store say what is wrong
