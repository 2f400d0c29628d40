"""LokiClient against an in-test Loki that answers like real Loki: paging, text/plain errors, 401 no org id,
retries on 429/5xx, tenant and auth headers, tail frame decoding (repeated label sets, 3-element values)."""
from __future__ import annotations

import base64
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from loki_fake import FakeLoki  # noqa: E402

from ecotui.errors import AuthError, ConnectError  # noqa: E402
from ecotui.logs.loki_client import LokiClient, LokiConfig, LokiError, LokiQueryError, decode_tail_frame  # noqa: E402
from ecotui.logs.model import Kind  # noqa: E402

A = {"app": "a", "namespace": "ns", "pod": "a-1", "container": "c"}
B = {"app": "b", "namespace": "ns", "pod": "b-1", "container": "c"}


@pytest.fixture
async def loki():
    fake = await FakeLoki().start()
    yield fake
    await fake.hard_stop()


def client(fake: FakeLoki, **kw) -> LokiClient:
    return LokiClient(LokiConfig(fake.url, **kw), retry_base_s=0.01)


def fill(fake: FakeLoki) -> None:
    # several entries share timestamps, across streams and within one stream, so pages end on shared ones
    for i, ts in enumerate([10, 20, 20, 20, 30, 40, 40, 50, 60, 60, 70, 80]):
        fake.add(A if i % 2 else B, ts, f"line {i}")


@pytest.mark.parametrize("page", [4, 5, 7, 100])  # > the most entries at one timestamp (3)
async def test_backward_paging_drops_the_overlap_exactly(loki, page):
    fill(loki)
    c = client(loki)
    got = [ln async for p in c.query_range_pages("{app=~\"a|b\"}", 0, 1000, 1000, "backward", page_limit=page)
           for ln in p]
    await c.aclose()
    lines = [ln for ln in got if ln.kind is Kind.LINE]
    assert sorted((ln.ts_ns, ln.text) for ln in lines) == sorted((e.ts, e.line) for e in loki.entries)
    assert len(lines) == len(loki.entries)
    assert [ln.ts_ns for ln in lines] == sorted((ln.ts_ns for ln in lines), reverse=True)
    reqs = [r[1] for r in loki.requests]
    assert all(int(r["limit"]) <= 5000 for r in reqs)
    if page < 12:
        # each next page ends at the previous page's oldest timestamp + 1 ns (end exclusive)
        assert len(reqs) > 1 and all(r["start"] == "0" for r in reqs)


async def test_forward_paging_and_total_limit(loki):
    fill(loki)
    c = client(loki)
    fwd = await c.query_range("{app=\"a\"}", 0, 1000, 1000, "forward")
    assert [(ln.ts_ns, ln.text) for ln in fwd] == sorted(((e.ts, e.line) for e in loki.entries))
    paged = [ln async for p in c.query_range_pages("q", 0, 1000, 1000, "forward", page_limit=4) for ln in p]
    assert sorted((ln.ts_ns, ln.text) for ln in paged) == sorted((e.ts, e.line) for e in loki.entries)
    some = await c.query_range("q", 0, 1000, 5, "backward")
    assert len(some) == 5 and some[0].ts_ns == 80
    await c.aclose()


async def test_more_lines_at_one_timestamp_than_a_page_gives_a_gap_marker(loki):
    for i in range(5):
        loki.add(A, 100, f"same {i}")
    c = client(loki)
    got = [ln async for p in c.query_range_pages("q", 0, 1000, 1000, "backward", page_limit=3) for ln in p]
    await c.aclose()
    assert [ln.kind for ln in got].count(Kind.GAP) == 1
    assert len([ln for ln in got if ln.kind is Kind.LINE]) == 3


async def test_paging_goes_on_past_a_crowded_timestamp(loki):
    for i in range(5):
        loki.add(A, 100, f"same {i}")
    loki.add(A, 50, "older")
    c = client(loki)
    got = [ln async for p in c.query_range_pages("q", 0, 1000, 1000, "backward", page_limit=3) for ln in p]
    await c.aclose()
    assert got[-1].text == "older" and Kind.GAP in [ln.kind for ln in got]


async def test_loglines_fields_from_labels_and_three_element_values(loki):
    loki.three_element = True
    loki.add({"namespace": "ns", "pod": "p", "container": "c", "app": "x"}, 5, "hello")
    c = client(loki)
    [ln] = await c.query_range("q", 0, 10, 10)
    await c.aclose()
    assert (ln.ts_ns, ln.text, ln.pod, ln.container, ln.namespace) == (5, "hello", "p", "c", "ns")
    assert ln.stream == '{app="x",container="c",namespace="ns",pod="p"}'


