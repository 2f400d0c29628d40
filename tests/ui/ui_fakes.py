"""A scriptable in-memory SessionAPI and small builders for pods, nodes and events."""
from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any, cast

from ecotui.errors import EcotuiError
from ecotui.kube.models import (Condition, Container, ContainerState, ContainerStatus, Event, Namespace,
                                Node, NodeDetail, NodeSpec, NodeStatus, NodeSystemInfo, ObjectMeta,
                                ObjectReference, Pod, PodDetail, PodSpec, PodStatus, StateRunning,
                                StateTerminated, StateWaiting, as_detail)
from ecotui.kinds.spec import KindSpec
from ecotui.kube.session_api import SessionAPI
from ecotui.kube.store import Connection, ConnState, Snapshot
from ecotui.kube.writegate import WriteGate
from ecotui.workspace import Profile, Workspace, WorkspaceAPI

T0 = 1_700_000_000.0          # the fake "now" used by tests
CREATED = "2023-11-14T20:00:00Z"  # ~53 min before T0
_counter = itertools.count(1)


def pod(name: str, ns: str = "ecotrack", node: str = "node-a", *, labels: dict[str, str] | None = None,
        ip: str = "10.0.0.1", waiting: str = "", restarts: int = 0, last_reason: str = "",
        ready: bool = True, phase: str = "Running", rv: str | None = None) -> Pod:
    state = ContainerState(waiting=StateWaiting(reason=waiting)) if waiting else \
        ContainerState(running=StateRunning())
    last = ContainerState(terminated=StateTerminated(reason=last_reason, exitCode=137,
                                                     finishedAt="2023-11-14T21:00:00Z")) if last_reason \
        else ContainerState()
    cs = ContainerStatus(name="app", ready=ready and not waiting, restartCount=restarts, state=state, lastState=last)
    return Pod(
        metadata=ObjectMeta(name=name, namespace=ns, labels=labels or {"app": name},
                            creationTimestamp=CREATED, resourceVersion=rv or str(next(_counter))),
        spec=PodSpec(nodeName=node, containers=(Container(name="app"),)),
        status=PodStatus(phase=phase, podIP=ip, containerStatuses=(cs,),
                         conditions=(Condition(type="Ready", status="True" if ready else "False"),)),
    )


def node(name: str, *, ready: bool = True, cordoned: bool = False, group: str = "ng-1",
         zone: str = "eu-west-1a", pressure: str = "") -> Node:
    conds = [Condition(type="Ready", status="True" if ready else "False")]
    if pressure:
        conds.append(Condition(type=pressure, status="True"))
    return Node(
        metadata=ObjectMeta(name=name, creationTimestamp=CREATED, resourceVersion=str(next(_counter)),
                            labels={"eks.amazonaws.com/nodegroup": group, "topology.kubernetes.io/zone": zone,
                                    "node.kubernetes.io/instance-type": "m5.large"}),
        spec=NodeSpec(unschedulable=cordoned),
        status=NodeStatus(conditions=tuple(conds), nodeInfo=NodeSystemInfo(kubeletVersion="v1.31.2-eks")),
    )


def event(name: str, *, ns: str = "ecotrack", type_: str = "Normal", reason: str = "Pulled",
          obj: str = "web-1", kind: str = "Pod", message: str = "ok", last: str = "2023-11-14T21:00:00Z") -> Event:
    return Event(
        metadata=ObjectMeta(name=name, namespace=ns, creationTimestamp=last),
        involvedObject=ObjectReference(kind=kind, name=obj, namespace=ns),
        reason=reason, message=message, type=type_, count=1, lastTimestamp=last,
    )


def keyed(objs: Iterable[Any], namespaced: bool) -> dict[str, Any]:
    out = {}
    for o in objs:
        md = o.metadata
        out[f"{md.namespace}/{md.name}" if namespaced else md.name] = o
    return out


