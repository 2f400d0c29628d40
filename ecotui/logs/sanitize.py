"""Make any log text inert for display (the viewer shows `display(line.text)`; save and copy keep the raw text).

A log line can hold anything a container wrote: ANSI colour, OSC 52 (write the clipboard), OSC 0/2 (set the
title), OSC 8 (hyperlinks), DCS/APC/PM/SOS strings, cursor movement, C1 controls (U+0080–U+009F, e.g. U+009B is
a one-byte CSI), bidi overrides that reorder what is shown, zero-width characters that hide text, lone
surrogates (which cannot even be encoded for the terminal), U+FFFD from invalid UTF-8.

Every such code point is replaced by a visible backslash escape — the same notation as `ecotui.textsafe`:
`\\x1b`, `\\x9b`, `\\u202e`, `\\ufffd` — so a sequence loses its introducer and what follows it is printed as plain
characters: `\\x1b[31mred\\x1b[0m` is shown literally, `\\x1b]52;c;…\\x07` likewise. Nothing can reach the terminal
as a control. Tabs are expanded (8 columns). Lines longer than `max_len` characters are cut and end with
`… [+N chars]`.

The result is plain text: the UI must still render it literally (`rich.text.Text(s)` / `Segment`), never as
markup. `display_spans` also returns where the escapes are, so the viewer can dim them.
"""
from __future__ import annotations

import re

MAX_LEN = 2000
TAB = 8

# C0 (tab handled apart), DEL, C1, soft hyphen, Arabic letter mark, Hangul fillers, Mongolian vowel separator,
# zero-width and direction marks (U+200B-U+200F), line/paragraph separators, bidi embeddings/overrides
# (U+202A-U+202E), word joiner / invisible operators / bidi isolates / deprecated format chars
# (U+2060-U+206F), Hangul filler, BOM, interlinear annotations, object replacement, U+FFFD, lone surrogates,
# Unicode tag characters (invisible "ASCII smuggling").
_BAD_CLASS = (
    "\x00-\x08\x0a-\x1f\x7f-\x9f\xad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ufeff\ufff9-\ufffd\ud800-\udfff\U000e0000-\U000e007f"
)
_BAD = re.compile(f"[{_BAD_CLASS}]")
_NEEDS_WORK = re.compile(f"[\t{_BAD_CLASS}]")


def _esc(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def marker(extra: int) -> str:
    return f"… [+{extra} chars]"


def display_spans(text: str, max_len: int = MAX_LEN) -> tuple[str, list[tuple[int, int]]]:
    """(inert text, spans of the escapes and of the cut marker in it) — see the module docstring."""
    extra = 0
    if max_len > 0 and len(text) > max_len:
        extra = len(text) - max_len
        text = text[:max_len]
    spans: list[tuple[int, int]] = []
    if _NEEDS_WORK.search(text) is None:
        out = text
    else:
        parts: list[str] = []
        col = 0        # display column (for tab stops); escapes and text are all single-width here
        pos = 0
        for m in _NEEDS_WORK.finditer(text):
            start = m.start()
            if start > pos:
                chunk = text[pos:start]
                parts.append(chunk)
                col += len(chunk)
            ch = m.group()
            if ch == "\t":
                n = TAB - (col % TAB)
                parts.append(" " * n)
                col += n
            else:
                e = _esc(ch)
                spans.append((col, col + len(e)))
                parts.append(e)
                col += len(e)
            pos = start + 1
        if pos < len(text):
            parts.append(text[pos:])
        out = "".join(parts)
    if extra:
        mark = marker(extra)
        spans.append((len(out), len(out) + len(mark)))
        out += mark
    return out, spans


def display(text: str, max_len: int = MAX_LEN) -> str:
    """`text` made inert for the terminal (escapes visible, tabs expanded, cut at `max_len` with a marker).
    Returns `text` itself when it is clean and short (the common case)."""
    if (max_len <= 0 or len(text) <= max_len) and _NEEDS_WORK.search(text) is None:
        return text
    return display_spans(text, max_len)[0]


def is_clean(text: str) -> bool:
    """True when `text` holds no code point `display` would escape (tabs aside)."""
    return _BAD.search(text) is None
