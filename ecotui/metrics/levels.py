"""What a reading is: a value at a level, or why there is none. Panels show `text`, colour by `level`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Level(str, Enum):
    OK = "ok"
    WARN = "warn"
    CRIT = "crit"
    NODATA = "nodata"            # the query answered with no series: "no data", never 0
    ERROR = "error"              # the query failed (Prometheus's error text in `error`)
    UNREACHABLE = "unreachable"  # transport failure / timeout
    LOADING = "loading"          # not asked yet
    OFF = "off"                  # not configured (e.g. no Prometheus for this context)


@dataclass(frozen=True)
class Thresholds:
    """warn/crit bounds; `above=False` for metrics that are bad when low (e.g. a success ratio)."""

    warn: float | None = None
    crit: float | None = None
    above: bool = True

    def level(self, value: float) -> Level:
        if math.isnan(value):
            return Level.NODATA
        def over(bound: float | None) -> bool:
            return bound is not None and (value >= bound if self.above else value <= bound)
        if over(self.crit):
            return Level.CRIT
        if over(self.warn):
            return Level.WARN
        return Level.OK


@dataclass(frozen=True)
class Reading:
    level: Level
    value: float | None = None
    text: str = ""               # the value formatted with its unit, or the reason there is none
    error: str = ""              # the full error line (errors / unreachable)
    at: float = 0.0              # unix seconds of the sample or of the failure
    history: tuple[float, ...] = ()