class FakeSession:
    """SessionAPI with snapshots and connection set by the test (`set_items`, `set_connection`)."""

    def __init__(self, *, context: str = "test-ctx", namespace: str | None = None,
                 start_error: EcotuiError | None = None) -> None:
        self.context = context
        self.server = "https://127.0.0.1:6443"
        self.namespace = namespace
        self._version = 1
        self._snaps: dict[str, Snapshot[Any]] = {k: Snapshot(k, synced=True) for k in
                                                  ("nodes", "pods", "events", "namespaces")}
        self._conn = Connection(ConnState.LIVE, T0)
        self.started = False
        self.stopped = False
        self.start_error = start_error
        self.namespace_calls: list[str | None] = []
        self.pod_events_calls: list[tuple[str, str]] = []
        self.events_for_pods: dict[tuple[str, str], list[Event]] = {}
        self.get_calls: list[tuple[str, ...]] = []        # ("pod", ns, name) / ("node", name) / ("node_pods", name)
        self.details: dict[tuple[str, ...], Any] = {}     # what GET answers ("pod", ns, name) / ("node", name)
        self.get_error: Exception | None = None          # raised by every GET when set
        self.relists = 0
        self.objects: dict[tuple[str, str | None, str], Any] = {}   # get_object answers (kind id, ns, name)

    async def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def snapshot(self, kind: str) -> Snapshot[Any]:
        snap = self._snaps.get(kind)
        if snap is None:
            snap = self._snaps[kind] = Snapshot(kind, synced=True)
        return snap

    def kind_connection(self, kind: str) -> Connection:
        return self._conn

    async def relist(self) -> None:
        self.relists += 1
        self._version += 1

    async def get_object(self, spec: KindSpec, namespace: str | None, name: str) -> Any:
        self.get_calls.append((spec.id, namespace or "", name))
        if self.get_error is not None:
            raise self.get_error
        try:
            return self.objects[(spec.id, namespace, name)]
        except KeyError:
            raise EcotuiError(f"{spec.kind} {name!r} not found (404)") from None

    async def object_events(self, kind: str, namespace: str | None, name: str) -> list[Event]:
        return [e for e in self._snaps["events"].items.values()
                if e.involvedObject.kind == kind and e.involvedObject.name == name]

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def version(self) -> int:
        return self._version

    async def set_namespace(self, namespace: str | None) -> None:
        self.namespace_calls.append(namespace)
        self.namespace = namespace
        self._version += 1

    async def pod_events(self, namespace: str, name: str) -> list[Event]:
        self.pod_events_calls.append((namespace, name))
        return self.events_for_pods.get((namespace, name), [])

    def _get(self, key: tuple[str, ...], cached: Any) -> Any:
        self.get_calls.append(key)
        if self.get_error is not None:
            raise self.get_error
        if key in self.details:
            return self.details[key]
        if cached is None:
            raise EcotuiError(f"{key[0]} {'/'.join(key[1:])!r} not found (404)")
        return as_detail(cached)

    async def get_pod(self, namespace: str, name: str) -> PodDetail:
        return self._get(("pod", namespace, name), self._snaps["pods"].items.get(f"{namespace}/{name}"))

    async def get_node(self, name: str) -> NodeDetail:
        return self._get(("node", name), self._snaps["nodes"].items.get(name))

    async def node_pods(self, name: str) -> list[PodDetail]:
        self.get_calls.append(("node_pods", name))
        if self.get_error is not None:
            raise self.get_error
        return [cast(PodDetail, as_detail(p)) for p in self._snaps["pods"].items.values() if p.spec.nodeName == name]

    async def node_events(self, name: str) -> list[Event]:
        return [e for e in self._snaps["events"].items.values()
                if e.involvedObject.kind == "Node" and e.involvedObject.name == name]

    # ---- scripting --------------------------------------------------------------------------

    def set_items(self, kind: str, items: dict[str, Any], synced: bool = True) -> None:
        old = self.snapshot(kind)
        self._snaps[kind] = Snapshot(kind, MappingProxyType(dict(items)), old.version + 1, synced)
        self._version += 1

    def set_pods(self, pods: Iterable[Pod]) -> None:
        self.set_items("pods", keyed(pods, True))

    def set_nodes(self, nodes: Iterable[Node]) -> None:
        self.set_items("nodes", keyed(nodes, False))

    def set_events(self, events: Iterable[Event]) -> None:
        self.set_items("events", keyed(events, True))

    def set_namespaces(self, names: Iterable[str]) -> None:
        self.set_items("namespaces", {n: Namespace(metadata=ObjectMeta(name=n)) for n in names})

    def set_connection(self, conn: Connection) -> None:
        self._conn = conn
        self._version += 1


