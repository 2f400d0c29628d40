"""A bounded ring of log lines with stable global indexes, and a filtered view over it that copies no line.

Every line appended gets the next global index (0, 1, 2, … for the life of the buffer, never reused), so the
viewer addresses a line by its index whatever is evicted meanwhile. The ring holds the newest `capacity` lines
(indexes `first` … `end - 1`); older ones are dropped and counted.

The view (what the filter keeps) is a sorted list of global indexes, kept up to date as lines arrive: each new
line is tested once, evicted indexes are cut from the front (a moving head, compacted now and then), and a new
filter rebuilds it from the ring. Without a filter the view is the ring itself (no list at all). Search hits
are a second such list (indexes of view lines the search regex finds), so next/previous and the hit count are
a bisection away.

Memory stays bounded: the ring's `capacity` slots, the two index lists (each ≤ capacity ints) and a bounded set
of pod names. Everything runs on the event loop's thread (sources call the sink from the loop): no locks.
"""
from __future__ import annotations

import math
import re
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence

from ecotui.logs.filters import NO_FILTER, LineFilter
from ecotui.logs.model import Kind, LogLine

RATE_TAU = 3.0          # seconds: time constant of the lines/s average
RATE_MIN_DT = 0.25      # seconds between rate samples
MAX_PODS = 256          # distinct pod names remembered (for "show the pod column")


class _Index:
    """Sorted global indexes with a moving head (evicted entries are skipped, then compacted)."""

    __slots__ = ("items", "head")

    def __init__(self, items: list[int] | None = None) -> None:
        self.items: list[int] = items if items is not None else []
        self.head = 0

    def __len__(self) -> int:
        return len(self.items) - self.head

    def trim(self, first: int) -> None:
        items = self.items
        if self.head < len(items) and items[self.head] < first:
            self.head = bisect_left(items, first, self.head)
            if self.head > 4096 and self.head * 2 > len(items):
                del items[: self.head]
                self.head = 0

    def at(self, pos: int) -> int:
        return self.items[self.head + pos]

    def pos_of(self, g: int) -> int:
        """Position of the first entry ≥ g (len(self) when none)."""
        return bisect_left(self.items, g, self.head) - self.head

    def after(self, g: int) -> int | None:
        i = bisect_right(self.items, g, self.head)
        return self.items[i] if i < len(self.items) else None

    def before(self, g: int) -> int | None:
        i = bisect_left(self.items, g, self.head) - 1
        return self.items[i] if i >= self.head else None

    def iter(self) -> Iterator[int]:
        items = self.items
        for i in range(self.head, len(items)):
            yield items[i]


