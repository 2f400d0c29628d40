"""Full garbage collections when the keyboard is idle, not while keys are being pressed.

Textual's rendering leaves reference cycles behind (its strips and their caches: ~10k objects every few seconds
while a screen repaints), so CPython's automatic full (generation 2) collections run every 5–10 s and, with a
10,000-pod cache beside them, take 30–300 ms each — a keypress that lands in one waits for it (measured with
gc.callbacks at 13,645 pods: bench/metrics_load.py). So automatic collections stop at generation 1 (cheap: young
objects only) and the full collection runs here: once no key has been pressed for `idle_s`, at most every
`every_s`, and at the latest `max_s` after the previous one even while keys keep coming (memory stays bounded).
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable

GEN2_OFF = 1_000_000   # threshold2: the automatic full collection effectively never triggers


class IdleCollector:
    def __init__(self, *, idle_s: float = 1.0, every_s: float = 10.0, max_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, collect: Callable[[int], object] = gc.collect) -> None:
        self.idle_s, self.every_s, self.max_s = idle_s, every_s, max_s
        self.clock, self.collect = clock, collect
        self.last_key = -1e18
        self.last_full = clock()
        self.full_runs = 0
        self._saved: tuple[int, int, int] | None = None

    def install(self) -> None:
        """Stop automatic full collections (generation 0 and 1 stay automatic)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            t0, t1, _ = self._saved
            gc.set_threshold(t0, t1, GEN2_OFF)

    def uninstall(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def key(self) -> None:
        self.last_key = self.clock()

    def tick(self) -> bool:
        """Call about once a second; True when it ran a full collection."""
        now = self.clock()
        since = now - self.last_full
        if since >= self.max_s or (since >= self.every_s and now - self.last_key >= self.idle_s):
            self.collect(2)
            self.last_full = self.clock()
            self.full_runs += 1
            return True
        return False
