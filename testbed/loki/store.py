"""In-memory log store: label set -> time-sorted entries, bounded in total lines (oldest timestamps dropped first)."""
from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from typing import Callable, Iterable

from .logql import LogQuery

LabelKey = tuple[tuple[str, str], ...]
Entry = tuple[int, str]  # (unix ns, line)
# What subscribers receive for every accepted entry: (labels, key, ts, line)
Pushed = tuple[dict[str, str], LabelKey, int, str]


def label_key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def labels_string(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


class Stream:
    __slots__ = ("labels", "key", "ts", "lines")

    def __init__(self, labels: dict[str, str], key: LabelKey):
        self.labels = labels
        self.key = key
        self.ts: list[int] = []
        self.lines: list[str] = []

    def add(self, ts: int, line: str) -> bool:
        """Insert keeping time order; an identical (ts, line) already present is ignored like Loki does."""
        n = len(self.ts)
        if n == 0 or ts > self.ts[-1]:
            self.ts.append(ts)
            self.lines.append(line)
            return True
        lo = bisect_left(self.ts, ts)
        hi = bisect_right(self.ts, ts, lo)
        if line in self.lines[lo:hi]:
            return False
        self.ts.insert(hi, ts)
        self.lines.insert(hi, line)
        return True


class Store:
    def __init__(self, max_lines: int = 200_000):
        if max_lines < 1:
            raise ValueError("max_lines must be >= 1")
        self.max_lines = max_lines
        self.streams: dict[LabelKey, Stream] = {}
        self.total = 0
        self.received = 0  # accepted entries, ever
        self.evicted = 0  # entries dropped to stay under max_lines
        self._subscribers: list[Callable[[list[Pushed]], None]] = []

    # --- writing -------------------------------------------------------------------------------------------------
    def push(self, batch: Iterable[tuple[dict[str, str], Iterable[Entry]]]) -> int:
        """Store (labels, entries) pairs; notify subscribers once with what was accepted. Returns accepted count."""
        accepted: list[Pushed] = []
        for labels, entries in batch:
            key = label_key(labels)
            stream = self.streams.get(key)
            if stream is None:
                stream = self.streams[key] = Stream(dict(labels), key)
            for ts, line in entries:
                if stream.add(ts, line):
                    accepted.append((stream.labels, key, ts, line))
            if not stream.ts:
                del self.streams[key]
        self.total += len(accepted)
        self.received += len(accepted)
        if self.total > self.max_lines:
            self._evict(self.total - self.max_lines)
        if accepted:
            for cb in list(self._subscribers):
                cb(accepted)
        return len(accepted)

    def _evict(self, n: int) -> None:
        heads = [(s.ts[0], s.key) for s in self.streams.values() if s.ts]
        heapq.heapify(heads)
        cut: dict[LabelKey, int] = {}
        for _ in range(n):
            ts, key = heapq.heappop(heads)
            i = cut.get(key, 0) + 1
            cut[key] = i
            s = self.streams[key]
            if i < len(s.ts):
                heapq.heappush(heads, (s.ts[i], key))
        for key, i in cut.items():
            s = self.streams[key]
            del s.ts[:i]
            del s.lines[:i]
            if not s.ts:
                del self.streams[key]
        self.total -= n
        self.evicted += n

    def subscribe(self, callback: Callable[[list[Pushed]], None]) -> Callable[[], None]:
        """Call `callback(entries)` synchronously after each push. Returns an unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # --- reading -------------------------------------------------------------------------------------------------
    def matching_streams(self, query: LogQuery | None, start: int, end: int) -> list[Stream]:
        """Streams whose labels match and that hold at least one entry in [start, end)."""
        out = []
        for s in self.streams.values():
            if query is not None and not query.matches_labels(s.labels):
                continue
            lo = bisect_left(s.ts, start)
            if lo < len(s.ts) and s.ts[lo] < end:
                out.append(s)
        return sorted(out, key=lambda s: s.key)

    def select(self, query: LogQuery, start: int, end: int, limit: int,
               direction: str = "backward") -> list[tuple[dict[str, str], list[Entry]]]:
        """Entries in [start, end) matching `query`; at most `limit` in total, the newest (backward) or oldest
        (forward) across all streams. Each stream's values are in direction order."""
        backward = direction == "backward"
        picked: list[tuple[int, int, str]] = []  # (ts, stream index, line)
        streams = self.matching_streams(query, start, end)
        for si, s in enumerate(streams):
            lo, hi = bisect_left(s.ts, start), bisect_left(s.ts, end)
            idx = range(hi - 1, lo - 1, -1) if backward else range(lo, hi)
            got = 0
            for i in idx:
                line = s.lines[i]
                if query.matches_line(line):
                    picked.append((s.ts[i], si, line))
                    got += 1
                    if got >= limit:
                        break
        picked.sort(key=lambda e: (-e[0], e[1]) if backward else (e[0], e[1]))
        grouped: dict[int, list[Entry]] = {}
        for ts, si, line in picked[:limit]:
            grouped.setdefault(si, []).append((ts, line))
        return [(streams[si].labels, entries) for si, entries in sorted(grouped.items())]

    def label_names(self, query: LogQuery | None, start: int, end: int) -> list[str]:
        return sorted({k for s in self.matching_streams(query, start, end) for k in s.labels})

    def label_values(self, name: str, query: LogQuery | None, start: int, end: int) -> list[str]:
        return sorted({s.labels[name] for s in self.matching_streams(query, start, end) if name in s.labels})
