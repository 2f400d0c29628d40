"""The real `ecotui` command in a pseudo-terminal (80×24, TERM=xterm-256color) against the testbed: an incident
started with keys from a payment-service pod, the Initial update sent — the raw terminal output carries
ESC ]52;c;<base64 of the text> BEL (or ST) — then `kill -9` and a restart: the incident bar is back with the same
id, read from the screen output. Every read is bounded in time."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from ecotui.keymap import load_keymap
from pty_term import PtyApp

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()
OSC52 = re.compile(rb"\x1b\]52;c;([A-Za-z0-9+/=]+)(?:\x07|\x1b\\)")
INC_ID = re.compile(rb"INC-\d{8}-\d{4}-[0-9a-f]{4}")


def key(action: str) -> str:
    k = KEYMAP.keys_for(action)[0]
    return {"escape": "\x1b", "enter": "\r", "slash": "/"}.get(k, k)


def Pty(tb, state: Path, *args: str) -> PtyApp:
    return PtyApp(tb, *args, env={"ECOTUI_STATE_DIR": str(state), "XDG_STATE_HOME": str(state / "xdg")})


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
