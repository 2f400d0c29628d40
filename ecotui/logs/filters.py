"""What the log viewer keeps and what it highlights: include / exclude regexes, the runbook presets, search.

Regexes are Python `re` syntax with smart case: a pattern without an upper-case letter matches either case
(`error` finds `ERROR`), one with an upper-case letter is case-sensitive; `(?i)`/`(?-i:…)` still work.
An invalid regex raises `FilterError` with one clear line; callers keep the previous filter.

Presets are the log greps of the runbook (docs: operational-procedures, "Log analysis"), with the same meaning:

    errors    grep -i error                                    → (?i)error
    perf      grep -E "(slow|timeout|latency)"                 → (slow|timeout|latency)   (case-sensitive, as grep)
    security  grep -E "(unauthorized|forbidden|authentication)" → (unauthorized|forbidden|authentication)

A preset is ANDed with the include regex; the exclude regex removes lines from both. Markers (GAP/INFO lines)
are always kept: a filter must never hide that lines were lost.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ecotui.logs.model import Kind, LogLine


class FilterError(ValueError):
    """An invalid pattern; `str(exc)` is one line for the user."""


_ESCAPE = re.compile(r"\\.")


def smart_flags(pattern: str) -> int:
    """re.IGNORECASE unless the pattern has an upper-case letter outside a backslash escape (`\\S`, `\\W`)."""
    return 0 if any(c.isupper() for c in _ESCAPE.sub("", pattern)) else re.IGNORECASE


def compile_pattern(pattern: str, *, what: str = "regex") -> re.Pattern[str]:
    """Compile a user pattern with smart case; `FilterError("invalid regex 'a(': missing ), … at position 1")`."""
    try:
        return re.compile(pattern, smart_flags(pattern))
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        shown = pattern if len(pattern) <= 60 else pattern[:59] + "…"
        raise FilterError(f"invalid {what} {shown!r}: {exc.msg}{where}") from None
    except (OverflowError, RecursionError, ValueError) as exc:
        raise FilterError(f"invalid {what}: {exc}") from None


@dataclass(frozen=True)
class Preset:
    id: str
    label: str
    runbook: str                  # the runbook's command, shown in the title/help
    pattern: re.Pattern[str]


PRESETS: dict[str, Preset] = {
    "errors": Preset("errors", "errors", "grep -i error", re.compile(r"error", re.IGNORECASE)),
    "perf": Preset("perf", "perf", 'grep -E "(slow|timeout|latency)"', re.compile(r"(slow|timeout|latency)")),
    "security": Preset("security", "security", 'grep -E "(unauthorized|forbidden|authentication)"',
                       re.compile(r"(unauthorized|forbidden|authentication)")),
}


@dataclass(frozen=True)
class LineFilter:
    """Which lines the view keeps. Immutable: changing one makes a new one (and the buffer rebuilds its view)."""

    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    preset: Preset | None = None

    @property
    def active(self) -> bool:
        return self.include is not None or self.exclude is not None or self.preset is not None

    def matches(self, line: LogLine) -> bool:
        if line.kind is not Kind.LINE:
            return True
        text = line.text
        if self.include is not None and self.include.search(text) is None:
            return False
        if self.preset is not None and self.preset.pattern.search(text) is None:
            return False
        return self.exclude is None or self.exclude.search(text) is None

    def with_include(self, pattern: str) -> LineFilter:
        """New filter with this include regex ("" removes it); FilterError keeps nothing changed."""
        return replace(self, include=compile_pattern(pattern, what="include regex") if pattern else None)

    def with_exclude(self, pattern: str) -> LineFilter:
        return replace(self, exclude=compile_pattern(pattern, what="exclude regex") if pattern else None)

    def with_preset(self, preset_id: str | None) -> LineFilter:
        """Set a preset; the same preset again turns it off (a toggle)."""
        if preset_id is None or (self.preset is not None and self.preset.id == preset_id):
            return replace(self, preset=None)
        return replace(self, preset=PRESETS[preset_id])

    def describe(self, limit: int = 40) -> str:
        """`errors +/timeout/ -/health/` for the title (patterns raw: the caller makes them inert)."""
        parts = []
        if self.preset is not None:
            parts.append(self.preset.label)
        if self.include is not None:
            parts.append(f"+/{_cut(self.include.pattern, limit)}/")
        if self.exclude is not None:
            parts.append(f"-/{_cut(self.exclude.pattern, limit)}/")
        return " ".join(parts)


def _cut(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


NO_FILTER = LineFilter()


def spans(pattern: re.Pattern[str] | None, text: str, limit: int = 200) -> list[tuple[int, int]]:
    """(start, end) of the non-empty matches of `pattern` in `text` (at most `limit`) — for highlighting."""
    if pattern is None:
        return []
    out = []
    for m in pattern.finditer(text):
        if m.end() > m.start():
            out.append((m.start(), m.end()))
            if len(out) >= limit:
                break
    return out
