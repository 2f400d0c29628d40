"""Reading a log viewer from tmux captures, for bench/logs.py: ecotui's log title (lines received), the cursor
row, the newest timestamp on screen (display lag), and the driver loop that presses keys while sampling.

ecotui's LogScreen title (two lines) says `<source> <state>… │ N l/s │ K kept [(S shown)] [· D dropped]`;
lines received by its LogBuffer = kept + dropped (nothing is cleared during a run). The title is refreshed at
most every 0.5 s while only the counts move, so a sample's time is the capture that first shows it.

The cursor is the one view row drawn in reverse video (SGR 7, `CURSOR_STYLE`); while following there is none.
Each press has one expected screen state, by line *content* (not screen row: while lines stream in, the paused
view was seen to drift upwards a few rows per redraw): `Up` from following pauses (a reversed view row appears),
then `Up` → the reversed row shows the text of the line that was above the cursor line, `Down` → the line that
was below it, `Up` again, then `G` follows again (no reversed view row). The ring evicts a paused view's lines
after capacity ÷ rate seconds, which is why a cycle is short and ends with `G`. All waits are bounded in time
and iterations.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import procstat
from .keypress import POLL_FALLBACK, PRESS_TIMEOUT, wait_quiet
from .tmux import MAX_POLLS, Screen, Tmux

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
TITLE = re.compile(r"│ ([\d,]+) l/s │ ([\d,]+) kept(?: \(([\d,]+) shown\))?(?: · ([\d,]+) dropped)?")
STATE = re.compile(r"^\s*(\S+)\s+(live|backfill|connecting|reconnecting|error|done)\b", re.I)
# the Spring Boot / JSON / CRI timestamps the testbed's lines carry (UTC, millisecond or finer)
ISO_TS = re.compile(r"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)Z")
SEQ = re.compile(r"\bseq[=:](\d+)")

# one cycle of presses: (tmux key, expectation); "pause" = any reversed view row (remembered as R0)
CYCLE: tuple[tuple[str, str], ...] = (("Up", "pause"), ("Up", "up"), ("Down", "down"), ("Up", "up"), ("G", "none"))


def plain(line: str) -> str:
    return _SGR.sub("", line)


def reversed_line(line: str) -> bool:
    """True when any SGR sequence on the line turns reverse video on (7), parsing 38/48 colour arguments."""
    for m in _SGR.finditer(line):
        ps = [p for p in re.split(r"[;:]", m.group(1))]
        i = 0
        while i < len(ps):
            p = ps[i]
            if p in ("38", "48", "58"):
                if i + 1 < len(ps) and ps[i + 1] == "5":
                    i += 3
                    continue
                if i + 1 < len(ps) and ps[i + 1] == "2":
                    i += 5
                    continue
            if p == "7":
                return True
            i += 1
    return False


def _int(s: str | None) -> int:
    return int(s.replace(",", "")) if s else 0


@dataclass
class TitleSample:
    t: float              # monotonic time of the capture
    received: int         # kept + dropped
    kept: int
    dropped: int
    rate: int             # the title's own lines/s (EWMA, 3 s)
    state: str


def parse_title(lines: list[str], t: float) -> TitleSample | None:
    for i, raw in enumerate(lines[:3]):
        p = plain(raw)
        m = TITLE.search(p)
        if m:
            st = STATE.match(p)
            kept, dropped = _int(m.group(2)), _int(m.group(4))
            return TitleSample(t, kept + dropped, kept, dropped, _int(m.group(1)), st.group(2).lower() if st else "")
    return None


def newest_ts(lines: list[str]) -> float | None:
    """Epoch seconds of the newest ISO-8601 UTC timestamp on screen (None when there is none)."""
    found = [m.group(1) for raw in lines for m in ISO_TS.finditer(plain(raw))]
    if not found:
        return None
    s = max(found)          # same format: lexical order is time order
    base, _, frac = s.partition(".")
    try:
        ts = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        return None
    return ts + (float("0." + frac) if frac else 0.0)


def newest_seq(lines: list[str]) -> int | None:
    got = [int(m.group(1)) for raw in lines for m in SEQ.finditer(plain(raw))]
    return max(got) if got else None


def cursor_rows(lines: list[str], lo: int, hi: int, ignore: frozenset[int] = frozenset()) -> list[int]:
    return [i for i in range(lo, min(hi, len(lines))) if i not in ignore and reversed_line(lines[i])]


@dataclass
class Press:
    key: str
    want: str
    t_press: float
    latency: float | None = None      # seconds; None = missed
    resolution: float | None = None   # detection error bound (s)
    received: int | None = None       # lines received at the press (last title sample)


@dataclass
class Drive:
    """What one streaming window of a TUI yielded: title samples, RSS samples, presses, display lag."""
    samples: list[TitleSample] = field(default_factory=list)
    rss: list[tuple[float, int, int]] = field(default_factory=list)     # (t, bytes, received)
    lag: list[tuple[float, float]] = field(default_factory=list)        # (t, wall clock − newest ts on screen)
    seqs: list[tuple[float, int]] = field(default_factory=list)         # (t, newest seq on screen)
    presses: list[Press] = field(default_factory=list)
    captures: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def last_received(self) -> int:
        return self.samples[-1].received if self.samples else 0

    def received_at(self, t: float) -> float | None:
        """Lines received at monotonic time t (linear between title samples)."""
        s = self.samples
        if not s or t < s[0].t:
            return None
        for a, b in zip(s, s[1:]):
            if a.t <= t <= b.t:
                return a.received + (b.received - a.received) * ((t - a.t) / (b.t - a.t) if b.t > a.t else 1.0)
        return float(s[-1].received)


class Driver:
    """Captures the pane (after every output chunk, at least every 20 ms while waiting for a repaint, else
    every `sample_every`), keeps title / RSS / lag samples, and presses keys on a schedule."""

    def __init__(self, t: Tmux, pids: list[int], view_rows: tuple[int, int], ignore_rows: frozenset[int],
                 title: bool = True, rss_every: float = 0.25, sample_every: float = 0.05) -> None:
        self.t, self.pids = t, pids
        self.lo, self.hi = view_rows
        self.ignore = ignore_rows
        self.title = title
        self.rss_every, self.sample_every = rss_every, sample_every
        self.d = Drive()
        self._rss_t = 0.0
        self.r0: int | None = None                  # screen row of the cursor at the last detection
        self.near: tuple[str, str, str] | None = None  # (above, cursor, below) texts at the last detection
        self._prev_rev: set[int] = set()

    def observe(self, s: Screen) -> None:
        self.d.captures += 1
        wall = time.time() - (time.monotonic() - s.t)
        if self.title:
            ts = parse_title(s.lines, s.t)
            if ts is not None and (not self.d.samples or ts.received != self.d.samples[-1].received
                                   or ts.state != self.d.samples[-1].state):
                self.d.samples.append(ts)
        following = not cursor_rows(s.lines, self.lo, self.hi, self.ignore)
        nt = newest_ts(s.lines[self.lo:self.hi]) if following else None
        if nt is not None:
            self.d.lag.append((s.t, wall - nt))
        sq = newest_seq(s.lines[self.lo:self.hi])
        if sq is not None:
            self.d.seqs.append((s.t, sq))
        if s.t - self._rss_t >= self.rss_every:
            self._rss_t = s.t
            self.d.rss.append((s.t, procstat.rss_bytes(self.pids), self.d.last_received()))

    def capture(self) -> Screen:
        s = self.t.capture(True)
        self.observe(s)
        return s

    def idle(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Sample for `seconds` (or until `until()`), no keys."""
        end = time.monotonic() + seconds
        for _ in range(MAX_POLLS):
            self.capture()
            if time.monotonic() >= end or (until is not None and until()):
                return
            self.t.wait_output(min(self.sample_every, max(0.0, end - time.monotonic())))
            time.sleep(self.sample_every / 2)

    def _text(self, s: Screen, i: int) -> str:
        return plain(s.lines[i]).rstrip() if self.lo <= i < min(self.hi, len(s.lines)) else ""

    def _matches(self, s: Screen, want: str) -> int | None:
        """The cursor's screen row when the capture shows the state expected after the press, else None
        (for "none": -1 when no view row is reversed)."""
        rows = cursor_rows(s.lines, self.lo, self.hi, self.ignore)
        if want == "none":
            return -1 if not rows else None
        if not rows:
            return None
        if want == "pause":
            fresh = [r for r in rows if r not in self._prev_rev]
            return (fresh or rows)[-1]
        if self.near is None:
            return None
        target = self.near[0] if want == "up" else self.near[2]
        if not target:
            return None
        for r in rows:
            if self._text(s, r) == target:
                return r
        return None

    def press(self, key: str, want: str) -> Press:
        t = self.t
        t.wait_output(0)
        self._prev_rev = set(cursor_rows(t.capture(True).lines, self.lo, self.hi, self.ignore))
        p = Press(key, want, 0.0, received=self.d.last_received())
        p.t_press = time.monotonic()
        t.send_keys(key)
        prev = p.t_press
        for _ in range(MAX_POLLS):
            t.wait_output(POLL_FALLBACK)
            out_t = t.last_output_time
            s = self.capture()
            row = self._matches(s, want)
            if row is not None:
                p.latency = s.t - p.t_press
                p.resolution = s.t - max(prev, min(out_t, s.t))
                self.r0 = row if row >= 0 else None
                self.near = (self._text(s, row - 1), self._text(s, row), self._text(s, row + 1)) if row >= 0 else None
                break
            prev = s.t
            if s.t - p.t_press > PRESS_TIMEOUT:
                break
        self.d.presses.append(p)
        return p

    def resync(self) -> None:
        """After a miss: follow again (G), wait for a quiet-ish screen without a cursor (bounded)."""
        self.t.send_keys("G")
        deadline = time.monotonic() + 5
        for _ in range(1000):
            self.t.wait_output(0.1)
            s = self.capture()
            if not cursor_rows(s.lines, self.lo, self.hi, self.ignore) or time.monotonic() > deadline:
                break
        self.r0 = None
        self.near = None

    def keys_while(self, running: Callable[[], bool], max_seconds: float, interval: float = 0.2) -> None:
        """Press the CYCLE every `interval` while `running()` (and at most `max_seconds`); sample in between."""
        t0 = time.monotonic()
        i = 0
        for _ in range(int(max_seconds / interval) + 100):
            if not running() or time.monotonic() - t0 >= max_seconds:
                return
            key, want = CYCLE[i % len(CYCLE)]
            p = self.press(key, want)
            if p.latency is None:
                self.resync()
                i = 0
                continue
            i += 1
            left = p.t_press + interval - time.monotonic()
            if left > 0:
                self.idle(left)


