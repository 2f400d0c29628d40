"""The log generator's view of the cluster: Running pods by app from the Kubernetes API (a kubeconfig's current
context), for attributing each generated line to a pod round-robin (testbed/loggen.py)."""
from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from .incident import SERVICES


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    app: str
    node: str
    container: str


class KubeTarget:
    """Server URL + TLS/auth from a kubeconfig (current context). File paths preferred; *-data also accepted."""

    def __init__(self, path: str | Path):
        path = Path(path)
        try:
            cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            ctx_name = cfg.get("current-context")
            ctx = next(c["context"] for c in cfg.get("contexts", []) if c.get("name") == ctx_name)
            cluster = next(c["cluster"] for c in cfg.get("clusters", []) if c.get("name") == ctx["cluster"])
            user = next((u.get("user") or {} for u in cfg.get("users", []) if u.get("name") == ctx.get("user")), {})
            self.server = str(cluster["server"]).rstrip("/")
        except (OSError, yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"cannot use kubeconfig {path}: {type(exc).__name__}: {exc}") from None
        self._dir = path.parent
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.headers: dict[str, str] = {}
        token = user.get("token")
        if not token and user.get("tokenFile"):
            token = self._file(user["tokenFile"]).read_text().strip()
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.verify: ssl.SSLContext | bool = False
        if self.server.startswith("https://"):
            ctx_ssl = ssl.create_default_context()
            if cluster.get("insecure-skip-tls-verify"):
                ctx_ssl.check_hostname = False
                ctx_ssl.verify_mode = ssl.CERT_NONE
            elif cluster.get("certificate-authority"):
                ctx_ssl.load_verify_locations(cafile=str(self._file(cluster["certificate-authority"])))
            elif cluster.get("certificate-authority-data"):
                ctx_ssl.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
            cert = self._material(user, "client-certificate")
            key = self._material(user, "client-key")
            if cert and key:
                ctx_ssl.load_cert_chain(cert, key)
            self.verify = ctx_ssl

    def _file(self, p: str) -> Path:
        q = Path(os.path.expanduser(p))
        return q if q.is_absolute() else self._dir / q

    def _material(self, user: dict, name: str) -> str | None:
        if user.get(name):
            return str(self._file(user[name]))
        if user.get(f"{name}-data"):
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="loggen-tls-")
            out = Path(self._tmp.name) / name
            out.write_bytes(base64.b64decode(user[f"{name}-data"]))
            return str(out)
        return None

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.server, verify=self.verify, headers=self.headers, timeout=10.0)


def _pod_ref(item: dict) -> PodRef | None:
    md, spec = item.get("metadata") or {}, item.get("spec") or {}
    if md.get("deletionTimestamp") or (item.get("status") or {}).get("phase") != "Running":
        return None
    app = (md.get("labels") or {}).get("app")
    containers = spec.get("containers") or [{}]
    if not app or not md.get("name"):
        return None
    container = app if app in SERVICES else (containers[0].get("name") or app)
    return PodRef(md.get("namespace", "default"), md["name"], app, spec.get("nodeName") or "", container)


class PodDirectory:
    """Running pods by app, refreshed from the API; round-robin attribution for service lines."""

    def __init__(self, max_pages: int = 10):
        self.by_app: dict[str, list[PodRef]] = {}
        self.others: list[PodRef] = []
        self.max_pages = max_pages
        self._rr: dict[str, int] = {}

    async def _list(self, client: httpx.AsyncClient, selector: str, pages: int) -> list[PodRef]:
        out, cont = [], None
        for _ in range(pages):
            params = {"labelSelector": selector, "fieldSelector": "status.phase=Running", "limit": "500"}
            if cont:
                params["continue"] = cont
            r = await client.get("/api/v1/pods", params=params)
            r.raise_for_status()
            body = r.json()
            out += [p for p in map(_pod_ref, body.get("items") or []) if p]
            cont = (body.get("metadata") or {}).get("continue")
            if not cont:
                break
        return out

    async def refresh(self, client: httpx.AsyncClient) -> None:
        names = ",".join(SERVICES)
        mine = await self._list(client, f"app in ({names})", self.max_pages)
        others = await self._list(client, f"app,app notin ({names})", 1)
        by_app: dict[str, list[PodRef]] = {}
        for p in sorted(mine, key=lambda p: (p.namespace, p.name)):
            by_app.setdefault(p.app, []).append(p)
        self.by_app, self.others = by_app, others

    def next_pod(self, app: str) -> PodRef | None:
        pods = self.by_app.get(app)
        if not pods:
            return None
        i = self._rr.get(app, 0)
        self._rr[app] = i + 1
        return pods[i % len(pods)]
