"""`python -m testbed logs status | seq on|off | burst | hostile`: the log generator's on-demand modes.

The CLI talks to the running log generator through files in the state dir (testbed/loggen.py): it writes
loggen-control.json (seq) or a command into loggen-cmd/, and reads loggen-status.json. Every wait is bounded.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from . import paths
from .loggen import CMD_DIR, CONTROL_FILE, STATUS_FILE, _read_json, write_json_atomic

STALE_S = 5.0


def _status(state: Path) -> dict:
    st = _read_json(state / STATUS_FILE)
    if st is None or time.time() - float(st.get("updated", 0)) > STALE_S:
        raise RuntimeError("the log generator is not running (no fresh loggen-status.json): "
                           "`python3 -m testbed up` starts it")
    return st


def _send(state: Path, cmd: dict) -> str:
    _status(state)
    d = state / CMD_DIR
    d.mkdir(parents=True, exist_ok=True)
    cid = f"{time.time():.3f}-{uuid.uuid4().hex[:8]}"
    write_json_atomic(d / f"{cid}.json", {**cmd, "id": cid})
    return cid


def _wait(state: Path, key: str, cid: str, timeout: float, until_done: bool) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = (_read_json(state / STATUS_FILE) or {}).get(key) or {}
        if info.get("id") == cid and (not until_done or info.get("state") != "running"):
            return info
        time.sleep(0.2)
    raise RuntimeError(f"the log generator did not report on command {cid} within {timeout:.0f}s")


def fmt_status(st: dict) -> str:
    out = [f"mode            {st.get('mode')}" + ("   (seq=N on every line)" if st.get("seq") else ""),
           f"rates           {st.get('file_lines_per_s', 0):,.0f} lines/s written, "
           f"{st.get('pushed_lines_per_s', 0):,.0f} lines/s pushed to Loki",
           f"totals          {st.get('written_total', 0):,} written, {st.get('pushed_total', 0):,} pushed, "
           f"{st.get('buffered', 0):,} waiting for Loki, {st.get('dropped_total', 0):,} dropped"]
    if st.get("loki_failing"):
        out.append(f"loki            {st['loki_failing']}")
    b = st.get("burst")
    if b:
        line = (f"burst           {b.get('state')}: {b.get('target')} ({b.get('pod') or 'no pod yet'}) "
                f"{b.get('rate', 0):,.0f}/s for {b.get('seconds')} s: {b.get('written', 0):,} written, "
                f"{b.get('pushed', 0):,} pushed")
        if b.get("achieved_lines_per_s"):
            line += f"; achieved {b['achieved_lines_per_s']:,}/s over {b.get('elapsed_s')} s"
        if b.get("first_seq"):
            line += f"; seq {b['first_seq']}..{b.get('last_seq', '?')}"
        if b.get("to") in ("file", "loki"):
            line += f"; to the {'log file' if b['to'] == 'file' else 'Loki'} only"
        if b.get("error") or b.get("push_error"):
            line += f"; error: {b.get('error') or b.get('push_error')}"
        out.append(line)
    h = st.get("hostile")
    if h:
        out.append(f"hostile         {h.get('lines', 0)} lines into {h.get('target')} ({h.get('pod') or 'no pod'}) "
                   f"at {time.strftime('%H:%M:%S', time.gmtime(h.get('time', 0)))}Z, Loki answered "
                   f"{h.get('loki_status', '-')}" + (f" ({h['error']})" if h.get("error") else ""))
    return "\n".join(out)


def run(action: str, *, rate: float = 60000, seconds: float = 20, target: str | None = None,
        wait: bool = False, value: str | None = None, state: Path | None = None, to: str = "both") -> str:
    state = state or paths.state_dir()
    if action == "status":
        return fmt_status(_status(state))
    if action == "seq":
        if value not in ("on", "off"):
            raise RuntimeError("usage: python3 -m testbed logs seq on|off")
        write_json_atomic(state / CONTROL_FILE, {"seq": value == "on"})
        return f"sequence numbers {value} (the log generator picks it up within a second)"
    if action == "burst":
        cid = _send(state, {"cmd": "burst", "rate": rate, "seconds": seconds, "target": target, "to": to})
        info = _wait(state, "burst", cid, seconds * 4 + 60 if wait else 15, until_done=wait)
        if info.get("state") == "failed":
            raise RuntimeError(f"burst failed: {info.get('error')}")
        return next(ln for ln in fmt_status({**_status(state), "burst": info}).splitlines()
                    if ln.startswith("burst")) if wait else \
            f"burst started: {rate:,.0f} lines/s for {seconds} s into {info.get('target')} " \
            f"({info.get('pod') or 'no pod'}); `python3 -m testbed logs status` shows progress"
    if action == "hostile":
        cid = _send(state, {"cmd": "hostile", "target": target})
        info = _wait(state, "hostile", cid, 60, until_done=True)
        if info.get("error"):
            raise RuntimeError(f"hostile failed: {info['error']}")
        return json.dumps(info, indent=1)
    raise RuntimeError(f"unknown logs action {action!r}")
