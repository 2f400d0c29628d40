"""Log generator modes on demand (seq numbers, burst, hostile lines, status/commands) and Loki restart robustness,
all against our own servers on ephemeral 127.0.0.1 ports."""
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from testbed import hostile, logcmd
from testbed.incident import SERVICES
from testbed.loggen import CMD_DIR, CONTROL_FILE, STATUS_FILE, LogGen, burst_text
from testbed.loki import Store, make_app

REPO = Path(__file__).resolve().parents[2]
SEQ = re.compile(r"\bseq=(\d+)")
CRI = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F (.*)$", re.S)


def file_lines(path: Path) -> list[bytes]:
    out = []
    for raw in path.read_bytes().split(b"\n")[:-1]:
        m = CRI.match(raw)
        assert m, raw[:200]
        out.append(m.group(1))
    return out


def seq_of(line: str | bytes) -> int:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    found = SEQ.findall(text)
    assert found, text[:200]
    return int(found[-1])


@pytest_asyncio.fixture
async def loki():
    store = Store(max_lines=2_000_000)
    server = TestServer(make_app(store), host="127.0.0.1", port=0)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), store
    await server.close()


async def query_all(base: str, q: str, start: int, end: int | None = None) -> list[tuple[dict, int, str]]:
    """Every entry, paging forward as a backfilling client would (limit 5000, start inclusive)."""
    end = end or time.time_ns() + 60 * 1_000_000_000
    out: list[tuple[dict, int, str]] = []
    seen = set()
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        for _ in range(2000):
            r = await c.get("/loki/api/v1/query_range", params={"query": q, "start": str(start), "end": str(end),
                                                                "limit": "5000", "direction": "forward"})
            assert r.status_code == 200, r.text
            page = [(s["stream"], int(ts), line) for s in r.json()["data"]["result"] for ts, line in s["values"]]
            page.sort(key=lambda e: e[1])
            fresh = [e for e in page if (tuple(sorted(e[0].items())), e[1], e[2]) not in seen]
            for e in fresh:
                seen.add((tuple(sorted(e[0].items())), e[1], e[2]))
            out += fresh
            if len(page) < 5000:
                return out
            start = page[-1][1]  # the boundary timestamp again: drop the overlap (above)
    raise AssertionError("paging did not end")


async def test_seq_numbers_every_line_once_in_file_and_loki(tmp_path, loki):
    base, _ = loki
    (tmp_path / CONTROL_FILE).write_text(json.dumps({"seq": True}))
    gen = LogGen(tmp_path, rate=30, loki=base, seed=4)
    now = time.time_ns()
    t_start = now - 10 * 1_000_000_000
    for i in range(8):
        gen.tick(now - (8 - i) * 1_000_000_000)
    async with httpx.AsyncClient() as c:
        assert await gen.pusher.push(c)
    for app in SERVICES:
        lines = [ln.decode() for ln in file_lines(tmp_path / "logs" / f"{app}.log")]
        assert [seq_of(ln) for ln in lines] == list(range(1, len(lines) + 1))  # file order, gap-free
        for ln in lines:
            if ln.startswith("{"):
                assert json.loads(ln)["message"].endswith(f" seq={seq_of(ln)}")  # JSON lines stay JSON
            elif SEQ.search(ln):
                assert ln.endswith(f" seq={seq_of(ln)}")
        got = await query_all(base, f'{{app="{app}"}}', t_start)
        assert sorted(seq_of(e[2]) for e in got) == list(range(1, len(lines) + 1))  # in Loki exactly once
        by_stream: dict[str, list[tuple[int, int]]] = {}
        for labels, ts, line in got:
            by_stream.setdefault(labels.get("pod", "") + labels["app"], []).append((ts, seq_of(line)))
        for entries in by_stream.values():  # within one stream, time order == seq order
            seqs = [s for _, s in sorted(entries)]
            assert seqs == sorted(seqs)
    # off again: no seq on new lines; counters persist for the next time
    (tmp_path / CONTROL_FILE).write_text(json.dumps({"seq": False}))
    gen._control_checked = float("-inf")
    gen.tick(now)
    last = file_lines(tmp_path / "logs" / "user-service.log")[-1].decode()
    assert not SEQ.search(last)


