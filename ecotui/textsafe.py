"""Make untrusted text inert before it reaches the terminal.

Pod names, event messages, labels and log lines come from the cluster, and anyone who can create an
object can put bytes in them. A raw ESC (``\\x1b[2J``), a C1 CSI (``\\x9b``), a carriage return or a
bidi override (U+202E) could clear the screen, move the cursor or disguise text. ``inert`` replaces
every such code point by a visible escape (``\\x1b``, ``\\u202e``) so it renders as plain characters.

Note for the UI: this removes *terminal* control characters only. Text must still be shown as a
literal (``rich.text.Text(s)``), never parsed as Rich/Textual markup, or ``[red]`` in a pod name
would be interpreted.
"""
from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates, LRM/RLM/ALM,
# line/paragraph separators, BOM/zero-width no-break space.
_OTHER = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
_BAD = re.compile(f"[\x00-\x1f{_OTHER}]")
_BAD_KEEP_NL = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHER}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x09:
        return "\\t"
    if code == 0x0A:
        return "\\n"
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(s: str, multiline: bool = False) -> str:
    """Return ``s`` with every control/bidi code point replaced by a visible escape.

    ``multiline=True`` keeps ``\\n`` as a real line break (``\\r\\n`` becomes ``\\n``; tabs become
    spaces); everything else, including a lone ``\\r``, is escaped. Pure and fast when ``s`` is clean.
    """
    if not s:
        return ""
    if multiline:
        if "\r\n" in s:
            s = s.replace("\r\n", "\n")
        if "\t" in s:
            s = s.expandtabs(4)
        return _BAD_KEEP_NL.sub(_escape, s) if _BAD_KEEP_NL.search(s) else s
    return _BAD.sub(_escape, s) if _BAD.search(s) else s


def one_line(s: str, limit: int = 0) -> str:
    """Inert single-line form: surrounding blanks stripped, inner line breaks shown as spaces,
    other controls escaped; cut to ``limit`` characters with an ellipsis when ``limit`` > 0."""
    s = s.strip()
    if "\n" in s or "\r" in s:
        s = " ".join(part.strip() for part in s.splitlines() if part.strip())
    s = inert(s)
    if limit and len(s) > limit:
        s = s[: limit - 1] + "…"
    return s
