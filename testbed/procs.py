"""Start, watch and stop the testbed's processes by pid file (never by name)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import paths


@dataclass
class Component:
    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 60.0
    fingerprint: str = ""     # hash of what it runs (its code / config); a running copy with another is stale


def _pid_file(name: str) -> Path:
    return paths.proc_dir() / f"{name}.pid"


def log_file(name: str) -> Path:
    return paths.proc_dir() / f"{name}.log"


def pid_of(name: str) -> int | None:
    """The pid recorded for a component if that process is still ours (same executable), else None."""
    try:
        pid_s, exe = _pid_file(name).read_text().split("\n")[:2]
        pid = int(pid_s)
    except (OSError, ValueError):
        return None
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return None
    if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
        return None
    return pid if cmd == exe.strip() else None


def fingerprint_of(name: str) -> str:
    """The fingerprint recorded when the component was started ('' for none or an older pid file)."""
    try:
        lines = _pid_file(name).read_text().split("\n")
    except OSError:
        return ""
    return lines[2].strip() if len(lines) > 2 else ""


_children: dict[str, subprocess.Popen] = {}


def start(c: Component) -> int:
    paths.proc_dir().mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(c.env)
    with open(log_file(c.name), "ab") as log:
        p = subprocess.Popen(c.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
    _pid_file(c.name).write_text(f"{p.pid}\n{c.argv[0]}\n{c.fingerprint}\n")
    _children[c.name] = p
    return p.pid


def _alive(name: str) -> bool:
    child = _children.get(name)
    if child is not None:  # started by this process: no pid-reuse doubt, no exec race
        return child.poll() is None
    return pid_of(name) is not None


def log_tail(name: str, lines: int = 25) -> str:
    try:
        return "\n".join(log_file(name).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(c: Component) -> None:
    deadline = time.monotonic() + c.ready_timeout
    while time.monotonic() < deadline:
        if not _alive(c.name):
            raise RuntimeError(f"{c.name} exited during start-up; last log lines:\n{log_tail(c.name)}")
        try:
            if c.ready():
                return
        except Exception:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{c.name} not ready after {c.ready_timeout:.0f}s; last log lines:\n{log_tail(c.name)}")


def stop(name: str, timeout: float = 10.0) -> bool:
    pid = pid_of(name)
    if pid is None:
        _pid_file(name).unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_of(name) is not None:
        time.sleep(0.1)
    if pid_of(name) is not None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.2)
    _pid_file(name).unlink(missing_ok=True)
    return True


def rss_kib(name: str) -> int:
    pid = pid_of(name)
    if pid is None:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
