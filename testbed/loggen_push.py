"""The log generator's Loki side: a bounded buffer of lines pushed as Loki JSON; unsent lines wait while Loki is
down (oldest dropped and counted) (testbed/loggen.py)."""
from __future__ import annotations

import sys
from collections import deque

import httpx

PUSH_BATCH = 5000


def say(msg: str) -> None:
    print(f"testbed.loggen: {msg}", file=sys.stderr, flush=True)


class LokiPusher:
    """Bounded buffer of (labels, ts, line); push() sends what it can as Loki JSON."""

    def __init__(self, url: str, max_buffer: int = 50_000):
        self.url = url.rstrip("/") + "/loki/api/v1/push"
        self.buffer: deque[tuple[tuple[tuple[str, str], ...], int, str]] = deque()
        self.max_buffer = max_buffer
        self.dropped = 0  # lost to the bound or rejected by Loki
        self.sent = 0
        self.failing: str | None = None

    def add(self, labels: dict[str, str], ts: int, line: str) -> None:
        if len(self.buffer) >= self.max_buffer:
            self.buffer.popleft()
            self.dropped += 1
        self.buffer.append((tuple(sorted((k, v) for k, v in labels.items() if v)), ts, line))

    async def push(self, client: httpx.AsyncClient) -> bool:
        """Send everything buffered in batches. False (buffer kept) when Loki is unreachable or failing."""
        while self.buffer:
            n = min(len(self.buffer), PUSH_BATCH)
            batch = [self.buffer[i] for i in range(n)]
            streams: dict[tuple, list] = {}
            for key, ts, line in batch:
                streams.setdefault(key, []).append([str(ts), line])
            body = {"streams": [{"stream": dict(k), "values": v} for k, v in streams.items()]}
            try:
                r = await client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                return self._fail(f"Loki unreachable ({type(exc).__name__}); keeping {len(self.buffer)} lines")
            if r.status_code >= 500 or r.status_code == 429:
                return self._fail(f"Loki answered {r.status_code}; keeping {len(self.buffer)} lines")
            for _ in range(n):
                self.buffer.popleft()
            if r.status_code >= 400:
                self.dropped += n
                say(f"Loki rejected {n} lines ({r.status_code}): {r.text[:200]}")
            else:
                self.sent += n
            if self.failing:
                say("Loki reachable again")
                self.failing = None
        return True

    def _fail(self, why: str) -> bool:
        if self.failing is None:
            say(why)
        self.failing = why
        return False
