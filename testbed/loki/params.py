"""Request parameter parsing with Loki's rules (timestamps, durations, limit, direction)."""
from __future__ import annotations

import calendar
import datetime
import re
import time

NS = 1_000_000_000
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})\Z"
)
_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w|y)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS,
            "d": 86400 * NS, "w": 7 * 86400 * NS, "y": 365 * 86400 * NS}


class ParamError(ValueError):
    """A bad request parameter; the message names the parameter."""


def now_ns() -> int:
    return time.time_ns()


def parse_rfc3339(value: str) -> int | None:
    m = _RFC3339.match(value)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        dt = datetime.datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss))
    except ValueError:
        return None
    secs = calendar.timegm(dt.timetuple())
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs * NS + int((frac or "0").ljust(9, "0"))


def parse_timestamp(name: str, value: str | None, default: int) -> int:
    """Loki accepts unix nanoseconds, unix seconds (<= 10 digits), float seconds, or RFC3339(Nano)."""
    if value is None or value == "":
        return default
    v = value.strip()
    if re.fullmatch(r"-?\d+", v):
        n = int(v)
        return n * NS if len(v.lstrip("-")) <= 10 else n
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", v):
        secs = float(v)
        whole = int(secs)
        frac_ms = round((secs - whole) * 1000)  # Loki rounds the fraction to milliseconds
        return whole * NS + frac_ms * 1_000_000
    ts = parse_rfc3339(v)
    if ts is None:
        raise ParamError(f"invalid {name} {value!r}: expected unix nanoseconds, unix seconds or an RFC3339 timestamp")
    return ts


def parse_duration(name: str, value: str) -> int:
    """A duration in ns: plain (float) seconds, or units like 5m, 1h30m, 250ms, 2d."""
    v = value.strip()
    if re.fullmatch(r"\d+(\.\d*)?|\.\d+", v):
        return int(float(v) * NS)
    pos, total = 0, 0
    while pos < len(v):
        m = _DUR_PART.match(v, pos)
        if not m:
            raise ParamError(f"invalid {name} {value!r}: expected a duration such as 30s, 5m or 1h")
        total += int(float(m.group(1)) * _UNIT_NS[m.group(2)])
        pos = m.end()
    if not v:
        raise ParamError(f"invalid {name}: empty duration")
    return total


def parse_range(params, default_since_ns: int, now: int | None = None) -> tuple[int, int]:
    """start/end/since as Loki does: end defaults to now, start to end - since (default `default_since_ns`)."""
    now = now_ns() if now is None else now
    end = parse_timestamp("end", params.get("end"), now)
    since = parse_duration("since", params["since"]) if params.get("since") else default_since_ns
    start = parse_timestamp("start", params.get("start"), end - since)
    return start, end


def parse_limit(params, default: int, maximum: int) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise ParamError(f"invalid limit {raw!r}: expected a positive integer") from None
    if limit <= 0:
        raise ParamError("limit must be a positive value")
    if limit > maximum:
        raise ParamError(f"max entries limit per query exceeded, limit > max_entries_limit ({limit} > {maximum})")
    return limit


def parse_direction(params) -> str:
    raw = (params.get("direction") or "backward").strip().lower()
    if raw not in ("forward", "backward"):
        raise ParamError(f"invalid direction {params.get('direction')!r}: expected forward or backward")
    return raw
