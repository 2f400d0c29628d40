"""One container's log stream from the API server: `GET pods/{pod}/log?follow&timestamps`, reopened where it
stopped, de-duplicated at the boundary, picked up again when the container restarts.

Reopening: a stream the server ends (EOF while the container still runs) or loses is opened again with
`sinceTime` = the last timestamp seen (the API server passes sinceTime on at second precision, so the second
is floored here too); lines older than that timestamp are dropped, and lines AT it are dropped as many times
as they were already seen (`at_last`, a small multiset of the texts at the last timestamp). A restarted
container (new containerID / higher restartCount) is read again the same way — from its start, nothing of the
old container twice — after an INFO line "container X restarted"."""
from __future__ import annotations

import asyncio
import calendar
import time
from collections import Counter
from collections.abc import Callable
from contextlib import aclosing
from urllib.parse import quote

from ..errors import ApiError, EcotuiError, ForbiddenError
from ..kube.backoff import Backoff
from ..kube.client import KubeClient
from ..textsafe import one_line
from .kube_pods import ContainerStatus
from .model import NS, Kind, LogLine

AT_LAST_MAX = 1000          # distinct texts remembered at the last timestamp
CAUGHT_UP_QUIET = 0.25      # s without data after the first chunk: the backfill of this stream has arrived
CAUGHT_UP_RECENT = 2 * NS   # a line this close to now: the stream is live

_sec_cache: dict[bytes, int] = {}


