"""The real `ecotui` command in a pseudo-terminal (80×24, TERM=xterm-256color) against the testbed: an incident
started with keys from a payment-service pod, the Initial update sent — the raw terminal output carries
ESC ]52;c;<base64 of the text> BEL (or ST) — then `kill -9` and a restart: the incident bar is back with the same
id, read from the screen output. Every read is bounded in time."""
from __future__ import annotations

import base64
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from ecotui.keymap import load_keymap

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()
REPO = Path(__file__).resolve().parents[2]
OSC52 = re.compile(rb"\x1b\]52;c;([A-Za-z0-9+/=]+)(?:\x07|\x1b\\)")
INC_ID = re.compile(rb"INC-\d{8}-\d{4}-[0-9a-f]{4}")


def key(action: str) -> str:
    k = KEYMAP.keys_for(action)[0]
    return {"escape": "\x1b", "enter": "\r", "slash": "/"}.get(k, k)


def ecotui_command() -> list[str]:
    """The installed console script (next to this Python, else on PATH), else `python -m ecotui`."""
    here = Path(sys.executable).parent / "ecotui"
    found = str(here) if here.exists() else shutil.which("ecotui")
    return [found] if found else [sys.executable, "-m", "ecotui"]


class Pty:
    def __init__(self, tb, state: Path, *args: str, cols: int = 80, rows: int = 24) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(tb.env, TERM="xterm-256color", TEXTUAL_ANIMATIONS="none", ECOTUI_STATE_DIR=str(state),
                   XDG_STATE_HOME=str(state / "xdg"))
        env.pop("TMUX", None)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen([*ecotui_command(), *args], stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True, cwd=REPO)
        os.close(slave)
        self.buf = bytearray()

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.buf += os.read(self.master, 65536)
                except OSError:
                    return

    def until(self, pattern: bytes | re.Pattern[bytes], timeout: float, start: int = 0) -> re.Match[bytes]:
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


def test_incident_keys_osc52_kill9_and_restart_in_a_real_terminal(testbed, tmp_path):
    state = tmp_path / "state"
    tty = Pty(testbed, state, "-n", "ecotrack")
    try:
        tty.until(b"Running", 60)                                   # the cockpit with the pods
        tty.read(1.0)
        tty.type(key("focus_pods"))
        tty.type(key("filter"))
        tty.type("payment-service\r")
        tty.read(0.5)
        mark = len(tty.buf)
        tty.type(key("incident_start"))
        tty.until(b"Start an incident", 10, mark)
        tty.read(0.3)
        tty.type("pty payment errors\r")                            # title → services (pre-filled)
        tty.type("\r\r\r")                                          # services, namespaces, severity (P1)
        tty.type("checkout fails\r")                                # impact → start
        inc_id = tty.until(INC_ID, 15, mark)[0]
        tty.read(0.5)
        mark = len(tty.buf)
        tty.type(key("incident_timeline"))
        tty.until(b"timeline", 10, mark)
        tty.read(0.3)
        tty.type(key("incident_update"))
        tty.until(b"which template", 10, mark)
        tty.read(0.3)
        tty.type("\r")                                              # Initial alert
        tty.until(b"Initial alert for", 10, mark)
        tty.read(0.5)
        mark = len(tty.buf)
        tty.type(key("back"), 0.3)                                  # leave the editor
        tty.type(key("copy"))                                       # send: OSC 52 + the updates file
        m = tty.until(OSC52, 10, mark)
        copied = base64.b64decode(m[1]).decode()
        assert copied.startswith("[P1] payment-service - pty payment errors\n"), copied
        assert inc_id.decode() in copied and "checkout fails" in copied, copied
        updates = list((state / "incidents").glob("INC-*/updates.md"))
        assert len(updates) == 1 and copied.split("\n", 1)[0] in updates[0].read_text()
        # kill -9 mid-incident, then start again: the bar is back with the same id
        tty.kill9()
        tty.close()
        tty = Pty(testbed, state, "-n", "ecotrack")
        back = tty.until(INC_ID, 60)[0]
        assert back == inc_id
        tty.until(b"SLA", 10)
        tty.read(0.5)
        assert b"Traceback" not in tty.buf
        tty.type(key("quit"))
        assert tty.proc.wait(15) == 0
    finally:
        tty.close()
