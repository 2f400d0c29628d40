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

S = 1_000_000_000
T0 = 1_700_000_000 * S  # 2023-11-14T22:13:20Z


@pytest_asyncio.fixture
async def loki():
    store = Store(max_lines=1000)
    server = TestServer(make_app(store, tail_max_duration=30), host="127.0.0.1", port=0)
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
        "query": '{app="a"} |= "error"', "start": "2023-11-14T22:13:20Z", "end": "1700000010.0",
        "direction": "forward", "limit": "10"})
    assert [line for _, _, line in entries(r.json())] == ["a-line 1 error", "a-line 3 error"]
    # seconds (<= 10 digits)
    r = await loki.get("/loki/api/v1/query_range", params={
        "query": '{app=~"a|b"} !~ "line [0-3]"', "start": "1700000000", "end": "1700000010"})
    assert sorted(line for _, _, line in entries(r.json())) == ["a-line 4", "b-line 4"]


async def test_query_default_range_is_last_hour(loki):
    now = time.time_ns()
    await push(loki, {"app": "c"}, [(now - 2 * 3600 * S, "old"), (now - 60 * S, "recent")])
    r = await loki.get("/loki/api/v1/query_range", params={"query": '{app="c"}'})
    assert [line for _, _, line in entries(r.json())] == ["recent"]
    r = await loki.get("/loki/api/v1/query_range", params={"query": '{app="c"}', "since": "3h"})
    assert [line for _, _, line in entries(r.json())] == ["recent", "old"]
    r = await loki.get("/loki/api/v1/query", params={"query": '{app="c"}'})
    assert [line for _, _, line in entries(r.json())] == ["recent"]


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
    body = r.json()
    assert body["status"] == "error" and fragment in body["error"]


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
    assert fragment in r.json()["error"]
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
    assert r.json()["data"] == []
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


async def test_tail_history_then_live_exactly_once(loki):
    now = time.time_ns()
    await push(loki, {"app": "t", "pod": "p1"},
               [(now - 3 * S, "old 1"), (now - 2 * S, "old 2 skip"), (now - S, "old 3")])
    await push(loki, {"app": "other"}, [(now, "not for us")])
    url = str(loki.server.make_url("/loki/api/v1/tail"))
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, params={"query": '{app="t"} != "skip"', "limit": "10",
                                                   "start": str(now - 10 * S)}) as ws:
            first = await _recv_json(ws)
            assert first == {"streams": [{"stream": {"app": "t", "pod": "p1"},
                                          "values": [[str(now - 3 * S), "old 1"], [str(now - S), "old 3"]]}],
                             "dropped_entries": None}
            await push(loki, {"app": "t", "pod": "p2"}, [(now + S, "live 1"), (now + 2 * S, "live skip")])
            await push(loki, {"app": "other"}, [(now + S, "still not for us")])
            await push(loki, {"app": "t", "pod": "p1"}, [(now + S, "live 1")])  # exact duplicate of nothing: new stream
            frames = [await _recv_json(ws)]
            try:
                while True:
                    frames.append(await _recv_json(ws, timeout=0.4))
            except asyncio.TimeoutError:
                pass
            got = sorted((tuple(sorted(s["stream"].items())), v[0], v[1])
                         for f in frames for s in f["streams"] for v in s["values"])
            assert got == [((("app", "t"), ("pod", "p1")), str(now + S), "live 1"),
                           ((("app", "t"), ("pod", "p2")), str(now + S), "live 1")]
            assert all(f["dropped_entries"] is None and set(f) == {"streams", "dropped_entries"} for f in frames)
            # a re-push of an identical entry is deduplicated by the store and never re-sent
            await push(loki, {"app": "t", "pod": "p2"}, [(now + S, "live 1")])
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.4)


async def test_tail_limit_keeps_newest_history_and_orders_live(loki):
    now = time.time_ns()
    await push(loki, {"app": "t"}, [(now - i * S, f"h{i}") for i in range(5)])
    url = str(loki.server.make_url("/loki/api/v1/tail"))
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, params={"query": '{app="t"}', "limit": "2"}) as ws:
            first = await _recv_json(ws)
            assert [v[1] for v in first["streams"][0]["values"]] == ["h1", "h0"]
            await push(loki, {"app": "t"}, [(now + 3 * S, "c"), (now + S, "a"), (now + 2 * S, "b")])
            live = await _recv_json(ws)
            assert [v[1] for v in live["streams"][0]["values"]] == ["a", "b", "c"]


async def test_tail_bad_query_is_http_400(loki):
    r = await loki.get("/loki/api/v1/tail", params={"query": '{app="t"} | json'})
    assert r.status_code == 400 and "not supported" in r.json()["error"]
    r = await loki.get("/loki/api/v1/tail", params={"query": '{app="t"}', "delay_for": "6"})
    assert r.status_code == 400 and "delay_for" in r.json()["error"]


def test_timestamp_formats():
    assert parse_timestamp("t", "1700000000", 0) == T0
    assert parse_timestamp("t", str(T0 + 5), 0) == T0 + 5
    assert parse_timestamp("t", "1700000000.25", 0) == T0 + S // 4
    assert parse_timestamp("t", "2023-11-14T23:13:20.000000007+01:00", 0) == T0 + 7
    assert parse_timestamp("t", "", 42) == 42
    with pytest.raises(ParamError):
        parse_timestamp("t", "2023-13-40T00:00:00Z", 0)


async def test_tail_closes_after_max_duration_and_honours_delay_for():
    store = Store()
    server = TestServer(make_app(store, tail_max_duration=1.6), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("/loki/api/v1/tail"))
            async with session.ws_connect(url, params={"query": '{app="d"}', "delay_for": "1"}) as ws:
                t0 = time.monotonic()
                store.push([({"app": "d"}, [(time.time_ns(), "late")])])
                frame = await _recv_json(ws)
                assert frame["streams"][0]["values"][0][1] == "late"
                held = time.monotonic() - t0
                msg = await ws.receive(timeout=3)
                assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert held >= 0.9  # delay_for=1: held about a second after arrival
    finally:
        await server.close()
