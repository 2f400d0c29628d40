"""Log store of one tenant: label set -> time-sorted entries, bounded in total lines (oldest timestamps dropped
first), optionally persisted to an append-only file so a restarted server keeps what it acknowledged.

An entry is (unix ns, line, metadata) where metadata is the entry's structured metadata as a sorted tuple of
(name, value) pairs (`()` when none): what was pushed plus `detected_level` (server.py adds it, as Loki 3 does).
"""
from __future__ import annotations

import heapq
import json
import os
import time
from bisect import bisect_left, bisect_right
from collections import deque
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

import msgspec

from .logql import LogQuery

LabelKey = tuple[tuple[str, str], ...]
Meta = tuple[tuple[str, str], ...]
Entry = tuple[int, str]  # (unix ns, line)
MetaEntry = tuple[int, str, Meta]
RECENT_S = 2.0
# What subscribers receive for every accepted entry: (labels, key, ts, line, metadata)
Pushed = tuple[dict[str, str], LabelKey, int, str, Meta]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class _Record(msgspec.Struct):
    l: dict[str, str]  # noqa: E741 - the WAL's field names
    e: list[tuple[int, str, tuple[tuple[str, str], ...]]]


_decode_record = msgspec.json.Decoder(_Record).decode


def _record(labels: dict[str, str], entries: list) -> bytes:
    """One WAL line: {"l": labels, "e": entries} + newline (msgspec; the stdlib for lone surrogates)."""
    rec = {"l": labels, "e": entries}
    try:
        return _encode(rec) + b"\n"
    except UnicodeEncodeError:
        return (json.dumps(rec) + "\n").encode()


