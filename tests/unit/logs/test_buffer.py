from __future__ import annotations

import sys

from ecotui.logs.buffer import LogBuffer
from ecotui.logs.filters import NO_FILTER, compile_pattern
from ecotui.logs.model import Kind, LogLine


def L(i: int, text: str = "", pod: str = "p", kind: Kind = Kind.LINE) -> LogLine:
    return LogLine(i, text or f"line {i}", "s", pod=pod, kind=kind)


def texts(buf: LogBuffer) -> list[str]:
    return [buf.view_line(p).text for p in range(buf.view_len)]  # type: ignore[union-attr]


def test_ring_keeps_newest_with_stable_indexes_and_counts():
    b = LogBuffer(capacity=5)
    assert b.append([L(i) for i in range(3)]) == 3
    assert (b.first, b.end, len(b), b.received, b.dropped) == (0, 3, 3, 3, 0)
    b.append([L(i) for i in range(3, 8)])
    assert (b.first, b.end, len(b), b.received, b.dropped) == (3, 8, 5, 8, 3)
    assert b.get(2) is None and b.get(3).text == "line 3" and b.get(7).text == "line 7"
    assert b.get(8) is None
    assert texts(b) == [f"line {i}" for i in range(3, 8)]
    assert b.view_index(0) == 3 and b.view_pos(5) == 2


def test_batch_bigger_than_capacity():
    b = LogBuffer(capacity=4)
    b.append([L(i) for i in range(10)])
    assert (b.first, b.end, b.dropped) == (6, 10, 6)
    assert texts(b) == ["line 6", "line 7", "line 8", "line 9"]


def test_filter_applies_to_old_and_new_lines_and_trims_on_eviction():
    b = LogBuffer(capacity=10)
    b.append([L(i, f"{'ERROR' if i % 2 else 'INFO'} {i}") for i in range(6)])
    b.set_filter(NO_FILTER.with_include("error"))
    assert texts(b) == ["ERROR 1", "ERROR 3", "ERROR 5"]
    kept = b.append([L(i, f"{'ERROR' if i % 2 else 'INFO'} {i}") for i in range(6, 16)])
    assert kept == 5
    assert texts(b) == ["ERROR 7", "ERROR 9", "ERROR 11", "ERROR 13", "ERROR 15"]   # 1..5 evicted
    assert b.in_view(7) and not b.in_view(8) and b.view_pos(8) == 1
    b.set_filter(NO_FILTER)
    assert b.view_len == 10


def test_markers_survive_filters():
    b = LogBuffer()
    b.append([L(0, "INFO a"), L(1, "lost 5 lines", kind=Kind.GAP), L(2, "ERROR b")])
    b.set_filter(NO_FILTER.with_preset("errors"))
    assert texts(b) == ["lost 5 lines", "ERROR b"]


def test_search_hits_next_prev_and_rank():
    b = LogBuffer(capacity=100)
    b.append([L(i, "needle" if i in (2, 5, 9) else "hay") for i in range(10)])
    b.set_search(compile_pattern("needle"))
    assert b.hit_count == 3
    assert b.next_hit(2) == 5 and b.next_hit(9) == 2 and b.next_hit(9, wrap=False) is None
    assert b.prev_hit(5) == 2 and b.prev_hit(2) == 9
    assert b.hit_rank(5) == 2 and b.hit_rank(4) == 0
    b.append([L(10, "needle")])
    assert b.hit_count == 4
    b.set_filter(NO_FILTER.with_exclude("^needle$"))
    assert b.hit_count == 0
    b.set_search(None)
    assert b.next_hit(0) is None


def test_clear_counts_and_keeps_indexes_increasing():
    b = LogBuffer(capacity=10)
    b.append([L(i) for i in range(4)])
    b.clear()
    assert (len(b), b.cleared, b.dropped, b.view_len) == (0, 4, 0, 0)
    b.append([L(4)])
    assert b.first == 4 and b.view_index(0) == 4


def test_rate_is_an_average_over_time():
    now = [0.0]
    b = LogBuffer(clock=lambda: now[0])
    for _ in range(10):
        b.append([L(0)] * 100)
        now[0] += 1.0
        b.rate()
    assert 95 <= b.rate() <= 105
    for _ in range(20):
        now[0] += 1.0
        b.rate()
    assert b.rate() < 5


def test_memory_stays_bounded():
    b = LogBuffer(capacity=1000)
    b.set_filter(NO_FILTER.with_include("x"))
    b.set_search(compile_pattern("x"))
    line = L(0, "x")
    for _ in range(200):
        b.append([line] * 500)
    assert len(b) == 1000
    assert len(b._view.items) <= 1000 + 4096 + 500      # type: ignore[union-attr]
    assert len(b._hits.items) <= 1000 + 4096 + 500
    assert sys.getsizeof(b._ring) < 10_000
    assert b.dropped == 99_000