class FakeKubeAPI:
    """A KubeAPI that records every request and answers from `routes` ((method, path) -> body or exception;
    a callable gets the json body). Like the real client, every request passes the write gate first, so
    `sent` holds only what a real server would have received. SSARs are allowed unless `denied` names
    "verb resource"."""

    def __init__(self, gate: WriteGate) -> None:
        self.gate = gate
        self.sent: list[tuple[str, str, Any]] = []
        self.routes: dict[tuple[str, str], Any] = {}
        self.denied: set[str] = set()

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                      content: bytes | None = None, content_type: str | None = None,
                      timeout: float | None = None) -> Any:
        self.gate.check(method, path)
        self.sent.append((method, path, json))
        if path.endswith("/selfsubjectaccessreviews"):
            a = json["spec"]["resourceAttributes"]
            res = a["resource"] + (f"/{a['subresource']}" if a.get("subresource") else "")
            return {"status": {"allowed": f"{a['verb']} {res}" not in self.denied}}
        if path.endswith("/selfsubjectreviews"):
            return {"status": {"userInfo": {"username": "tester"}}}
        got = self.routes.get((method, path.split("?", 1)[0]))
        if got is None:
            from ecotui.kube.client import HttpStatusError
            raise HttpStatusError(f"{method} {path} failed with HTTP 404: not found", status=404)
        if isinstance(got, BaseException):
            raise got
        return got(json) if callable(got) else got

    async def get(self, path: str, type_: Any = Any, *, params: Any = None) -> Any:
        return await self.request("GET", path, params=params)

    async def list(self, path: str, list_type: Any, *, params: Any = None,
                   limit: int | None = 500) -> tuple[list[Any], str]:
        got = await self.request("GET", path, params=params)
        return list(got.get("items", [])), "1"

    def writes(self) -> "builtins.list[tuple[str, str, Any]]":
        from ecotui.kube.writegate import is_mutating
        return [r for r in self.sent if is_mutating(r[0], r[1])]


def workspace(session: SessionAPI, *, readonly: bool = False, critical: bool = False) -> WorkspaceAPI:
    """A real Workspace around a (fake) session: its profile and write gate as the factory would make them,
    with a FakeKubeAPI (`ws.api`) for actions."""
    gate = WriteGate(session.context, readonly)
    return Workspace(Profile(session.context, session.namespace, readonly, critical=critical), session, gate,
                     FakeKubeAPI(gate), "tester")


_checked: SessionAPI = FakeSession()  # the type checker proves the fake keeps the session contract


def screen_text(app: Any) -> str:
    """The current screen as plain text lines (what a terminal would show, without colours)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(s.text.rstrip() for s in strips)


async def pilot_until(pilot: Any, pred: Any, what: str = "timed out", n: int = 60) -> Any:
    """Wait (n × 50 ms at most, the app running) until pred() is truthy; its value, else AssertionError(what)."""
    for _ in range(n):
        got = pred()
        if got:
            return got
        await pilot.pause(0.05)
    got = pred()
    if got:
        return got
    raise AssertionError(what)