def label_key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def labels_string(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


class Stream:
    __slots__ = ("labels", "key", "ts", "lines", "meta")

    def __init__(self, labels: dict[str, str], key: LabelKey):
        self.labels = labels
        self.key = key
        self.ts: list[int] = []
        self.lines: list[str] = []
        self.meta: list[Meta] = []

    def add(self, ts: int, line: str, meta: Meta = ()) -> bool:
        """Insert keeping time order; an identical (ts, line) already present is ignored like Loki does."""
        n = len(self.ts)
        if n == 0 or ts > self.ts[-1]:
            self.ts.append(ts)
            self.lines.append(line)
            self.meta.append(meta)
            return True
        lo = bisect_left(self.ts, ts)
        hi = bisect_right(self.ts, ts, lo)
        if line in self.lines[lo:hi]:
            return False
        self.ts.insert(hi, ts)
        self.lines.insert(hi, line)
        self.meta.insert(hi, meta)
        return True


def _write_snapshot(path: Path, snap: list[tuple[dict[str, str], list, list, list]]) -> None:
    """Streams' entries as WAL records, 5000 entries a record."""
    try:
        with open(path, "wb") as fh:
            for labels, ts, lines, meta in snap:
                for i in range(0, len(ts), 5000):
                    chunk = [[t, ln, m] if m else [t, ln]
                             for t, ln, m in zip(ts[i:i + 5000], lines[i:i + 5000], meta[i:i + 5000])]
                    fh.write(_record(labels, chunk))
    except OSError:
        try:
            path.unlink()
        except OSError:
            pass


class _Rewriter:
    """The WAL rewrite in a forked child process: fork gives it a copy-on-write snapshot of the streams as they are at
    that moment (no copies made here), and it shares nothing with the server's event loop. A thread did the same work
    at first: it took 18 % of the server's samples during a 60k lines/s burst, holding the GIL in its list
    comprehensions while pushes and tails waited (py-spy), so the tail fell behind and dropped entries. The child
    only writes `tmp` and leaves with os._exit (no cleanup of the parent's objects, no buffered file flushed twice).
    `is_alive`/`join` as a thread's."""

    def __init__(self, path: Path, snap: list[tuple[dict[str, str], list, list, list]]) -> None:
        self._status: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the child
            code = 1
            try:
                _write_snapshot(path, snap)
                code = 0 if path.exists() else 1
            except BaseException:  # noqa: BLE001 - never return into the server's code
                code = 1
            finally:
                os._exit(code)

    def is_alive(self) -> bool:
        if self._status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                pid, status = self.pid, 1
            if pid == 0:
                return True
            self._status = status
        return False

    def join(self, timeout: float | None = None) -> None:
        end = time.monotonic() + (timeout if timeout is not None else 3600.0)
        for _ in range(10**7):
            if not self.is_alive() or time.monotonic() >= end:
                return
            time.sleep(0.005)


def _appendable(stream: Stream, entries) -> bool:
    """True when `entries` are (ts, line, meta) tuples with strictly increasing timestamps, all newer than the
    stream's newest (so none can be a duplicate and plain appends keep the order)."""
    if not isinstance(entries, list) or not entries:
        return False
    prev = stream.ts[-1] if stream.ts else -1
    for e in entries:
        if len(e) != 3 or e[0] <= prev:
            return False
        prev = e[0]
    return True


class Store:
    def __init__(self, max_lines: int = 200_000, path: str | Path | None = None):
        if max_lines < 1:
            raise ValueError("max_lines must be >= 1")
        self.max_lines = max_lines
        self.streams: dict[LabelKey, Stream] = {}
        self.total = 0
        self.received = 0  # accepted entries, ever (this process)
        self.evicted = 0  # entries dropped to stay under max_lines
        self.evicted_upto = -1  # the newest timestamp ever evicted (-1: none)
        self._subscribers: list[Callable[[list[Pushed]], None]] = []
        self._recent: deque[tuple[float, list[Pushed]]] = deque()  # what arrived in the last RECENT_S seconds
        self.path = Path(path) if path is not None else None
        self._wal: BinaryIO | None = None
        self._wal_entries = 0
        self._compactor: _Rewriter | None = None  # a background rewrite of the WAL (a child process), when one runs
        self._since_snapshot: list[bytes] | None = None  # WAL bytes written since its snapshot
        self._snap_total = 0
        self._since_entries = 0
        if self.path is not None:
            self._load()

    # --- persistence ---------------------------------------------------------------------------------------------
    def _load(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            metas: dict[Meta, Meta] = {}  # one tuple per distinct metadata (nearly all: detected_level=info)
            with open(self.path, "rb") as fh:
                for raw in fh:
                    try:
                        try:  # the usual record, typed (fast); anything else the slow way
                            typed = _decode_record(raw)
                            labels = typed.l
                            entries = [(t, ln, metas.setdefault(m, m)) for t, ln, m in typed.e]
                        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
                            try:
                                rec = _decode(raw)
                            except (msgspec.DecodeError, UnicodeDecodeError):
                                rec = json.loads(raw)  # lone surrogates (written by the stdlib)
                            labels = rec["l"]
                            entries = [(int(e[0]), e[1], tuple(tuple(p) for p in e[2]) if len(e) > 2 else ())
                                       for e in rec["e"]]
                    except (ValueError, KeyError, TypeError, IndexError):
                        continue  # a torn last record (killed mid-write): the push was never acknowledged
                    self._insert([(labels, entries)])
                    self._wal_entries += len(entries)
            self.received = 0
        self._compact()

    def _write(self, batch: list[tuple[dict[str, str], list[MetaEntry]]]) -> None:
        if self._wal is None:
            return
        out = []
        n = 0
        for labels, entries in batch:
            if entries:  # (ts, line, meta) tuples as JSON arrays; an empty meta reloads as ()
                out.append(_record(labels, entries))
                n += len(entries)
        self._wal_entries += n
        if out:
            data = b"".join(out)
            self._wal.write(data)
            self._wal.flush()  # in the kernel before we answer 204: survives the process being killed
            if self._since_snapshot is not None:
                self._since_snapshot.append(data)
                self._since_entries += n
        if self._compactor is not None and not self._compactor.is_alive():
            self._finish_compaction()
        elif self._compactor is None and self._wal_entries > 2 * self.max_lines + 50_000:
            self._start_compaction()

    def _start_compaction(self) -> None:
        """Rewrite the file in a child process (`_Rewriter`) from the streams as they are now, so the server keeps
        serving (a synchronous rewrite of 1.5 M lines stalled it for seconds, and every open tail overflowed). What
        is written meanwhile is kept and appended before the new file replaces the old."""
        assert self.path is not None
        snap = [(s.labels, s.ts, s.lines, s.meta) for s in self.streams.values()]
        self._since_snapshot = []
        self._since_entries = 0
        self._snap_total = self.total
        tmp = self.path.with_suffix(".tmp")
        if self._wal is not None:
            self._wal.flush()   # nothing buffered is copied into the child
        self._compactor = _Rewriter(tmp, snap)

    def _finish_compaction(self) -> None:
        assert self.path is not None and self._compactor is not None and self._since_snapshot is not None
        self._compactor.join()
        tmp = self.path.with_suffix(".tmp")
        since = self._since_snapshot
        self._compactor, self._since_snapshot = None, None
        if not tmp.exists():  # the thread failed (disk full...): keep the old file, try again later
            self._wal_entries = self._snap_total + self._since_entries
            return
        with open(tmp, "ab") as fh:
            fh.write(b"".join(since))
        if self._wal is not None:
            self._wal.close()
        os.replace(tmp, self.path)
        self._wal_entries = self._snap_total + self._since_entries
        self._wal = open(self.path, "ab")

    def _compact(self) -> None:
        """Rewrite the file as exactly what is held now (evicted entries are gone for good); synchronous."""
        assert self.path is not None
        if self._wal is not None:
            self._wal.close()
        tmp = self.path.with_suffix(".tmp")
        _write_snapshot(tmp, [(s.labels, s.ts, s.lines, s.meta) for s in self.streams.values()])
        os.replace(tmp, self.path)
        self._wal_entries = self.total
        self._wal = open(self.path, "ab")

    def close(self) -> None:
        if self._compactor is not None:
            self._compactor.join(60)
            if not self._compactor.is_alive():
                self._finish_compaction()
        if self._wal is not None:
            self._wal.close()
            self._wal = None

    # --- writing -------------------------------------------------------------------------------------------------
    def push(self, batch: Iterable[tuple[dict[str, str], Iterable[tuple]]]) -> int:
        """Store (labels, entries) pairs, entries being (ts, line) or (ts, line, metadata); persist and notify
        subscribers once with what was accepted. Returns the accepted count."""
        accepted, kept = self._insert(batch)
        self._write(kept)
        if accepted:
            t = time.monotonic()
            self._recent.append((t, accepted))
            while self._recent and self._recent[0][0] < t - RECENT_S:
                self._recent.popleft()
            for cb in list(self._subscribers):
                cb(accepted)
        return len(accepted)

    def _insert(self, batch) -> tuple[list[Pushed], list[tuple[dict[str, str], list[MetaEntry]]]]:
        accepted: list[Pushed] = []
        kept: list[tuple[dict[str, str], list[MetaEntry]]] = []
        for labels, entries in batch:
            key = label_key(labels)
            stream = self.streams.get(key)
            if stream is None:
                stream = self.streams[key] = Stream(dict(labels), key)
            mine: list[MetaEntry] = []
            if _appendable(stream, entries):  # the usual push: newer than the stream, in order, 3-tuples
                labels_, ts_l, lines_l, meta_l = stream.labels, stream.ts, stream.lines, stream.meta
                for t_, ln_, m_ in entries:
                    ts_l.append(t_)
                    lines_l.append(ln_)
                    meta_l.append(m_)
                accepted.extend([(labels_, key, t_, ln_, m_) for t_, ln_, m_ in entries])
                kept.append((labels_, entries))
                continue
            for e in entries:
                ts, line = e[0], e[1]
                meta: Meta = e[2] if len(e) > 2 else ()
                if stream.add(ts, line, meta):
                    accepted.append((stream.labels, key, ts, line, meta))
                    mine.append((ts, line, meta))
            kept.append((stream.labels, mine))
            if not stream.ts:
                del self.streams[key]
        self.total += len(accepted)
        self.received += len(accepted)
        if self.total > self.max_lines:
            # big stores evict 1% more than needed at a time: deleting a list's head moves the whole list, once
            # per push at 60k lines/s was most of the server's time; small stores stay exact
            slack = self.max_lines // 100 if self.max_lines >= 100_000 else 0
            self._evict(self.total - self.max_lines + slack)
        return accepted, kept

    def _evict(self, n: int) -> None:
        """Drop the `n` entries with the oldest timestamps across streams (ties: by label set), a run per stream at
        a time: the oldest head's entries up to the next stream's head are taken together."""
        heads = [(s.ts[0], s.key) for s in self.streams.values() if s.ts]
        heapq.heapify(heads)
        cut: dict[LabelKey, int] = {}
        left = n
        while left > 0 and heads:
            ts, key = heapq.heappop(heads)
            s = self.streams[key]
            i = cut.get(key, 0)
            if heads:  # entries of this stream before the next head (equal timestamps: label order decides)
                nts, nkey = heads[0]
                j = bisect_right(s.ts, nts, i) if key < nkey else bisect_left(s.ts, nts, i)
                j = min(max(j, i + 1), i + left)
            else:
                j = min(len(s.ts), i + left)
            self.evicted_upto = max(self.evicted_upto, s.ts[j - 1])
            left -= j - i
            cut[key] = j
            if j < len(s.ts):
                heapq.heappush(heads, (s.ts[j], key))
        for key, i in cut.items():
            s = self.streams[key]
            del s.ts[:i]
            del s.lines[:i]
            del s.meta[:i]
            if not s.ts:
                del self.streams[key]
        self.total -= n - left
        self.evicted += n - left

    def recent(self, seconds: float) -> list[Pushed]:
        """Entries accepted in the last `seconds` (at most RECENT_S), oldest first."""
        if seconds <= 0:
            return []
        cutoff = time.monotonic() - min(seconds, RECENT_S)
        return [p for t, batch in self._recent if t >= cutoff for p in batch]

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

    def select_meta(self, query: LogQuery, start: int, end: int, limit: int, direction: str = "backward",
                    interval: int = 0) -> list[tuple[dict[str, str], int, str, Meta]]:
        """Entries in [start, end) matching `query`, in direction order across all streams; at most `limit`, the
        newest (backward) or oldest (forward). With `interval` (ns) > 0 an entry is only kept when it is at least
        `interval` after (forward) / before (backward) the previously kept one, across streams (as Loki does)."""
        backward = direction == "backward"
        streams = self.matching_streams(query, start, end)
        if len(streams) == 1 and not interval and not query.filters:  # one stream, no filter: a slice
            s = streams[0]
            lo, hi = bisect_left(s.ts, start), bisect_left(s.ts, end)
            lo, hi = (max(lo, hi - limit), hi) if backward else (lo, min(hi, lo + limit))
            labels = s.labels
            rows = [(labels, ts, line, meta) for ts, line, meta in zip(s.ts[lo:hi], s.lines[lo:hi], s.meta[lo:hi])]
            if backward:
                rows.reverse()
            return rows

        def walk(si: int, s: Stream):
            lo, hi = bisect_left(s.ts, start), bisect_left(s.ts, end)
            idx = range(hi - 1, lo - 1, -1) if backward else range(lo, hi)
            got = 0
            for i in idx:
                line = s.lines[i]
                if query.matches_line(line):
                    yield ((-s.ts[i] if backward else s.ts[i]), si, i)
                    got += 1
                    if got >= limit and not interval:
                        return

        out: list[tuple[dict[str, str], int, str, Meta]] = []
        last: int | None = None
        for key, si, i in heapq.merge(*(walk(si, s) for si, s in enumerate(streams))):
            s = streams[si]
            ts = s.ts[i]
            if interval and last is not None and (ts < last + interval if not backward else ts > last - interval):
                continue
            out.append((s.labels, ts, s.lines[i], s.meta[i]))
            last = ts
            if len(out) >= limit:
                break
        return out

    def select(self, query: LogQuery, start: int, end: int, limit: int,
               direction: str = "backward") -> list[tuple[dict[str, str], list[Entry]]]:
        """Like select_meta, grouped by stream (streams ordered by label set; values in direction order)."""
        grouped: dict[LabelKey, tuple[dict[str, str], list[Entry]]] = {}
        for labels, ts, line, _ in self.select_meta(query, start, end, limit, direction):
            grouped.setdefault(label_key(labels), (labels, []))[1].append((ts, line))
        return [grouped[k] for k in sorted(grouped)]

    def label_names(self, query: LogQuery | None, start: int, end: int) -> list[str]:
        return sorted({k for s in self.matching_streams(query, start, end) for k in s.labels})

    def label_values(self, name: str, query: LogQuery | None, start: int, end: int) -> list[str]:
        return sorted({s.labels[name] for s in self.matching_streams(query, start, end) if name in s.labels})
