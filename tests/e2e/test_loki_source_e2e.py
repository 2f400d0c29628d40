"""LokiSource against the testbed's Loki (read-only): a loggen line arrives live within 2 s, the backfill holds
the last minutes of a service, query errors are one line. The URL comes from the testbed's ecotui config."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ecotui.config import load_config
from ecotui.logs.loki import LokiSource, selection_query
from ecotui.logs.loki_client import LokiClient, LokiConfig, LokiQueryError
from ecotui.logs.model import NS, Kind, LogLine, Selection, SourceState

pytestmark = pytest.mark.e2e

SERVICE = "user-service"
QUERY = selection_query(Selection(workload=("deployments", f"ecotrack/{SERVICE}")))


def loki_config(testbed) -> LokiConfig:
    url = load_config(str(testbed.ecotui_config)).for_context(testbed.context).loki_url
    assert url, "the testbed's ecotui config has no loki_url"
    return LokiConfig(url, timeout=10)


async def until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def new_file_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """Lines appended to a loggen CRI file ("<time> stdout F <line>") since `offset`."""
    size = path.stat().st_size
    if size < offset:  # truncated by loggen
        offset = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    out = []
    for raw in data[:end].decode("utf-8", "replace").splitlines():
        parts = raw.split(" ", 3)
        if len(parts) == 4 and parts[1] in ("stdout", "stderr"):
            out.append(parts[3])
    return out, offset + end


async def test_a_loggen_line_arrives_live_within_2s(testbed):
    path = Path(testbed.state_dir) / "logs" / f"{SERVICE}.log"
    assert path.exists(), f"loggen writes {path}"
    client = LokiClient(loki_config(testbed))
    src = LokiSource(client, QUERY, since_s=30)
    got: list[LogLine] = []
    seen_at: dict[str, float] = {}

    def sink(batch) -> None:
        now = time.monotonic()
        got.extend(batch)
        for ln in batch:
            seen_at.setdefault(ln.text, now)

    task = asyncio.create_task(src.run(sink))
    try:
        await until(lambda: src.status.state is SourceState.LIVE, 15, "the tail to be live")
        offset = path.stat().st_size
        written: dict[str, float] = {}
        deadline = time.monotonic() + 15
        while len(written) < 3 and time.monotonic() < deadline:  # the next few lines loggen writes
            lines, offset = new_file_lines(path, offset)
            now = time.monotonic()
            for text in lines:
                if text not in seen_at:
                    written.setdefault(text, now)
            await asyncio.sleep(0.02)
        assert written, "loggen wrote no user-service line in 15 s"
        await until(lambda: all(t in seen_at for t in written), 2.5, "the lines in the sink")
        lag = max(seen_at[t] - w for t, w in written.items())
        assert lag <= 2.0, f"a line took {lag:.2f} s"
        assert src.status.state is SourceState.LIVE and src.status.streams == 1
        live = [ln for ln in got if ln.text in written]
        assert all(ln.namespace == "ecotrack" and f'app="{SERVICE}"' in ln.stream for ln in live)
        keys = [(ln.stream, ln.ts_ns, ln.text) for ln in got if ln.kind is Kind.LINE]
        assert len(keys) == len(set(keys)), "a line was delivered twice"
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await client.aclose()


async def test_backfill_returns_the_last_minutes_of_a_service(testbed):
    client = LokiClient(loki_config(testbed))
    since = 180
    src = LokiSource(client, QUERY, since_s=since, follow=False, backfill_limit=5000)
    got: list[LogLine] = []
    t0 = time.time_ns()
    try:
        await asyncio.wait_for(src.run(got.extend), 30)
        assert src.status.state is SourceState.DONE, src.status
        lines = [ln for ln in got if ln.kind is Kind.LINE]
        assert lines, "no user-service line in the last 3 minutes"
        ts = [ln.ts_ns for ln in lines]
        assert ts == sorted(ts), "oldest first"
        assert ts[0] >= t0 - since * NS and ts[-1] <= time.time_ns()
        assert time.time_ns() - ts[-1] < 10 * NS, "the newest line is recent"
        assert all(ln.namespace == "ecotrack" and ln.stream.startswith('{app="user-service"') for ln in lines)
        # the same span straight from query_range (paged as logcli does): the backfill holds the newest 5,000 lines
        # of the window, as far back as Loki has lines in it (the testbed may have started less than 3 minutes ago;
        # a burst may have filled the window with more than 5,000)
        direct = await client.query_range(QUERY, t0 - (since - 2) * NS, ts[-1] + 1, 5000, "backward")
        assert direct and {(ln.ts_ns, ln.text) for ln in direct} <= {(ln.ts_ns, ln.text) for ln in lines}
        assert ts[0] <= direct[-1].ts_ns
    finally:
        await client.aclose()


async def test_query_errors_are_one_line(testbed):
    client = LokiClient(loki_config(testbed))
    try:
        for bad in ('{app="user-service"', '{app=~".*"}'):
            with pytest.raises(LokiQueryError) as ei:
                now = time.time_ns()
                await client.query_range(bad, now - 60 * NS, now, 10)
            assert ei.value.message and "\n" not in ei.value.message
            assert "Traceback" not in str(ei.value)
        src = LokiSource(client, '{app="user-service"', since_s=60)
        await asyncio.wait_for(src.run(lambda batch: None), 15)
        assert src.status.state is SourceState.ERROR and "\n" not in src.status.message
        assert src.status.message.startswith("loki query")
    finally:
        await client.aclose()
