"""Carrying out a DrainPlan the way `kubectl drain` does (pkg/drain/drain.go), with live progress and cancel.

1. Cordon: GET the node (gone or re-created since the plan: stop); unless already unschedulable, PATCH it
   with the strategic merge patch `{"spec":{"unschedulable":true}}`.
2. Evict every planned pod at once (requests in flight bounded by `MAX_IN_FLIGHT`). Per pod: GET it first
   (404 or another UID: it is gone; never a pod of another node), then POST a policy/v1 Eviction (with the
   pod's UID as a precondition). 200: wait for the deletion; 404: done; 429 (a PDB allows no disruption, or
   throttling): retry after `retry_delay` (kubectl's 5 s) showing the API's message; 403 in a terminating
   namespace: retry; anything else fails that pod (the others go on). Connection errors: retry with a
   0.5–2 s backoff until the drain's deadline.
3. Wait: GET the pod every 0.25 s (0.5 s after 5 s) until 404 or a new UID (kubectl polls every 1 s).
A watcher GETs the node every second: deleted (or re-created) during the drain stops it with a clear line.
The deadline (`timeout`, the whole drain), `cancel()`, or the node's deletion stop the run; the node stays
cordoned and `run()` returns a failed / cancelled Outcome saying what was evicted and what blocks (the PDBs
by name). All in the caller's event loop; no threads.
"""
from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

from ecotui.errors import ConnectError, EcotuiError, ForbiddenError
from ecotui.kube.client import HttpStatusError
from ecotui.ops.api import STRATEGIC, KubeAPI
from ecotui.ops.drain_types import (MIRROR_ANNOTATION, DrainOptions, DrainPodList, DrainProgress, PodProgress,
                                    PodRef, controller_of, selector_matches, short_error)
from ecotui.ops.outcome import Outcome, Target

if TYPE_CHECKING:
    from ecotui.ops.drain import DrainPlan

PENDING, EVICTING, RETRYING, DELETING, EVICTED, FAILED = (
    "pending", "evicting", "retrying", "deleting", "evicted", "failed")
DONE_STATES = (EVICTED, FAILED)
MAX_IN_FLIGHT = 32          # requests in flight at once
REQUEST_TIMEOUT = 10.0      # per request (the client's default is 30 s)
NODE_CHECK_EVERY = 1.0


class _Row:
    __slots__ = ("key", "state", "message", "attempts", "labels", "throttled")

    def __init__(self, key: str) -> None:
        self.key, self.state, self.message, self.attempts = key, PENDING, "", 0
        self.labels: dict[str, str] = {}
        self.throttled = False      # the last eviction answer was 429