async def test_burst_rate_file_and_loki_exactly_once(tmp_path, loki):
    base, store = loki
    gen = LogGen(tmp_path, rate=4, loki=base, seed=1)
    gen.tick()
    t0 = time.time_ns()
    info = await asyncio.wait_for(gen.run_burst(20_000, 1.5, "order-service"), 30)
    assert info["state"] == "done" and info["written"] == info["pushed"] == 30_000, info
    assert info["achieved_lines_per_s"] > 10_000
    lines = file_lines(tmp_path / "logs" / "order-service.log")
    seqs = [seq_of(ln) for ln in lines if SEQ.search(ln.decode())]
    assert seqs == list(range(1, 30_001))  # the burst always numbers its lines
    got = await query_all(base, '{app="order-service"} |= "burst"', t0)
    assert sorted(seq_of(e[2]) for e in got) == list(range(1, 30_001))
    # the lines are exactly burst_text's (bench.logs computes kubectl's bytes per line from it), in both places
    burst = [ln.decode() for ln in lines if b"GET /api/burst/" in ln]
    assert len(burst) == 30_000
    for text in (burst[0], burst[-1]):
        assert text == burst_text(text[: text.index("GET /api/burst/") + 15], seq_of(text.encode()))
    assert {e[2] for e in got} == set(burst)
    assert "order-service" not in gen.paused


async def test_hostile_lines_exact_bytes_in_file_and_what_loki_keeps(tmp_path, loki):
    base, _ = loki
    gen = LogGen(tmp_path, loki=base)
    t0 = time.time_ns()
    info = await gen.run_hostile("payment-service")
    assert info["lines"] == len(hostile.LINES)
    assert info["loki_status"] == 400 and "max entry size '262144' bytes exceeded" in info["loki_answer"]
    lines = file_lines(tmp_path / "logs" / "payment-service.log")
    assert lines == list(hostile.LINES.values())  # byte for byte, incl. invalid UTF-8 and the 2 MiB line
    got = await query_all(base, '{app="payment-service"} |= "HOSTILE-"', t0)
    by_marker = {hostile.marker_of(line): line for _, _, line in got}
    for name, raw in hostile.LINES.items():
        marker = raw[:10].decode()
        if name == "huge-2mib":
            assert marker not in by_marker  # over Loki's 256KB max_line_size
        else:
            assert by_marker[marker] == hostile.as_pushed(raw), name
    assert "\ufffd" in by_marker["HOSTILE-12"] and "\x1b]52;c;" in by_marker["HOSTILE-04"]


async def test_commands_through_files_and_cli_status(tmp_path, loki):
    base, _ = loki
    gen = LogGen(tmp_path, rate=2, loki=base)
    stop = asyncio.Event()
    task = asyncio.create_task(gen.run(stop, grace=0.5))
    try:
        deadline = time.monotonic() + 5
        while not (tmp_path / STATUS_FILE).exists():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(None, lambda: logcmd.run("hostile", target="user-service", state=tmp_path))
        assert json.loads(out)["lines"] == len(hostile.LINES)
        out = await loop.run_in_executor(None, lambda: logcmd.run("burst", rate=5000, seconds=1, wait=True,
                                                                 target="user-service", state=tmp_path))
        assert "done" in out and "achieved" in out
        await loop.run_in_executor(None, lambda: logcmd.run("seq", value="on", state=tmp_path))
        await asyncio.sleep(2.2)
        text = await loop.run_in_executor(None, lambda: logcmd.run("status", state=tmp_path))
        assert "mode            steady   (seq=N on every line)" in text and "burst           done" in text
        assert "hostile         16 lines into user-service" in text
        assert not list((tmp_path / CMD_DIR).glob("*.json"))
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    with pytest.raises(RuntimeError, match="not running"):
        logcmd.run("status", state=tmp_path / "nowhere")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_loki(port: int, data: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "testbed.loki", "--port", str(port), "--data-dir", str(data)],
                         cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return p
        except httpx.HTTPError:
            pass
        assert p.poll() is None, p.stderr.read().decode() if p.stderr else ""
        time.sleep(0.1)
    p.kill()
    raise AssertionError("loki did not start")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
