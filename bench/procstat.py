"""Process-tree memory, CPU time and TCP peers, read from /proc and `ss` (Linux only)."""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces/parens: fields start after the last ')'
    return raw[raw.rindex(")") + 2:].split()


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        f = _stat_fields(int(d))
        if f:
            kids.setdefault(int(f[1]), []).append(int(d))  # f[1] = ppid
    return kids


def tree(root: int) -> list[int]:
    """root and all its descendants (bounded walk)."""
    kids = children_map()
    out, todo = [], [root]
    while todo and len(out) < 10_000:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def alive(pid: int) -> bool:
    f = _stat_fields(pid)
    return f is not None and f[0] != "Z"


def rss_bytes(pids: list[int]) -> int:
    """Sum of VmRSS over the processes (shared pages counted once per process)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        f = _stat_fields(pid)
        if f:
            ticks += int(f[11]) + int(f[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / CLK_TCK


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    for _ in range(10_000):
        if not alive(pid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return False


_PEER = re.compile(r"^\S+\s+\d+\s+\d+\s+(\S+)\s+(\S+)\s+users:\(\((.*)\)\)")


def tcp_peers(pids: list[int]) -> list[str]:
    """Remote address:port of every TCP socket the processes own (via `ss -tnp`)."""
    p = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, timeout=20)
    want = set(pids)
    peers = []
    for line in p.stdout.splitlines():
        m = _PEER.match(line)
        if not m:
            continue
        owners = {int(x) for x in re.findall(r"pid=(\d+)", m.group(3))}
        if owners & want:
            peers.append(m.group(2))
    return peers


def only_loopback(peers: list[str]) -> bool:
    return all(p.startswith("127.") or p.startswith("[::1]") or p.startswith("[::ffff:127.") for p in peers)
