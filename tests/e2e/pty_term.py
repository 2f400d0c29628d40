"""The real ecotui in a pseudo-terminal, for e2e tests that must see what a terminal sees (raw bytes: OSC 52,
alternate-screen switches, what is drawn). Every read is bounded in time."""
from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class PtyApp:
    """`python -m ecotui ARGS` (this interpreter, this checkout) on a pty of cols×rows, TERM=xterm-256color."""

    def __init__(self, tb, *args: str, cols: int = 80, rows: int = 24, env: Mapping[str, str] | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full = dict(tb.env, TERM="xterm-256color", COLORTERM="truecolor", TEXTUAL_ANIMATIONS="none", **(env or {}))
        full.pop("TMUX", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "ecotui", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=full, start_new_session=True, close_fds=True, cwd=REPO)
        os.close(slave)
        self.buf = bytearray()

    def read(self, seconds: float) -> None:
        """Collect output for `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.buf += os.read(self.master, 65536)
                except OSError:
                    return

    drain = read

    def until(self, pattern: bytes | re.Pattern[bytes], timeout: float, start: int = 0) -> re.Match[bytes]:
        """Read until `pattern` (bytes or a compiled regex) appears at or after offset `start`; the match."""
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while (m := rx.search(self.buf, start)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"no {rx.pattern!r} within {timeout}s (exit {self.proc.poll()}); "
                                     f"tail: {bytes(self.buf[-1500:])!r}")
            self.read(min(left, 0.2))
        return m

    def type(self, text: str, pause: float = 0.05) -> None:
        for ch in text:
            os.write(self.master, ch.encode())
            self.read(pause)

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        os.close(self.master)
