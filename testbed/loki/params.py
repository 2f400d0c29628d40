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


_PROM_DUR = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_PROM_UNITS = (365 * 86400 * NS, 7 * 86400 * NS, 86400 * NS, 3600 * NS, 60 * NS, NS, 1_000_000)


def parse_prom_duration(value: str) -> int | None:
    """Prometheus' model.ParseDuration (what Loki uses for `since`): units y w d h m s ms, largest first, whole
    numbers only; "0" alone is allowed. None when invalid."""
    if value == "0":
        return 0
    m = _PROM_DUR.fullmatch(value)
    if not value or not m:
        return None
    return sum(int(g) * u for g, u in zip(m.groups(), _PROM_UNITS) if g)


def parse_duration(name: str, value: str) -> int:
    """`since`: a Prometheus duration only (`since=3600` is a 400, as in Loki)."""
    d = parse_prom_duration(value.strip())
    if d is None:
        raise ParamError(f"could not parse '{name}' parameter: not a valid duration string: {value!r}")
    return d


def parse_seconds_or_duration(name: str, value: str) -> int:
    """`step` / `interval`: float seconds or a Prometheus duration (Loki's parseSecondsOrDuration)."""
    v = value.strip()
    if re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", v):
        return int(float(v) * NS)
    d = parse_prom_duration(v)
    if d is None:
        raise ParamError(f"cannot parse {v!r} to a valid duration")
    return d


def parse_range(params, default_since_ns: int, now: int | None = None) -> tuple[int, int]:
    """start/end/since as Loki does: end defaults to now; start to min(end, now) - since (default
    `default_since_ns`)."""
    now = now_ns() if now is None else now
    since = parse_duration("since", params["since"]) if params.get("since") else default_since_ns
    end = parse_timestamp("end", params.get("end"), now)
    start = parse_timestamp("start", params.get("start"), min(end, now) - since)
    return start, end


def parse_step_interval(params, start: int, end: int) -> int:
    """Validate `step` as Loki does for every query_range (also log queries); return `interval` in ns (0: none)."""
    raw = params.get("step")
    if raw:
        step = parse_seconds_or_duration("step", raw)
    else:  # Loki's default: one point every (end - start) / 250, at least 1 s
        step = max((end - start) // (250 * NS), 1) * NS
    if step <= 0:
        raise ParamError("zero or negative query resolution step widths are not accepted. "
                         "Try a positive integer")
    if (end - start) // step > 11_000:
        raise ParamError("exceeded maximum resolution of 11,000 points per timeseries. "
                         "Try decreasing the query resolution (?step=XX)")
    interval = parse_seconds_or_duration("interval", params["interval"]) if params.get("interval") else 0
    if interval < 0:
        raise ParamError("interval must be >= 0")
    return interval


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
