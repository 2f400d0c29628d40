"""Fixtures for the data-layer tests: a fake API server on 127.0.0.1 and kubeconfigs pointing at it."""
from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest_asyncio
import yaml

sys.path.insert(0, os.path.dirname(__file__))

from fake_apiserver import FakeApiServer  # noqa: E402

from ecotui.kube.auth import Authenticator  # noqa: E402
from ecotui.kube.client import KubeClient  # noqa: E402
from ecotui.kube.informer import Timing  # noqa: E402
from ecotui.kube.kubeconfig import load_kubeconfig  # noqa: E402

FAST = Timing(watch_timeout=(5, 5), conn_backoff=(0.05, 0.2), throttle_backoff=(0.05, 0.2), error_retry=0.3,
              stale_after=0.5, very_short_watch=0.05)


@pytest_asyncio.fixture
async def api():
    srv = await FakeApiServer().start()
    try:
        yield srv
    finally:
        await srv.stop()


def write_kubeconfig(path: Path, server: str, *, user: dict[str, Any] | None = None,
                     cluster: dict[str, Any] | None = None, namespace: str | None = None) -> str:
    ctx: dict[str, Any] = {"cluster": "fake", "user": "tester"}
    if namespace:
        ctx["namespace"] = namespace
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
           "clusters": [{"name": "fake", "cluster": {"server": server, **(cluster or {})}}],
           "users": [{"name": "tester", "user": user if user is not None else {"token": "t0"}}],
           "contexts": [{"name": "fake", "context": ctx}]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def make_client(kubeconfig: str, clock: Callable[[], float] = time.time) -> KubeClient:
    r = load_kubeconfig(kubeconfig).resolve()
    return KubeClient(r.cluster, Authenticator(r.user, r.cluster, clock=clock))


async def wait_for(cond: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
