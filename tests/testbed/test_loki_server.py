"""The testbed Loki over real HTTP/WebSocket on an ephemeral 127.0.0.1 port."""
import asyncio
import json
import time

import aiohttp
import httpx
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from testbed.loki import Store, make_app
from testbed.loki.params import ParamError, parse_timestamp
from testbed.loki.server import _rfc

S = 1_000_000_000
T0 = int(time.time() // 1000 * 1000 - 2000) * S  # recent (Loki rejects entries older than 7 days), whole seconds
T0S = T0 // S


@pytest_asyncio.fixture
async def loki():
    store = Store(max_lines=1000)
    # label discovery and the tail's history/live overlap off: these tests check exact labels and deliveries
    server = TestServer(make_app(store, tail_max_duration=30, discover=False, tail_overlap=0), host="127.0.0.1",
                        port=0)
    await server.start_server()
    async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=5) as client:
        client.store = store
        client.server = server
        yield client
    await server.close()


async def push(client, labels, values):
    body = {"streams": [{"stream": labels, "values": [[str(ts), line] for ts, line in values]}]}
    r = await client.post("/loki/api/v1/push", json=body)
    assert r.status_code == 204, r.text
    assert r.content == b""


def entries(resp_json):
    """[(stream app label, ts, line)] in response order."""
    assert resp_json["status"] == "success"
    assert resp_json["data"]["resultType"] == "streams"
    return [(s["stream"]["app"], int(ts), line) for s in resp_json["data"]["result"] for ts, line in s["values"]]


