"""Headless: where the memory of a Loki log stream goes, without the UI (a diagnostic for bench/logs.py's RSS row).

    python -m bench.logs_mem [--rate 60000] [--seconds 20] [--ui-rate 0] [--query '{app="user-service"}']

Runs ecotui's Loki path as the viewer does — `ThreadedSource(LokiSource)` on a thread of its own, its batches
appended to a 100,000-line `LogBuffer` on this loop — while `testbed logs burst --to loki` pushes `--rate`
lines/s for `--seconds` into the testbed's Loki. `--ui-rate N` makes this loop take at most N lines/s (the
UI's pace: a slower consumer makes the testbed Loki drop tail entries and the source catch up from history).
Prints one JSON line per second: lines received, RSS, glibc heap in use / free / mmapped, pymalloc arenas and
bytes, allocated blocks; then RSS at 100k and 1M lines and the drift. Needs the testbed up; bounded in time.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.stallwatch import mem_sample
from ecotui import malloc_tune
from ecotui.logs.buffer import LogBuffer
from ecotui.logs.loki import LokiClient, LokiConfig, LokiSource
from ecotui.logs.model import LogLine
from ecotui.logs.offthread import ThreadedSource
from testbed import ports

REPO = Path(__file__).resolve().parent.parent


async def run(a: argparse.Namespace) -> dict[str, Any]:
    buf = LogBuffer(100_000)
    client = LokiClient(LokiConfig(url=f"http://{ports.HOST}:{ports.LOKI}"))
    inner = LokiSource(client, a.query, since_s=60)
    src = ThreadedSource(inner, on_close=client.aclose)
    budget = [0.0, time.monotonic()]

    def sink(lines: list[LogLine]) -> None:  # type: ignore[override]
        buf.append(lines)
        if a.ui_rate:
            budget[0] += len(lines) / a.ui_rate
            now = time.monotonic()
            wait = budget[1] + budget[0] - now
            if wait > 0:
                time.sleep(wait)   # this loop is busy like a UI drawing that many lines
            else:
                budget[0], budget[1] = 0.0, now

    task = asyncio.create_task(src.run(sink))   # type: ignore[arg-type]
    await asyncio.sleep(3)
    burst = subprocess.Popen([sys.executable, "-m", "testbed", "logs", "burst", "--rate", str(a.rate), "--seconds",
                              str(a.seconds), "--target", a.target, "--wait", "--to", "loki"], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = buf.received
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    end = t0 + a.seconds + 60
    quiet = 0
    for _ in range(10_000):
        await asyncio.sleep(0.5)
        s = {"t": round(time.monotonic() - t0, 1), "received": buf.received - base, "state": src.status.state.value,
             "catch_ups": inner.catch_ups, **mem_sample(pymalloc=True)}
        samples.append(s)
        if a.verbose:
            print(json.dumps(s), flush=True)
        else:
            print(f"{s['t']:5.1f} {s['received']:>9,} {s['state']:9} c{s['catch_ups']} rss {s['rss'] / 2**20:6.1f} "
                  f"heap {s['heap_used'] / 2**20:5.1f}+{s['heap_free'] / 2**20:4.1f} mmap {s['mmapped'] / 2**20:5.1f} "
                  f"py {s.get('py_arenas')} arenas {s.get('py_allocated', 0) / 2**20:5.1f} MiB "
                  f"blocks {s['blocks'] / 1000:5.0f}k", flush=True)
        if burst.poll() is not None and len(samples) > 2 and samples[-2]["received"] == s["received"]:
            quiet += 1
        if quiet >= 6 or time.monotonic() > end:
            break
    burst.wait(timeout=120)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass

    if a.garbage:
        _garbage_report()

    def at(n: int) -> dict[str, Any] | None:
        return next((s for s in samples if s["received"] >= n), None)

    a100, a1m = at(100_000), at(1_000_000)
    drift = (a1m["rss"] / a100["rss"] - 1) if a100 and a1m else None
    return {"rss_100k_mib": a100 and round(a100["rss"] / 2**20, 1), "rss_1m_mib": a1m and round(a1m["rss"] / 2**20, 1),
            "drift": drift and round(drift, 4), "received": samples[-1]["received"] if samples else 0,
            "catch_ups": inner.catch_ups}


def _garbage_report() -> None:
    """What cyclic garbage the run left (automatic collection was off): counts and bytes by type, the big ones."""
    import gc
    import weakref
    from collections import Counter
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    n: Counter[str] = Counter()
    size: Counter[str] = Counter()
    big = []
    for o in gc.garbage:
        if isinstance(o, weakref.ProxyTypes):
            continue   # a dead proxy: isinstance() on it raises
        t = type(o).__qualname__
        n[t] += 1
        sz = sys.getsizeof(o)
        size[t] += sz
        if sz >= 64 << 10 or (isinstance(o, list) and len(o) >= 500):
            big.append((sz, t, len(o) if isinstance(o, (list, dict, tuple, set, bytes, bytearray)) else -1))
    print(f"garbage: {len(gc.garbage):,} objects")
    for t, c in size.most_common(25):
        print(f"  {t:40} {n[t]:>8,} objects {c / 2**20:8.2f} MiB")
    for sz, t, ln in sorted(big, reverse=True)[:20]:
        print(f"  big: {t} {sz / 2**10:.0f} KiB len {ln}")
    frames = Counter(f"{o.f_code.co_filename.rsplit('/', 2)[-1]}:{o.f_code.co_name}"
                     for o in gc.garbage if type(o).__name__ == "frame")
    print("  frames:", frames.most_common(15))
    gc.garbage.clear()
    gc.set_debug(0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rate", type=int, default=60_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--ui-rate", type=float, default=0, help="lines/s this loop takes at most (0: as fast as it can)")
    ap.add_argument("--verbose", action="store_true", help="JSON samples")
    ap.add_argument("--garbage", action="store_true", help="automatic garbage collection off (as the UI runs it "
                    "while streaming: no full passes); at the end, what cyclic garbage was left, by type")
    ap.add_argument("--target", default="user-service")
    ap.add_argument("--query", default='{namespace="ecotrack",app="user-service"}')
    a = ap.parse_args()
    malloc_tune.tune()
    if a.garbage:
        import gc
        gc.disable()
    print(json.dumps({"result": asyncio.run(run(a))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
