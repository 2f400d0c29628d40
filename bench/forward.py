"""Port-forward throughput and request latency (issue 10): ecotui's forward against `kubectl port-forward`, same run.

    python3 -m bench.forward                 # 3 runs per tool, docs/benchmarks.md "Port-forward" updated
    python3 -m bench.forward --runs 1 --no-docs
    python3 -m bench.forward --render bench/results/forward-<UTC>.json

A sink (bench/forward_sink.py, its own process) serves GET /bytes/N and GET /ping on 127.0.0.1:28090; KWOK
forwards every testbed pod's port 9000 there. Each tool forwards one pod's port 9000 to a local port, in its own
process: ecotui through bench/forward_host.py (ecotui.forward.ForwardManager: one WebSocket per TCP connection to
the API server, v4.channel.k8s.io), kubectl with `kubectl port-forward` (SPDY, or SPDY tunnelled through a
WebSocket). The client (this process, blocking sockets, the same code for every tool) measures:

  * throughput: one GET /bytes/104857600 (100 MB) on a fresh connection, MB/s from the request to the last byte;
  * latency, new connection per request (like `curl` in a loop): 1,000 sequential GET /ping, each on its own TCP
    connection — connect + request + response, p50/p99;
  * latency, one keep-alive connection: 1,000 sequential GET /ping on one connection, p50/p99.

The floor (named for what it is) is the same client straight to the sink: no forward, no API server, no kubelet.
Order alternates per run (ecotui first on even runs). Every loop is bounded; 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.meta import provenance  # noqa: E402
from bench.stats import summarize  # noqa: E402

RESULTS = REPO / "bench" / "results"
DOCS = REPO / "docs" / "benchmarks.md"
SINK_PORT = 28090
POD_PORT = 9000
BIG = 100 * 1024 * 1024
REQUESTS = 1000
TOOLS = ("ecotui", "kubectl")


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def testbed_env() -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "testbed", "env"], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    env = dict(os.environ)
    for m in re.finditer(r"^export (\w+)=(.*)$", out, re.M):
        env[m.group(1)] = os.path.expandvars(m.group(2).strip("'\"")).replace("$PATH", env.get("PATH", ""))
    return env


def pick_pod(env: dict[str, str]) -> tuple[str, str]:
    out = subprocess.run(["kubectl", "get", "pods", "-n", "ecotrack", "-l", "app=user-service", "-o",
                          "jsonpath={range .items[?(@.status.phase=='Running')]}{.metadata.name}{'\\n'}{end}"],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout.split()
    if not out:
        raise SystemExit("no running user-service pod in namespace ecotrack")
    return "ecotrack", out[0]


def _read_line(p: subprocess.Popen[str], pattern: str, timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    assert p.stdout is not None
    seen = []
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise RuntimeError(f"no {pattern!r} within {timeout:g} s: {''.join(seen)[-500:]}")


def start_tool(tool: str, env: dict[str, str], ns: str, pod: str) -> tuple[subprocess.Popen[str], int]:
    if tool == "ecotui":
        cmd = [sys.executable, "-m", "bench.forward_host", "--target", f"{ns}/pod/{pod}", "--port", str(POD_PORT)]
        pattern = r"READY (\d+)"
    else:
        cmd = ["kubectl", "port-forward", "-n", ns, f"pod/{pod}", f":{POD_PORT}"]
        pattern = r"Forwarding from 127\.0\.0\.1:(\d+)"
    p = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return p, int(_read_line(p, pattern, 30).group(1))


def stop_tool(p: subprocess.Popen[str]) -> None:
    try:
        if p.stdin:
            p.stdin.close()
        p.terminate()
        p.wait(10)
    except (subprocess.TimeoutExpired, OSError):
        p.kill()


# ---- the client: the same for every tool ----------------------------------------------------------------

def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _response(s: socket.socket, buf: bytearray) -> int:
    """Read one HTTP response (Content-Length framed); the body length. `buf` carries leftovers."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the headers ({bytes(buf[:200])!r})")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode("latin-1"))
    n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    got = len(rest)
    del buf[:]
    if got > n:
        buf += rest[n:]
        return n
    view = memoryview(bytearray(1 << 20))
    while got < n:
        k = s.recv_into(view, min(len(view), n - got))
        if k == 0:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        got += k
    return n


