"""A small tmux driver for the benchmarks: one private tmux server per session, driven in control mode.

Every session gets its own server socket (`tmux -L <unique>`, no user config), so `kill()` ends exactly the
server we started. Commands (send-keys, capture-pane) go through one control-mode client (`tmux -C`), which
avoids forking a tmux client for every screen capture: a capture round trip then costs about a millisecond,
which is what bounds the polling resolution reported by the benchmarks.

All waits are bounded both in time and in iterations.
"""
from __future__ import annotations

import itertools
import os
import queue
import re
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_COUNTER = itertools.count()
MAX_POLLS = 200_000  # hard cap for any polling loop, on top of its time limit


class TmuxError(RuntimeError):
    pass


@dataclass
class Screen:
    t: float          # time.monotonic() when the capture reply arrived
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class _Control:
    """One `tmux -C attach` client: writes commands, a reader thread collects %begin/%end blocks."""

    def __init__(self, base: list[str], target: str) -> None:
        self.proc = subprocess.Popen([*base, "-C", "attach-session", "-f", "ignore-size", "-t", target],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.replies: queue.Queue[tuple[bool, list[str], float]] = queue.Queue()
        self.output = threading.Event()   # set whenever the pane writes anything (%output)
        self.output_count = 0
        self.output_t = 0.0               # monotonic time the last %output line was read
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self._get(10.0)  # the reply block of the attach command itself

    def _read(self) -> None:
        assert self.proc.stdout is not None
        block: list[str] | None = None
        for raw in iter(self.proc.stdout.readline, b""):
            if block is not None:
                if raw.startswith(b"%end ") or raw.startswith(b"%error "):
                    self.replies.put((raw.startswith(b"%end "), block, time.monotonic()))
                    block = None
                else:
                    block.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
            elif raw.startswith(b"%output "):  # content not needed: only that the pane wrote something
                self.output_count += 1
                self.output_t = time.monotonic()
                self.output.set()
            elif raw.startswith(b"%begin "):
                block = []
        self.replies.put((False, ["control client ended"], time.monotonic()))

    def _get(self, timeout: float) -> tuple[bool, list[str], float]:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            raise TmuxError(f"tmux control client: no reply within {timeout:.0f}s") from None

    def command(self, cmd: str, timeout: float = 10.0) -> tuple[list[str], float]:
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(cmd.encode() + b"\n")
            self.proc.stdin.flush()
            ok, lines, t = self._get(timeout)
        if not ok:
            raise TmuxError(f"tmux {cmd.split()[0]} failed: {' '.join(lines)[:300]}")
        return lines, t

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


class Tmux:
    """A detached tmux session running one program, at a fixed size.

    `start(argv, env)` creates the session with the program held behind a `read`, so that `go()` releases it
    at a precisely known time (the launch clock starts there, not at tmux's own start-up).
    """

    def __init__(self, name: str = "bench", width: int = 200, height: int = 50) -> None:
        self.socket = f"ecotui-bench-{os.getpid()}-{next(_COUNTER)}"
        self.name = name
        self.width, self.height = width, height
        self.base = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        self.ctl: _Control | None = None
        self.started = False

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
              hold: bool = True) -> "Tmux":
        env = dict(env or {})
        env.setdefault("TERM", "tmux-256color")
        inner = " ".join(shlex.quote(a) for a in argv)
        script = f"read _go; exec {inner}" if hold else f"exec {inner}"
        cmd = [*self.base, "new-session", "-d", "-s", self.name, "-x", str(self.width), "-y", str(self.height)]
        if cwd:
            cmd += ["-c", cwd]
        for k, v in env.items():
            cmd += ["-e", f"{k}={v}"]
        cmd += ["sh", "-c", script]
        server_env = dict(os.environ, **env)
        subprocess.run(cmd, check=True, env=server_env, timeout=20, capture_output=True)
        self.started = True
        for opt in (["set-option", "-g", "default-terminal", env["TERM"]],
                    ["set-option", "-g", "window-size", "manual"],
                    ["set-option", "-g", "remain-on-exit", "on"],
                    ["resize-window", "-t", self.name, "-x", str(self.width), "-y", str(self.height)]):
            subprocess.run([*self.base, *opt], check=True, timeout=20, capture_output=True)
        self.ctl = _Control(self.base, self.name)
        return self

    def go(self) -> float:
        """Release the held program; returns the monotonic time of the release."""
        _, t = self._ctl.command(f"send-keys -t {self.name} Enter")
        return t

    def kill(self) -> None:
        if self.ctl:
            self.ctl.close()
            self.ctl = None
        if self.started:
            subprocess.run([*self.base, "kill-server"], timeout=20, capture_output=True)
            self.started = False
            sock = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / self.socket
            sock.unlink(missing_ok=True)  # our own server's socket file

    def __enter__(self) -> "Tmux":
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    @property
    def _ctl(self) -> _Control:
        if self.ctl is None:
            raise TmuxError("tmux session not started")
        return self.ctl

    # ---- queries and input ---------------------------------------------------------------------------

    def pane_pid(self) -> int:
        lines, _ = self._ctl.command(f"display-message -p -t {self.name} '#{{pane_pid}}'")
        return int(lines[0])

    def pane_dead(self) -> bool:
        lines, _ = self._ctl.command(f"display-message -p -t {self.name} '#{{pane_dead}}'")
        return lines[:1] == ["1"]

    def server_pid(self) -> int:
        lines, _ = self._ctl.command("display-message -p '#{pid}'")
        return int(lines[0])

    @property
    def last_output_time(self) -> float:
        """monotonic time the driver last saw the pane write something."""
        return self._ctl.output_t

    def send_keys(self, *keys: str) -> float:
        """tmux key names (Down, Up, Enter, C-c, q ...); returns the monotonic time tmux acknowledged them."""
        _, t = self._ctl.command(f"send-keys -t {self.name} " + " ".join(shlex.quote(k) for k in keys))
        return t

    def capture(self, escapes: bool = False) -> Screen:
        lines, t = self._ctl.command(f"capture-pane -p {'-e ' if escapes else ''}-t {self.name}")
        return Screen(t, lines)

    def wait_output(self, timeout: float) -> bool:
        """Wait until the pane wrote something since the last call (or timeout)."""
        ev = self._ctl.output
        got = ev.wait(timeout)
        ev.clear()
        return got

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float, interval: float = 0.02,
                 escapes: bool = False) -> tuple[re.Match[str], Screen]:
        """Poll the screen until `pattern` matches; raises TimeoutError with the last screen."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        last = None
        for _ in range(MAX_POLLS):
            last = self.capture(escapes)
            m = rx.search(last.text)
            if m:
                return m, last
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.wait_output(min(interval, left))
        tail = "\n".join(last.lines[:8]) if last else ""
        raise TimeoutError(f"{pattern!r} not on screen after {timeout:.0f}s; screen starts:\n{tail}")


def capture_cost(t: Tmux, n: int = 50, escapes: bool = True) -> float:
    """Median seconds of one capture round trip (the polling resolution's floor)."""
    costs = []
    for _ in range(n):
        t0 = time.monotonic()
        t.capture(escapes)
        costs.append(time.monotonic() - t0)
    costs.sort()
    return costs[len(costs) // 2]
