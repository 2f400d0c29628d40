"""Full garbage collections when the keyboard is idle, not while keys are being pressed.

Textual's rendering leaves reference cycles behind (its strips and their caches: ~10k objects every few seconds
while a screen repaints), so CPython's automatic full (generation 2) collections run every 5–10 s and, with a
10,000-pod cache beside them, take 30–300 ms each — a keypress that lands in one waits for it (measured with
gc.callbacks at 13,645 pods: bench/metrics_load.py). So automatic collections stop at generation 1 (cheap: young
objects only) and the full collection runs here: once no key has been pressed for `idle_s`, at most every
`every_s`, and at the latest `max_s` after the previous one even while keys keep coming.

Memory bound: while keys keep coming and the screen repaints fast (a log burst: 50k lines/s, a repaint per delivery),
the cycles pile up far faster than `max_s` allows — RSS rose 10–70 % between 100k and 1M lines streamed, and fell
back at the first idle collection. So a full collection also runs when the process's RSS has grown by
`grow_frac` (at least `grow_min` bytes) since the last one, at most every `grow_gap_s`, from `grace_s` after the
start on (loading the caches is growth, not garbage): the garbage stays a few megabytes.

Pause length while a log stream runs: a full pass walked ~110k tracked objects (the app's functions, types and
dicts, Textual's widgets, strips and their caches) and took 50–135 ms on the 2-core bench machine during a 60k
lines/s burst — a keypress landing in one waited that long (bench/stallwatch.py). So when a stream starts, one
full collection runs and everything alive then is frozen (`gc.freeze`: the permanent generation, never walked);
later passes walk only what the stream's screen made since. When the last stream ends the freeze is undone, a full
collection runs, and if something had frozen before (the session freezes its 10k-pod caches) it is frozen again.
"""
from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable

GEN2_OFF = 1_000_000   # threshold2: the automatic full collection effectively never triggers
GEN1_EVERY = 100       # threshold1: generation 1 collected every 100 young passes (CPython: 10), see `install`
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int | None:
    """This process's resident set (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class IdleCollector:
    def __init__(self, *, idle_s: float = 1.0, every_s: float = 10.0, max_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, collect: Callable[[int], object] = gc.collect,
                 rss: Callable[[], int | None] = rss_bytes, grow_frac: float = 0.05, grow_min: int = 4 << 20,
                 grow_gap_s: float = 2.0, grace_s: float = 30.0,
                 streaming: Callable[[], bool] = lambda: True,
                 freeze: Callable[[], object] = gc.freeze, unfreeze: Callable[[], object] = gc.unfreeze,
                 freeze_count: Callable[[], int] = gc.get_freeze_count) -> None:
        self.idle_s, self.every_s, self.max_s = idle_s, every_s, max_s
        self.clock, self.collect = clock, collect
        self.rss, self.grow_frac, self.grow_min, self.grow_gap_s = rss, grow_frac, grow_min, grow_gap_s
        self.base_rss: int | None = None   # RSS right after the last full collection (or at the first tick)
        self.memory_runs = 0               # collections the memory bound started
        self.grace_s = grace_s             # no memory bound this long after `install` (loading is not garbage)
        self.installed_at = clock()
        self.last_key = -1e18
        self.last_full = clock()
        self.full_runs = 0
        self._saved: tuple[int, int, int] | None = None
        self.streaming = streaming         # a log stream runs: the generation-1 and memory rules below apply
        self._gen1_slow = False            # generation 1 at GEN1_EVERY now
        self._freeze, self._unfreeze, self._freeze_count = freeze, unfreeze, freeze_count
        self._stream_frozen: tuple[int, int] | None = None   # (frozen before, after) our freeze at stream start

    def install(self) -> None:
        """Stop automatic full collections (generation 0 and 1 stay automatic). While a log stream runs (`tick`
        asks `streaming`), objects also stay in generation 1 longer: a strip lives a few repaints in Textual's
        caches, and its cycle (`Strip.divide` caches `[self]`) used to reach generation 2 after ten young passes
        (~34k cyclic objects per 500k lines streamed, measured); with generation 1 collected every 100 passes most
        die there (~7.6k). Only then: at 13,645 pods (bench.metrics_load) the unchanged collector is what was
        measured within the keypress target."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            t0, t1, _ = self._saved
            gc.set_threshold(t0, t1, GEN2_OFF)
            self._gen1_slow = False
        self.installed_at = self.clock()
        self.base_rss = None

    def _gen1(self, slow: bool) -> None:
        if self._saved is not None and slow != self._gen1_slow:
            t0, t1, _ = self._saved
            gc.set_threshold(t0, GEN1_EVERY if slow else t1, GEN2_OFF)
            self._gen1_slow = slow

    def _stream_freeze(self, streaming: bool) -> None:
        """A stream started: collect, then freeze what is alive. The last one ended: unfreeze, collect, and freeze
        again only if something else had frozen objects (before us, or while the stream ran)."""
        if streaming and self._stream_frozen is None:
            before = self._freeze_count()
            self.collect(2)
            self._freeze()
            self._stream_frozen = (before, self._freeze_count())
        elif not streaming and self._stream_frozen is not None:
            before, after = self._stream_frozen
            self._stream_frozen = None
            others = before > 0 or self._freeze_count() > after
            self._unfreeze()
            self.collect(2)
            if others:
                self._freeze()

    def uninstall(self) -> None:
        if self._stream_frozen is not None:
            self._stream_freeze(False)
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def key(self) -> None:
        self.last_key = self.clock()

    def tick(self) -> bool:
        """Call about once a second; True when it ran a full collection."""
        now = self.clock()
        since = now - self.last_full
        due = since >= self.max_s or (since >= self.every_s and now - self.last_key >= self.idle_s)
        streaming = self.streaming()
        self._gen1(streaming)
        if self._saved is not None and streaming != (self._stream_frozen is not None):
            self._stream_freeze(streaming)
            self.last_full = self.clock()
            self.full_runs += 1
            return True
        if not streaming:
            self.base_rss = None
        rss = self.rss() if streaming and now - self.installed_at >= self.grace_s else None
        if rss is not None and self.base_rss is None:
            self.base_rss = rss
        if not due and rss is not None and self.base_rss is not None and since >= self.grow_gap_s \
                and rss - self.base_rss > max(self.grow_min, self.base_rss * self.grow_frac):
            due = True
            self.memory_runs += 1
        if not due:
            return False
        self.collect(2)
        self.last_full = self.clock()
        self.full_runs += 1
        if self.base_rss is not None:
            self.base_rss = self.rss()  # what is left is not garbage: the next bound counts from here
        return True
