from __future__ import annotations

import time

import pytest

from ecotui.logs.format import (POD_PALETTE, Level, detect_level, json_kv, json_pretty, pod_colour, pod_label,
                                ts_prefix)


@pytest.mark.parametrize("text,level", [
    ("2026-01-05T10:00:00.123Z ERROR 1 --- [main] c.e.UserService : boom", Level.ERROR),
    ("2026-01-05T10:00:00.123Z  WARN 1 --- [nio-8080-exec-1] o.s.Web : slow", Level.WARN),
    ("2026-01-05 10:00:00.123  INFO 1 --- [main] Started", Level.INFO),
    ("2026-01-05 10:00:00.123 DEBUG 1 --- [main] x", Level.DEBUG),
    ("2026-01-05 10:00:00.123 TRACE 1 --- [main] x", Level.TRACE),
    ('{"ts":"2026","level":"error","msg":"x"}', Level.ERROR),
    ('{"severity": "WARNING", "message": "x"}', Level.WARN),
    ('{"lvl":"debug"}', Level.DEBUG),
    ("ts=2026 level=error msg=boom", Level.ERROR),
    ("level=info msg=ok", Level.INFO),
    ("E0105 10:00:00.123456       1 reflector.go:1] x", Level.ERROR),
    ("W0105 10:00:00.123456       1 x.go:1] x", Level.WARN),
    ("[FATAL] out of memory", Level.ERROR),
    ("just text", None),
    ("INFOrmation overload", None),
    ("", None),
])
def test_detect_level(text, level):
    assert detect_level(text) is level


def test_json_kv_and_pretty():
    line = '{"msg":"hello world","level":"info","n":1,"ok":true,"o":{"a":[1,2]},"ts":"t"}'
    assert json_kv(line) == 'ts=t level=info msg="hello world" n=1 ok=true o={"a":[1,2]}'
    assert json_pretty('{"a":1,"b":[2]}') == ["{", '  "a": 1,', '  "b": [', "    2", "  ]", "}"]
    assert json_kv("not json") is None and json_pretty("[1,2]") is None and json_kv("{broken") is None


def test_ts_prefix():
    ns = int(time.mktime((2026, 1, 5, 10, 11, 12, 0, 0, -1))) * 1_000_000_000 + 345_000_000
    assert ts_prefix(ns) == "10:11:12.345"
    assert ts_prefix(0) == "--:--:--.---" and len(ts_prefix(0)) == len(ts_prefix(ns))


def test_pod_colour_stable_and_safe():
    c = pod_colour("user-service-7d9f8b6c5-abcde")
    assert c in POD_PALETTE and c == pod_colour("user-service-7d9f8b6c5-abcde")
    assert "red" not in POD_PALETTE and len({pod_colour(f"p-{i}") for i in range(50)}) > 3
    assert pod_label("short") == "short"
    assert pod_label("user-service-7d9f8b6c5-abcde", 12) == "…9f8b6c5-abcde"[-12:] or len(
        pod_label("user-service-7d9f8b6c5-abcde", 12)) == 12