def throughput(port: int) -> float:
    t0 = time.perf_counter()
    with _connect(port) as s:
        s.sendall(f"GET /bytes/{BIG} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        n = _response(s, bytearray())
    dt_s = time.perf_counter() - t0
    assert n == BIG
    return BIG / dt_s / 1e6


def latency_new_connections(port: int, n: int = REQUESTS) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with _connect(port) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            _response(s, bytearray())
        out.append((time.perf_counter() - t0) * 1000)
    return out


def latency_keepalive(port: int, n: int = REQUESTS) -> list[float]:
    out = []
    buf = bytearray()
    with _connect(port) as s:
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            _response(s, buf)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _pct(xs: list[float], q: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(round(q * (len(ys) - 1))))]


def measure_port(port: int, requests: int) -> dict[str, Any]:
    latency_keepalive(port, 20)       # warm up (first connection, JIT of nothing, caches)
    mbps = throughput(port)
    new = latency_new_connections(port, requests)
    keep = latency_keepalive(port, requests)
    return {"throughput_mb_s": round(mbps, 1),
            "new_conn_p50_ms": round(_pct(new, 0.5), 3), "new_conn_p99_ms": round(_pct(new, 0.99), 3),
            "keepalive_p50_ms": round(_pct(keep, 0.5), 3), "keepalive_p99_ms": round(_pct(keep, 0.99), 3)}