async def seed(client):
    await push(client, {"app": "a", "ns": "x"},
               [(T0 + i * S, f"a-line {i}{' error' if i % 2 else ''}") for i in range(5)])
    await push(client, {"app": "b", "ns": "x"}, [(T0 + i * S + S // 2, f"b-line {i}") for i in range(5)])


async def test_query_range_backward_default_limits_across_streams(loki):
    await seed(loki)
    r = await loki.get("/loki/api/v1/query_range", params={
        "query": '{ns="x"}', "start": str(T0), "end": str(T0 + 10 * S), "limit": "3"})
    assert r.status_code == 200
    got = entries(r.json())
    # the 3 newest overall: b4 (4.5s), a4 (4s), b3 (3.5s); each stream newest first
    assert sorted(got, key=lambda e: -e[1]) == [("b", T0 + 4 * S + S // 2, "b-line 4"), ("a", T0 + 4 * S, "a-line 4"),
                                               ("b", T0 + 3 * S + S // 2, "b-line 3")]
    for app in "ab":
        ts = [t for a, t, _ in got if a == app]
        assert ts == sorted(ts, reverse=True)


async def test_query_range_forward_start_inclusive_end_exclusive(loki):
    await seed(loki)
    r = await loki.get("/loki/api/v1/query_range", params={
        "query": '{app="a"}', "start": str(T0 + S), "end": str(T0 + 4 * S), "direction": "FORWARD"})
    assert [t for _, t, _ in entries(r.json())] == [T0 + S, T0 + 2 * S, T0 + 3 * S]


async def test_query_range_time_formats_and_filters(loki):
    await seed(loki)
    # RFC3339 start, float-seconds end, line filter
    r = await loki.get("/loki/api/v1/query_range", params={
        "query": '{app="a"} |= "error"', "start": _rfc(T0), "end": f"{T0S + 10}.0",
        "direction": "forward", "limit": "10"})
    assert [line for _, _, line in entries(r.json())] == ["a-line 1 error", "a-line 3 error"]
    # seconds (<= 10 digits)
    r = await loki.get("/loki/api/v1/query_range", params={
        "query": '{app=~"a|b"} !~ "line [0-3]"', "start": str(T0S), "end": str(T0S + 10)})
    assert sorted(line for _, _, line in entries(r.json())) == ["a-line 4", "b-line 4"]


async def test_query_default_range_is_last_hour(loki):
    now = time.time_ns()
    await push(loki, {"app": "c"}, [(now - 2 * 3600 * S, "old"), (now - 60 * S, "recent")])
    r = await loki.get("/loki/api/v1/query_range", params={"query": '{app="c"}'})
    assert [line for _, _, line in entries(r.json())] == ["recent"]
    r = await loki.get("/loki/api/v1/query_range", params={"query": '{app="c"}', "since": "3h"})
    assert [line for _, _, line in entries(r.json())] == ["recent", "old"]
    r = await loki.get("/loki/api/v1/query", params={"query": '{app="c"}'})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("log queries are not supported as an instant query type")


@pytest.mark.parametrize("params,fragment", [
    ({"query": 'rate({app="a"}[1m])'}, "not supported by the testbed Loki subset"),
    ({"query": '{app="a"} | json'}, "not supported by the testbed Loki subset"),
    ({"query": '{app="a"'}, "parse error at line 1, col 9"),
    ({"query": '{app=~".*"}'}, "at least one regexp or equality matcher"),
    ({"query": '{app="a"}', "limit": "0"}, "limit must be a positive value"),
    ({"query": '{app="a"}', "limit": "100000"}, "max entries limit"),
    ({"query": '{app="a"}', "direction": "sideways"}, "invalid direction"),
    ({"query": '{app="a"}', "start": "yesterday"}, "invalid start"),
    ({"query": '{app="a"}', "start": "200", "end": "100"}, "end timestamp must not be before"),
])
async def test_query_range_errors(loki, params, fragment):
    r = await loki.get("/loki/api/v1/query_range", params=params)
    assert r.status_code == 400
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert fragment in r.text


@pytest.mark.parametrize("body,fragment", [
    (b"not json", "invalid JSON"),
    (b'{"streams": 3}', "streams"),
    (b'{"streams": [{"stream": {}, "values": []}]}', "at least one label"),
    (b'{"streams": [{"stream": {"a": "b"}, "values": [["abc", "x"]]}]}', "timestamp"),
    (b'{"streams": [{"stream": {"a": "b"}, "values": [["1", 5]]}]}', "log line must be a string"),
    (b'{"streams": [{"stream": {"a-b": "c"}, "values": []}]}', "invalid label name"),
])
async def test_push_malformed_is_400_with_message(loki, body, fragment):
    r = await loki.post("/loki/api/v1/push", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert fragment in r.text
    assert loki.store.total == 0


async def test_push_accepts_structured_metadata_and_dedups(loki):
    body = {"streams": [{"stream": {"app": "m"}, "values": [[str(T0), "x", {"trace_id": "abc"}], [str(T0), "x"]]}]}
    r = await loki.post("/loki/api/v1/push", json=body)
    assert r.status_code == 204
    assert loki.store.total == 1


async def test_store_bound_drops_oldest(loki):
    await push(loki, {"app": "old"}, [(T0 + i, f"o{i}") for i in range(600)])
    await push(loki, {"app": "new"}, [(T0 + 1000 + i, f"n{i}") for i in range(600)])
    assert loki.store.total == 1000 and loki.store.evicted == 200
    r = await loki.get("/loki/api/v1/query_range", params={
        "query": '{app="old"}', "start": str(T0), "end": str(T0 + S), "direction": "forward", "limit": "1"})
    assert entries(r.json()) == [("old", T0 + 200, "o200")]


async def test_labels_and_values(loki):
    now = time.time_ns()
    await push(loki, {"app": "a", "namespace": "n1"}, [(now, "x")])
    await push(loki, {"app": "b", "namespace": "n2", "pod": "p"}, [(now, "y")])
    r = await loki.get("/loki/api/v1/labels")
    assert r.json() == {"status": "success", "data": ["app", "namespace", "pod"]}
    r = await loki.get("/loki/api/v1/label/app/values")
    assert r.json() == {"status": "success", "data": ["a", "b"]}
    r = await loki.get("/loki/api/v1/label/namespace/values", params={"query": '{app="b"}'})
    assert r.json()["data"] == ["n2"]
    r = await loki.get("/loki/api/v1/label/app/values", params={"start": str(now + S)})
    assert r.json() == {"status": "success"}  # Loki omits `data` when nothing matches
    r = await loki.get("/loki/api/v1/series", params={"match[]": '{namespace=~"n.*"}'})
    assert r.json()["data"] == [{"app": "a", "namespace": "n1"}, {"app": "b", "namespace": "n2", "pod": "p"}]


async def test_ready_and_metrics(loki):
    r = await loki.get("/ready")
    assert r.status_code == 200 and r.text.strip() == "ready"
    await push(loki, {"app": "a"}, [(T0, "x")])
    assert "loki_testbed_lines_received_total 1\n" in (await loki.get("/metrics")).text


async def _recv_json(ws, timeout=3.0):
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def tail_entries(frames):
    return [(tuple(sorted(st["stream"].items())), v[0], v[1])
            for f in frames for st in f["streams"] for v in st["values"]]


async def _frames(ws, first_timeout=3.0, idle=0.4, at_least=0.0):
    """Frames until none came for `idle` s (and `at_least` s passed). Keep idle < 1 s: the server pings every
    second, and aiohttp's receive(timeout) restarts its timeout after each ping it answers."""
    t0 = time.monotonic()
    frames = [await _recv_json(ws, first_timeout)]
    while True:
        try:
            frames.append(await _recv_json(ws, timeout=idle))
        except asyncio.TimeoutError:
            if time.monotonic() - t0 >= at_least:
                return frames


async def test_tail_history_then_live_one_stream_object_per_entry(loki):
    now = time.time_ns()
    await push(loki, {"app": "t", "pod": "p1"},
               [(now - 3 * S, "old 1"), (now - 2 * S, "old 2 skip"), (now - S, "old 3")])
    await push(loki, {"app": "other"}, [(now - S, "not for us")])
    url = str(loki.server.make_url("/loki/api/v1/tail"))
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, params={"query": '{app="t"} != "skip"', "limit": "10",
                                                   "start": str(now - 10 * S)}) as ws:
            first = await _recv_json(ws)
            # point 1+2: one stream object per entry (labels repeat), no dropped_entries key
            assert first == {"streams": [{"stream": {"app": "t", "pod": "p1"}, "values": [[str(now - 3 * S), "old 1"]]},
                                         {"stream": {"app": "t", "pod": "p1"}, "values": [[str(now - S), "old 3"]]}]}
            t = time.time_ns()
            await push(loki, {"app": "t", "pod": "p2"}, [(t, "live 1"), (t + 1, "live skip")])
            await push(loki, {"app": "other"}, [(t, "still not for us")])
            await push(loki, {"app": "t", "pod": "p1"}, [(t, "live 1")])
            frames = await _frames(ws)
            assert sorted(tail_entries(frames)) == [((("app", "t"), ("pod", "p1")), str(t), "live 1"),
                                                    ((("app", "t"), ("pod", "p2")), str(t), "live 1")]
            assert all(set(f) == {"streams"} and all(len(st["values"]) == 1 for st in f["streams"]) for f in frames)
            await push(loki, {"app": "t", "pod": "p2"}, [(t, "live 1")])  # deduplicated by the store
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.4)


async def test_tail_limit_keeps_newest_history_and_orders_live(loki):
    now = time.time_ns()
    await push(loki, {"app": "t"}, [(now - i * S, f"h{i}") for i in range(5)])
    url = str(loki.server.make_url("/loki/api/v1/tail"))
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, params={"query": '{app="t"}', "limit": "2"}) as ws:
            first = await _recv_json(ws)
            assert [st["values"][0][1] for st in first["streams"]] == ["h1", "h0"]
            t = time.time_ns() - S
            await push(loki, {"app": "t"}, [(t + 3, "c"), (t + 1, "a"), (t + 2, "b")])
            live = await _recv_json(ws)
            assert [st["values"][0][1] for st in live["streams"]] == ["a", "b", "c"]


async def test_tail_parameter_errors_are_400_query_errors_close_1011(loki):
    r = await loki.get("/loki/api/v1/tail", params={"query": '{app="t"}', "delay_for": "6"})
    assert r.status_code == 400 and r.text == "delay_for can't be greater than 5\n"
    assert r.headers["content-type"].startswith("text/plain")
    url = str(loki.server.make_url("/loki/api/v1/tail"))
    async with aiohttp.ClientSession() as session:
        for params, reason in (({"query": '{app="t"} | json'}, "not supported"),
                               ({"query": '{app="t"'}, "parse error"),
                               ({"query": '{app="t"}', "limit": "5001"}, "max entries limit")):
            async with session.ws_connect(url, params=params) as ws:
                msg = await ws.receive(timeout=3)
                assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1011, msg
                assert reason in msg.extra


async def test_tail_too_many_tails_closes_1011():
    store = Store()
    server = TestServer(make_app(store, max_concurrent_tail_requests=2), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        url = str(server.make_url("/loki/api/v1/tail"))
        async with aiohttp.ClientSession() as session:
            a = await session.ws_connect(url, params={"query": '{app="a"}'})
            b = await session.ws_connect(url, params={"query": '{app="a"}'})
            await asyncio.sleep(0.1)
            async with session.ws_connect(url, params={"query": '{app="a"}'}) as c:
                msg = await c.receive(timeout=3)
                assert c.close_code == 1011
                assert msg.extra == "max concurrent tail requests limit exceeded, count > limit (3 > 2)"
            await a.close()
            await asyncio.sleep(0.1)
            async with session.ws_connect(url, params={"query": '{app="a"}'}) as d:  # a slot is free again
                with pytest.raises(asyncio.TimeoutError):
                    await d.receive(timeout=0.3)
            await b.close()
    finally:
        await server.close()


async def test_tail_pings_every_second_and_closes_1011_at_max_duration():
    store = Store()
    server = TestServer(make_app(store, tail_max_duration=2.5), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("/loki/api/v1/tail"))
            t0 = time.monotonic()
            async with session.ws_connect(url, params={"query": '{app="d"}'}, autoping=False) as ws:
                pings = 0
                while True:
                    msg = await ws.receive(timeout=5)
                    if msg.type == aiohttp.WSMsgType.PING:
                        pings += 1
                        await ws.pong(msg.data)
                        continue
                    break
                assert msg.type == aiohttp.WSMsgType.CLOSE
                assert ws.close_code == 1011 and msg.extra == "reached tail max duration limit"
        assert 2.3 < time.monotonic() - t0 < 4.5
        assert pings >= 2
    finally:
        await server.close()


async def test_tail_delay_for_holds_by_entry_timestamp_and_history_ends_now():
    store = Store()
    server = TestServer(make_app(store, tail_overlap=0), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        now = time.time_ns()
        store.push([({"app": "d"}, [(now + 60 * S, "future, pushed before the tail")])])
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("/loki/api/v1/tail"))
            async with session.ws_connect(url, params={"query": '{app="d"}', "delay_for": "1"}) as ws:
                t0 = time.monotonic()
                store.push([({"app": "d"}, [(time.time_ns(), "fresh")])])
                store.push([({"app": "d"}, [(time.time_ns() - 10 * S, "old, pushed late")])])
                store.push([({"app": "d"}, [(time.time_ns() + 2 * S, "two seconds ahead")])])
                first = await _recv_json(ws)
                assert [st["values"][0][1] for st in first["streams"]] == ["old, pushed late"]  # ts+1s already past
                assert time.monotonic() - t0 < 0.5
                second = await _recv_json(ws)
                assert [st["values"][0][1] for st in second["streams"]] == ["fresh"]
                assert 0.8 <= time.monotonic() - t0 < 2.0  # held until its timestamp + delay_for
                third = await _recv_json(ws, timeout=5)
                assert [st["values"][0][1] for st in third["streams"]] == ["two seconds ahead"]
                assert time.monotonic() - t0 >= 2.8
                with pytest.raises(asyncio.TimeoutError):  # the history window ended at now: not the +60 s entry
                    await ws.receive(timeout=0.3)
    finally:
        await server.close()


async def test_tail_may_deliver_recent_entries_twice_like_loki():
    store = Store()
    server = TestServer(make_app(store, tail_overlap=1.0), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        t = time.time_ns() - S
        store.push([({"app": "o"}, [(t, "just before the tail opened")])])
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("/loki/api/v1/tail"))
            async with session.ws_connect(url, params={"query": '{app="o"}'}) as ws:
                got = tail_entries(await _frames(ws))
        assert [e[2] for e in got] == ["just before the tail opened"] * 2  # history + live: de-duplicate
    finally:
        await server.close()


async def test_tail_dropped_entries_only_when_non_empty(monkeypatch):
    from testbed.loki import tail as tail_mod
    monkeypatch.setattr(tail_mod, "QUEUE_LIMIT", 5)
    store = Store()
    server = TestServer(make_app(store, tail_overlap=0, discover=False), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("/loki/api/v1/tail"))
            async with session.ws_connect(url, params={"query": '{app="x"}', "delay_for": "1"}) as ws:
                t = time.time_ns()
                # a push is queued whole while fewer than QUEUE_LIMIT entries wait (8 > 5: all kept); the next
                # push finds the queue full (delay_for holds them) and is dropped whole, as Loki's ingester tailer
                store.push([({"app": "x"}, [(t + i, f"l{i}") for i in range(8)])])
                store.push([({"app": "x"}, [(t + i, f"l{i}") for i in range(8, 11)])])
                frames = await _frames(ws, at_least=2.0)
        assert [e[2] for e in tail_entries(frames)] == [f"l{i}" for i in range(8)]
        dropped = [d for f in frames for d in f.get("dropped_entries") or []]
        assert dropped == [{"labels": {"app": "x"}, "timestamp": str(t + i)} for i in range(8, 11)]
        assert sum("dropped_entries" in f for f in frames) == 1
    finally:
        await server.close()


async def test_one_push_bigger_than_the_tail_queue_arrives_whole():
    """A 12,000-entry push (the burst generator's 0.2 s slice at 60k lines/s) to a client that reads: queued whole
    (fewer than QUEUE_LIMIT waited), every entry sent in order, nothing reported dropped."""
    from testbed.loki import tail as tail_mod
    store = Store(max_lines=100_000)
    server = TestServer(make_app(store, tail_overlap=0, discover=False), host="127.0.0.1", port=0)
    await server.start_server()
    n = tail_mod.QUEUE_LIMIT + 2000
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("/loki/api/v1/tail"))
            async with session.ws_connect(url, params={"query": '{app="big"}'}, max_msg_size=0) as ws:
                t = time.time_ns()
                store.push([({"app": "big"}, [(t + i, f"b{i}", ()) for i in range(n)])])
                frames = await _frames(ws, first_timeout=5.0)
        assert [e[2] for e in tail_entries(frames)] == [f"b{i}" for i in range(n)]
        assert not any("dropped_entries" in f for f in frames)
    finally:
        await server.close()


def test_timestamp_formats():
    t0 = 1_700_000_000 * S
    assert parse_timestamp("t", "1700000000", 0) == t0
    assert parse_timestamp("t", str(t0 + 5), 0) == t0 + 5
    assert parse_timestamp("t", "1700000000.25", 0) == t0 + S // 4
    assert parse_timestamp("t", "2023-11-14T23:13:20.000000007+01:00", 0) == t0 + 7
    assert parse_timestamp("t", "", 42) == 42
    with pytest.raises(ParamError):
        parse_timestamp("t", "2023-13-40T00:00:00Z", 0)




# --- real Loki's rules, one test per point of docs: /work/shared/research/loki-contract.md ---------------------------

@pytest_asyncio.fixture
async def real():
    """Default settings: what `python -m testbed up` runs (label discovery on, auth off)."""
    store = Store()
    server = TestServer(make_app(store), host="127.0.0.1", port=0)
    await server.start_server()
    async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=5) as client:
        client.store = store
        yield client
    await server.close()


@pytest.mark.parametrize("headers,body,status,fragment", [
    ({"Content-Type": "application/json"}, {"streams": [{"stream": {"a": "b"}, "values": [[1, "x"]]}]}, 400,
     "timestamp must be a JSON string"),
    ({"Content-Type": "text/plain"}, None, 400, "snappy protobuf"),
    ({"Content-Type": "application/x-protobuf"}, None, 400, "snappy protobuf"),
    ({}, None, 400, "mime: no media type"),
])
async def test_push_content_type_and_string_timestamps(real, headers, body, status, fragment):
    body = body or {"streams": [{"stream": {"a": "b"}, "values": [[str(time.time_ns()), "x"]]}]}
    r = await real.post("/loki/api/v1/push", content=json.dumps(body).encode(), headers=headers)
    assert r.status_code == status and fragment in r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert real.store.total == 0


async def test_push_rejects_old_future_too_many_labels_and_long_lines_but_keeps_the_rest(real):
    now = time.time_ns()
    many = {f"l{i}": "v" for i in range(16)}
    body = {"streams": [
        {"stream": {"app": "v"}, "values": [[str(now - 8 * 86400 * S), "8 days old"], [str(now), "fine"],
                                            [str(now + 11 * 60 * S), "11 min ahead"], [str(now + 1), "y" * 300_000],
                                            [str(now + 5 * 60 * S), "5 min ahead is fine"]]},
        {"stream": many, "values": [[str(now), "too many labels"]]},
        {"stream": {"x": ""}, "values": [[str(now), "no labels left"]]}]}
    r = await real.post("/loki/api/v1/push", json=body)
    assert r.status_code == 400
    assert "has timestamp too old" in r.text and "has timestamp too new" in r.text
    assert "has 16 label names; limit 15" in r.text and "max entry size '262144' bytes exceeded" in r.text
    assert "at least one label pair is required" in r.text
    assert sorted(real.store.streams[next(iter(real.store.streams))].lines) == ["5 min ahead is fine", "fine"]
    assert real.store.total == 2


async def test_since_is_a_prometheus_duration_and_counts_back_from_now(real):
    now = time.time_ns()
    await push(real, {"app": "s"}, [(now - 90 * S, "90 s ago"), (now - 10 * S, "10 s ago")])
    r = await real.get("/loki/api/v1/query_range", params={"query": '{app="s"}', "since": "3600"})
    assert r.status_code == 400 and "could not parse 'since' parameter" in r.text
    r = await real.get("/loki/api/v1/query_range", params={"query": '{app="s"}', "since": "1m",
                                                          "end": str(now + 3600 * S)})
    assert [v[1] for s in r.json()["data"]["result"] for v in s["values"]] == ["10 s ago"]  # start = now - 1m


async def test_step_is_validated_and_interval_thins(real):
    now = time.time_ns()
    await push(real, {"app": "i"}, [(now - 10 * S + i * S // 2, f"e{i}") for i in range(10)])
    base = {"query": '{app="i"}', "start": str(now - 11 * S), "end": str(now), "direction": "forward"}
    r = await real.get("/loki/api/v1/query_range", params={**base, "start": str(now - 86400 * S), "step": "1"})
    assert r.status_code == 400 and "exceeded maximum resolution of 11,000 points" in r.text
    r = await real.get("/loki/api/v1/query_range", params={**base, "step": "0"})
    assert r.status_code == 400 and "zero or negative query resolution step" in r.text
    r = await real.get("/loki/api/v1/query_range", params={**base, "interval": "1s"})
    assert [v[1] for s in r.json()["data"]["result"] for v in s["values"]] == ["e0", "e2", "e4", "e6", "e8"]


async def test_stats_object_and_warnings_after_eviction():
    store = Store(max_lines=3)
    server = TestServer(make_app(store), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=5) as c:
            now = time.time_ns()
            await push(c, {"app": "w"}, [(now - 5 * S + i, f"x{i}") for i in range(5)])
            r = (await c.get("/loki/api/v1/query_range", params={"query": '{app="w"}', "since": "1m"})).json()
            assert {"summary", "querier", "ingester", "cache"} <= set(r["data"]["stats"])
            assert r["data"]["stats"]["summary"]["totalEntriesReturned"] == 3
            assert "dropped older entries" in r["warnings"][0]
    finally:
        await server.close()


async def test_service_name_detected_level_and_categorize_labels(real):
    now = time.time_ns()
    await push(real, {"app": "lv", "pod": "p"}, [(now - 3 * S, "2026 ERROR boom"), (now - 2 * S, "GET / 200 INFO"),
                                                 (now - S, '{"level":"warn","message":"hm"}')])
    r = await real.get("/loki/api/v1/query_range", params={"query": '{app="lv"}', "since": "1m"})
    streams = {s["stream"]["detected_level"]: s for s in r.json()["data"]["result"]}
    assert set(streams) == {"error", "info", "warn"}  # one pushed stream comes back as three
    assert all(s["stream"]["service_name"] == "lv" for s in streams.values())
    r = await real.get("/loki/api/v1/query_range", params={"query": '{app="lv"}', "since": "1m"},
                       headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
    data = r.json()["data"]
    assert data["encodingFlags"] == ["categorize-labels"]
    [s] = data["result"]
    assert s["stream"] == {"app": "lv", "pod": "p", "service_name": "lv"}
    assert [v[2] for v in s["values"]] == [{"structuredMetadata": {"detected_level": lv}} for lv in
                                           ("warn", "info", "error")]


async def test_auth_enabled_needs_org_id_and_separates_tenants(tmp_path):
    server = TestServer(make_app(auth_enabled=True, data_dir=tmp_path), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=5) as c:
            body = {"streams": [{"stream": {"app": "t"}, "values": [[str(time.time_ns()), "x"]]}]}
            r = await c.post("/loki/api/v1/push", json=body)
            assert r.status_code == 401 and r.text == "no org id\n"
            r = await c.get("/loki/api/v1/query_range", params={"query": '{app="t"}'})
            assert r.status_code == 401 and r.text == "no org id\n"
            assert (await c.post("/loki/api/v1/push", json=body, headers={"X-Scope-OrgID": "team-a"})).status_code \
                == 204
            got = {}
            for org in ("team-a", "team-b"):
                r = await c.get("/loki/api/v1/query_range", params={"query": '{app="t"}'},
                                headers={"X-Scope-OrgID": org})
                got[org] = r.json()["data"]["result"]
            assert got["team-a"] and got["team-b"] == []
            r = await c.get("/loki/api/v1/tail", params={"query": '{app="t"}'})
            assert r.status_code == 401
            assert (await c.get("/ready")).status_code == 200
    finally:
        await server.close()
    assert (tmp_path / "team-a.wal").exists()


async def test_ready_is_503_until_the_delay_passed():
    server = TestServer(make_app(ready_delay=0.6), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=5) as c:
            r = await c.get("/ready")
            assert r.status_code == 503 and "not ready" in r.text
            await asyncio.sleep(0.7)
            assert (await c.get("/ready")).status_code == 200
    finally:
        await server.close()


def test_persisted_store_reloads_and_survives_a_torn_record(tmp_path):
    f = tmp_path / "fake.wal"
    s = Store(path=f)
    now = time.time_ns()
    s.push([({"app": "p"}, [(now, "a"), (now + 1, "b", (("trace", "t1"),))])])
    s.close()
    with open(f, "ab") as fh:
        fh.write(b'{"l": {"app": "p"}, "e": [[1, "torn')  # killed mid-write: never acknowledged
    s2 = Store(path=f)
    assert s2.total == 2 and s2.streams[(("app", "p"),)].meta[1] == (("trace", "t1"),)
    s2.push([({"app": "p"}, [(now, "a")])])  # a re-push after a lost 204 is dropped as a duplicate
    assert s2.total == 2
