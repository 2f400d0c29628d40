"""query_range_pages requests page k+1 before it hands page k to the caller (one request in flight): the order, the
boundary de-dup and the total limit stay those of sequential paging; an abandoned iteration cancels its prefetch and
an error of the prefetched page surfaces after page k was delivered."""
from __future__ import annotations

import asyncio
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from loki_fake import FakeLoki  # noqa: E402

from ecotui.errors import EcotuiError  # noqa: E402
from ecotui.logs.loki_client import LokiClient, LokiConfig  # noqa: E402
from ecotui.logs.model import Kind  # noqa: E402

A = {"app": "a", "namespace": "ns", "pod": "a-1", "container": "c"}
B = {"app": "b", "namespace": "ns", "pod": "b-1", "container": "c"}
TS = [10, 20, 20, 20, 30, 40, 40, 50, 60, 60, 70, 80, 80, 90, 100, 100, 100, 110]


@pytest.fixture
async def loki():
    fake = await FakeLoki().start()
    for i, ts in enumerate(TS):  # shared timestamps across and within streams: pages end on shared ones
        fake.add(A if i % 2 else B, ts, f"line {i}")
    yield fake
    await fake.hard_stop()


def client(fake: FakeLoki) -> LokiClient:
    return LokiClient(LokiConfig(fake.url), retry_base_s=0.01)


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("page", [4, 5, 7])
async def test_next_page_is_requested_before_the_caller_gets_this_one(loki, direction, page):
    c = client(loki)
    got = []
    in_flight_while_held = []
    pages = 0
    async for p in c.query_range_pages("q", 0, 1000, 1000, direction, page_limit=page):
        pages += 1
        # the caller still holds page k (not iterating): the request for page k+1 goes out meanwhile (polled,
        # bounded: a loaded machine may take longer than a fixed sleep; after the last page none comes)
        for _ in range(100):
            if len(loki.requests) > pages:
                break
            await asyncio.sleep(0.01)
        in_flight_while_held.append(len(loki.requests))
        got.extend(p)
    await c.aclose()
    lines = [ln for ln in got if ln.kind is Kind.LINE]
    # every entry exactly once, in direction order
    assert sorted((ln.ts_ns, ln.text) for ln in lines) == sorted((e.ts, e.line) for e in loki.entries)
    assert len(lines) == len(TS)
    order = [ln.ts_ns for ln in lines]
    assert order == sorted(order, reverse=direction == "backward")
    # while page k was held, request k+1 had been sent (all but the last page)
    assert pages > 2
    assert in_flight_while_held[:-1] == list(range(2, pages + 1))
    assert len(loki.requests) in (pages, pages + 1)


async def test_total_limit_is_exact_with_prefetch(loki):
    c = client(loki)
    got = [ln async for p in c.query_range_pages("q", 0, 1000, 9, "forward", page_limit=4) for ln in p]
    await c.aclose()
    assert [(ln.ts_ns, ln.text) for ln in got] == sorted((e.ts, e.line) for e in loki.entries)[:9]


async def test_abandoned_iteration_cancels_the_prefetch(loki):
    loki.query_delay_s = 0.3
    c = client(loki)
    gen = c.query_range_pages("q", 0, 1000, 1000, "forward", page_limit=4)
    first = await gen.__anext__()
    assert len(first) == 4
    await gen.aclose()  # the prefetch of page 2 is cancelled, not left running
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and "_query_page" in repr(t)]
    assert pending == []
    await c.aclose()


async def test_error_of_the_prefetched_page_comes_after_the_page_before(loki):
    c = client(loki)
    gen = c.query_range_pages("q", 0, 1000, 1000, "forward", page_limit=4)
    first = await gen.__anext__()   # page 2's request is out now
    for _ in range(100):  # bounded: until the fake has answered it
        if len(loki.requests) >= 2:
            break
        await asyncio.sleep(0.01)
    loki.query_errors = [(400, "parse error at line 1", {})]  # too late for page 2: it fails page 3
    second = await gen.__anext__()
    both = [(ln.ts_ns, ln.text) for ln in first + second]
    assert second and both == sorted((e.ts, e.line) for e in loki.entries)[:len(both)]
    with pytest.raises(EcotuiError, match="parse error"):
        await gen.__anext__()
    await gen.aclose()
    await c.aclose()