def parse_ts(line: bytes) -> tuple[int, bytes]:
    """Split the `timestamps=true` prefix: b"2026-11-30T16:52:45.344857113Z text" -> (ns since the epoch,
    b"text"). RFC3339 with 0-9 fraction digits and Z or ±hh:mm. (0, line) when there is no such prefix."""
    if line[29:31] == b"Z " and line[19:20] == b".":  # the kubelet's RFC3339Nano: 9 digits, UTC
        sec = _sec_cache.get(line[:19])
        if sec is not None and line[20:29].isdigit():
            return sec * NS + int(line[20:29]), line[31:]
    sp = line.find(b" ", 0, 40)
    if sp < 20 or line[4:5] != b"-" or line[10:11] != b"T":
        return 0, line
    head = line[:19]
    sec = _sec_cache.get(head)
    if sec is None:
        try:
            sec = calendar.timegm(time.strptime(head.decode("ascii"), "%Y-%m-%dT%H:%M:%S"))
        except (ValueError, UnicodeDecodeError):
            return 0, line
        if len(_sec_cache) > 4096:
            _sec_cache.clear()
        _sec_cache[head] = sec
    i, frac, digits = 19, 0, 0
    if line[i:i + 1] == b".":
        i += 1
        j = i
        while j < sp and 48 <= line[j] <= 57:
            j += 1
        digits = min(j - i, 9)
        frac = int(line[i:i + digits]) if digits else 0
        i = j
    zone = line[i:sp]
    if zone in (b"Z", b"z"):
        off = 0
    elif len(zone) == 6 and zone[:1] in (b"+", b"-") and zone[3:4] == b":" and zone[1:3].isdigit() \
            and zone[4:6].isdigit():
        off = (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * (1 if zone[:1] == b"+" else -1)
    else:
        return 0, line
    return (sec - off) * NS + frac * 10 ** (9 - digits), line[sp + 1:]


def rfc3339_seconds(ts_ns: int) -> str:
    """`sinceTime` for a timestamp, floored to the second (what the API server forwards anyway)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_ns // NS))


class ContainerStream:
    """Follows one container. The source creates it, runs `run()` as a task, feeds pod status changes through
    `update()`, and cancels the task when the pod goes. `state`: waiting | open | reconnecting | ended | done |
    error (with `message`)."""

    def __init__(self, client: KubeClient, namespace: str, pod: str, container: str, status: ContainerStatus, *,
                 emit: Callable[[LogLine], None], on_forbidden: Callable[[str, str], None],
                 emit_lines: Callable[[list[LogLine]], None] | None = None,
                 previous: bool = False, follow: bool = True, since_s: int = 0, tail_lines: int | None = None,
                 backoff: tuple[float, float] = (0.5, 5.0)) -> None:
        self.client = client
        self.namespace, self.pod, self.container = namespace, pod, container
        self.stream = f"{namespace}/{pod}/{container}"
        self.path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/log"
        self.cstatus = status
        self.previous = previous
        self.follow = follow and not previous
        self.since_s, self.tail_lines = since_s, tail_lines
        self._emit, self._on_forbidden = emit, on_forbidden
        self._emit_lines = emit_lines or self._each
        self._backoff = Backoff(*backoff)
        self._changed = asyncio.Event()
        self.state = "waiting"
        self.message = ""
        self.last_ts = 0
        self.at_last: Counter[str] = Counter()
        self.ident: tuple[str, int] | None = None  # (containerID, restartCount) last read
        self.lines = 0
        self.opened_at = 0.0
        self.last_data = 0.0

    # ---- fed by the source ------------------------------------------------------------------------

    def update(self, status: ContainerStatus) -> None:
        if status != self.cstatus:
            self.cstatus = status
            self._changed.set()

    def caught_up(self, now: float) -> bool:
        """An open stream whose backfill has arrived (quiet for a moment, or a line from the last seconds)."""
        if self.state != "open":
            return True
        if self.last_ts and self.last_ts >= time.time_ns() - CAUGHT_UP_RECENT:
            return True
        return now - max(self.last_data, self.opened_at) > CAUGHT_UP_QUIET and now - self.opened_at > 0.5

    def _each(self, lines: list[LogLine]) -> None:
        for ln in lines:
            self._emit(ln)

    def info(self, text: str) -> None:
        self._emit(LogLine(0, text, self.stream, self.pod, self.container, self.namespace, Kind.INFO,
                           self.previous))

    # ---- the loop ---------------------------------------------------------------------------------

    async def _wait(self, timeout: float | None = None) -> None:
        """Until the container's status changes (or `timeout` s)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass
        self._changed.clear()

    def _params(self, resume: bool) -> dict[str, str]:
        p = {"container": self.container, "timestamps": "true"}
        if self.follow:
            p["follow"] = "true"
        if self.previous:
            p["previous"] = "true"
        if resume and self.last_ts:
            p["sinceTime"] = rfc3339_seconds(self.last_ts)
            return p
        if self.since_s > 0 and not self.previous:
            p["sinceSeconds"] = str(self.since_s)
        if self.tail_lines is not None:
            p["tailLines"] = str(self.tail_lines)
        return p

    async def run(self) -> None:
        first = True
        loop = asyncio.get_running_loop()
        while True:  # each turn waits (status change or backoff) unless data arrived
            st = self.cstatus
            if not self.previous and not st.started:
                self.state, self.message = "waiting", f"container {self.container} waiting to start"
                if not self.follow:
                    self.info(f"container {self.container} has not started: no logs")
                    self.state = "done"
                    return
                await self._wait()
                continue
            ident = (st.containerID, st.restartCount)
            if self.ident is not None and not self.previous and (
                    (ident[0] and self.ident[0] and ident[0] != self.ident[0]) or ident[1] > self.ident[1]):
                self.info(f"container {self.container} restarted (restarts: {st.restartCount})")
            self.ident = ident
            params = self._params(resume=not first)
            resume = not first and self.last_ts > 0
            first = False
            self.state, self.message = "open", ""
            self.opened_at = loop.time()
            try:
                got = await self._read(params, resume)
            except ForbiddenError as e:
                self.state, self.message = "error", one_line(e.message, 300)
                self._on_forbidden(self.namespace, self.message)
                return
            except ApiError as e:
                msg = _api_reason(e)
                if not self.follow:  # finite: one line says why, not a retry loop
                    self.info(f"{'no previous logs' if self.previous else 'no logs'} for container "
                              f"{self.container}: {msg}")
                    self.state, self.message = "done", msg
                    return
                # 400/404: e.g. "waiting to start" — again on a status change or after the backoff
                self.state = "waiting" if e.status in (400, 404) else "reconnecting"
                self.message = msg
                await self._wait(self._backoff.next())
                continue
            except EcotuiError as e:  # connection lost / refused
                self.state, self.message = "reconnecting", one_line(e.message, 300)
                await self._wait(self._backoff.next())
                continue
            if not self.follow:
                self.state = "done"
                return
            if got:
                self._backoff.reset()
            st = self.cstatus
            if st.running and (st.containerID, st.restartCount) == self.ident:
                self.state, self.message = "reconnecting", "the API server closed the stream; reopening"
                await self._wait(self._backoff.next())
            else:
                self.state, self.message = "ended", f"container {self.container} is not running"
                await self._wait()

    async def _read(self, params: dict[str, str], resume: bool) -> int:
        """One request; emits its new lines, a list per chunk received, returns how many."""
        skip: Counter[str] | None = Counter(self.at_last) if resume else None
        floor = self.last_ts if resume else 0
        n = 0
        loop = asyncio.get_running_loop()
        ns, pod, c, stream, prev = self.namespace, self.pod, self.container, self.stream, self.previous
        line_kind = Kind.LINE
        async with aclosing(self.client.stream_line_batches(self.path, params=params, follow=self.follow)) as batches:
            async for batch in batches:
                out: list[LogLine] = []
                add = out.append
                for raw in batch:
                    ts, body = parse_ts(raw)
                    text = body.decode("utf-8", "replace")
                    if skip is not None and ts:  # reopened: drop what was already emitted (once past it, never)
                        if ts < floor:
                            continue
                        if ts == floor and skip[text] > 0:
                            skip[text] -= 1
                            continue
                        if ts > floor:
                            skip = None
                    add(LogLine(ts, text, stream, pod, c, ns, line_kind, prev))
                if not out:
                    continue
                self._remember_last(out)
                n += len(out)
                self.last_data = loop.time()
                self._emit_lines(out)
        self.lines += n
        return n

    def _remember_last(self, out: list[LogLine]) -> None:
        """`last_ts` = the newest timestamp so far; `at_last` = the texts seen at it (≤ AT_LAST_MAX distinct),
        what a reopened stream drops at its first second."""
        newest = max(ln.ts_ns for ln in out)
        if newest > self.last_ts:
            self.last_ts = newest
            self.at_last.clear()
        elif newest == 0 or newest < self.last_ts:
            return
        at = self.at_last
        for text in [ln.text for ln in out if ln.ts_ns == newest]:
            if text in at or len(at) < AT_LAST_MAX:
                at[text] += 1


def _api_reason(e: ApiError) -> str:
    """The API's own words ("previous terminated container "app" in pod "x" not found"), one line."""
    msg = e.message
    i = msg.find("failed with HTTP ")
    if i >= 0:
        j = msg.find(": ", i)
        if j >= 0:
            msg = msg[j + 2:]
    return one_line(msg, 300)
