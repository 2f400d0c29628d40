"""Is each testbed component healthy, and what must `up` do about it? (pure decisions + /proc look-ups)

A component is healthy when the process recorded in its pid file is alive (and still ours) AND its readiness
check passes (HTTP health endpoint etc., see components.py). A component that is not running but whose port
is held by some other process ("stray": not in our pid files) cannot be started, and `up` says so.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

FRESH, REUSE, HEAL, BLOCKED = "fresh", "reuse", "heal", "blocked"


@dataclass(frozen=True)
class Health:
    name: str
    pid: int | None          # our process (pid file + same executable), alive; None when not running
    ready: bool = False      # its readiness check passed (only meaningful when pid is set)
    stray: str = ""          # when not running: who holds its port, e.g. "pid 4242 (python3 -m http.server)"
    stale: bool = False      # running, but its code or config changed since it started: `up` restarts it

    @property
    def healthy(self) -> bool:
        return self.pid is not None and self.ready and not self.stale

    def describe(self) -> str:
        if self.pid is not None and self.stale:
            return f"running pid {self.pid}, STALE (its code or config changed: `up` restarts it)"
        if self.pid is not None:
            return f"running pid {self.pid}, {'healthy' if self.ready else 'NOT ready'}"
        if self.stray:
            return f"stopped; its port is held by {self.stray}, not ours"
        return "stopped"

    def short(self) -> str:
        if self.pid is not None and self.stale:
            return f"pid {self.pid} STALE"
        if self.pid is not None:
            return "healthy" if self.ready else f"pid {self.pid} NOT ready"
        if self.stray:
            return "stopped; port held by " + self.stray.split(" (", 1)[0]
        return "stopped"

    def action(self) -> str:
        """What `up` says and does about this component when healing."""
        if self.healthy:
            return f"{self.name}: healthy (pid {self.pid})"
        if self.pid is not None and self.stale:
            return f"{self.name}: running (pid {self.pid}) but its code or config changed — restarting it"
        if self.pid is not None:
            return f"{self.name}: running (pid {self.pid}) but not ready — restarting it unless it gets ready soon"
        if self.stray:
            return f"{self.name}: not running, and its port is held by {self.stray} (not ours) — cannot start it"
        return f"{self.name}: not running — starting"


@dataclass(frozen=True)
class Plan:
    kind: str                      # FRESH | REUSE | HEAL | BLOCKED
    start: tuple[str, ...] = ()    # not running: start
    restart: tuple[str, ...] = ()  # running but not ready, or stale: stop, then start
    blocked: tuple[str, ...] = ()  # not running and a stray process holds the port


def plan(healths: Iterable[Health]) -> Plan:
    """Decide what `up` does. Order of the components is kept in start/restart."""
    hs = list(healths)
    blocked = tuple(h.name for h in hs if h.pid is None and h.stray)
    if blocked:
        return Plan(BLOCKED, blocked=blocked)
    if all(h.healthy for h in hs):
        return Plan(REUSE)
    if all(h.pid is None for h in hs):
        return Plan(FRESH, start=tuple(h.name for h in hs))
    return Plan(HEAL, start=tuple(h.name for h in hs if h.pid is None),
                restart=tuple(h.name for h in hs if h.pid is not None and (not h.ready or h.stale)))


def summary(healths: Iterable[Health]) -> str:
    """One line for failure messages: what is running and healthy, and what is not (briefly why)."""
    hs = list(healths)
    ok = [h.name for h in hs if h.healthy]
    bad = [f"{h.name} ({h.short()})" for h in hs if not h.healthy]
    parts = [f"healthy: {', '.join(ok) or 'none'}"]
    if bad:
        parts.append(f"not healthy: {', '.join(bad)}")
    return "; ".join(parts)


# --- who holds a port (only /proc; no ss/lsof needed) -------------------------------------------------------

def _listening_inodes(port: int, proc: Path = Path("/proc")) -> set[str]:
    inodes: set[str] = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(f[9])
    return inodes


def _cmdline(pid: int, proc: Path) -> str:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    text = " ".join([os.path.basename(args[0])] + args[1:]) if args else "?"
    return text if len(text) <= 80 else text[:79] + "…"


def port_holder(port: int, proc: Path = Path("/proc")) -> str:
    """'' when nothing listens on `port`; else 'pid N (cmdline)' or a note that the owner is unknown."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return ""
    wanted = {f"socket:[{i}]" for i in inodes}
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            fds = list((d / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return f"pid {d.name} ({_cmdline(int(d.name), proc)}) listening on port {port}"
            except OSError:
                continue
    return f"an unidentified process listening on port {port}"
