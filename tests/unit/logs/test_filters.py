from __future__ import annotations

import pytest

from ecotui.logs.filters import NO_FILTER, PRESETS, FilterError, LineFilter, compile_pattern, spans
from ecotui.logs.model import Kind, LogLine


def L(text: str, kind: Kind = Kind.LINE) -> LogLine:
    return LogLine(0, text, "s", kind=kind)


def test_smart_case():
    assert compile_pattern("error").search("ERROR here")
    assert not compile_pattern("Error").search("ERROR here")
    assert compile_pattern(r"\S+oops").search("xOOPS")        # \S is not an upper-case letter


def test_invalid_regex_is_one_clear_line_and_keeps_the_previous():
    f = NO_FILTER.with_include("timeout")
    with pytest.raises(FilterError) as exc:
        f = f.with_include("a(b")
    msg = str(exc.value)
    assert "invalid include regex 'a(b'" in msg and "position" in msg and "\n" not in msg
    assert f.include is not None and f.include.pattern == "timeout"


def test_presets_match_the_runbook_greps():
    errors, perf, sec = PRESETS["errors"], PRESETS["perf"], PRESETS["security"]
    assert errors.runbook == "grep -i error"
    for s in ("ERROR x", "an error", "Errors: 3", "java.lang.IOError"):
        assert errors.pattern.search(s)
    assert not errors.pattern.search("all good")
    assert perf.pattern.search("request slow: 2s") and perf.pattern.search("read timeout")
    assert perf.pattern.search("p99 latency 3s")
    assert not perf.pattern.search("Timeout")                 # grep -E is case-sensitive
    for s in ("401 unauthorized", "403 forbidden", "authentication failed"):
        assert sec.pattern.search(s)
    assert not sec.pattern.search("Forbidden")


def test_filter_include_exclude_preset_and_markers():
    f = NO_FILTER.with_preset("errors").with_include("db").with_exclude("retry")
    assert f.active
    assert f.matches(L("ERROR db down"))
    assert not f.matches(L("ERROR db down, retry 1"))
    assert not f.matches(L("ERROR cache down"))
    assert not f.matches(L("INFO db up"))
    assert f.matches(L("gap: 100 lines lost", Kind.GAP))     # markers always kept
    assert f.matches(L("reconnected", Kind.INFO))
    assert f.describe() == "errors +/db/ -/retry/"
    assert f.with_preset("errors").preset is None             # toggle off
    assert f.with_preset("perf").preset is PRESETS["perf"]
    assert not f.with_include("").with_exclude("").with_preset(None).active


def test_spans():
    p = compile_pattern("ab")
    assert spans(p, "xxABxab") == [(2, 4), (5, 7)]
    assert spans(compile_pattern("x*"), "ab") == []
    assert spans(None, "ab") == []
