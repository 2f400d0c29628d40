"""Which source serves a log selection: Loki when the context has one configured and it answers (`/ready`),
else the Kubernetes API — or the one the user asked for ([logs_source] switches). A LogQL query needs Loki;
a previous container's logs need the Kubernetes API (Loki has no notion of it). The Kubernetes source runs on a
thread of its own (`kube_opened`)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.logs.kube import KubeLogSource
from ecotui.logs.loki import LokiSource
from ecotui.logs.loki_client import LokiClient, LokiConfig
from ecotui.logs.loki_query import selection_query
from ecotui.logs.model import LogSource, Selection
from ecotui.logs.offthread import ThreadedSource
from ecotui.textsafe import one_line

LOKI, KUBERNETES = "loki", "kubernetes"
READY_TIMEOUT = 2.0  # seconds to wait for Loki's /ready before using the Kubernetes API


@dataclass
class Opened:
    source: LogSource
    note: str                                   # why this source (shown once in the viewer)
    close: Callable[[], Awaitable[None]]        # release what the source holds (the Loki HTTP client)


async def _nothing() -> None:
    return None


def _read_secret(path: str | None, what: str) -> str:
    if not path:
        return ""
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as exc:
        raise EcotuiError(f"cannot read the {what} file {path}: {exc.strerror or exc}",
                          "fix the path in the config (contexts.<name>.loki_*_file)") from None


def loki_config(loki: Any) -> LokiConfig | None:
    """The context's LokiSettings → LokiConfig (None when no URL is configured)."""
    if not getattr(loki, "url", None):
        return None
    return LokiConfig(url=loki.url, token=_read_secret(loki.token_file, "Loki token"),
                      username=loki.user or "", password=_read_secret(loki.password_file, "Loki password"),
                      tenant=loki.tenant or "")


async def open_source(selection: Selection, *, loki: Any, kube_client: Any, prefer: str | None = None) -> Opened:
    """Build the source for `selection`. `prefer` = "loki" | "kubernetes" | None (automatic).
    Raises EcotuiError (one line) when the wanted source cannot serve the selection."""
    cfg = loki_config(loki)
    wants_loki = prefer == LOKI or (prefer is None and not selection.previous)
    if selection.logql and not cfg:
        raise EcotuiError("a LogQL query needs Loki, and this context has none configured",
                          "set contexts.<name>.loki_url in the config")
    if selection.previous and prefer == LOKI:
        raise EcotuiError("Loki has no previous container: previous logs come from the Kubernetes API")
    if cfg is not None and (wants_loki or selection.logql):
        try:
            query = selection_query(selection)
        except ValueError as exc:
            if prefer == LOKI or selection.logql:
                raise EcotuiError(f"cannot ask Loki for this: {exc}") from None
            query = ""
        if query:
            client = LokiClient(cfg)
            try:
                ready = await asyncio.wait_for(client.ready(), READY_TIMEOUT)
            except (asyncio.TimeoutError, EcotuiError, OSError):
                ready = False
            await client.aclose()    # its connections belong to this loop; the source gets a client of its own
            if ready or prefer == LOKI or selection.logql:
                note = "" if ready else f"Loki at {cfg.url} is not ready yet: retrying"
                return loki_opened(cfg, query, selection, note)
            fallback = f"Loki at {one_line(cfg.url, 80)} does not answer: using the Kubernetes API"
        else:
            fallback = "this selection cannot be written in LogQL: using the Kubernetes API"
    else:
        fallback = "" if cfg is None or selection.previous else "using the Kubernetes API"
    if kube_client is None:
        raise EcotuiError("this session cannot stream logs from the Kubernetes API")
    return kube_opened(kube_client, selection, fallback)


def loki_opened(cfg: LokiConfig, query: str, selection: Selection, note: str = "") -> Opened:
    """The Loki source on a thread of its own, like the Kubernetes one (`kube_opened`): at 50k+ lines/s its
    frame decoding and de-dup would otherwise share the UI loop with key handling. Its LokiClient makes its
    httpx client and WebSocket on first use, i.e. on that thread's loop, and is closed there."""
    client = LokiClient(cfg)
    source = ThreadedSource(LokiSource(client, query, since_s=selection.since_s, follow=selection.follow),
                            on_close=client.aclose)
    return Opened(source, note, source.aclose)


def kube_opened(kube_client: Any, selection: Selection, note: str = "") -> Opened:
    """The Kubernetes source on a thread of its own (`offthread.ThreadedSource`): its own event loop and its
    own KubeClient (`kube_client.sibling()`, credentials still loaded on this loop), closed on that thread when
    the source stops; `close` waits for the thread. The UI loop only receives the coalesced batches."""
    client = kube_client.sibling()
    source = ThreadedSource(KubeLogSource(client, selection), on_close=client.aclose)
    return Opened(source, note, source.aclose)