def _pdb_matches(pdb: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector_matches((pdb.get("spec") or {}).get("selector"), labels)


_short = short_error


class DrainRun:
    def __init__(self, api: KubeAPI, plan: DrainPlan, opts: DrainOptions) -> None:
        self.api, self.plan, self.opts = api, plan, opts
        self.node = plan.node
        self._rows = {r.key: _Row(r.key) for r in plan.evict}
        self._phase = "planning"
        self._message = ""
        self._t0: float | None = None
        self._t1: float | None = None
        self._version = 0
        self._cached: tuple[int, tuple[PodProgress, ...], tuple[tuple[str, int], ...]] | None = None
        self._cancelled = False
        self._cordoned = False
        self._node_gone = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._sem = asyncio.Semaphore(MAX_IN_FLIGHT)

    # ---- what the UI calls ----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the drain (from the loop or any thread); run() returns a cancelled Outcome promptly."""
        self._cancelled = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)

    def snapshot(self) -> DrainProgress:
        if self._cached is None or self._cached[0] != self._version:
            rows = tuple(PodProgress(r.key, r.state, r.message, r.attempts) for r in self._rows.values())
            n: dict[str, int] = {}
            for r in rows:
                n[r.state] = n.get(r.state, 0) + 1
            order = (PENDING, EVICTING, RETRYING, DELETING, EVICTED, FAILED)
            self._cached = (self._version, rows, tuple((s, n[s]) for s in order if s in n))
        _, rows, counts = self._cached
        return DrainProgress(self.node, self._phase, rows, counts, self._elapsed(), self._message,
                             len(self.plan.skipped))

    # ---- internals --------------------------------------------------------------------------------------

    def _elapsed(self) -> float:
        if self._t0 is None:
            return 0.0
        return (self._t1 or time.monotonic()) - self._t0

    def _set(self, row: _Row, state: str, message: str = "") -> None:
        row.state, row.message = state, message
        self._version += 1

    def _status(self, phase: str | None = None, message: str | None = None) -> None:
        if phase is not None:
            self._phase = phase
        if message is not None:
            self._message = message
        self._version += 1

    async def _req(self, method: str, path: str, **kw: Any) -> Any:
        async with self._sem:
            return await self.api.request(method, path, timeout=REQUEST_TIMEOUT, **kw)

    @staticmethod
    def _backoff(delay: float) -> float:
        return min(2.0, delay * 2)

    async def _cordon(self) -> str:
        """'' when the node is cordoned, else why the drain cannot go on."""
        assert self._stop is not None
        delay = 0.5
        while not self._stop.is_set():
            try:
                node = await self._req("GET", f"/api/v1/nodes/{self.node}") or {}
                uid = (node.get("metadata") or {}).get("uid", "")
                if self.plan.node_uid and uid != self.plan.node_uid:
                    return f"node {self.node} was re-created since the plan: plan the drain again"
                if not (node.get("spec") or {}).get("unschedulable"):
                    await self._req("PATCH", f"/api/v1/nodes/{self.node}", json={"spec": {"unschedulable": True}},
                                    content_type=STRATEGIC)
                self._cordoned = True
                return ""
            except HttpStatusError as e:
                if e.status == 404:
                    self._node_gone = f"node {self.node} not found"
                    return self._node_gone
                return f"cordon {self.node} failed: {_short(e)}"
            except ConnectError as e:
                self._status(message=f"API server unreachable, retrying: {_short(e)}")
                await self._pause(delay)
                delay = self._backoff(delay)
            except EcotuiError as e:
                return f"cordon {self.node} failed: {_short(e)}"
        return ""

    async def _pause(self, seconds: float) -> None:
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _watch_node(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            await asyncio.sleep(NODE_CHECK_EVERY)
            try:
                node = await self.api.request("GET", f"/api/v1/nodes/{self.node}", timeout=5.0) or {}
            except HttpStatusError as e:
                if e.status == 404:
                    self._node_gone = f"node {self.node} was deleted during the drain"
                    self._stop.set()
                continue
            except EcotuiError:
                continue
            uid = (node.get("metadata") or {}).get("uid", "")
            if self.plan.node_uid and uid and uid != self.plan.node_uid:
                self._node_gone = f"node {self.node} was deleted and re-created during the drain"
                self._stop.set()

    async def _pod(self, ref: PodRef) -> None:
        row = self._rows[ref.key]
        try:
            if await self._evict(ref, row):
                await self._wait_gone(ref, row)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - one pod's surprise must not take the drain down
            self._set(row, FAILED, f"internal error: {type(e).__name__}: {e}")

    async def _evict(self, ref: PodRef, row: _Row) -> bool:
        """Send the eviction until accepted; True: wait for the pod to go, False: this pod is finished."""
        path = f"/api/v1/namespaces/{ref.namespace}/pods/{ref.name}"
        delete_opts: dict[str, Any] = {"preconditions": {"uid": ref.uid}}
        if self.opts.grace_period >= 0:
            delete_opts["gracePeriodSeconds"] = self.opts.grace_period
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": ref.name, "namespace": ref.namespace}, "deleteOptions": delete_opts}
        delay = 0.5
        while True:
            try:  # re-check before every attempt: gone, replaced, or (never) on another node
                pod = await self._req("GET", path) or {}
                meta = pod.get("metadata") or {}
                row.labels = dict(meta.get("labels") or {})
                if meta.get("uid") != ref.uid:
                    self._set(row, EVICTED, "gone (a new pod of the same name replaced it)")
                    return False
                on = (pod.get("spec") or {}).get("nodeName", "")
                if on != self.node:
                    self._set(row, FAILED, f"now on node {on!r}, not {self.node}: not touched")
                    return False
                if meta.get("deletionTimestamp"):
                    return True
                self._set(row, EVICTING, row.message if row.state == RETRYING else "")
                row.attempts += 1
                await self._req("POST", f"{path}/eviction", json=body)
                row.throttled = False
                return True
            except HttpStatusError as e:
                if e.status == 404:
                    self._set(row, EVICTED, "gone")
                    return False
                if e.status == 429:
                    row.throttled = True
                    pdbs = f" (PDB {', '.join(ref.pdbs)})" if ref.pdbs else ""
                    self._set(row, RETRYING, f"{_short(e)}{pdbs}; retrying in {self.opts.retry_delay:g}s")
                    await asyncio.sleep(self.opts.retry_delay)
                    continue
                if e.status == 409:  # the UID precondition or a conflict: look again
                    self._set(row, RETRYING, f"{_short(e)}; checking the pod again")
                    await asyncio.sleep(min(1.0, self.opts.retry_delay))
                    continue
                self._set(row, FAILED, f"error when evicting: {_short(e)}")
                return False
            except ForbiddenError as e:
                if "being terminated" in e.message:  # NamespaceTerminating: kubectl retries
                    self._set(row, RETRYING, f"{_short(e)}; retrying in {self.opts.retry_delay:g}s")
                    await asyncio.sleep(self.opts.retry_delay)
                    continue
                self._set(row, FAILED, f"error when evicting: {_short(e)}")
                return False
            except ConnectError as e:
                self._set(row, RETRYING, f"API server unreachable, retrying: {_short(e)}")
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = self._backoff(delay)
            except EcotuiError as e:  # read-only, malformed answers ...
                self._set(row, FAILED, f"error when evicting: {_short(e)}")
                return False

    async def _wait_gone(self, ref: PodRef, row: _Row) -> None:
        path = f"/api/v1/namespaces/{ref.namespace}/pods/{ref.name}"
        self._set(row, DELETING, "eviction accepted; waiting for the pod to go")
        start = time.monotonic()
        while True:
            try:
                pod = await self._req("GET", path) or {}
                if (pod.get("metadata") or {}).get("uid") != ref.uid:
                    self._set(row, EVICTED, "evicted")
                    return
                if row.message != "eviction accepted; waiting for the pod to go":
                    self._set(row, DELETING, "eviction accepted; waiting for the pod to go")
            except HttpStatusError as e:
                if e.status == 404:
                    self._set(row, EVICTED, "evicted")
                    return
                self._set(row, DELETING, f"waiting for the pod to go: {_short(e)}")
            except EcotuiError as e:
                self._set(row, DELETING, f"waiting for the pod to go; API server unreachable: {_short(e)}")
            await asyncio.sleep(0.25 if time.monotonic() - start < 5 else 0.5)

    # ---- run ------------------------------------------------------------------------------------------

    async def run(self) -> Outcome:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._cancelled:
            self._stop.set()
        self._t0 = time.monotonic()
        if self.plan.preview.blocked:
            return self._finish("failed", f"drain of {self.node} not started: {self.plan.preview.blocked}")
        deadline = self._t0 + self.opts.timeout if self.opts.timeout > 0 else None
        self._status("cordoning", f"cordoning {self.node}")
        try:
            why = await asyncio.wait_for(self._cordon(), None if deadline is None else deadline - time.monotonic())
        except asyncio.TimeoutError:
            why = f"cordon {self.node} timed out after {self.opts.timeout:g}s (API server unreachable)"
        if self._cancelled:
            return self._finish("cancelled", f"drain of {self.node} cancelled before any eviction"
                                             + ("; node stays cordoned" if self._cordoned else ""))
        if why:
            return self._finish("failed", why)
        self._status("evicting", f"evicting {len(self._rows)} pod(s) from {self.node}")
        tasks = [asyncio.create_task(self._pod(ref)) for ref in self.plan.evict]
        watcher = asyncio.create_task(self._watch_node())
        stopper: asyncio.Future[Any] = asyncio.create_task(self._stop.wait())
        everything: asyncio.Future[Any] = asyncio.gather(*tasks)
        timed_out = False
        try:
            done, _ = await asyncio.wait({everything, stopper}, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            timed_out = not done
        finally:
            for t in (*tasks, watcher, stopper):
                t.cancel()
            await asyncio.gather(everything, watcher, stopper, return_exceptions=True)
        return await self._conclude(timed_out)

    async def _conclude(self, timed_out: bool) -> Outcome:
        rows = list(self._rows.values())
        evicted = [r for r in rows if r.state == EVICTED]
        failed = [r for r in rows if r.state == FAILED]
        left = [r for r in rows if r.state not in DONE_STATES]
        tally = f"{len(evicted)} of {len(rows)} pod(s) evicted"
        if self._node_gone:
            return self._finish("failed", f"{self._node_gone}: {tally}, {len(left)} not; its remaining pods are "
                                          "removed by the control plane's pod garbage collector")
        if self._cancelled:
            return self._finish("cancelled", f"drain of {self.node} cancelled: {tally}; node stays cordoned "
                                             "(drain again to resume, or uncordon)")
        if timed_out:
            blocking = await self._blocking_pdbs([r for r in left if r.throttled])
            why = ""
            if blocking:
                why = "; blocked by PodDisruptionBudget " + ", ".join(
                    f"{ns}/{name} (disruptionsAllowed {n})" for ns, name, n in blocking)
            elif any("unreachable" in r.message for r in left):
                why = "; API server unreachable"
            keys = ", ".join(r.key for r in left[:5]) + (" …" if len(left) > 5 else "")
            return self._finish("failed", f"drain of {self.node} timed out after {self.opts.timeout:g}s: {tally}, "
                                          f"not evicted: {keys}{why}; node {self.node} stays cordoned",
                                blocking)
        if failed:
            first = f"{failed[0].key}: {failed[0].message}"
            return self._finish("failed", f"drain of {self.node} incomplete: {tally}, {len(failed)} failed "
                                          f"({first}); node stays cordoned")
        skipped = len(self.plan.skipped)
        late = await self._arrived_after_plan()
        if late:
            keys = ", ".join(late[:5]) + (" …" if len(late) > 5 else "")
            return self._finish("failed", f"node {self.node}: {len(evicted)} planned pod(s) evicted, but {len(late)} "
                                          f"pod(s) came after the plan and were not touched ({keys}): drain again")
        return self._finish("done", f"node {self.node} drained: {len(evicted)} pod(s) evicted"
                                    + (f", {skipped} skipped (DaemonSet/mirror)" if skipped else ""))

    async def _arrived_after_plan(self) -> list[str]:
        """Pods on the node now that the plan did not list (kubectl lists after cordoning; the plan was made
        before): not evicted, since the preview did not show them. Best effort: one LIST."""
        q = {"fieldSelector": f"spec.nodeName={self.node}"}
        if self.opts.pod_selector:
            q["labelSelector"] = self.opts.pod_selector
        try:
            items, _ = await self.api.list("/api/v1/pods", DrainPodList, params=q)
        except EcotuiError:
            return []
        planned = {r.uid for r in self.plan.evict}
        return [f"{p.metadata.namespace}/{p.metadata.name}" for p in items
                if p.spec.nodeName == self.node and p.metadata.uid not in planned and not p.metadata.deletionTimestamp
                and MIRROR_ANNOTATION not in p.metadata.annotations
                and getattr(controller_of(p), "kind", "") != "DaemonSet"]

    async def _blocking_pdbs(self, rows: list[_Row]) -> list[tuple[str, str, int]]:
        """(namespace, PDB, disruptionsAllowed now) of the PDBs selecting these pods (fresh, best effort)."""
        namespaces = sorted({r.key.split("/", 1)[0] for r in rows})
        refs = {r.key: r for r in self.plan.evict}

        async def one(ns: str) -> list[dict[str, Any]] | None:
            try:
                body = await self.api.request("GET", f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
                                              timeout=3.0)
                return list((body or {}).get("items") or [])
            except EcotuiError:
                return None
        found: dict[tuple[str, str], int] = {}
        for ns, pdbs in zip(namespaces, await asyncio.gather(*(one(ns) for ns in namespaces))):
            for r in (r for r in rows if r.key.split("/", 1)[0] == ns):
                if pdbs is None:   # cannot look: say what the plan saw
                    for name in refs[r.key].pdbs:
                        found.setdefault((ns, name), -1)
                    continue
                for pdb in pdbs:
                    if _pdb_matches(pdb, r.labels):
                        name = str((pdb.get("metadata") or {}).get("name", ""))
                        found[(ns, name)] = int((pdb.get("status") or {}).get("disruptionsAllowed") or 0)
        return [(ns, name, n) for (ns, name), n in sorted(found.items())]

    def _finish(self, phase: str, message: str, blocking: list[tuple[str, str, int]] | None = None) -> Outcome:
        self._t1 = time.monotonic()
        self._status(phase, message)
        pods: dict[str, dict[str, Any]] = {}
        for r in self._rows.values():
            state = r.state if r.state in (EVICTED, FAILED, DELETING) else PENDING
            pods[r.key] = {"state": state, "message": r.message, "attempts": r.attempts}
        details = {"node": self.node, "phase": phase, "elapsed": round(self._elapsed(), 3), "pods": pods,
                   "cordoned": self._cordoned,
                   "skipped": {s.key: s.reason for s in self.plan.skipped},
                   "blocking_pdbs": [{"namespace": ns, "name": name, "disruptionsAllowed": n}
                                     for ns, name, n in blocking or ()]}
        return Outcome("drain", phase == "done", message, (Target("nodes", self.node),), details)
