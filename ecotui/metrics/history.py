"""In-memory history of numeric readings (the last 30 minutes by default) and text sparklines.

`History` keeps (time, value) points per key in a bounded deque; points older than the window are dropped as
new ones arrive, and a key not updated for a window is forgotten on `prune()`. `sparkline(values, width)` draws
the last `width` values with the eight block characters ▁..█ (NaN / None as a space), scaled between the
values' min and max (or given bounds) — plain text, so any widget can style it.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Iterable, Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
WINDOW_S = 1800.0


class History:
    """Points per key within `window_s`; at most `max_points` per key (the oldest go first)."""

    def __init__(self, window_s: float = WINDOW_S, max_points: int = 720) -> None:
        self.window_s = window_s
        self.max_points = max_points
        self._points: dict[Hashable, deque[tuple[float, float]]] = {}

    def add(self, key: Hashable, t: float, value: float | None) -> None:
        """Record `value` at time `t` (None/NaN kept as a gap). A point at the same or an older time than the
        key's last one replaces nothing and is ignored (a resolution-bound source repeats its sample)."""
        dq = self._points.get(key)
        if dq is None:
            dq = self._points[key] = deque(maxlen=self.max_points)
        elif dq and t <= dq[-1][0]:
            return
        dq.append((t, math.nan if value is None else float(value)))
        cut = t - self.window_s
        while dq and dq[0][0] < cut:
            dq.popleft()

    def replace(self, key: Hashable, points: Iterable[tuple[float, float]]) -> None:
        """Set a key's history at once (e.g. from a Prometheus range query)."""
        dq: deque[tuple[float, float]] = deque(maxlen=self.max_points)
        dq.extend(points)
        self._points[key] = dq

    def points(self, key: Hashable) -> tuple[tuple[float, float], ...]:
        dq = self._points.get(key)
        return tuple(dq) if dq else ()

    def values(self, key: Hashable) -> tuple[float, ...]:
        dq = self._points.get(key)
        return tuple(v for _, v in dq) if dq else ()

    def last(self, key: Hashable) -> float | None:
        dq = self._points.get(key)
        if not dq:
            return None
        v = dq[-1][1]
        return None if math.isnan(v) else v

    def keys(self) -> list[Hashable]:
        return list(self._points)

    def prune(self, now: float) -> None:
        """Forget keys with no point within the window (pods that went away)."""
        cut = now - self.window_s
        for key in [k for k, dq in self._points.items() if not dq or dq[-1][0] < cut]:
            del self._points[key]

    def __len__(self) -> int:
        return len(self._points)


def sparkline(values: Sequence[float | None], width: int, lo: float | None = None,
              hi: float | None = None) -> str:
    """The last `width` values as block characters, right-aligned (padded with spaces on the left)."""
    if width <= 0:
        return ""
    vals = [math.nan if v is None else float(v) for v in values[-width:]]
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return " " * width
    low = min(finite) if lo is None else lo
    high = max(finite) if hi is None else hi
    span = high - low
    out = []
    for v in vals:
        if not math.isfinite(v):
            out.append(" ")
        elif span <= 0:  # all equal: a flat line in the middle (at the bottom when it sits on a given floor)
            out.append(BLOCKS[0] if lo is not None and v <= lo else BLOCKS[3])
        else:
            i = int((min(max(v, low), high) - low) / span * (len(BLOCKS) - 1) + 0.5)
            out.append(BLOCKS[i])
    return " " * (width - len(out)) + "".join(out)


def resample(points: Sequence[tuple[float, float]], start: float, end: float, n: int) -> list[float]:
    """`n` buckets from start to end, each the last value that falls in it (NaN where none): a sparkline
    over a time span whatever the sampling rate."""
    if n <= 0 or end <= start:
        return []
    out = [math.nan] * n
    width = (end - start) / n
    for t, v in points:
        if start <= t <= end:
            out[min(n - 1, int((t - start) / width))] = v
    return out