class LogBuffer:
    """Ring of the newest `capacity` LogLines + the filtered view + search hits + counters."""

    def __init__(self, capacity: int = 100_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("capacity must be ≥ 1")
        self.capacity = capacity
        self._ring: list[LogLine | None] = [None] * capacity
        self.first = 0            # global index of the oldest line kept
        self.end = 0              # global index the next line gets (= lines received, markers included)
        self.cleared = 0          # lines dropped by clear()
        self._evicted = 0         # lines dropped because the ring was full
        self.longest = 0          # longest text seen (characters), for the horizontal scroll range
        self.pods: set[str] = set()
        self._filter: LineFilter = NO_FILTER
        self._view: _Index | None = None          # None: no filter, the view is the ring
        self._search: re.Pattern[str] | None = None
        self._hits = _Index()
        self.version = 0          # bumped by every change the view must redraw for
        # rate
        self._clock = clock
        self._rate = 0.0
        self._rate_t = clock()
        self._rate_n = 0
        self._rate_started = False

    # ---- counters -------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Lines kept in the ring."""
        return self.end - self.first

    @property
    def received(self) -> int:
        return self.end

    @property
    def dropped(self) -> int:
        """Lines evicted because the ring was full (clear() is counted apart, in `cleared`)."""
        return self._evicted

    def rate(self, now: float | None = None) -> float:
        """Lines per second, an exponentially weighted average (time constant RATE_TAU)."""
        self._sample(self._clock() if now is None else now)
        return self._rate

    def _sample(self, now: float) -> None:
        dt = now - self._rate_t
        if dt < RATE_MIN_DT:
            return
        inst = self._rate_n / dt
        if not self._rate_started:
            self._rate = inst
            self._rate_started = self._rate_n > 0
        else:
            a = 1.0 - math.exp(-dt / RATE_TAU)
            self._rate += a * (inst - self._rate)
        self._rate_t = now
        self._rate_n = 0

    # ---- lines ----------------------------------------------------------------------------------

    def get(self, g: int) -> LogLine | None:
        if self.first <= g < self.end:
            return self._ring[g % self.capacity]
        return None

    def append(self, lines: Sequence[LogLine]) -> int:
        """Add a batch; returns how many of them the view keeps (the "new lines" count when not following)."""
        n = len(lines)
        if n == 0:
            return 0
        cap = self.capacity
        ring = self._ring
        if n > cap:                                   # only the newest `cap` of a huge batch can be kept
            skipped = n - cap
            self.end += skipped
            self._rate_n += skipped
            lines = lines[skipped:]
            n = cap
        start = self.end
        flt = self._filter if self._view is not None else None
        view = self._view.items if self._view is not None else None
        search = self._search
        hits = self._hits.items
        pods = self.pods
        longest = self.longest
        kept = 0
        g = start
        for line in lines:
            ring[g % cap] = line
            text = line.text
            if len(text) > longest:
                longest = len(text)
            pod = line.pod
            if pod and pod not in pods and len(pods) < MAX_PODS:
                pods.add(pod)
            if view is not None:
                if flt is not None and flt.matches(line):
                    view.append(g)
                    kept += 1
                    if search is not None and line.kind is Kind.LINE and search.search(text):
                        hits.append(g)
            else:
                kept += 1
                if search is not None and line.kind is Kind.LINE and search.search(text):
                    hits.append(g)
            g += 1
        self.longest = longest
        self.end = g
        first = max(self.first, g - cap)
        if first > self.first:
            self._evicted += first - self.first
            self.first = first
            if self._view is not None:
                self._view.trim(first)
            self._hits.trim(first)
        self._rate_n += n
        self.version += 1
        return kept

    def clear(self) -> None:
        """Forget every line (counted in `cleared`); indexes keep increasing."""
        self.cleared += self.end - self.first
        for g in range(self.first, self.end):
            self._ring[g % self.capacity] = None
        self.first = self.end
        if self._view is not None:
            self._view = _Index()
        self._hits = _Index()
        self.version += 1

    # ---- the filtered view --------------------------------------------------------------------------

    @property
    def filter(self) -> LineFilter:
        return self._filter

    def set_filter(self, flt: LineFilter) -> None:
        """Apply a filter to every line kept (and to every line to come)."""
        self._filter = flt
        if flt.active:
            ring, cap = self._ring, self.capacity
            keep = []
            for g in range(self.first, self.end):
                line = ring[g % cap]
                if line is not None and flt.matches(line):
                    keep.append(g)
            self._view = _Index(keep)
        else:
            self._view = None
        self._rebuild_hits()
        self.version += 1

    @property
    def view_len(self) -> int:
        return len(self._view) if self._view is not None else self.end - self.first

    def view_index(self, pos: int) -> int:
        """Global index of the view's line at `pos` (0 ≤ pos < view_len)."""
        return self._view.at(pos) if self._view is not None else self.first + pos

    def view_pos(self, g: int) -> int:
        """Position in the view of line `g`, or of the first view line after it (view_len when none)."""
        if self._view is not None:
            return self._view.pos_of(g)
        return min(max(g, self.first), self.end) - self.first

    def in_view(self, g: int) -> bool:
        pos = self.view_pos(g)
        return pos < self.view_len and self.view_index(pos) == g

    def view_line(self, pos: int) -> LogLine | None:
        return self.get(self.view_index(pos))

    def iter_view(self) -> Iterator[LogLine]:
        """Lines of the view, oldest first (for saving)."""
        idx = self._view.iter() if self._view is not None else iter(range(self.first, self.end))
        for g in idx:
            line = self.get(g)
            if line is not None:
                yield line

    # ---- search ---------------------------------------------------------------------------------

    @property
    def search(self) -> re.Pattern[str] | None:
        return self._search

    def set_search(self, pattern: re.Pattern[str] | None) -> None:
        self._search = pattern
        self._rebuild_hits()
        self.version += 1

    def _rebuild_hits(self) -> None:
        pat = self._search
        if pat is None:
            self._hits = _Index()
            return
        ring, cap = self._ring, self.capacity
        idx = self._view.iter() if self._view is not None else iter(range(self.first, self.end))
        hits = []
        for g in idx:
            line = ring[g % cap]
            if line is not None and line.kind is Kind.LINE and pat.search(line.text):
                hits.append(g)
        self._hits = _Index(hits)

    @property
    def hit_count(self) -> int:
        return len(self._hits)

    def next_hit(self, g: int, *, wrap: bool = True) -> int | None:
        """The first search hit after line `g` (wrapping to the oldest when `wrap`)."""
        h = self._hits.after(g)
        if h is None and wrap and len(self._hits):
            h = self._hits.at(0)
        return h

    def prev_hit(self, g: int, *, wrap: bool = True) -> int | None:
        h = self._hits.before(g)
        if h is None and wrap and len(self._hits):
            h = self._hits.at(len(self._hits) - 1)
        return h

    def hit_rank(self, g: int) -> int:
        """1-based rank of hit `g` among the hits (0 when `g` is not a hit)."""
        pos = self._hits.pos_of(g)
        return pos + 1 if pos < len(self._hits) and self._hits.at(pos) == g else 0
