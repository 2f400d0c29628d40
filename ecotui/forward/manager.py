"""Every port-forward of one workspace (context): start/stop/restart/remove, immutable views for the UI, and
self-healing.

A forward's life (one supervisor task per run):
  start(): bind the local socket now (a port in use is a ForwardError at once) → STARTING
  → resolve (kubectl's rules, `resolve.py`) → probe: a stream to the pod port, ~0.2 s to hear an error ("no
    forward found for port 9999 …") → ACTIVE
  → watch the pod in use (fieldSelector metadata.name=POD, from the resourceVersion it was read at)
  → DELETED / being deleted / not Running / ready → not ready, or a connection whose handshake says the pod is
    "not found" → RECONNECTING → resolve again (retried with backoff, never giving up) → ACTIVE (reconnects += 1
    when the pod changed). A pod target whose pod is deleted → FAILED. A first resolution or probe that fails →
    FAILED with the reason (the listener is closed; restart() re-listens on the same port).

Connections (`links.py`): kubectl's transport first — one SPDY session tunnelled through one WebSocket
per forward and pod (`spdy.py`), a stream pair per accepted TCP connection; when the API server does not offer
the tunnel, one `v4.channel.k8s.io` WebSocket per connection (`tunnel.pump`), pre-opened by an adaptive pool
(`spares.py`). A connection accepted while STARTING/RECONNECTING waits (up to WAIT_FOR_POD seconds) for the pod
instead of failing. `transport(id)` says which one a forward uses.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import EcotuiError
from ..kube.channels import ChannelStream
from ..kube.client import HttpStatusError, is_loopback
from ..textsafe import one_line
from . import tunnel
from .model import ForwardSpec, ForwardState, ForwardView
from .links import open_tunnel, open_v4, probe_v4
from .podwatch import watch_or_kick
from .resolve import ForwardError, Resolved, resolve
from .spares import SparePool
from .spdy import SpdyTunnel, TunnelClosed

PROBE_WAIT = 0.2
WAIT_FOR_POD = 10.0
BACKOFF = (0.3, 0.6, 1.0, 2.0, 3.0)
_SETTLED = (ForwardState.ACTIVE, ForwardState.FAILED, ForwardState.STOPPED)


@dataclass(eq=False)
class _Fwd:
    id: str
    spec: ForwardSpec
    local: str
    sock: Any
    since: float
    state: ForwardState = ForwardState.STARTING
    resolved: Resolved | None = None
    warning: str = ""
    error: str = ""
    reconnects: int = 0
    total: int = 0
    counters: tunnel.Counters = field(default_factory=tunnel.Counters)
    conns: set[asyncio.Task[Any]] = field(default_factory=set)
    server: asyncio.Server | None = None
    task: asyncio.Task[None] | None = None
    spares: SparePool | None = None
    mode: str = ""                     # "spdy": one tunnelled SPDY session; "v4": a WebSocket per connection
    tunnel: SpdyTunnel | None = None
    opening: asyncio.Future[SpdyTunnel | None] | None = None
    active: asyncio.Event = field(default_factory=asyncio.Event)    # set while ACTIVE
    settled: asyncio.Event = field(default_factory=asyncio.Event)   # set while ACTIVE/FAILED/STOPPED
    kick: asyncio.Event = field(default_factory=asyncio.Event)      # a connection found the pod gone


def _quiet(t: asyncio.Future[Any]) -> None:
    if not t.cancelled():
        t.exception()


class ForwardManager:
    """One per workspace. `api` is the context's KubeClient (get, watch, open_stream)."""

    def __init__(self, api: Any, context: str, *, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.context = context
        self.clock = clock
        self._fwds: dict[str, _Fwd] = {}
        self._ids = itertools.count(1)
        self._version = 0
        self._bg: set[asyncio.Future[Any]] = set()

    # ---- public API -------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self._version + sum(f.counters.ticks for f in self._fwds.values())

    def start(self, spec: ForwardSpec) -> str:
        for f in self._fwds.values():
            if f.spec.key == spec.key:
                if f.state in (ForwardState.STOPPED, ForwardState.FAILED):
                    self.restart(f.id)
                return f.id
        sock = tunnel.bind(spec.address, spec.local_port)
        f = _Fwd(f"f{next(self._ids)}", spec, tunnel.local_text(sock), sock, self.clock())
        f.spares = SparePool(self._open)
        if not is_loopback(spec.address):
            f.warning = f"listening on {f.local}: reachable from other machines, not only this one"
        self._fwds[f.id] = f
        self._version += 1
        self._launch(f)
        return f.id

    async def wait_ready(self, id: str, timeout: float = 10.0) -> ForwardView:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            f = self._fwds.get(id)
            if f is None:
                raise ForwardError(f"no forward {id!r}")
            if f.state is ForwardState.ACTIVE:
                return self._view(f)
            if f.state is ForwardState.FAILED:
                raise ForwardError(f"{f.spec.target} port {f.spec.port}: {f.error or 'failed'}")
            if f.state is ForwardState.STOPPED:
                raise ForwardError(f"{f.spec.target} port {f.spec.port}: the forward was stopped")
            left = deadline - loop.time()
            if left <= 0:
                why = f": {f.error}" if f.error else ""
                raise ForwardError(f"{f.spec.target} port {f.spec.port}: not ready after {timeout:g} s "
                                   f"({f.state.value}){why}")
            try:
                await asyncio.wait_for(f.settled.wait(), left)
            except TimeoutError:
                pass

    def stop(self, id: str) -> None:
        f = self._fwds.get(id)
        if f is not None and f.state is not ForwardState.STOPPED:
            self._shutdown(f)
            self._set(f, ForwardState.STOPPED)

    def restart(self, id: str) -> None:
        """Re-resolve and re-listen on the same local port (a free one if that port was 0 and is taken now).
        Raises ForwardError when the port cannot be bound (the forward is then FAILED with that line)."""
        f = self._fwds.get(id)
        if f is None:
            raise ForwardError(f"no forward {id!r}")
        self._shutdown(f)
        port = int(f.local.rsplit(":", 1)[1])
        try:
            try:
                f.sock = tunnel.bind(f.spec.address, port)
            except ForwardError:
                if f.spec.local_port:
                    raise
                f.sock = tunnel.bind(f.spec.address, 0)
        except ForwardError as e:
            f.error = e.message
            self._set(f, ForwardState.FAILED)
            raise
        f.local = tunnel.local_text(f.sock)
        f.since, f.error, f.resolved = self.clock(), "", None
        f.kick.clear()
        self._set(f, ForwardState.STARTING)
        self._launch(f)

    def remove(self, id: str) -> None:
        f = self._fwds.pop(id, None)
        if f is not None:
            self._shutdown(f)
            self._version += 1

    def transport(self, id: str) -> str:
        """How a forward reaches its pod: "spdy" (kubectl's SPDY session tunnelled through one WebSocket),
        "v4" (a v4.channel.k8s.io WebSocket per connection) or "" (not decided yet)."""
        f = self._fwds.get(id)
        return f.mode if f is not None else ""

    def views(self) -> list[ForwardView]:
        return [self._view(f) for f in self._fwds.values()]

    def view(self, id: str) -> ForwardView | None:
        f = self._fwds.get(id)
        return self._view(f) if f is not None else None

    async def close(self) -> None:
        tasks: list[asyncio.Future[Any]] = []
        for f in self._fwds.values():
            tasks += [t for t in (f.task, *f.conns) if t is not None]
            self._shutdown(f)
            if f.state is not ForwardState.STOPPED:
                self._set(f, ForwardState.STOPPED)
        if tasks:
            await asyncio.wait(tasks, timeout=3)
        for f in self._fwds.values():
            if f.spares is not None:
                await f.spares.aclose()
        if self._bg:
            await asyncio.wait(list(self._bg), timeout=3)

    # ---- internals ----------------------------------------------------------------------------

    def _view(self, f: _Fwd) -> ForwardView:
        r = f.resolved
        c = f.counters
        return ForwardView(f.id, f.spec, f.state, f.local, f"{r.namespace}/{r.pod}" if r else None,
                           r.pod_port if r else None, len(f.conns), f.total, c.bytes_in, c.bytes_out, f.since,
                           f.error, f.warning, f.reconnects)

    def _set(self, f: _Fwd, state: ForwardState) -> None:
        f.state = state
        (f.active.set if state is ForwardState.ACTIVE else f.active.clear)()
        (f.settled.set if state in _SETTLED else f.settled.clear)()
        self._version += 1

    def _launch(self, f: _Fwd) -> None:
        f.task = asyncio.get_running_loop().create_task(self._supervise(f))
        f.task.add_done_callback(_quiet)

    def _shutdown(self, f: _Fwd) -> None:
        """Close the listener, the connections and the spare; the supervisor ends."""
        if f.task is not None and f.task is not asyncio.current_task():
            f.task.cancel()
        f.task = None
        if f.server is not None:
            f.server.close()
            f.server = None
        if f.sock is not None:
            f.sock.close()   # a no-op once the server owns and closed it; releases it otherwise
            f.sock = None
        for t in list(f.conns):
            t.cancel()
        if f.spares is not None:
            f.spares.clear()
        if f.opening is not None and not f.opening.done():
            f.opening.cancel()
        f.opening = None
        self._retire(f.tunnel, at_once=True)
        f.tunnel = None

    def _fail(self, f: _Fwd, why: str) -> None:
        f.error = one_line(why, 300)
        self._shutdown(f)
        self._set(f, ForwardState.FAILED)

    async def _supervise(self, f: _Fwd) -> None:
        sock, f.sock = f.sock, None
        try:
            f.server = await asyncio.start_server(lambda r, w: self._accept(f, r, w), sock=sock,
                                                  limit=4 * tunnel.CHUNK)
        except OSError as e:
            sock.close()
            self._fail(f, f"cannot listen on {f.local}: {e.strerror or e}")
            return
        movable = f.spec.target.kind != "pod"
        attempt = 0
        while True:
            try:
                res = await self._resolve_and_probe(f)
            except asyncio.CancelledError:
                raise
            except EcotuiError as e:
                if f.state is ForwardState.STARTING:
                    self._fail(f, e.message)
                    return
                f.error = one_line(e.message, 300)
                self._version += 1
                await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
                attempt += 1
                continue
            attempt = 0
            old = f.resolved
            if old is not None and (old.namespace, old.pod) != (res.namespace, res.pod):
                f.reconnects += 1
            f.resolved, f.error = res, ""
            f.kick.clear()
            self._set(f, ForwardState.ACTIVE)
            why = await watch_or_kick(self.api, res, movable, f.kick)
            if not movable:
                self._fail(f, f"pod {res.namespace}/{res.pod} {why}")
                return
            f.error = f"pod {res.namespace}/{res.pod} {why}"
            if f.spares is not None:
                f.spares.clear()
            self._set(f, ForwardState.RECONNECTING)

    async def _resolve_and_probe(self, f: _Fwd) -> Resolved:
        res = await resolve(self.api, f.spec.target, f.spec.port)
        if f.mode != "v4":
            t = await open_tunnel(self.api, res)
            if t is not None:
                f.mode = "spdy"
                why = await t.probe(res.pod_port, PROBE_WAIT)
                if why or t.closed:
                    await t.close()
                    raise ForwardError(why or t.why or "the port-forward session closed at once")
                self._retire(f.tunnel)
                f.tunnel = t
                return res
            f.mode = "v4"
        stream = await open_v4(self.api, res)
        try:
            keep = await probe_v4(stream, res, PROBE_WAIT)
        except BaseException:
            await stream.close()
            raise
        if keep and f.spares is not None:
            f.spares.keep(res, stream)   # the probe's stream, headers read, is the first spare
        else:
            await stream.close()
        return res

    # ---- the SPDY tunnel (kubectl's transport) ----

    async def _open(self, res: Resolved) -> ChannelStream:
        return await open_v4(self.api, res)

    async def _tunnel_for(self, f: _Fwd, res: Resolved) -> SpdyTunnel | None:
        t = f.tunnel
        if t is not None and not t.closed and t.pod == res.pod:
            return t
        if f.opening is None or f.opening.done():   # one opening at a time, shared by the connections waiting
            f.opening = asyncio.ensure_future(open_tunnel(self.api, res))
            f.opening.add_done_callback(_quiet)
        new = await asyncio.shield(f.opening)
        if new is None:
            f.mode = "v4"
        elif f.tunnel is not new and f.resolved is res:
            self._retire(f.tunnel)
            f.tunnel = new
        return new

    def _retire(self, t: SpdyTunnel | None, at_once: bool = False) -> None:
        """Close a tunnel once its connections have ended (at once when stopping)."""
        if t is None:
            return

        async def retiring() -> None:
            for _ in range(0 if at_once else 600):
                if t.active == 0 or t.closed:
                    break
                await asyncio.sleep(0.2)
            await t.close()
        task = asyncio.ensure_future(retiring())
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    # ---- connections ----

    async def _accept(self, f: _Fwd, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        f.conns.add(task)
        f.total += 1
        self._version += 1
        err = ""
        try:
            for _ in range(3):
                res = await self._pod_for(f)
                if res is None:
                    err = f.error or f"no pod to forward to ({f.state.value})"
                    break
                try:
                    if f.mode == "spdy":
                        t = await self._tunnel_for(f, res)
                        if t is None:
                            continue   # the tunnel is not offered (any more): a WebSocket per connection
                        err = await t.forward(res.pod_port, reader, writer, f.counters)
                    else:
                        assert f.spares is not None
                        stream, headers_seen = await f.spares.take(res)
                        err = await tunnel.pump(stream, res.pod_port, reader, writer, f.counters,
                                                headers_seen=headers_seen)
                except TunnelClosed:
                    continue           # the session ended before this connection's streams opened: again
                except HttpStatusError as e:
                    if e.status == 404 and f.resolved is res:
                        f.kick.set()       # the pod is gone: wait for the next one, then try again
                        await asyncio.sleep(0)
                        continue
                    err = e.message
                    break
                except EcotuiError as e:
                    err = e.message
                    break
                if err and "not found" in err.lower() and "no forward found" not in err.lower():
                    f.kick.set()
                break
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass   # stopped: end quietly (3.11's start_server callback would log a cancelled task)
        finally:
            f.conns.discard(task)
            writer.close()
            if err:
                f.error = one_line(err, 300)
            self._version += 1

    async def _pod_for(self, f: _Fwd) -> Resolved | None:
        if f.state in (ForwardState.STARTING, ForwardState.RECONNECTING):
            try:
                await asyncio.wait_for(f.active.wait(), WAIT_FOR_POD)
            except TimeoutError:
                return None
        if f.state is ForwardState.ACTIVE and not f.kick.is_set():
            return f.resolved
        if f.state is ForwardState.ACTIVE:   # kicked: the supervisor is about to re-resolve
            try:
                await asyncio.wait_for(self._next_pod(f, f.resolved), WAIT_FOR_POD)
            except TimeoutError:
                return None
            return f.resolved if f.state is ForwardState.ACTIVE else None
        return None

    async def _next_pod(self, f: _Fwd, old: Resolved | None) -> None:
        while not (f.state is ForwardState.ACTIVE and f.resolved is not old) and f.state not in (
                ForwardState.FAILED, ForwardState.STOPPED):
            await asyncio.sleep(0.05)



