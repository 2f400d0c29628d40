"""Which pods a `Selection` means on Kubernetes, and the little of each pod the log source reads.

`PodFinder(client, selection).pods()` answers the current set (one LIST, or one GET per explicit pod); the
source calls it again every few seconds to follow pods that come and go."""
from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

import msgspec

from ..errors import ApiError, EcotuiError
from ..kube.client import KubeClient
from ..kube.models import ListMeta
from ..ops.workload import selector_string
from .model import Selection

WORKLOADS = {  # kind id -> (API path prefix, noun)
    "deployments": ("/apis/apps/v1", "deployment"),
    "statefulsets": ("/apis/apps/v1", "statefulset"),
    "daemonsets": ("/apis/apps/v1", "daemonset"),
    "replicasets": ("/apis/apps/v1", "replicaset"),
    "jobs": ("/apis/batch/v1", "job"),
}


class _Named(msgspec.Struct, frozen=True, gc=False):
    name: str = ""


class _Running(msgspec.Struct, frozen=True, gc=False):
    startedAt: str = ""


class _Waiting(msgspec.Struct, frozen=True, gc=False):
    reason: str = ""


class _Terminated(msgspec.Struct, frozen=True, gc=False):
    exitCode: int = 0
    reason: str = ""
    containerID: str = ""


class _State(msgspec.Struct, frozen=True, gc=False):
    running: _Running | None = None
    waiting: _Waiting | None = None
    terminated: _Terminated | None = None


class ContainerStatus(msgspec.Struct, frozen=True, gc=False):
    name: str = ""
    restartCount: int = 0
    containerID: str = ""
    state: _State = _State()
    lastState: _State = _State()

    @property
    def running(self) -> bool:
        return self.state.running is not None

    @property
    def started(self) -> bool:
        """Has (or had) a container whose logs can be read."""
        return bool(self.containerID) or self.state.running is not None or self.state.terminated is not None \
            or self.lastState.terminated is not None or self.restartCount > 0


class _Meta(msgspec.Struct, frozen=True, gc=False):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    deletionTimestamp: str | None = None


class _Spec(msgspec.Struct, frozen=True, gc=False):
    containers: tuple[_Named, ...] = ()
    initContainers: tuple[_Named, ...] = ()
    nodeName: str = ""


class _Status(msgspec.Struct, frozen=True, gc=False):
    phase: str = ""
    containerStatuses: tuple[ContainerStatus, ...] = ()
    initContainerStatuses: tuple[ContainerStatus, ...] = ()


class LogPod(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    spec: _Spec = _Spec()
    status: _Status = _Status()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"

    def containers(self, only: str = "") -> list[tuple[str, ContainerStatus]]:
        """(name, status) of the containers to stream: all regular ones, or just `only` (init ones too then)."""
        statuses = {s.name: s for s in (*self.status.containerStatuses, *self.status.initContainerStatuses)}
        names = [c.name for c in self.spec.containers]
        if only:
            names = [n for n in (*names, *(c.name for c in self.spec.initContainers)) if n == only][:1]
        return [(n, statuses.get(n) or ContainerStatus(name=n)) for n in names]


class _PodList(msgspec.Struct, frozen=True, gc=False):
    metadata: ListMeta = ListMeta()
    items: list[LogPod] = []


def _pods_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods" if namespace else "/api/v1/pods"


class PodFinder:
    """Resolves a Selection to pods. `pods()` raises EcotuiError (e.g. the workload does not exist)."""

    def __init__(self, client: KubeClient, selection: Selection, *, max_pages: int = 20) -> None:
        self.client = client
        self.sel = selection
        self.max_pages = max_pages
        self._list: tuple[str, dict[str, str]] | None = None  # (path, params) once resolved
        s = selection
        if s.pods:
            self.what = f"pod {s.pods[0]}" if len(s.pods) == 1 else f"{len(s.pods)} pods"
        elif s.workload:
            self.what = f"{WORKLOADS.get(s.workload[0], (None, s.workload[0]))[1]} {s.workload[1]}"
        elif s.node:
            self.what = f"node {s.node}"
        elif s.selector:
            self.what = f"pods {s.selector}" + (f" in {s.namespace}" if s.namespace else "")
        elif s.namespace:
            self.what = f"namespace {s.namespace}"
        else:
            self.what = "nothing"

    async def _resolve(self) -> tuple[str, dict[str, str]]:
        s = self.sel
        if s.workload:
            kind, key = s.workload
            if kind not in WORKLOADS or "/" not in key:
                raise EcotuiError(f"cannot follow logs of {kind} {key!r}: not a workload this source knows")
            ns, name = key.split("/", 1)
            prefix, noun = WORKLOADS[kind]
            try:
                obj: Any = await self.client.get(f"{prefix}/namespaces/{quote(ns, safe='')}/{kind}/"
                                                 f"{quote(name, safe='')}")
            except ApiError as e:
                if e.status == 404:
                    raise EcotuiError(f"{noun} {key} not found") from None
                raise
            sel = ((obj or {}).get("spec") or {}).get("selector")
            text = selector_string(sel)
            if not text:
                raise EcotuiError(f"{noun} {key} has no pod selector")
            return _pods_path(ns), {"labelSelector": text}
        if s.node:
            return _pods_path(s.namespace), {"fieldSelector": f"spec.nodeName={s.node}"}
        if s.selector:
            return _pods_path(s.namespace), {"labelSelector": s.selector}
        if s.namespace:
            return _pods_path(s.namespace), {}
        raise EcotuiError("nothing to follow: the selection names no pods, workload, node, namespace or selector")

    async def pods(self) -> list[LogPod]:
        if self.sel.pods:
            got = await asyncio.gather(*(self._get(k) for k in self.sel.pods))
            return [p for p in got if p is not None]
        if self._list is None:
            self._list = await self._resolve()
        path, params = self._list
        out: list[LogPod] = []
        pages = 0
        async with aclosing(self.client.pages(path, _PodList, params=params)) as it:
            async for page in it:
                out.extend(page.items)
                pages += 1
                if pages >= self.max_pages:  # 20 x 500 pods: far more than the streams followed
                    break
        return out

    async def _get(self, key: str) -> LogPod | None:
        ns, _, name = key.partition("/")
        try:
            return await self.client.get(f"{_pods_path(ns)}/{quote(name, safe='')}", LogPod)
        except ApiError as e:
            if getattr(e, "status", 0) == 404:
                return None
            raise

