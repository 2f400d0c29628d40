"""What every screen gets from the App at construction: a small typed bundle, not the App itself.

Screens never import the App (and the App never reaches into a screen's attributes): they read the active
workspace given to them (`use_workspace`), these settings, and talk back with messages (`ui/messages.py`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.style import Style

Hints = Callable[[Sequence[str], Mapping[str, str]], str]


@dataclass
class UiContext:
    hints: Hints                               # key hint line from the keymap (ids -> "key label")
    clock: Callable[[], float]
    poll_interval: float = 0.25                # seconds between looks at the session's version
    age_interval: float = 5.0                  # seconds between AGE refreshes
    styles: Mapping[str, Style] = field(default_factory=dict)  # semantic cell styles of the theme
