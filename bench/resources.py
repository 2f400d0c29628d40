"""Memory after load, then 60 s idle: CPU, API requests per minute and pod re-lists (from the audit log).

RSS is the sum of VmRSS over the program's process tree, read 5 s after the pods table was complete, and
sampled every 5 s during the idle window (peak reported too). CPU is the tree's utime+stime delta over the
idle window divided by its wall time (100 % = one core). Requests are the audit events carrying the
benchmark's certificate and the tool's user agent, received inside the window; a "re-list" is any LIST on
pods there (the initial list happens during load and is counted separately). TCP peers of the tree are read
with `ss -tnp` during the window, to show that the program talks to 127.0.0.1 only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import procstat
from .audit import AuditTail, Requests
from .launch import Launched, Tool

SETTLE = 5.0
SAMPLE_EVERY = 5.0


@dataclass
class IdleResult:
    rss_after_load: int = 0
    rss_peak: int = 0
    cpu_pct: float = 0.0
    seconds: float = 0.0
    load: Requests = field(default_factory=Requests)      # requests from launch until the table was complete
    idle: Requests = field(default_factory=Requests)
    peers: list[str] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)              # idle window, epoch seconds (audit timestamps)

    @property
    def requests_per_minute(self) -> float:
        return self.idle.per_minute(self.seconds)

    @property
    def loopback_only(self) -> bool:
        return procstat.only_loopback(self.peers)


def measure(l: Launched, tool: Tool, audit: AuditTail, credential_id: str, idle_s: float = 60.0,
            log=print) -> IdleResult:
    r = IdleResult()
    time.sleep(SETTLE)
    pids = procstat.tree(l.pid)
    r.rss_after_load = r.rss_peak = procstat.rss_bytes(pids)
    log(f"[resources] {tool.name}: RSS after load {r.rss_after_load / 2**20:.0f} MiB (pids {pids}); idle {idle_s:.0f}s")
    peers: set[str] = set(procstat.tcp_peers(pids))
    w0, m0, c0 = time.time(), time.monotonic(), procstat.cpu_seconds(pids)
    end = m0 + idle_s
    for _ in range(int(idle_s / SAMPLE_EVERY) + 2):
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(SAMPLE_EVERY, left))
        r.rss_peak = max(r.rss_peak, procstat.rss_bytes(pids))
        peers.update(procstat.tcp_peers(pids))
    c1, m1, w1 = procstat.cpu_seconds(pids), time.monotonic(), time.time()
    r.seconds = m1 - m0
    r.cpu_pct = 100.0 * (c1 - c0) / r.seconds
    r.peers = sorted(peers)
    r.window = (w0, w1)
    r.load = audit.count(credential_id, tool.ua_prefix, l.t_wall_start - 0.5, l.t_wall_done)
    r.idle = audit.count(credential_id, tool.ua_prefix, w0, w1)
    log(f"[resources] {tool.name}: idle CPU {r.cpu_pct:.2f}% of a core, {r.requests_per_minute:.1f} req/min, "
        f"{r.idle.pod_lists} pod LISTs; load: {r.load.total} requests ({r.load.pod_lists} pod LISTs); peers {r.peers}")
    return r
