"""Turning API errors into one line for an action's outcome."""
from __future__ import annotations

from ecotui.errors import EcotuiError


def error_line(exc: BaseException) -> str:
    """The one-line message of an EcotuiError (or the type and text of anything else)."""
    if isinstance(exc, EcotuiError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def status_of(exc: BaseException) -> int:
    """The HTTP status of an API error (0 when there was none: connection problems, read-only refusals)."""
    return int(getattr(exc, "status", 0) or 0)
