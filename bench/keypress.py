"""Keypress → repaint latency while pod events stream in.

The cursor is moved Down, Up, Down, ... so it oscillates between two table rows (no scrolling). Calibration
(before the stream starts) finds those two screen lines and their "highlight signature" — the set of SGR
escape sequences on the line, which the cursor's colours change while text updates (ages, annotations) do not.
A press is repainted when both lines show the signature expected after it. Detection polls the screen through
tmux's control mode right after every chunk of output the program writes (and at least every 20 ms), so the
detection error is the gap between the detecting capture and the later of (the previous capture, the last
pane output before it): the repaint reached tmux inside that gap. It is reported with the latencies.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from . import procstat
from .events import PatchStream
from .tmux import MAX_POLLS, Tmux

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
PRESS_TIMEOUT = 2.0
POLL_FALLBACK = 0.02   # captures follow each pane output; without output, one capture per 20 ms anyway


def sig(line: str) -> frozenset[str]:
    return frozenset(_SGR.findall(line))


def wait_quiet(t: Tmux, quiet: float = 0.5, timeout: float = 15.0) -> bool:
    """Wait until the program wrote nothing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    t.wait_output(0)
    for _ in range(10_000):
        if not t.wait_output(quiet):
            return True
        if time.monotonic() > deadline:
            return False
    return False


def _settle_after(t: Tmux, key: str) -> list[str]:
    before = t.capture(True).lines
    t.send_keys(key)
    deadline = time.monotonic() + 5
    for _ in range(MAX_POLLS):
        t.wait_output(0.05)
        now = t.capture(True).lines
        if now != before or time.monotonic() > deadline:
            break
    wait_quiet(t, 0.4, 5)
    return t.capture(True).lines


@dataclass
class Calibration:
    row: int                         # screen line of the upper of the two cursor rows
    at_upper: tuple[frozenset[str], frozenset[str]]   # signatures of (row, row+1) with the cursor on row
    at_lower: tuple[frozenset[str], frozenset[str]]   # ... with the cursor on row+1


def calibrate(t: Tmux, focus: tuple[str, ...] = (), down: str = "Down", up: str = "Up") -> Calibration:
    for k in focus:
        t.send_keys(k)
    wait_quiet(t, 0.5, 15)
    for _ in range(3):  # tolerate a repaint that happens to coincide with the calibration press
        a = t.capture(True).lines
        b = _settle_after(t, down)
        c = _settle_after(t, up)
        n = min(len(a), len(b), len(c))
        for i in range(n - 1):
            pair_a = (sig(a[i]), sig(a[i + 1]))
            pair_b = (sig(b[i]), sig(b[i + 1]))
            if pair_a[0] != pair_b[0] and pair_a[1] != pair_b[1] and (sig(c[i]), sig(c[i + 1])) == pair_a:
                return Calibration(i, pair_a, pair_b)
    raise RuntimeError("could not find the table cursor: Down/Up did not move a highlighted row on screen\n"
                       + "\n".join(_SGR.sub("", x) for x in a[:20]))


@dataclass
class KeypressResult:
    latencies: list[float] = field(default_factory=list)     # seconds, detected presses only
    resolution: list[float] = field(default_factory=list)    # seconds between detecting and previous capture
    missed: int = 0
    presses: int = 0
    capture_ms: float = 0.0
    stream_rate: float = 0.0
    stream_ok: int = 0
    stream_failed: int = 0
    seconds: float = 0.0
    tmux_cpu_pct: float = 0.0       # tmux server CPU during the run (% of one core)
    bench_cpu_pct: float = 0.0      # this process: driver + event generator (% of one core)
    tool_cpu_pct: float = 0.0       # the program under test
    press_log: list[tuple[float, float | None]] = field(default_factory=list)  # (wall time of press, latency s | None)

    def pct(self, q: float, xs: list[float] | None = None) -> float:
        xs = sorted(self.latencies if xs is None else xs)
        if not xs:
            return float("nan")
        k = max(0, min(len(xs) - 1, int(round(q / 100 * len(xs) + 0.5)) - 1))  # nearest-rank
        return xs[k]