async def test_loki_restart_keeps_every_line_exactly_once(tmp_path, sig):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "loki"
    proc = _start_loki(port, data)
    (tmp_path / CONTROL_FILE).write_text(json.dumps({"seq": True}))
    gen = LogGen(tmp_path, rate=40, loki=base, seed=9)
    t_start = time.time_ns() - 20 * 1_000_000_000
    try:
        async with httpx.AsyncClient(timeout=5) as c:
            now = time.time_ns() - 12 * 1_000_000_000
            for i in range(4):
                gen.tick(now + i * 1_000_000_000)
                assert await gen.pusher.push(c)
            proc.send_signal(sig)
            proc.wait(10)
            for i in range(4, 8):  # generated while Loki is down: kept by the generator
                gen.tick(now + i * 1_000_000_000)
                assert await gen.pusher.push(c) is False
            proc = _start_loki(port, data)
            assert await gen.pusher.push(c)
            for i in range(8, 10):
                gen.tick(now + i * 1_000_000_000)
                assert await gen.pusher.push(c)
        for app in SERVICES:
            n = gen.seq[f"{app}.log"]
            got = await query_all(base, f'{{app="{app}"}}', t_start)
            assert Counter(seq_of(e[2]) for e in got) == Counter(range(1, n + 1)), app
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize("to", ["file", "loki"])
async def test_burst_to_one_sink_only(tmp_path, loki, to):
    base, store = loki
    gen = LogGen(tmp_path, rate=4, loki=base, seed=1)
    gen.tick()
    t0 = time.time_ns()
    before = [ln for ln in file_lines(tmp_path / "logs" / "order-service.log") if b"GET /api/burst/" in ln]
    info = await asyncio.wait_for(gen.run_burst(10_000, 0.5, "order-service", to=to), 30)
    assert info["state"] == "done" and info["to"] == to, info
    in_file = [ln for ln in file_lines(tmp_path / "logs" / "order-service.log") if b"GET /api/burst/" in ln]
    got = await query_all(base, '{app="order-service"} |= "burst"', t0)
    if to == "file":
        assert len(in_file) - len(before) == 5000 and got == [] and info["pushed"] == 0
    else:
        assert in_file == before and sorted(seq_of(e[2]) for e in got) == list(range(1, 5001))
    with pytest.raises(ValueError):
        await gen.run_burst(1000, 0.1, "order-service", to="nowhere")


async def test_no_truncation_right_after_a_burst_then_as_usual(tmp_path, monkeypatch):
    """A follower still reading a burst bigger than the file bound must not lose its tail to the next steady
    line's truncation (seen: the benchmark's readers lost 200–300k lines at the burst's end)."""
    from testbed import loggen
    gen = LogGen(tmp_path, rate=50, seed=1, max_file_bytes=100_000)
    info = await asyncio.wait_for(gen.run_burst(20_000, 0.2, "order-service", to="file"), 30)
    path = tmp_path / "logs" / "order-service.log"
    size = path.stat().st_size
    assert info["state"] == "done" and size > 100_000
    for _ in range(3):
        gen.tick(time.time_ns() + 10 * 10**9)
    assert path.stat().st_size >= size                     # within the grace: appended, not truncated
    monkeypatch.setattr(loggen, "BURST_TAIL_GRACE_S", 0.0)
    for _ in range(3):
        gen.tick(time.time_ns() + 20 * 10**9)
    assert path.stat().st_size < size                      # then the bound applies again
