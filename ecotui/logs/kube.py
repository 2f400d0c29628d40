"""`KubeLogSource`: container logs straight from the API server (`pods/{pod}/log`), for any Selection.

    source = KubeLogSource(client, Selection(workload=("deployments", "ecotrack/user-service")))
    await source.run(sink)        # until cancelled; a `previous` / non-follow selection ends with DONE

The selection is resolved to pods (`kube_pods.PodFinder`) and LISTed again every `poll_interval` s, so pods
that come and go are followed: every container of every selected pod (or just `selection.container`) gets a
`kube_stream.ContainerStream` (at most `max_streams`; the status says how many more exist), all opened at
once on the client's log pool. A pod that goes ends its streams with an INFO line; a new one gets streams
(and an INFO line). Lines are batched: the sink gets them every `flush_interval` s or every `batch_max`
lines, in arrival order (per stream, in order; across streams, as they came)."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ..errors import ApiError, ConnectError, EcotuiError
from ..kube.backoff import Backoff
from ..kube.client import KubeClient
from ..textsafe import one_line
from .kube_pods import LogPod, PodFinder
from .kube_stream import ContainerStream
from .model import Kind, LogLine, Selection, Sink, SourceState, SourceStatus

__all__ = ["KubeLogSource"]


class KubeLogSource:
    """A LogSource over the Kubernetes API (see the module docstring)."""

    name = "kubernetes"

    def __init__(self, client: KubeClient, selection: Selection, *, max_streams: int = 200,
                 poll_interval: float = 2.0, flush_interval: float = 0.05, batch_max: int = 1000,
                 backoff: tuple[float, float] = (0.5, 5.0)) -> None:
        self.client = client
        self.selection = selection
        self.max_streams = max_streams
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        self.batch_max = batch_max
        self._backoff_range = backoff
        self.finite = selection.previous or not selection.follow
        self._finder = PodFinder(client, selection)
        self._status = SourceStatus(SourceState.CONNECTING, f"listing pods of {self._finder.what}")
        self._streams: dict[str, ContainerStream] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._pods: dict[str, LogPod] = {}
        self._pending: list[LogLine] = []
        self._sink: Sink | None = None
        self._not_followed = 0
        self._forbidden: dict[str, str] = {}
        self._fatal = ""
        self._listing_error = ""
        self._done = False
        self._listed = False

    # ---- LogSource ----------------------------------------------------------------------------

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def description(self) -> str:
        n = len(self._pods)
        what = self._finder.what
        if self.selection.container:
            what += f" container {self.selection.container}"
        if self.selection.previous:
            what += " (previous)"
        return f"{what} ({n} pod{'s' if n != 1 else ''})"

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        flusher = asyncio.ensure_future(self._flush_loop())
        try:
            await self._main()
            self._done = True
            self._flush()
            self._refresh()
        finally:
            flusher.cancel()
            tasks = [*self._tasks.values(), flusher]
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()
            for r in results:  # a bug in the flusher (e.g. the sink raised) must not vanish
                if isinstance(r, Exception):
                    raise r

    # ---- internals ----------------------------------------------------------------------------

    def _emit(self, line: LogLine) -> None:
        self._pending.append(line)
        if len(self._pending) >= self.batch_max:
            self._flush()

    def _emit_lines(self, lines: list[LogLine]) -> None:
        self._pending.extend(lines)
        bm = self.batch_max
        while len(self._pending) >= bm and self._sink is not None:  # sink calls of at most batch_max lines
            batch, self._pending = self._pending[:bm], self._pending[bm:]
            self._sink(batch)

    def _flush(self) -> None:
        if self._pending and self._sink is not None:
            batch, self._pending = self._pending, []
            self._sink(batch)

    async def _flush_loop(self) -> None:
        while True:  # one flush per interval, until cancelled
            await asyncio.sleep(self.flush_interval)
            self._flush()
            self._refresh()

    def _forbidden_cb(self, namespace: str, message: str) -> None:
        if namespace not in self._forbidden:
            self._forbidden[namespace] = message
            self._emit(LogLine(0, f"not allowed: get pods/log in namespace {namespace} ({message})",
                               f"{namespace}//", namespace=namespace, kind=Kind.INFO,
                               previous=self.selection.previous))

    async def _main(self) -> None:
        backoff = Backoff(*self._backoff_range)
        first = True
        while True:  # one LIST per poll_interval (or per backoff step after a failure), until cancelled
            try:
                pods = await self._finder.pods()
            except (ConnectError, ApiError) as e:
                if isinstance(e, ApiError) and e.status == 404 and first:
                    self._fatal = one_line(e.message, 300)
                    self._refresh()
                    return
                self._listing_error = one_line(e.message, 300)
                self._refresh()
                await asyncio.sleep(backoff.next())
                continue
            except EcotuiError as e:  # forbidden, no such workload, nothing selected: give up, one line
                self._fatal = one_line(e.message, 300)
                self._refresh()
                return
            backoff.reset()
            self._listing_error = ""
            self._listed = True
            self._apply(pods, first)
            first = False
            self._refresh()
            if self.finite:
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
                return
            await asyncio.sleep(self.poll_interval)

    def _apply(self, pods: Sequence[LogPod], first: bool) -> None:
        sel = self.selection
        now = {p.key: p for p in pods if p.metadata.name}
        for key in [k for k in self._pods if k not in now]:  # pods gone: their streams end
            for sk in [sk for sk in self._streams if sk.rsplit("/", 1)[0] == key]:
                st = self._streams.pop(sk)
                t = self._tasks.pop(sk, None)
                if t is not None:
                    t.cancel()
                st.info(f"pod {key} removed: stream of container {st.container} ended")
        wanted = 0
        for key, pod in sorted(now.items()):
            added = False
            for cname, cst in pod.containers(sel.container):
                sk = f"{key}/{cname}"
                cur = self._streams.get(sk)
                if cur is not None:
                    cur.update(cst)
                    continue
                wanted += 1
                if len(self._streams) >= self.max_streams:
                    continue
                st = ContainerStream(self.client, pod.metadata.namespace, pod.metadata.name, cname, cst,
                                     emit=self._emit, emit_lines=self._emit_lines, on_forbidden=self._forbidden_cb, previous=sel.previous,
                                     follow=sel.follow, since_s=sel.since_s, tail_lines=sel.tail_lines,
                                     backoff=self._backoff_range)
                self._streams[sk] = st
                self._tasks[sk] = asyncio.ensure_future(self._guard(st))
                wanted -= 1
                if not first and not added:
                    added = True
                    st.info(f"pod {key} added")
        self._pods = now
        self._not_followed = wanted

    async def _guard(self, st: ContainerStream) -> None:
        try:
            await st.run()
        except Exception as e:  # noqa: BLE001 - a bug must show as one line, not kill the other streams
            st.state, st.message = "error", f"internal error: {type(e).__name__}: {one_line(str(e), 200)}"
            st.info(st.message)

    def _refresh(self) -> None:
        streams = list(self._streams.values())
        n_open = sum(1 for s in streams if s.state == "open")
        extra = []
        if self._not_followed:
            extra.append(f"{self._not_followed} more containers not followed (limit {self.max_streams})")
        if self._forbidden:
            extra.append(f"not allowed: get pods/log in {', '.join(sorted(self._forbidden))}")
        if self._fatal:
            self._status = SourceStatus(SourceState.ERROR, self._fatal, 0)
            return
        if streams and all(s.state == "error" for s in streams):
            self._status = SourceStatus(SourceState.ERROR, "; ".join(extra) or streams[0].message, 0)
            return
        if self._done:
            self._status = SourceStatus(SourceState.DONE, "; ".join(extra), 0)
            return
        reconnecting = [s for s in streams if s.state == "reconnecting"]
        if self._listing_error:
            state, msg = SourceState.RECONNECTING, f"listing pods: {self._listing_error}"
        elif reconnecting:
            state = SourceState.RECONNECTING
            msg = f"{len(reconnecting)} stream{'s' if len(reconnecting) > 1 else ''} reconnecting: " \
                  f"{reconnecting[0].message}"
        elif not self._listed:
            state, msg = SourceState.CONNECTING, f"listing pods of {self._finder.what}"
        elif self.finite:
            state, msg = SourceState.BACKFILL, "" if self._pods else "no pods selected"
        else:
            loop_now = asyncio.get_running_loop().time()
            state = SourceState.BACKFILL if any(not s.caught_up(loop_now) for s in streams) else SourceState.LIVE
            msg = "" if self._pods else "no pods selected yet"
        self._status = SourceStatus(state, "; ".join([msg, *extra]) if msg else "; ".join(extra), n_open)
