"""Log generator: per-service log files (served by KWOK as container logs) and the same lines pushed to Loki.

    python -m testbed.loggen --state-dir DIR [--loki http://127.0.0.1:33100] [--kubeconfig PATH] [--rate 4]

Every second: ~rate lines (with jitter) into DIR/logs/<service>.log for each EcoTrack service and DIR/logs/default.log
(other pods). Each line is attributed round-robin to a Running pod of that app (listed from the Kubernetes API every
10 s) and pushed to Loki about once a second with labels namespace, app, pod, container, node. Outages of the API or
Loki never stop the files; unsent lines wait in a bounded buffer (oldest dropped and counted). SIGTERM/SIGINT stop it
cleanly after a last push attempt. DIR/incident.json (testbed/incident.py) shapes the content.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import signal
import ssl
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from .incident import SERVICES, IncidentReader
from .loglines import LineFactory

NS = 1_000_000_000
PUSH_BATCH = 5000
OTHER_APPS_FALLBACK = ("postgres-primary", "redis", "promtail")


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


class LokiPusher:
    """Bounded buffer of (labels, ts, line); push() sends what it can as Loki JSON."""

    def __init__(self, url: str, max_buffer: int = 50_000):
        self.url = url.rstrip("/") + "/loki/api/v1/push"
        self.buffer: deque[tuple[tuple[tuple[str, str], ...], int, str]] = deque()
        self.max_buffer = max_buffer
        self.dropped = 0  # lost to the bound or rejected by Loki
        self.sent = 0
        self.failing: str | None = None

    def add(self, labels: dict[str, str], ts: int, line: str) -> None:
        if len(self.buffer) >= self.max_buffer:
            self.buffer.popleft()
            self.dropped += 1
        self.buffer.append((tuple(sorted((k, v) for k, v in labels.items() if v)), ts, line))

    async def push(self, client: httpx.AsyncClient) -> bool:
        """Send everything buffered in batches. False (buffer kept) when Loki is unreachable or failing."""
        while self.buffer:
            n = min(len(self.buffer), PUSH_BATCH)
            batch = [self.buffer[i] for i in range(n)]
            streams: dict[tuple, list] = {}
            for key, ts, line in batch:
                streams.setdefault(key, []).append([str(ts), line])
            body = {"streams": [{"stream": dict(k), "values": v} for k, v in streams.items()]}
            try:
                r = await client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                return self._fail(f"Loki unreachable ({type(exc).__name__}); keeping {len(self.buffer)} lines")
            if r.status_code >= 500 or r.status_code == 429:
                return self._fail(f"Loki answered {r.status_code}; keeping {len(self.buffer)} lines")
            for _ in range(n):
                self.buffer.popleft()
            if r.status_code >= 400:
                self.dropped += n
                _say(f"Loki rejected {n} lines ({r.status_code}): {r.text[:200]}")
            else:
                self.sent += n
            if self.failing:
                _say("Loki reachable again")
                self.failing = None
        return True

    def _fail(self, why: str) -> bool:
        if self.failing is None:
            _say(why)
        self.failing = why
        return False


def cri_time(ts_ns: int) -> str:
    secs, nanos = divmod(ts_ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}Z"


def _say(msg: str) -> None:
    print(f"testbed.loggen: {msg}", file=sys.stderr, flush=True)


class LogGen:
    def __init__(self, state_dir: str | Path, rate: float = 4.0, loki: str | None = None,
                 kube: KubeTarget | None = None, seed: int | None = None, max_file_bytes: int = 64 * 1024 * 1024):
        self.logs = Path(state_dir) / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.rng = random.Random(seed)
        self.lines = LineFactory(self.rng)
        self.incidents = IncidentReader(state_dir)
        self.pods = PodDirectory()
        self.pusher = LokiPusher(loki) if loki else None
        self.kube = kube
        self.max_file_bytes = max_file_bytes
        self._next_start: dict[str, float] = {}
        self.written = 0

    def _count(self, rate: float) -> int:
        return max(0, round(self.rng.gauss(rate, rate * 0.35)))

    def tick(self, now_ns: int | None = None) -> int:
        """Generate one second of lines ending at `now_ns`; write files, queue for Loki. Returns lines written."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        inc = self.incidents.current()
        total = 0
        for app in SERVICES:
            mode = inc.name if inc is not None and inc.hits(app) else "normal"
            events: list[list[str]] = []
            stamps = sorted(now_ns - NS + self.rng.randrange(NS) for _ in range(self._count(
                self.rate * (1.5 if mode == "error-spike" else 1.0))))
            if mode == "crashloop":
                if now_ns / NS >= self._next_start.get(app, 0.0):
                    self._next_start[app] = now_ns / NS + self.rng.uniform(8, 12)
                    stamps, events = [now_ns - NS // 2], [self.lines.startup_failure(app, now_ns - NS // 2)]
                else:
                    stamps = []
            else:
                events = [self.lines.event(app, ts, mode) for ts in stamps]
            total += self._emit(app, f"{app}.log", stamps, events, lambda: self.pods.next_pod(app))
        stamps = sorted(now_ns - NS + self.rng.randrange(NS) for _ in range(self._count(self.rate)))
        pods = [self.rng.choice(self.pods.others) if self.pods.others else None for _ in stamps]
        events = [[self.lines.infra(p.app if p else self.rng.choice(OTHER_APPS_FALLBACK), ts)]
                  for p, ts in zip(pods, stamps)]
        it = iter(pods)
        total += self._emit(None, "default.log", stamps, events, lambda: next(it))
        self.written += total
        return total

    def _emit(self, app: str | None, fname: str, stamps: list[int], events: list[list[str]], pick) -> int:
        out: list[tuple[int, str]] = []
        for ts, lines in zip(stamps, events):
            pod = pick()
            for j, line in enumerate(lines):
                out.append((ts + j * 1000, line))
                if self.pusher is None or (pod is None and app is None):
                    continue
                if pod is not None:
                    labels = {"namespace": pod.namespace, "app": pod.app, "pod": pod.name,
                              "container": pod.container, "node": pod.node}
                else:  # service line before any pod is known: still queryable by app
                    labels = {"namespace": "ecotrack", "app": app, "container": app}
                self.pusher.add(labels, ts + j * 1000, line)  # continuation lines 1 µs apart, in order
        if out:
            self._append(self.logs / fname, out)
        return len(out)

    def _append(self, path: Path, lines: list[tuple[int, str]]) -> None:
        # The fake kubelet (KWOK) serves these files through the CRI log parser, like a real
        # kubelet reads containerd's files: "<RFC3339Nano> stdout F <line>".
        data = "".join(f"{cri_time(ts)} stdout F {line}\n" for ts, line in lines).encode("utf-8", "replace")
        try:
            if path.exists() and path.stat().st_size + len(data) > self.max_file_bytes:
                path.write_bytes(b"")  # truncate in place (followers reopen on truncation)
            with open(path, "ab") as fh:
                fh.write(data)
        except OSError as exc:
            _say(f"cannot write {path}: {exc.strerror or exc}")

    # --- async loops ------------------------------------------------------------------------------------------
    async def _pods_loop(self, stop: asyncio.Event) -> None:
        assert self.kube is not None
        failing = False
        async with self.kube.client() as client:
            while not stop.is_set():
                try:
                    await self.pods.refresh(client)
                    if failing:
                        _say("Kubernetes API reachable again")
                    failing = False
                except Exception as exc:  # API down, odd answers: keep the last known pods  # noqa: BLE001
                    if not failing:
                        _say(f"cannot list pods ({type(exc).__name__}: {exc}); keeping the last known pods")
                    failing = True
                await _sleep_or_stop(stop, 10.0)

    async def _push_loop(self, stop: asyncio.Event) -> None:
        assert self.pusher is not None
        backoff = 1.0
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not stop.is_set():
                try:
                    ok = await self.pusher.push(client)
                except Exception as exc:  # never let the pusher die  # noqa: BLE001
                    ok = self.pusher._fail(f"push failed: {type(exc).__name__}: {exc}")
                backoff = 1.0 if ok else min(backoff * 2, 10.0)
                await _sleep_or_stop(stop, backoff)
            try:  # last attempt, short
                await asyncio.wait_for(self.pusher.push(client), timeout=2.0)
            except (asyncio.TimeoutError, httpx.HTTPError):
                pass

    async def _gen_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # a generator bug must not stop the files  # noqa: BLE001
                _say(f"tick failed: {type(exc).__name__}: {exc}")
            await _sleep_or_stop(stop, 1.0 - (time.time() % 1.0))

    async def run(self, stop: asyncio.Event, grace: float = 3.0) -> None:
        """Run until `stop` is set; then give the loops `grace` seconds (last push) before cancelling them."""
        tasks = [asyncio.create_task(self._gen_loop(stop))]
        if self.kube is not None:
            tasks.append(asyncio.create_task(self._pods_loop(stop)))
        if self.pusher is not None:
            tasks.append(asyncio.create_task(self._push_loop(stop)))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for t in pending:
            t.cancel()
        for t, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True)):
            if isinstance(result, Exception):
                _say(f"loop ended with {type(result).__name__}: {result}")


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except asyncio.TimeoutError:
        pass


