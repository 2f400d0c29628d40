"""One cache per kind kept in sync with LIST + WATCH: a port of client-go's Reflector (research/clients.md §2).

- LIST in pages of 500 (`initial_rv` "" for pods/events, a consistent paged read; "0" for small kinds,
  served by the API server's watch cache). The first LIST of an empty cache publishes each page as it
  arrives (snapshots with `synced=False`), so the UI fills while the rest is still on its way; every later
  LIST is applied at once when complete.
- WATCH from the list's resourceVersion with allowWatchBookmarks and a random timeoutSeconds in 300–600 s.
  ADDED/MODIFIED upsert, DELETED removes, BOOKMARK only advances the resourceVersion. A clean end of the
  stream re-watches from the last resourceVersion; a watch that ends in under 1 s with no events backs off.
- 410 Gone / Expired (the HTTP status of the watch or an in-stream ERROR event) re-lists at the last
  resourceVersion with resourceVersionMatch=NotOlderThan; if that is refused too (410, or "too large
  resource version"), re-lists with resourceVersion "". Every re-list *replaces* the cache, so objects
  deleted while we were not watching disappear, and nothing is duplicated (`last_resync` has the diff).
- A continue token that expires in the middle of a paged LIST (410 Expired: the list took longer than etcd
  keeps history) re-lists from scratch with resourceVersion "" in one unpaged request, like client-go's
  pager (FullListIfExpired); the "inconsistent" continue token offered with the error is never used.
- 429: back off 0.8 s doubling to 30 s with jitter, or what Retry-After says. Connection errors and 5xx:
  0.5 s doubling to 4 s, so we are back within a few seconds of the API server. 401/403 and other
  permanent errors: state ERROR with the message, retried every 30 s.

Connection states: CONNECTING until the first page of the first LIST, LIVE after it (and again whenever a
list or watch succeeds), RECONNECTING(since = when it broke) on failures, STALE(since) once that has lasted
`stale_after` seconds with data in the cache, ERROR(message) for auth/RBAC/other permanent errors.

`snapshot()` copies the cache only if it changed since the last call, never per event.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from contextlib import aclosing
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Generic, Mapping, Protocol, TypeVar

import msgspec

from ..errors import ApiError, ConnectError, EcotuiError
from .backoff import Backoff
from .client import HttpStatusError, KubeClient
from .models import ObjectMeta, Status
from ..textsafe import one_line
from .store import Connection, ConnState, Snapshot


class _Cached(Protocol):
    """What an informer caches: any object with metadata (a msgspec struct of models.py)."""

    @property
    def metadata(self) -> ObjectMeta: ...


T = TypeVar("T", bound=_Cached)
log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # never let logging's last-resort handler write over the TUI
_versions = itertools.count(1)  # shared by all informers: versions never repeat across informers


def next_version() -> int:
    """A new number from the counter all informers use (for callers that add their own changes)."""
    return next(_versions)


@dataclass(frozen=True)
class Timing:
    watch_timeout: tuple[int, int] = (300, 600)  # random timeoutSeconds of each watch
    conn_backoff: tuple[float, float] = (0.5, 4.0)  # connection errors, 5xx, very short watches
    throttle_backoff: tuple[float, float] = (0.8, 30.0)  # 429 without Retry-After
    max_retry_after: float = 60.0
    error_retry: float = 30.0  # 401/403/other permanent errors
    stale_after: float = 15.0
    very_short_watch: float = 1.0


class _Bookmark(msgspec.Struct, gc=False):
    metadata: ObjectMeta = ObjectMeta()


_decode_bookmark = msgspec.json.Decoder(_Bookmark).decode
_decode_status = msgspec.json.Decoder(Status).decode


class _Expired(Exception):
    """The watch's resourceVersion is too old (410): re-list."""


class _ShortWatch(Exception):
    pass


@dataclass(frozen=True)
class Resync:
    """What the last LIST changed in the cache."""

    added: int
    modified: int
    deleted: int


class _Newest:
    """Keeps only the `limit` newest items of a dict (by `order`), O(log n) per change."""

    def __init__(self, limit: int, order: Callable[[Any], Any]) -> None:
        self.limit, self.order = limit, order
        self._heap: list[tuple[Any, int, str]] = []
        self._entry: dict[str, tuple[Any, int, str]] = {}
        self._seq = itertools.count()

    def touch(self, key: str, obj: Any) -> None:
        e = (self.order(obj), next(self._seq), key)
        self._entry[key] = e
        heapq.heappush(self._heap, e)

    def forget(self, key: str) -> None:
        self._entry.pop(key, None)

    def trim(self, items: dict[str, Any]) -> None:
        while len(items) > self.limit and self._heap:
            e = heapq.heappop(self._heap)
            if self._entry.get(e[2]) is e:
                del self._entry[e[2]]
                items.pop(e[2], None)
        if len(self._heap) > 2 * self.limit + 64:
            self._heap = list(self._entry.values())
            heapq.heapify(self._heap)

    def reset(self, items: dict[str, Any]) -> None:
        self._heap, self._entry = [], {}
        for k, v in items.items():
            self.touch(k, v)
        self.trim(items)