def pct(xs: list[float], q: float) -> float | None:
    """Nearest-rank percentile (as bench/keypress.py)."""
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, int(round(q / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def press_stats(presses: list[Press], keys: tuple[str, ...] = ("Up", "Down")) -> dict[str, Any]:
    mine = [p for p in presses if p.key in keys]
    lat = [p.latency for p in mine if p.latency is not None]
    res = [p.resolution for p in mine if p.resolution is not None]
    ms = lambda x: None if x is None else round(1000 * x, 1)  # noqa: E731
    return {"presses": len(mine), "missed": len(mine) - len(lat), "p50_ms": ms(pct(lat, 50)),
            "p95_ms": ms(pct(lat, 95)), "p99_ms": ms(pct(lat, 99)), "max_ms": ms(max(lat) if lat else None),
            "over_100ms": sum(1 for x in lat if x > 0.1), "resolution_p50_ms": ms(pct(res, 50))}


def wait_title(t: Tmux, pattern: re.Pattern[str], timeout: float) -> Screen:
    """Wait until a capture's first lines match `pattern` (plain text); TimeoutError with the screen."""
    deadline = time.monotonic() + timeout
    s = t.capture(True)
    for _ in range(MAX_POLLS):
        if pattern.search("\n".join(plain(x) for x in s.lines[:3])):
            return s
        if time.monotonic() > deadline:
            break
        t.wait_output(0.1)
        s = t.capture(True)
    raise TimeoutError(f"{pattern.pattern!r} not in the title after {timeout:.0f} s; screen:\n"
                       + "\n".join(plain(x) for x in s.lines[:12]))


def settle(t: Tmux) -> None:
    wait_quiet(t, 0.3, 5)
