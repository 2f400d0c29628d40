"""Micro benchmark: LogBuffer ingest rate (lines/s) with and without a filter and a search active.

    python -m bench.log_buffer            # 1M lines in batches of 200, capacity 100k

Lines look like the testbed's: Spring-style text and JSON, ~120-200 chars. Target: ≥ 50,000 lines/s with a
filter active (the viewer's flush timer appends batches; rendering is O(visible) and not measured here).
"""
from __future__ import annotations

import argparse
import random
import time

from ecotui.logs.buffer import LogBuffer
from ecotui.logs.filters import NO_FILTER, compile_pattern
from ecotui.logs.model import LogLine

LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")


def make_lines(n: int, seed: int = 1) -> list[LogLine]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        lvl = rnd.choice(LEVELS)
        if i % 3 == 0:
            text = (f'{{"ts":"2026-01-05T10:00:{i % 60:02d}.{i % 1000:03d}Z","level":"{lvl.lower()}",'
                    f'"logger":"c.e.UserService","msg":"request {i} took {rnd.randrange(900)} ms",'
                    f'"trace_id":"{rnd.getrandbits(64):016x}"}}')
        else:
            text = (f"2026-01-05T10:00:{i % 60:02d}.{i % 1000:03d}Z {lvl:>5} 1 --- [nio-8080-exec-{i % 10}] "
                    f"c.e.ecotrack.UserController : GET /api/users/{i} -> 200 in {rnd.randrange(900)} ms"
                    + (" timeout talking to db" if rnd.random() < 0.05 else ""))
        out.append(LogLine(1_700_000_000_000_000_000 + i, text, '{app="user-service"}', pod=f"user-service-{i % 3}"))
    return out


def run(lines: list[LogLine], batch: int, capacity: int, setup: str) -> float:
    buf = LogBuffer(capacity)
    if "filter" in setup:
        buf.set_filter(NO_FILTER.with_include("error|warn").with_exclude("health"))
    if "preset" in setup:
        buf.set_filter(buf.filter.with_preset("errors"))
    if "search" in setup:
        buf.set_search(compile_pattern("timeout"))
    t0 = time.perf_counter()
    for i in range(0, len(lines), batch):
        buf.append(lines[i:i + batch])
    dt = time.perf_counter() - t0
    assert buf.received == len(lines) and len(buf) == min(capacity, len(lines))
    return len(lines) / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--capacity", type=int, default=100_000)
    args = ap.parse_args()
    distinct = make_lines(50_000)
    lines = (distinct * (args.lines // len(distinct) + 1))[: args.lines]
    for setup in ("none", "filter", "filter+search", "preset+filter+search"):
        rates = [run(lines, args.batch, args.capacity, setup) for _ in range(3)]
        print(f"{setup:<22} median {sorted(rates)[1]:>12,.0f} lines/s  (runs: "
              + ", ".join(f"{r:,.0f}" for r in rates) + ")")
    # refilter cost: a full rebuild of the view over a full ring
    buf = LogBuffer(args.capacity)
    buf.append(lines[: args.capacity])
    t0 = time.perf_counter()
    buf.set_filter(NO_FILTER.with_include("error"))
    print(f"rebuild view over {args.capacity:,} lines: {1000 * (time.perf_counter() - t0):.1f} ms")


if __name__ == "__main__":
    main()
