"""sanitize.display: every class of hostile input comes out inert (no code point a terminal would act on)."""
from __future__ import annotations

import importlib
import re

import pytest

from ecotui.logs.sanitize import MAX_LEN, display, display_spans, is_clean

# what must never reach the terminal: C0 (tab is expanded), DEL, C1, bidi, zero-width, BOM, U+FFFD, surrogates
FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufffd\ud800-\udfff]")


def assert_inert(out: str) -> None:
    assert FORBIDDEN.search(out) is None, repr(out)


CASES = {
    "csi colour": ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    "csi cursor/clear": ("a\x1b[2J\x1b[H\x1b[10;10Hb", "a\\x1b[2J\\x1b[H\\x1b[10;10Hb"),
    "csi truncated": ("x\x1b[38;5", "x\\x1b[38;5"),
    "osc title bel": ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    "osc 52 clipboard st": ("\x1b]52;c;ZWNobyBoaQ==\x1b\\", "\\x1b]52;c;ZWNobyBoaQ==\\x1b\\"),
    "osc 8 hyperlink": ("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
                        "\\x1b]8;;http://evil\\x1b\\click\\x1b]8;;\\x1b\\"),
    "osc truncated": ("\x1b]2;title", "\\x1b]2;title"),
    "dcs": ("\x1bP1$r0m\x1b\\", "\\x1bP1$r0m\\x1b\\"),
    "apc pm sos": ("\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\", "\\x1b_apc\\x1b\\\\x1b^pm\\x1b\\\\x1bXsos\\x1b\\"),
    "c1 csi": ("\x9b31mred", "\\x9b31mred"),
    "c1 osc st": ("\x9d0;t\x9c", "\\x9d0;t\\x9c"),
    "lone esc": ("end\x1b", "end\\x1b"),
    "bel bs cr": ("a\x07b\x08c\rd", "a\\x07b\\x08c\\x0dd"),
    "nul del": ("a\x00b\x7f", "a\\x00b\\x7f"),
    "newline": ("a\nb", "a\\x0ab"),
    "bom": ("\ufeffstart", "\\ufeffstart"),
    "bidi override": ("abc\u202edcba", "abc\\u202edcba"),
    "bidi isolate": ("\u2066x\u2069\u2067y\u2068z", "\\u2066x\\u2069\\u2067y\\u2068z"),
    "zero width": ("a\u200bb\u200cc\u200dd\u2060e\u2064f", "a\\u200bb\\u200cc\\u200dd\\u2060e\\u2064f"),
    "replacement char": ("bad \ufffd byte", "bad \\ufffd byte"),
    "lone surrogate": ("x\udcff", "x\\udcff"),
    "tag chars": ("hi\U000e0041", "hi\\U000e0041"),
    "markup is just text": ("[red]not red[/red] [link=x]y[/link]", "[red]not red[/red] [link=x]y[/link]"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_classes(name):
    raw, want = CASES[name]
    out = display(raw)
    assert out == want
    assert_inert(out)


def test_clean_text_is_returned_as_is():
    s = "2026-01-05T10:00:00Z INFO hello — ünïcödé 日本語 ✓"
    assert display(s) is s
    assert is_clean(s)


def test_tabs_expand_to_stops():
    assert display("a\tb") == "a" + " " * 7 + "b"
    assert display("\x1b\tx") == "\\x1b" + " " * 4 + "x"     # the escape counts as 4 columns


def test_long_lines_cut_with_marker():
    s = "x" * (MAX_LEN + 123)
    out = display(s)
    assert out == "x" * MAX_LEN + "… [+123 chars]"
    assert display("abcdef", max_len=3) == "abc… [+3 chars]"
    assert display("abc", max_len=3) == "abc"
    assert display("abcdef", max_len=0) == "abcdef"


def test_spans_cover_escapes_and_marker():
    out, spans = display_spans("a\x1bb" + "c" * 10, max_len=5)
    assert out == "a\\x1bbcc… [+8 chars]"
    assert [out[s:e] for s, e in spans] == ["\\x1b", "… [+8 chars]"]


def test_random_bytes_decoded_with_replace_are_inert():
    import random
    rnd = random.Random(7)
    for _ in range(300):
        raw = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))).decode("utf-8", "replace")
        assert_inert(display(raw))
        raw2 = bytes(rnd.randrange(256) for _ in range(50)).decode("utf-8", "surrogateescape")
        assert_inert(display(raw2))


def test_every_code_point_of_the_bmp_is_inert_or_kept():
    text = "".join(chr(c) for c in range(0x10000))
    out = display(text, max_len=0)
    assert_inert(out)


def hostile_lines() -> list[str]:
    try:
        mod = importlib.import_module("testbed.hostile")
    except ImportError:
        return []
    for name in ("HOSTILE_LINES", "LINES", "HOSTILE"):
        lines = getattr(mod, name, None)
        if lines:
            return [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in lines]
    return []


def test_testbed_hostile_lines_are_inert():
    lines = hostile_lines()
    if not lines:
        pytest.skip("testbed/hostile.py not there (yet)")
    for raw in lines:
        assert_inert(display(raw))
