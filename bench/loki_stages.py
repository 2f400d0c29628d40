"""Loki ingest path, stage by stage (bounded): where do the lines/s go?

    python -m bench.loki_stages STAGE [--rate 60000] [--seconds 8] [--url http://127.0.0.1:PORT] [--max-lines N]

Stages (each one a consumer of the same generated burst):
  push    generator only: push rate into Loki (no tail open)
  raw     + a bare WebSocket client that only decodes and counts tail entries
  source  + ecotui's LokiSource → a sink that counts (no UI)
  buffer  + LokiSource → LogBuffer.append
Without --url a private testbed Loki (`python -m testbed.loki`, own temp data dir, persistence on like the testbed)
is started on a free 127.0.0.1 port and stopped at the end. The generator runs in its own process and pushes like
`testbed logs burst`: slices of 0.1 s of lines, one push in flight, seq=N in every line. Prints one JSON line:
push rate, consumer rate during the push window and until drained, CPU % of a core of server / generator /
consumer, and whether every seq arrived exactly once (raw/source/buffer).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

from bench import procstat


class _S(msgspec.Struct):
    stream: dict[str, str] = {}
    values: list[list[str]] = []


class _F(msgspec.Struct):
    streams: list[_S] | None = None
    dropped_entries: list[dict] | None = None

NS = 1_000_000_000
LABELS = {"namespace": "bench", "app": "stage-svc", "pod": "stage-svc-0", "container": "stage-svc"}
QUERY = '{namespace="bench", app="stage-svc"}'
SEQ = re.compile(r"seq=(\d+)$")


def gen_main(url: str, rate: float, seconds: float) -> None:
    """The generator process: like loggen's run_burst (0.1 s slices, one push in flight)."""
    stream_json = json.dumps(LABELS)
    total = int(rate * seconds)
    done = pushed = 0
    last_ts = 0
    t0 = time.monotonic()
    with httpx.Client(timeout=60.0) as c:
        for _ in range(10_000_000):
            if done >= total:
                break
            due = min(int(rate * (time.monotonic() - t0)) - done, int(rate * 0.2), total - done)
            if due <= 0:
                time.sleep(0.01)
                continue
            base = max(time.time_ns(), last_ts + 1)
            values = [f'["{base + i}",{json.dumps(f"INFO GET /api/burst/{(done + i) % 10000} 200 1ms seq={done + i}")}]'
                      for i in range(due)]
            last_ts = base + due - 1
            body = ('{"streams":[{"stream":' + stream_json + ',"values":[' + ",".join(values) + "]}]}").encode()
            r = c.post(url + "/loki/api/v1/push", content=body, headers={"Content-Type": "application/json"})
            if r.status_code < 300:
                pushed += due
            done += due
    el = time.monotonic() - t0
    print(json.dumps({"generated": done, "pushed": pushed, "gen_s": round(el, 3),
                      "push_rate": round(pushed / el)}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(100):
            try:
                if (await c.get(url + "/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("loki did not get ready")


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.dropped = 0  # dropped_entries reported to the raw client
        self.seqs: list[int] = []
        self.gaps: list[str] = []  # GAP marker lines the source delivered
        self.first_t = 0.0
        self.last_t = 0.0

    def add_texts(self, texts) -> None:
        k = 0
        for t in texts:
            m = SEQ.search(t)
            if m:
                self.seqs.append(int(m.group(1)))
                k += 1
        if k:
            self.n += k
            self.last_t = time.monotonic()


async def consume_raw(url: str, start_ns: int, c: Counter, stop: asyncio.Event) -> None:
    import websockets

    dec = msgspec.json.Decoder(_F).decode
    ws_url = url.replace("http://", "ws://") + "/loki/api/v1/tail?" + httpx.QueryParams(
        {"query": QUERY, "start": str(start_ns), "limit": "100"}).__str__()
    async with websockets.connect(ws_url, max_size=32 * 1024 * 1024, compression=None) as ws:
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            f = dec(data)
            c.add_texts(v[1] for s in f.streams or () for v in s.values)
            c.dropped += len(f.dropped_entries or ())


async def consume_source(url: str, start_ns: int, c: Counter, stop: asyncio.Event, to_buffer: bool,
                         stall_ms: float = 0.0) -> None:
    from ecotui.logs.buffer import LogBuffer
    from ecotui.logs.loki import LokiClient, LokiConfig, LokiSource
    buf = LogBuffer(100_000)

    from ecotui.logs.model import Kind

    def sink(lines) -> None:
        if to_buffer:
            buf.append(lines)
        c.add_texts(ln.text for ln in lines)
        c.gaps.extend(ln.text for ln in lines if ln.kind is not Kind.LINE)

    async def stalls() -> None:  # what a UI does to the loop: a frame of `stall_ms` every 100 ms
        while not stop.is_set():
            await asyncio.sleep(0.1)
            time.sleep(stall_ms / 1000)

    async with LokiClient(LokiConfig(url=url)) as client:
        src = LokiSource(client, QUERY, since_s=max(1, int((time.time_ns() - start_ns) / NS) + 1))
        task = asyncio.create_task(src.run(sink))
        stall = asyncio.create_task(stalls()) if stall_ms > 0 else None
        await stop.wait()
        if stall is not None:
            stall.cancel()
        if task.done() and task.exception() is not None:
            c.gaps.append(f"source ended: {task.exception()!r}")
        c.gaps.append(f"status at the end: {src.status.state.value} {src.status.message}; catch-ups "
                      f"{src.catch_ups}, reconnects {src.reconnects}")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _ranges(xs: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for x in xs:
        if out and out[-1][1] == x - 1:
            out[-1] = (out[-1][0], x)
        else:
            out.append((x, x))
    return out


async def main_async(a: argparse.Namespace) -> dict:
    own = None
    url = a.url
    tmp = None
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="loki-stage-")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        own = subprocess.Popen([sys.executable, "-m", "testbed.loki", "--host", "127.0.0.1", "--port", str(port),
                                "--data-dir", tmp.name, "--max-lines", str(a.max_lines)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await wait_ready(url)
        server_pid = own.pid if own else None
        c = Counter()
        stop = asyncio.Event()
        start_ns = time.time_ns()
        task = None
        me0 = procstat.cpu_seconds([os.getpid()])
        if a.stage == "raw":
            task = asyncio.create_task(consume_raw(url, start_ns, c, stop))
        elif a.stage in ("source", "buffer"):
            task = asyncio.create_task(consume_source(url, start_ns, c, stop, a.stage == "buffer", a.stall_ms))
        await asyncio.sleep(1.0)  # tail open
        s0 = procstat.cpu_seconds([server_pid]) if server_pid else 0.0
        me0 = procstat.cpu_seconds([os.getpid()])
        n0 = c.n
        t0 = time.monotonic()
        profs = []
        if a.profile:
            for name, pid in (("server", server_pid), ("consumer", os.getpid())):
                if pid and (name == "server" or task is not None):
                    profs.append(subprocess.Popen(
                        ["py-spy", "record", "--format", "raw", "-r", "50", "-d", str(int(a.seconds) + 1), "-o",
                         f"{a.profile}-{a.stage}-{name}.txt", "--pid", str(pid)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        gen = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.loki_stages", "_gen", "--url", url,
                                                   "--rate", str(a.rate), "--seconds", str(a.seconds),
                                                   stdout=subprocess.PIPE, cwd=str(Path(__file__).parent.parent))
        out, _ = await gen.communicate()
        t1 = time.monotonic()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the generator, now waited for (the server still runs)
        gen_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        n1 = c.n
        s1 = procstat.cpu_seconds([server_pid]) if server_pid else 0.0
        me1 = procstat.cpu_seconds([os.getpid()])
        g = json.loads(out.decode().strip().splitlines()[-1])
        # drain: until the count stops moving for 2 s (at most 60 s)
        for _ in range(600):
            if task is None or (c.n >= g["pushed"]) or (c.last_t and time.monotonic() - c.last_t > 6.0):
                break
            await asyncio.sleep(0.1)
        stop.set()
        for p in profs:
            p.wait(30)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        win = t1 - t0
        res = {"stage": a.stage, **g, "window_s": round(win, 2),
               "server_cpu_pct": round(100 * (s1 - s0) / win, 1) if server_pid else None,
               "consumer_cpu_pct": round(100 * (me1 - me0) / win, 1),
               "generator_cpu_pct": round(100 * gen_cpu / win, 1)}
        if task is not None:
            seqs = c.seqs
            res.update(received=c.n, dropped_reported=c.dropped, rate_in_window=round((n1 - n0) / win),
                       rate_to_drained=round(c.n / max(1e-9, (c.last_t or t1) - t0)),
                       drained_after_s=round(max(0.0, (c.last_t or t1) - t1), 2),
                       distinct=len(set(seqs)), duplicates=len(seqs) - len(set(seqs)),
                       missing=g["pushed"] - len(set(seqs)), gaps=len(c.gaps), gap_texts=c.gaps[:8],
                       missing_ranges=_ranges(sorted(set(range(g["pushed"])) - set(seqs)))[:10])
        return res
    finally:
        if own is not None:
            own.terminate()
            try:
                own.wait(10)
            except subprocess.TimeoutExpired:
                own.kill()
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("stage", choices=["push", "raw", "source", "buffer", "_gen"])
    ap.add_argument("--rate", type=float, default=60_000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--profile", default="", help="py-spy (raw, collapsed stacks) into PREFIX-STAGE-WHO.txt")
    ap.add_argument("--stall-ms", type=float, default=0.0,
                    help="source/buffer: block the loop this long every 100 ms (what a UI's frames do)")
    ap.add_argument("--url", default="", help="an existing Loki (default: a private testbed Loki)")
    ap.add_argument("--max-lines", type=int, default=1_500_000,
                    help="the private Loki's line bound (below the burst's size: it evicts all along, as the "
                         "long-running testbed's full store does)")
    a = ap.parse_args(argv)
    a.rate = max(1.0, min(a.rate, 500_000))
    a.seconds = max(0.5, min(a.seconds, 60))
    if a.url and not a.url.startswith(("http://127.", "http://localhost")):
        print("loki must be on 127.0.0.1", file=sys.stderr)
        return 2
    if a.stage == "_gen":
        gen_main(a.url, a.rate, a.seconds)
        return 0
    print(json.dumps(asyncio.run(main_async(a))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