def one_run(i: int, env: dict[str, str], ns: str, pod: str, requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {"run": i + 1}
    order = TOOLS if i % 2 == 0 else TOOLS[::-1]
    for tool in order:
        p, port = start_tool(tool, env, ns, pod)
        try:
            out[tool] = measure_port(port, requests)
        except (OSError, ConnectionError, AssertionError) as exc:
            out[tool] = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            stop_tool(p)
        log(f"run {i + 1} {tool}: {out[tool]}")
    out["floor"] = measure_port(SINK_PORT, requests)
    log(f"run {i + 1} floor (direct to the sink): {out['floor']}")
    return out


METRICS = (("throughput_mb_s", "throughput, 100 MB (MB/s, higher is better)", True),
           ("new_conn_p50_ms", "1,000 sequential requests, a connection each: p50 (ms)", False),
           ("new_conn_p99_ms", "1,000 sequential requests, a connection each: p99 (ms)", False),
           ("keepalive_p50_ms", "one keep-alive connection: p50 (ms)", False),
           ("keepalive_p99_ms", "one keep-alive connection: p99 (ms)", False))
# the target: throughput and the latency of 1,000 sequential HTTP requests as a client such as curl, a
# health check or Prometheus's scrape makes them (a connection each). The keep-alive rows are reported beside them
# (a request inside one open connection: both tools only relay bytes there), with their ratio, not as the target.
TARGET_METRICS = ("throughput_mb_s", "new_conn_p50_ms", "new_conn_p99_ms")


def measure(a: argparse.Namespace) -> dict[str, Any]:
    env = testbed_env()
    ns, pod = pick_pod(env)
    sink = subprocess.Popen([sys.executable, "-m", "bench.forward_sink", "--port", str(SINK_PORT)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _read_line(sink, r"READY", 10)
        runs = [one_run(i, env, ns, pod, a.requests) for i in range(a.runs)]
    finally:
        sink.terminate()
        sink.wait(10)
    kver = subprocess.run(["kubectl", "version", "--client", "-o", "json"], env=env, capture_output=True, text=True,
                          timeout=30).stdout
    try:
        kubectl_version = json.loads(kver)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        kubectl_version = "?"
    summary = {m: {t: summarize(r.get(t, {}).get(m) for r in runs) for t in (*TOOLS, "floor")} for m, _, _ in METRICS}
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **provenance(REPO),
            "pod": f"{ns}/{pod}", "requests": a.requests, "bytes": BIG, "kubectl": kubectl_version,
            "runs": runs, "summary": summary}


def _cell(s: dict[str, Any] | None, fmt: str) -> str:
    if not s:
        return "—"
    if s["n"] == 1:
        return fmt.format(s["median"])
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def verdict(summary: dict[str, Any]) -> list[tuple[str, bool | None]]:
    out = []
    for m, label, higher in METRICS:
        if m not in TARGET_METRICS:
            continue
        e, k = (summary[m].get("ecotui") or {}).get("median"), (summary[m].get("kubectl") or {}).get("median")
        if e is None or k is None:
            out.append((label, None))
        else:
            out.append((label, e >= k if higher else e <= k))
    return out


def render(r: dict[str, Any], results_file: str) -> str:
    m = r.get("machine", {})
    a = ["## Port-forward", "",
         f"`python3 -m bench.forward` — {r['date']}, {m.get('cpu', '?')} ({m.get('nproc', '?')} cores), "
         f"git {(r.get('git', {}).get('head') or '?')[:12]}{' (dirty code)' if r.get('git', {}).get('dirty_code_count') else ''}, "
         f"kubectl {r['kubectl']}, pod {r['pod']} port {POD_PORT}, {len(r['runs'])} run(s); results: "
         f"`{results_file}`.", "",
         "Target (issue 10): ecotui's forward ≥ `kubectl port-forward` on throughput (100 MB) and on the latency "
         "of 1,000 sequential HTTP requests, each on its own connection as curl, a health check or a scrape makes "
         "them. The keep-alive rows (1,000 requests inside one open connection, where both tools only relay bytes) "
         "are shown beside them with their ratio; they are not the target. Medians over the runs (min–max). The "
         "floor is the same client straight to the sink (no forward, no API server, no kubelet): the physical floor "
         "of this machine, not a tool.", "",
         "| measure | ecotui | kubectl | ecotui/kubectl | floor (no forward) |", "|---|---|---|---|---|"]
    for metric, label, higher in METRICS:
        s = r["summary"][metric]
        fmt = "{:.0f}" if higher else "{:.2f}"
        e, k = (s.get("ecotui") or {}).get("median"), (s.get("kubectl") or {}).get("median")
        ratio = f"{e / k:.2f}" if e and k else "—"
        a.append(f"| {label} | {_cell(s.get('ecotui'), fmt)} | {_cell(s.get('kubectl'), fmt)} | {ratio} | "
                 f"{_cell(s.get('floor'), fmt)} |")
    a.append("")
    for label, ok in verdict(r["summary"]):
        a.append(f"- {label}: {'PASS' if ok else ('FAIL' if ok is False else 'not measured')}")
    for metric, label, _higher in METRICS:
        if metric in TARGET_METRICS:
            continue
        s = r["summary"][metric]
        e, k = (s.get("ecotui") or {}).get("median"), (s.get("kubectl") or {}).get("median")
        if e and k:
            a.append(f"- {label} (beside the target): ecotui/kubectl {e / k:.2f}")
    for f in r.get("findings", []):
        a.append(f"- {f}")
    a.append("")
    return "\n".join(a)


def main() -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.forward", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=REQUESTS)
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--results-dir", default=str(RESULTS))
    ap.add_argument("--render", metavar="JSON")
    a = ap.parse_args()
    if a.render:
        r = json.loads(Path(a.render).read_text())
        results_file = a.render
    else:
        r = measure(a)
        out = Path(a.results_dir) / f"forward-{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(r, indent=1))
        results_file = str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out)
        log(f"results: {out}")
    section = render(r, results_file)
    print(section)
    if not a.no_docs:
        from bench.report import write_section
        DOCS.write_text(write_section(DOCS.read_text(), section))
    return 0 if all(ok for _, ok in verdict(r["summary"])) else 1


if __name__ == "__main__":
    raise SystemExit(main())
