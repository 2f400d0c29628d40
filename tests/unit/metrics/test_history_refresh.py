from __future__ import annotations

import asyncio
import math

from ecotui.metrics.history import History, resample, sparkline
from ecotui.metrics.levels import Level, Thresholds
from ecotui.metrics.refresh import Refresher


def test_history_window_and_prune():
    h = History(window_s=60)
    for t in range(0, 200, 10):
        h.add("a", t, t)
    assert h.points("a")[0][0] == 130 and h.last("a") == 190
    h.add("a", 190, 5)  # same time: ignored
    assert h.last("a") == 190
    h.prune(now=400)
    assert "a" not in h.keys()


def test_sparkline_shapes():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([1, None, 3], 5) == "  ▁ █"
    assert sparkline([], 3) == "   "
    r = resample([(0, 1.0), (5, 2.0), (59, 3.0)], 0, 60, 6)
    assert r[0] == 2.0 and r[-1] == 3.0 and math.isnan(r[2])


def test_thresholds():
    t = Thresholds(warn=0.01, crit=0.05)
    assert t.level(0.0) is Level.OK and t.level(0.02) is Level.WARN and t.level(0.3) is Level.CRIT
    assert t.level(math.nan) is Level.NODATA
    low = Thresholds(warn=0.5, crit=0.2, above=False)
    assert low.level(0.1) is Level.CRIT and low.level(0.9) is Level.OK


def test_refresher_never_overlaps_and_pauses():
    async def go():
        active = 0
        peak = 0

        async def fn():
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.05)  # longer than the interval
            active -= 1

        r = Refresher(fn, 0.01)
        r.start()
        for _ in range(5):
            r.kick()
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        runs = r.runs
        assert runs >= 2 and peak == 1
        r.pause()
        await asyncio.sleep(0.1)
        paused_runs = r.runs
        await asyncio.sleep(0.1)
        assert r.runs == paused_runs
        r.resume()
        await asyncio.sleep(0.1)
        assert r.runs > paused_runs
        await r.stop()

    asyncio.run(go())
