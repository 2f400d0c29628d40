"""In-memory history of numeric readings (the last 30 minutes by default) and text sparklines.

`History` keeps (time, value) points per key in a bounded deque; points older than the window are dropped as
new ones arrive, and a key not updated for a window is forgotten on `prune()`. `SampleHistory` is the compact
form for many keys sampled together (every pod at each poll): a key table and one float32 array per sample. `sparkline(values, width)` draws
the last `width` values with the eight block characters ▁..█ (NaN / None as a space), scaled between the
values' min and max (or given bounds) — plain text, so any widget can style it.
"""
from __future__ import annotations

import math
import threading
from array import array
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


class SampleHistory:
    """Many keys sampled together (every pod at each poll), compactly: a key table (key -> slot) and, per
    sample, one `array('f')` of values aligned to it — 4 bytes a point instead of ~90 for a (t, v) tuple in a
    deque per key (10,000 pods × CPU and memory × 120 samples: ~10 MB, not ~250 MB). NaN marks a key absent
    from a sample (or its value unknown). Slots of keys not seen within the window are reclaimed when they
    pile up. `add_sample` may run in a worker thread while the UI reads `points`: both take a lock (reads copy
    at most `max_samples` points)."""

    def __init__(self, window_s: float = WINDOW_S, max_samples: int = 720, typecode: str = "f") -> None:
        self.window_s = window_s
        self.max_samples = max_samples
        self.typecode = typecode
        self._index: dict[Hashable, int] = {}
        self._seen: array[float] = array("d")         # per slot: the last sample time the key was in
        self._times: deque[float] = deque()
        self._cols: deque[array[float]] = deque()
        self._lock = threading.Lock()

    def add_sample(self, t: float, items: Iterable[tuple[Hashable, float | None]]) -> bool:
        """One sample of every key in `items` at time `t` (None = unknown). A sample not newer than the last
        one is ignored (a resolution-bound source repeats itself). Returns whether it was recorded."""
        with self._lock:
            if self._times and t <= self._times[-1]:
                return False
            index, seen = self._index, self._seen
            col = array(self.typecode, [math.nan]) * len(index)
            nan = math.nan
            for key, v in items:
                i = index.get(key)
                if i is None:
                    i = index[key] = len(seen)
                    seen.append(t)
                    col.append(nan)
                else:
                    seen[i] = t
                col[i] = nan if v is None else v
            self._times.append(t)
            self._cols.append(col)
            cut = t - self.window_s
            while self._times and (self._times[0] < cut or len(self._times) > self.max_samples):
                self._times.popleft()
                self._cols.popleft()
            self._reclaim(cut)
            return True

    def _reclaim(self, cut: float) -> None:
        """Forget keys not seen within the window once they are a quarter of the slots (pods that went away)."""
        dead = sum(1 for s in self._seen if s < cut)
        if dead < max(64, len(self._seen) // 4):
            return
        keep = [(k, i) for k, i in self._index.items() if self._seen[i] >= cut]
        slots = [i for _, i in keep]
        self._index = {k: n for n, (k, _) in enumerate(keep)}
        self._seen = array("d", (self._seen[i] for i in slots))
        nan = math.nan
        self._cols = deque(array(self.typecode, (c[i] if i < len(c) else nan for i in slots)) for c in self._cols)

    def points(self, key: Hashable) -> tuple[tuple[float, float], ...]:
        """The key's (time, value) points with a value, oldest first."""
        with self._lock:
            i = self._index.get(key)
            if i is None:
                return ()
            return tuple((t, c[i]) for t, c in zip(self._times, self._cols) if i < len(c) and c[i] == c[i])

    def values(self, key: Hashable) -> tuple[float, ...]:
        return tuple(v for _, v in self.points(key))

    def last(self, key: Hashable) -> float | None:
        pts = self.points(key)
        return pts[-1][1] if pts else None

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._index)

    @property
    def samples(self) -> int:
        return len(self._times)

    def __len__(self) -> int:
        return len(self._index)


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