async def _amain(gen: LogGen) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await gen.run(stop)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.loggen", description="EcoTrack log generator")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--loki", default=None, help="Loki base URL, e.g. http://127.0.0.1:33100 (omit: files only)")
    ap.add_argument("--kubeconfig", default=None, help="kubeconfig used to list pods (omit: no pod labels)")
    ap.add_argument("--rate", type=float, default=4.0, help="lines per second per service (jittered)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-file-mb", type=float, default=64.0, help="truncate a log file beyond this size")
    a = ap.parse_args(argv)
    if a.rate < 0 or a.max_file_mb <= 0:
        print("testbed.loggen: --rate must be >= 0 and --max-file-mb > 0", file=sys.stderr)
        return 2
    try:
        kube = KubeTarget(a.kubeconfig) if a.kubeconfig else None
    except (ValueError, OSError, ssl.SSLError) as exc:
        print(f"testbed.loggen: {exc}", file=sys.stderr)
        return 2
    gen = LogGen(a.state_dir, rate=a.rate, loki=a.loki, kube=kube, seed=a.seed,
                 max_file_bytes=int(a.max_file_mb * 1024 * 1024))
    print(f"testbed.loggen writing {gen.logs}" + (f", pushing to {a.loki}" if a.loki else ""), flush=True)
    asyncio.run(_amain(gen))
    if gen.pusher:
        print(f"testbed.loggen stopped: {gen.written} lines written, {gen.pusher.sent} pushed, "
              f"{gen.pusher.dropped} dropped, {len(gen.pusher.buffer)} unsent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