def measure(t: Tmux, cal: Calibration, stream: PatchStream, min_presses: int = 100,
            min_seconds: float = 30.0, max_seconds: float = 90.0, interval: float = 0.2,
            down: str = "Down", up: str = "Up") -> KeypressResult:
    """Press keys every `interval` while `stream` runs; the caller has started nothing yet."""
    res = KeypressResult()
    r = cal.row
    tmux_pid = t.server_pid()
    tool_pids = procstat.tree(t.pane_pid())
    cpu0 = (procstat.cpu_seconds([tmux_pid]), time.process_time(), procstat.cpu_seconds(tool_pids))
    stream.start()
    t_start = time.monotonic()
    next_press = t_start + 0.5
    at_upper = True
    try:
        for _ in range(int(max_seconds / interval) + 10):
            el = time.monotonic() - t_start
            if el >= max_seconds or (el >= min_seconds and res.presses >= min_presses):
                break
            delay = next_press - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key, want = (down, cal.at_lower) if at_upper else (up, cal.at_upper)
            t.wait_output(0)
            t_press = time.monotonic()
            wall_press = time.time()
            next_press = t_press + interval
            t.send_keys(key)
            res.presses += 1
            prev = t_press
            done = False
            for _ in range(MAX_POLLS):
                t.wait_output(POLL_FALLBACK)
                out_t = t.last_output_time
                s = t.capture(True)
                if len(s.lines) > r + 1 and (sig(s.lines[r]), sig(s.lines[r + 1])) == want:
                    res.latencies.append(s.t - t_press)
                    res.press_log.append((wall_press, s.t - t_press))
                    res.resolution.append(s.t - max(prev, min(out_t, s.t)))
                    done = True
                    break
                prev = s.t
                if s.t - t_press > PRESS_TIMEOUT:
                    break
            if done:
                at_upper = not at_upper
            else:
                res.missed += 1
                res.press_log.append((wall_press, None))
                at_upper = _resync(t, cal)
    finally:
        st = stream.stop()
    res.seconds = time.monotonic() - t_start
    cpu1 = (procstat.cpu_seconds([tmux_pid]), time.process_time(), procstat.cpu_seconds(tool_pids))
    res.tmux_cpu_pct, res.bench_cpu_pct, res.tool_cpu_pct = (100 * (b - a) / res.seconds for a, b in zip(cpu0, cpu1))
    res.stream_rate, res.stream_ok, res.stream_failed = st.rate, st.ok, st.failed
    return res


def _resync(t: Tmux, cal: Calibration) -> bool:
    """After a miss: where is the cursor now? True when on the upper row."""
    wait_quiet(t, 0.3, 3)
    s = t.capture(True).lines
    return (sig(s[cal.row]), sig(s[cal.row + 1])) != cal.at_lower


# ---- a view opened with the `:` command prompt (k9s style), e.g. `:deploy` ---------------------------------

# ecotui "Deployments · 12" (its pane-title style), k9s "deployments(all)[12]"
DEPLOY_TITLE = re.compile(r"\b[Dd]eployments?\b\s*(?:\([^)\n]{0,40}\)\s*)?(?:·\s*|\[)([\d,]+)")


@dataclass
class ViewOpen:
    ok: bool
    seconds: float = 0.0          # Enter → title with a count (and no "loading")
    rows: int | None = None
    reason: str = ""
    screen: str = ""


def view_count(text: str, title: re.Pattern[str] = DEPLOY_TITLE) -> int | None:
    """Rows the view's title reports, or None while absent or loading."""
    for line in text.splitlines():
        m = title.search(line)
        if m and "loading" not in line[m.start():]:
            return int(m.group(1).replace(",", ""))
    return None


def open_view(t: Tmux, command: str = "deploy", title: re.Pattern[str] = DEPLOY_TITLE,
              timeout: float = 20.0) -> ViewOpen:
    """Type `:<command>` Enter; wait until the view's title shows a row count that holds for 0.5 s."""
    wait_quiet(t, 0.3, 5)
    t.send_keys(":")
    wait_quiet(t, 0.3, 3)
    t.send_keys(*command)     # one character per key: literal, never a tmux key name
    wait_quiet(t, 0.3, 3)
    t0 = t.send_keys("Enter")
    deadline = t0 + timeout
    seen: tuple[int, float] | None = None
    text = ""
    for _ in range(MAX_POLLS):
        s = t.capture()
        text = s.text
        n = view_count(text, title)
        if n is not None:
            if seen is None or seen[0] != n:
                seen = (n, s.t)
            elif s.t - seen[1] >= 0.5:
                if n < 2:
                    return ViewOpen(False, seen[1] - t0, n, f"the view lists {n} row(s): the cursor needs two", text)
                return ViewOpen(True, seen[1] - t0, n, "", text)
        else:
            seen = None
        if s.t > deadline or t.pane_dead():
            break
        t.wait_output(0.05)
    first = next((ln.strip() for ln in text.splitlines()[::-1] if ln.strip()), "")
    return ViewOpen(False, 0.0, None, f"`:{command}` + Enter showed no Deployments title with a count within "
                    f"{timeout:.0f} s (last screen line: {first[:160]!r})", text)


def go_back(t: Tmux, count, key: str = "Escape", timeout: float = 5.0) -> bool:
    """Press `key`; True once `count(screen)` (the pods table's count) is shown again."""
    t.send_keys(key)
    deadline = time.monotonic() + timeout
    for _ in range(MAX_POLLS):
        if count(t.capture().text) is not None:
            return True
        if time.monotonic() > deadline:
            return False
        t.wait_output(0.05)
    return False
