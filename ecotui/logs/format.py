"""How a log line is presented (pure; the viewer turns these into styles): its level, JSON reshaped as
`key=value` or pretty-printed, a timestamp prefix, a stable colour per pod.

Level detection looks at the start of the line only (cheap; the viewer calls it for visible lines):

* Spring Boot / logback: `2026-01-05T10:00:00.123Z ERROR 1 --- [main] c.e.Foo : …` (level after the timestamp),
  also `[ERROR]`, `ERROR:` and `level: WARN`-like leading words;
* klog: `E0105 10:00:00.123456 1 file.go:12] …`;
* JSON: `"level":"error"` (also `lvl`, `severity`, `loglevel`, any case);
* logfmt: `level=error` (also `lvl=`, `severity=`).
"""
from __future__ import annotations

import enum
import json
import re
import time
import zlib
from typing import Any

from ecotui.logs.model import NS


class Level(enum.Enum):
    ERROR = "error"
    WARN = "warn"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


_WORDS = {
    "error": Level.ERROR, "err": Level.ERROR, "fatal": Level.ERROR, "critical": Level.ERROR, "crit": Level.ERROR,
    "panic": Level.ERROR, "severe": Level.ERROR, "emerg": Level.ERROR, "alert": Level.ERROR,
    "warn": Level.WARN, "warning": Level.WARN,
    "info": Level.INFO, "notice": Level.INFO, "information": Level.INFO,
    "debug": Level.DEBUG, "dbug": Level.DEBUG, "fine": Level.DEBUG,
    "trace": Level.TRACE, "finest": Level.TRACE,
}
HEAD = 160   # characters looked at for a plain-text level

# JSON / logfmt keys: "level":"error", level=error, "severity": "WARNING"
_KEYED = re.compile(
    r"""["']?\b(?:level|lvl|severity|loglevel|log\.level|levelname)["']?\s*[:=]\s*["']?([A-Za-z]+)""",
    re.IGNORECASE,
)
# an upper-case level word near the start: "2026-… ERROR 1 --- [", "[WARN]", "ERROR:", "<timestamp> INFO "
_WORD = re.compile(r"(?<![A-Za-z])(ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE|WARN|WARNING|INFO|NOTICE|DEBUG|DBUG"
                   r"|TRACE)(?![A-Za-z])")
_KLOG = re.compile(r"([EWIF])\d{4} \d\d:\d\d:\d\d")
_KLOG_LEVEL = {"E": Level.ERROR, "F": Level.ERROR, "W": Level.WARN, "I": Level.INFO}


def detect_level(text: str) -> Level | None:
    """The line's level, or None when none is recognisable."""
    head = text[:HEAD]
    m = _KEYED.search(head) if ("=" in head or ":" in head) else None
    if m is not None:
        lvl = _WORDS.get(m.group(1).lower())
        if lvl is not None:
            return lvl
    m2 = _KLOG.match(head)
    if m2 is not None:
        return _KLOG_LEVEL[m2.group(1)]
    m = _WORD.search(head, 0, 80)
    if m is not None:
        return _WORDS[m.group(1).lower()]
    return None


# ---- JSON --------------------------------------------------------------------------------------------

_FIRST_KEYS = ("time", "ts", "timestamp", "@timestamp", "level", "lvl", "severity", "logger", "msg", "message")


def parse_json(text: str) -> dict[str, Any] | None:
    """The line as a JSON object, or None (only lines that look like one are parsed)."""
    s = text.strip()
    if len(s) < 2 or s[0] != "{" or s[-1] != "}":
        return None
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _value(v: Any) -> str:
    if isinstance(v, str):
        return v if v and not any(c in v for c in " \t\"=") else json.dumps(v, ensure_ascii=False)
    if v is None or isinstance(v, bool | int | float):
        return json.dumps(v)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def json_kv(text: str) -> str | None:
    """A JSON object line as one `key=value` line (time, level, logger, msg first), or None if not JSON."""
    obj = parse_json(text)
    if obj is None:
        return None
    keys = [k for k in _FIRST_KEYS if k in obj] + [k for k in obj if k not in _FIRST_KEYS]
    return " ".join(f"{k}={_value(obj[k])}" for k in keys)


def json_pretty(text: str, indent: int = 2) -> list[str] | None:
    """A JSON object line pretty-printed (one list item per line), or None if not JSON."""
    obj = parse_json(text)
    if obj is None:
        return None
    return json.dumps(obj, indent=indent, ensure_ascii=False).splitlines()


# ---- timestamps ----------------------------------------------------------------------------------------

TS_WIDTH = 12


def ts_prefix(ts_ns: int, *, utc: bool = False) -> str:
    """`HH:MM:SS.mmm` (local time unless `utc`), or blanks of the same width when unknown."""
    if ts_ns <= 0:
        return "--:--:--.---"
    secs, rem = divmod(ts_ns, NS)
    t = time.gmtime(secs) if utc else time.localtime(secs)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{rem // 1_000_000:03d}"


# ---- pods ------------------------------------------------------------------------------------------------

# Safe on a 16-colour terminal whatever its scheme; red is kept for errors, black/white/grey for text.
POD_PALETTE: tuple[str, ...] = ("cyan", "magenta", "green", "blue", "yellow", "bright_cyan", "bright_magenta",
                                "bright_green", "bright_blue", "bright_yellow")


def pod_colour(name: str) -> str:
    """A colour name from POD_PALETTE, the same for a name in every run (crc32, not the salted hash())."""
    return POD_PALETTE[zlib.crc32(name.encode("utf-8", "surrogatepass")) % len(POD_PALETTE)]


def pod_label(name: str, width: int = 20) -> str:
    """The pod name cut to `width` keeping its end (the replica-set hash and suffix tell replicas apart)."""
    return name if len(name) <= width else "…" + name[-(width - 1):]
