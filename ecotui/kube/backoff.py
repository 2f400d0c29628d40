"""Capped exponential backoff with jitter (client-go's wait.Backoff, simplified)."""
from __future__ import annotations

import random
from typing import Callable


class Backoff:
    """`next()` gives initial, initial*factor, ... up to `cap`, each shortened by up to `jitter` (a fraction),
    so the delay never exceeds `cap`. `reset()` after a success."""

    def __init__(self, initial: float, cap: float, factor: float = 2.0, jitter: float = 0.2,
                 rng: Callable[[], float] = random.random) -> None:
        self.initial, self.cap, self.factor, self.jitter = initial, cap, factor, jitter
        self._rng = rng
        self._steps = 0

    def next(self) -> float:
        delay = min(self.cap, self.initial * self.factor ** min(self._steps, 64))
        self._steps += 1
        return delay * (1.0 - self.jitter * self._rng())

    def reset(self) -> None:
        self._steps = 0