class Informer(Generic[T]):
    """LIST+WATCH one kind at `path` into a dict keyed "namespace/name" (or "name" if not namespaced)."""

    def __init__(self, client: KubeClient, kind: str, path: str, list_type: type, item_type: type[T], *,
                 namespaced: bool = True, initial_rv: str = "0", params: Mapping[str, str] | None = None,
                 max_items: int | None = None, order_key: Callable[[T], Any] | None = None,
                 convert: Callable[[Any], T] | None = None,
                 timing: Timing = Timing(), clock: Callable[[], float] = time.time) -> None:
        self.client, self.kind, self.path = client, kind, path
        self._convert = convert  # wire item -> cached item (e.g. a Secret without its values)
        self._list_type, self._namespaced, self._initial_rv = list_type, namespaced, initial_rv
        self._params = dict(params or {})
        self._decode_item = msgspec.json.Decoder(item_type).decode
        self._newest = _Newest(max_items, order_key or (lambda o: "")) if max_items else None
        self.timing, self._clock = timing, clock
        self._conn_bo = Backoff(*timing.conn_backoff)
        self._throttle_bo = Backoff(*timing.throttle_backoff, jitter=0.5)
        self._items: dict[str, T] = {}
        self._data_version = self._conn_version = next(_versions)
        self._snap: Snapshot[T] | None = None
        self._synced = False
        self._state, self._since, self._message = ConnState.CONNECTING, clock(), ""
        self.resource_version = ""
        self._expired_streak = 0
        self.last_resync: Resync | None = None
        self.stats = {"lists": 0, "watches": 0, "events": 0, "expired": 0, "failures": 0}

    # ---- what the session reads ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    @property
    def synced(self) -> bool:
        return self._synced

    @property
    def version(self) -> int:
        return max(self._data_version, self._conn_version)

    @property
    def connection(self) -> Connection:
        if (self._state is ConnState.RECONNECTING and self._synced
                and self._clock() - self._since >= self.timing.stale_after):
            return Connection(ConnState.STALE, self._since, self._message)
        return Connection(self._state, self._since, self._message)

    def snapshot(self) -> Snapshot[T]:
        snap = self._snap
        if snap is None or snap.version != self._data_version:
            snap = self._snap = Snapshot(self.kind, MappingProxyType(dict(self._items)), self._data_version,
                                         self._synced)
        return snap

    # ---- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        need_list, mode = True, "initial"  # initial | at_rv | fresh | full
        while True:
            try:
                if need_list:
                    await self._list(mode)
                    need_list = False
                await self._watch()
                continue
            except asyncio.CancelledError:
                raise
            except _Expired:
                self.stats["expired"] += 1
                need_list, mode = True, "at_rv"
                self._expired_streak += 1
                if self._expired_streak == 1:
                    continue  # re-list at once; expiring again right after a re-list means back off
                delay = self._conn_bo.next()
            except _ShortWatch:
                delay = self._conn_bo.next()
            except HttpStatusError as e:
                if need_list and mode == "at_rv" and (e.status == 410 or _too_large_rv(e)):
                    mode = "fresh"  # the RV is unusable even for a list: consistent read from etcd
                    continue
                if need_list and e.status == 410:  # a continue token expired: the paged list took longer
                    if mode != "full":          # than etcd keeps history. Like client-go's pager, list again
                        mode = "full"           # from scratch in one piece (nothing left to expire)
                        continue
                    delay = self._conn_bo.next()
                else:
                    delay = self._failed(e)
            except EcotuiError as e:
                if isinstance(e, ApiError) and e.status == 200:  # malformed JSON: rebuild the cache
                    need_list, mode = True, ("at_rv" if self.resource_version else mode)
                delay = self._failed(e)
            except Exception as e:  # a bug must not silently kill the informer
                log.warning("%s informer: unexpected error", self.kind, exc_info=True)
                need_list, mode = True, ("at_rv" if self.resource_version else mode)
                delay = self._failed(ConnectError(f"{type(e).__name__}: {one_line(str(e), 200)}"))
            await asyncio.sleep(delay)

    def _failed(self, e: EcotuiError) -> float:
        """Record a failure in the connection state; return how long to wait before trying again."""
        self.stats["failures"] += 1
        msg = f"{self.kind}: {e.message}"
        t = self.timing
        status = getattr(e, "status", 0)
        if isinstance(e, ConnectError) or status >= 500:
            self._set_state(ConnState.RECONNECTING, msg)
            return self._conn_bo.next()
        if status == 429:
            self._set_state(ConnState.RECONNECTING, msg)
            ra = getattr(e, "retry_after", None)
            return min(ra, t.max_retry_after) if ra is not None and ra >= 0 else self._throttle_bo.next()
        self._set_state(ConnState.ERROR, msg)  # 401, 403, 404, bad config...
        return t.error_retry

    def _set_state(self, state: ConnState, message: str = "") -> None:
        if state is self._state and message == self._message:
            return
        if state is not self._state:
            self._since = self._clock()
        self._state, self._message = state, message
        self._conn_version = next(_versions)

    def _key(self, meta: ObjectMeta) -> str:
        return f"{meta.namespace}/{meta.name}" if self._namespaced else meta.name

    # ---- list ---------------------------------------------------------------------------------

    async def _list(self, mode: str) -> None:
        params = dict(self._params)
        limit: int | None = 500
        if mode == "at_rv" and self.resource_version:
            params["resourceVersion"] = self.resource_version
            params["resourceVersionMatch"] = "NotOlderThan"
            limit = None  # served whole from the watch cache
        elif mode == "initial" and self._initial_rv:
            params["resourceVersion"] = self._initial_rv
        elif mode == "full":
            limit = None  # after an expired continue token: one consistent read, no token to expire
        old = self._items
        if mode == "initial" and not old and not self._synced and self._newest is None and limit:
            new, rv = await self._list_progressively(params, limit)
        else:
            items, rv = await self.client.list(self.path, self._list_type, params=params, limit=limit)
            conv = self._convert
            new = {self._key(o.metadata): (conv(o) if conv else o) for o in items}
            del items
        self.stats["lists"] += 1
        if self._newest is not None:
            self._newest.reset(new)
        added = sum(1 for k in new if k not in old)
        deleted = sum(1 for k in old if k not in new)
        modified = sum(1 for k, o in new.items() if k in old
                       and old[k].metadata.resourceVersion != o.metadata.resourceVersion)
        self.last_resync = Resync(added, modified, deleted)
        self._items = new
        self.resource_version = rv
        if added or modified or deleted or not self._synced:
            self._synced = True
            self._data_version = next(_versions)
        self._set_state(ConnState.LIVE)  # backoffs are reset only by a healthy watch

    async def _list_progressively(self, params: dict[str, str], limit: int) -> tuple[dict[str, T], str]:
        """The paged LIST of an empty cache, each page published as it arrives (the cache is the partial
        result; if a page fails, the next LIST replaces it whole)."""
        new: dict[str, T] = {}
        self._items = new
        rv = ""
        conv = self._convert
        async with aclosing(self.client.pages(self.path, self._list_type, params=params, limit=limit)) as pages:
            async for page in pages:  # a *List struct
                for o in page.items:
                    new[self._key(o.metadata)] = conv(o) if conv else o
                self._data_version = next(_versions)
                self._set_state(ConnState.LIVE)  # the server answers and lets us list
                rv = page.metadata.resourceVersion
        return new, rv

    # ---- watch --------------------------------------------------------------------------------

    async def _watch(self) -> None:
        params = {**self._params, "resourceVersion": self.resource_version, "allowWatchBookmarks": "true"}
        started, count, established = self._clock(), 0, False
        try:
            async with self.client.watch(self.path, params=params,
                                         timeout_seconds=random.randint(*self.timing.watch_timeout)) as events:
                established = True
                self.stats["watches"] += 1
                self._set_state(ConnState.LIVE)
                async with aclosing(events):
                    async for ev in events:
                        count += 1
                        self._apply(ev.type, ev.object)
                        self._expired_streak = 0
        except HttpStatusError as e:
            if e.status == 410:
                raise _Expired() from None
            raise
        except ConnectError:
            if established and (count or self._clock() - started >= self.timing.very_short_watch):
                return  # a healthy stream broke: re-watch at once (if that fails, it backs off)
            raise
        if count or self._clock() - started >= self.timing.very_short_watch:
            self._conn_bo.reset()
            self._throttle_bo.reset()
            self._expired_streak = 0
        else:
            raise _ShortWatch()

    def _apply(self, type_: str, raw: msgspec.Raw) -> None:
        try:
            if type_ == "BOOKMARK":
                rv = _decode_bookmark(raw).metadata.resourceVersion
                if rv:
                    self.resource_version = rv
                return
            if type_ == "ERROR":
                st = _decode_status(raw)
                if st.code == 410 or st.reason in ("Expired", "Gone"):
                    raise _Expired()
                raise HttpStatusError(f"{self.client.server}: watch of {self.kind} failed: "
                                      f"{one_line(st.message, 200) or st.reason or st.code}",
                                      status=st.code or 500, reason=st.reason)
            obj = self._decode_item(raw)
            if self._convert is not None:
                obj = self._convert(obj)
        except msgspec.DecodeError as e:
            raise ApiError(f"{self.client.server}: malformed {type_} event in the {self.kind} watch: "
                           f"{one_line(str(e), 120)}", status=200) from None
        meta: ObjectMeta = obj.metadata
        key = self._key(meta)
        if type_ == "DELETED":
            self._items.pop(key, None)
            if self._newest is not None:
                self._newest.forget(key)
        elif type_ in ("ADDED", "MODIFIED"):
            self._items[key] = obj
            if self._newest is not None:
                self._newest.touch(key, obj)
                self._newest.trim(self._items)
        else:
            return
        if meta.resourceVersion:
            self.resource_version = meta.resourceVersion
        self.stats["events"] += 1
        self._data_version = next(_versions)


def _too_large_rv(e: HttpStatusError) -> bool:
    return e.status == 504 and "too large resource version" in e.message.lower()