async def test_400_text_plain_is_one_line_query_error(loki):
    loki.query_errors.append((400, "parse error at line 1, col 5: syntax error: unexpected }\n", {}))
    c = client(loki)
    with pytest.raises(LokiQueryError) as ei:
        await c.query_range("{a", 0, 10, 10)
    await c.aclose()
    assert "parse error at line 1, col 5" in ei.value.message and "\n" not in ei.value.message
    assert len(loki.requests) == 1  # not retried


async def test_401_no_org_id_hints_at_the_tenant(loki):
    loki.require_tenant = True
    c = client(loki)
    with pytest.raises(AuthError) as ei:
        await c.query_range("q", 0, 10, 10)
    assert "no org id" in ei.value.message and "tenant" in ei.value.hint
    await c.aclose()
    c = client(loki, tenant="team-a")
    assert await c.query_range("q", 0, 10, 10) == []
    await c.aclose()


async def test_5xx_and_429_are_retried_then_reported(loki):
    loki.query_errors += [(502, "bad gateway", {}), (429, "too many outstanding requests", {"Retry-After": "0"})]
    c = client(loki)
    loki.add(A, 1, "x")
    assert [ln.text for ln in await c.query_range("q", 0, 10, 10)] == ["x"]
    assert len(loki.requests) == 3
    loki.query_errors += [(500, "rpc error: code = Unknown {not json", {})] * 3
    with pytest.raises(LokiError) as ei:
        await c.query_range("q", 0, 10, 10)
    await c.aclose()
    assert ei.value.status == 500 and "{not json" in ei.value.message


async def test_headers_tenant_bearer_and_basic(loki):
    c = client(loki, tenant="t1", token="tok")
    await c.query_range("q", 0, 10, 10)
    ws = await c.open_tail("q", 0)
    await ws.close()
    await c.aclose()
    for _, _, headers in loki.requests:
        assert headers["X-Scope-OrgID"] == "t1" and headers["Authorization"] == "Bearer tok"
    loki.requests.clear()
    c = client(loki, username="u", password="p")
    await c.query_range("q", 0, 10, 10)
    await c.aclose()
    assert loki.requests[0][2]["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert "X-Scope-OrgID" not in loki.requests[0][2]


async def test_unreachable_and_ready(loki):
    c = client(loki)
    assert await c.ready() is True
    await c.aclose()
    port = loki.port
    await loki.hard_stop()
    c = LokiClient(LokiConfig(f"http://127.0.0.1:{port}", timeout=2), retry_base_s=0.01)
    with pytest.raises(ConnectError) as ei:
        await c.query_range("q", 0, 10, 10)
    assert "cannot reach" in ei.value.message
    with pytest.raises(ConnectError):
        await c.open_tail("q", 0)
    await c.aclose()


def test_tail_frame_repeated_label_sets_and_optional_dropped():
    frame = ('{"streams":[{"stream":{"app":"a"},"values":[["20","two"]]},'
             '{"stream":{"app":"a"},"values":[["10","one","{}"]]},'
             '{"stream":{"app":"a"},"values":[["10","one-b",{"trace_id":"x"}]]}]}')
    lines, dropped = decode_tail_frame(frame)
    assert [(ln.ts_ns, ln.text) for ln in lines] == [(10, "one"), (10, "one-b"), (20, "two")]
    assert dropped == []
    lines, dropped = decode_tail_frame('{"streams":[],"dropped_entries":[{"labels":{"app":"a"},"timestamp":"7"}]}')
    assert lines == [] and dropped == [('{app="a"}', 7)]
    assert decode_tail_frame('{"streams":null,"dropped_entries":null}') == ([], [])
    with pytest.raises(LokiError):
        decode_tail_frame("not json")


def test_config_tls_and_urls(tmp_path):
    import ssl

    assert LokiConfig("http://127.0.0.1:3100/").ssl_context() is None
    assert LokiConfig("http://127.0.0.1:3100/").base == "http://127.0.0.1:3100"
    ctx = LokiConfig("https://loki.example", verify=False).ssl_context()
    assert ctx is not None and ctx.verify_mode is ssl.CERT_NONE and not ctx.check_hostname
    with pytest.raises(ConnectError, match="CA file"):
        LokiConfig("https://loki.example", ca_file=str(tmp_path / "missing.pem")).ssl_context()
    assert LokiConfig("http://localhost:1").loopback and not LokiConfig("https://loki.example").loopback


async def test_tail_400_before_upgrade_is_a_query_error(loki):
    from loki_fake import TailSpec

    loki.tail_specs.append(TailSpec(http_status=400, http_body="delay_for can't be greater than 5"))
    c = client(loki)
    with pytest.raises(LokiQueryError, match="delay_for can't be greater than 5"):
        await c.open_tail("q", 0)
    await c.aclose()
