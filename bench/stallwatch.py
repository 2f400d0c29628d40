"""Run ecotui with an event-loop stall watchdog: where the UI thread was when the loop stopped answering.

    python -m bench.stallwatch --out /tmp/stalls.jsonl [--threshold-ms 40] -- -A --context ecotui-testbed

A watchdog thread pings the running asyncio loop every 5 ms (`call_soon_threadsafe`). When a ping is not
answered within the threshold, it samples the main thread's stack every 5 ms until the loop answers, then
writes one JSON line: start (monotonic and wall), duration, and the distinct stacks seen with how many samples
each (innermost frames last). A diagnostic for benchmarks (bench/keypress.py latencies), not part of ecotui.
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import os
import re
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

from bench import procstat

PING_S = 0.005


class Watchdog(threading.Thread):
    def __init__(self, out: Path, threshold_s: float, main_ident: int) -> None:
        super().__init__(name="stallwatch", daemon=True)
        self.out, self.threshold_s, self.main_ident = out, threshold_s, main_ident
        self.loop: asyncio.AbstractEventLoop | None = None
        self.answered = threading.Event()

    def _stack(self) -> str:
        frame = sys._current_frames().get(self.main_ident)
        if frame is None:
            return "?"
        return "".join(traceback.format_stack(frame, limit=40)[-25:])

    def run(self) -> None:
        with self.out.open("a") as f:
            for _ in range(10**9):
                loop = self.loop
                if loop is None or loop.is_closed():
                    time.sleep(0.05)
                    continue
                self.answered.clear()
                t0 = time.monotonic()
                try:
                    loop.call_soon_threadsafe(self.answered.set)
                except RuntimeError:
                    time.sleep(0.05)
                    continue
                if self.answered.wait(self.threshold_s):
                    time.sleep(PING_S)
                    continue
                stacks: Counter[str] = Counter()
                wall = time.time() - (time.monotonic() - t0)
                for _ in range(20_000):   # at most ~100 s of samples
                    stacks[self._stack()] += 1
                    if self.answered.wait(PING_S):
                        break
                rec = {"t_mono": t0, "t_wall": wall, "ms": round((time.monotonic() - t0) * 1000, 1),
                       "stacks": [{"n": n, "stack": s} for s, n in stacks.most_common(6)]}
                f.write(json.dumps(rec) + "\n")
                f.flush()


def _log_gc(out: Path, min_ms: float = 5.0) -> None:
    """Collections of min_ms or more, as lines of their own: {"gc": generation, "t_wall", "ms", "collected"}."""
    import gc
    started: list[float] = [0.0]
    f = out.open("a")

    def cb(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms >= min_ms:
            rec = {"gc": info.get("generation"), "t_wall": time.time(), "ms": round(ms, 1),
                   "collected": info.get("collected")}
            if info.get("generation") == 2:   # what a full pass walks: tracked objects by type (top 12)
                objs = gc.get_objects()
                rec["tracked"] = len(objs)
                rec["types"] = Counter(type(o).__qualname__ for o in objs).most_common(12)
                del objs
            f.write(json.dumps(rec) + "\n")
            f.flush()

    gc.callbacks.append(cb)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]


def _pymalloc_stats() -> dict[str, int]:
    """sys._debugmallocstats() (it prints to C's stderr): arenas and bytes of pymalloc, read back from a file."""
    out: dict[str, int] = {}
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("utf-8", "replace")
    for key, pat in (("arenas", r"# arenas allocated current\s*=\s*([\d,]+)"),
                     ("allocated", r"# bytes in allocated blocks\s*=\s*([\d,]+)"),
                     ("available", r"# bytes in available blocks\s*=\s*([\d,]+)"),
                     ("free_pools", r"\d+ unused pools \* \d+ bytes\s*=\s*([\d,]+)"),
                     ("total", r"Total\s*=\s*([\d,]+)")):
        m = re.search(pat, text)
        if m:
            out[key] = int(m.group(1).replace(",", ""))
    return out


_libc: ctypes.CDLL | None = None


def mem_sample(pymalloc: bool = True) -> dict[str, int]:
    """RSS, glibc's mallinfo2 (heap bytes in use / free, mmapped), allocated blocks and (pymalloc) its arenas."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _libc.mallinfo2.restype = _MallInfo2
    mi = _libc.mallinfo2()
    return {"rss": procstat.rss_bytes([os.getpid()]), "heap": mi.arena, "heap_used": mi.uordblks, "heap_free": mi.fordblks, "mmapped": mi.hblkhd,
            "blocks": sys.getallocatedblocks(),
            **({"py_" + k: v for k, v in _pymalloc_stats().items()} if pymalloc else {})}


def _mem_sampler(out: Path, every_s: float = 1.0) -> None:
    """Every `every_s`: `mem_sample()` as JSON lines {"mem": wall time, …} — where the memory of a long log
    stream sits (a diagnostic for bench/logs.py)."""

    def run() -> None:
        with out.open("a") as f:
            for _ in range(10**7):
                f.write(json.dumps({"mem": time.time(), **mem_sample()}) + "\n")
                f.flush()
                time.sleep(every_s)

    threading.Thread(target=run, name="memsampler", daemon=True).start()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mem", default="", help="also sample memory every second into this JSON-lines file")
    ap.add_argument("--threshold-ms", type=float, default=40.0)
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    args = a.args[1:] if a.args[:1] == ["--"] else a.args
    dog = Watchdog(Path(a.out), a.threshold_ms / 1000, threading.get_ident())
    original = asyncio.BaseEventLoop.run_forever

    def run_forever(self):  # type: ignore[no-untyped-def]
        dog.loop = self
        return original(self)

    asyncio.BaseEventLoop.run_forever = run_forever  # type: ignore[method-assign]
    dog.start()
    _log_gc(Path(a.out))
    if a.mem:
        _mem_sampler(Path(a.mem))
    from ecotui.cli import main as ecotui_main
    sys.argv = ["ecotui", *args]
    return ecotui_main()


if __name__ == "__main__":
    raise SystemExit(main())
