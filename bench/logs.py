"""Sustained log ingest: ecotui's log viewer (Loki tail and Kubernetes log streams) against `kubectl logs -f`
and k9s's log view, on the same pod and the same high-rate burst, in the same run.

    python3 -m bench.logs                        # 2 runs; bench/results/logs-<UTC>.json + the "Logs" section
    python3 -m bench.logs --runs 1 --no-docs     # quick check
    python3 -m bench.logs --render bench/results/logs-<UTC>.json   # re-render the docs section only

Each run gives every subject its own burst (same rate, same length, same target pod; order rotating from run
to run) — on a 2-core machine running them all at once would measure the contention between them:
  ecotui-loki   the real app in tmux (200×50), config with the testbed's loki_url: pods view → `/pod` → `l`
                (LokiSource: backfill, then the /tail WebSocket);
  ecotui-kube   the same with a config without loki_url (KubeLogSource: follow stream from the API server);
  kubectl       `kubectl logs -f POD --tail=1 > /dev/null`: bytes it wrote (/proc/PID/io wchar) ÷ bytes per line;
  k9s           k9s v0.50 in tmux: pods view → `/pod` → `l`; what its screen shows (newest seq / timestamp), RSS.
For the ecotui subjects: lines received by the LogBuffer over time (the title's `kept + dropped`), keypress →
repaint while streaming (cursor Up/Down in the log view, tmux captures, see bench/logs_tui.py), RSS of the
process at 100k and at 1,000,000 lines received. Lag = wall clock − newest timestamp on screen while following.
Every loop is bounded in count and time; everything talks to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import logs_tui as lt  # noqa: E402
from bench import procstat  # noqa: E402
from bench.meta import provenance  # noqa: E402
from bench.report import write_section  # noqa: E402
from bench.stats import ratio, summarize  # noqa: E402
from bench.tmux import MAX_POLLS, Tmux, capture_cost  # noqa: E402
from bench.toolenv import BenchEnv, prepare, tool_versions  # noqa: E402
from testbed import cluster, paths, ports, procs  # noqa: E402

RESULTS = REPO / "bench" / "results"
DOCS = REPO / "docs" / "benchmarks.md"
NS = "ecotrack"
WIDTH, HEIGHT = 200, 50
TARGET_RATE = 50_000          # lines/s reaching the LogBuffer
TARGET_P99_MS = 100.0
TARGET_RSS_DRIFT = 0.10       # |RSS(1M) / RSS(100k) − 1|
K9S_BUFFER = 5000             # k9s logger.buffer default: lines its log view keeps
SUBJECTS = ("ecotui-loki", "ecotui-kube", "kubectl", "k9s")
LABELS = {
    "ecotui-loki": "ecotui log view, Loki source (query_range backfill + /tail WebSocket), real app in tmux",
    "ecotui-kube": "ecotui log view, Kubernetes source (follow stream via the API server), real app in tmux",
    "kubectl": "`kubectl logs -f POD --tail=1 > /dev/null` (bytes written ÷ bytes per line)",
    "k9s": f"k9s v0.50 log view (`l` on the pod; keeps {K9S_BUFFER:,} lines, its default buffer)",
}
COMPONENTS = ("loki", "kwok", "kube-apiserver", "loggen")


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


# ---- the burst ----------------------------------------------------------------------------------------------

def testbed_has_burst() -> bool:
    p = subprocess.run([sys.executable, "-m", "testbed", "logs", "burst", "--help"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    return p.returncode == 0 and "--rate" in p.stdout


def fresh_log_file(pod: dict[str, str]) -> None:
    """Empty the target's log file before a subject opens its stream. The generator truncates a file in place
    only when it is over its bound, and not for a minute after a burst (a follower still reading the burst would
    lose its tail); a follower that opened on the previous burst's 280 MB file and then saw it truncated under
    it stalled (KWOK keeps reading at its old offset). Emptied here, the subject starts on a small file."""
    f = paths.logs_dir() / f"{pod['app']}.log"
    try:
        f.write_bytes(b"")
    except OSError:
        pass


BURST_DONE = re.compile(r"([\d,]+) written, ([\d,]+) pushed; achieved ([\d,]+)/s over ([\d.]+) s")


class Burst:
    """One bounded burst on the target service's log file (and Loki). `start()`, `running()`, `finish()`."""

    def __init__(self, pod: dict[str, str], rate: int, seconds: float, use_testbed: bool, to: str = "both") -> None:
        self.pod, self.rate, self.seconds, self.use_testbed = pod, rate, seconds, use_testbed
        self.to = to  # where the testbed generator sends the lines: only where the subject reads them
        self.proc: subprocess.Popen[str] | None = None
        self.t0 = self.t1 = 0.0
        self.out: dict[str, Any] = {}
        self.w0 = 0.0
        self.window: tuple[float, float] | None = None  # (start, end) of the burst itself, monotonic, when known

    def argv(self) -> list[str]:
        if self.use_testbed:
            # --wait: the CLI returns when the burst is over (without it, at once: the burst window was ~1 s)
            return [sys.executable, "-m", "testbed", "logs", "burst", "--rate", str(self.rate),
                    "--seconds", str(self.seconds), "--target", self.pod["app"], "--wait", "--to", self.to]
        return [sys.executable, "-m", "bench.logs_gen", "--pod", f"{self.pod['namespace']}/{self.pod['name']}",
                "--service", self.pod["app"], "--node", self.pod["node"], "--rate", str(self.rate),
                "--seconds", str(self.seconds), "--loki", f"http://{ports.HOST}:{ports.LOKI}",
                "--state-dir", str(paths.state_dir())]

    def start(self) -> float:
        self.proc = subprocess.Popen(self.argv(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.t0 = time.monotonic()
        self.w0 = time.time()
        return self.t0

    def running(self) -> bool:
        if self.proc is None:
            return False
        if self.proc.poll() is None:
            if time.monotonic() - self.t0 > self.seconds + 120:
                self.proc.kill()
            return True
        if not self.t1:
            self.t1 = time.monotonic()
        return False

    def finish(self) -> dict[str, Any]:
        assert self.proc is not None
        try:
            so, se = self.proc.communicate(timeout=self.seconds + 120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            so, se = self.proc.communicate(timeout=10)
        if not self.t1:
            self.t1 = time.monotonic()
        out: dict[str, Any] = {"rc": self.proc.returncode, "wall_s": self.t1 - self.t0,
                               "generator": "testbed logs burst" if self.use_testbed else "bench.logs_gen"}
        for line in reversed(so.strip().splitlines()):
            try:
                out.update(json.loads(line))
                break
            except ValueError:
                continue
        m = BURST_DONE.search(so)  # `testbed logs burst --wait`: "… N written, N pushed; achieved N/s over S s"
        if m:
            out.update(lines=int(m[1].replace(",", "")), pushed=int(m[2].replace(",", "")),
                       achieved=int(m[3].replace(",", "")), elapsed_s=float(m[4]))
        out.setdefault("lines", int(self.rate * self.seconds))
        if self.use_testbed:  # the generator's own window (the CLI adds its start-up and ~1 s status polling)
            try:
                st = json.loads((paths.state_dir() / "loggen-status.json").read_text()).get("burst") or {}
                for k in ("target", "first_seq", "last_seq"):   # which lines were the burst's (seq counts on)
                    if st.get(k) is not None:
                        out[k] = st[k]
                if st.get("state") == "done" and st.get("elapsed_s"):
                    g0 = self.t0 + (float(st["started"]) - self.w0)
                    if self.t0 - 1 <= g0 <= self.t1:
                        self.window = (g0, g0 + float(st["elapsed_s"]))
                        out["window_from"] = "generator status (started, elapsed_s)"
            except (OSError, ValueError, TypeError, KeyError):
                pass
        if self.proc.returncode:
            out["stderr"] = se.strip()[-500:]
        self.out = out
        return out


def pick_pod(env: BenchEnv, service: str) -> dict[str, str]:
    p = subprocess.run([str(env.kubectl), "get", "pods", "-n", NS, "-l", f"app={service}", "-o", "json"],
                       env=env.kubectl_env(), capture_output=True, text=True, timeout=60, check=True)
    items = sorted((i for i in json.loads(p.stdout)["items"]
                    if i["status"].get("phase") == "Running" and not i["metadata"].get("deletionTimestamp")),
                   key=lambda i: i["metadata"]["name"])
    if not items:
        raise RuntimeError(f"no Running pod of app={service} in {NS}")
    i = items[0]
    return {"namespace": NS, "name": i["metadata"]["name"], "app": service, "node": i["spec"].get("nodeName", "")}


def burst_bytes_per_line(b: dict[str, Any]) -> float | None:
    """Mean bytes of a burst line as `kubectl logs` prints it (content + newline), exactly, from the generator's
    own line format and the burst's seq range (`testbed logs burst`); None for another generator."""
    first, last, target = b.get("first_seq"), b.get("last_seq"), b.get("target")
    if not (isinstance(first, int) and isinstance(last, int) and target and last >= first):
        return None
    from testbed.loggen import burst_head, burst_text
    head = burst_head(str(target), 0)
    step = max(1, (last - first + 1) // 200_000)
    sizes = [len(burst_text(head, n)) + 1 for n in range(first, last + 1, step)]
    return sum(sizes) / len(sizes)


def bytes_per_line(service: str, sample: int = 4_000_000) -> float | None:
    """Mean bytes of a line as `kubectl logs` prints it (content + newline), from the burst lines in the file
    (bench.logs_gen's bursts; the testbed generator empties the file before a burst and after it)."""
    f = paths.logs_dir() / f"{service}.log"
    try:
        with open(f, "rb") as fh:
            fh.seek(max(0, f.stat().st_size - sample))
            data = fh.read().split(b"\n")[1:-1]
    except OSError:
        return None
    sizes = [len(x.split(b" ", 3)[3]) + 1 for x in data if b"seq=" in x and x.count(b" ") >= 3]
    return sum(sizes) / len(sizes) if sizes else None


def component_pids() -> dict[str, int]:
    return {c: p for c in COMPONENTS if (p := procs.pid_of(c))}


# ---- one subject -------------------------------------------------------------------------------------------

def _cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {k: procstat.cpu_seconds(v) for k, v in pids.items()}


def _drain(sample: Callable[[], int], quiet: float, limit: float, step: Callable[[float], None]) -> float:
    """Keep sampling until the count stops moving for `quiet` s (at most `limit` s); returns the time it last moved."""
    last_n, last_t = sample(), time.monotonic()
    end = time.monotonic() + limit
    for _ in range(MAX_POLLS):
        step(0.2)
        n = sample()
        now = time.monotonic()
        if n != last_n:
            last_n, last_t = n, now
        if now - last_t >= quiet or now >= end:
            break
    return last_t


def ecotui_config(env: BenchEnv, source: str) -> Path:
    """The testbed's ecotui config; for the Kubernetes source, the same without loki_url."""
    src = paths.ecotui_config()
    if source == "loki":
        return src
    cfg = yaml.safe_load(src.read_text()) or {}
    for c in (cfg.get("contexts") or {}).values():
        if isinstance(c, dict):
            c.pop("loki_url", None)
    out = env.workdir / "ecotui-kube-only.yaml"
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out


def open_pod_logs(t: Tmux, pod: str, pods_title: re.Pattern[str], filtered: re.Pattern[str],
                  logs_ready: re.Pattern[str], timeout: float = 60) -> None:
    t.wait_for(pods_title, timeout)
    lt.settle(t)
    t.send_keys("/")
    lt.settle(t)
    t.send_keys(*pod)
    t.send_keys("Enter")
    t.wait_for(filtered, 15)
    lt.settle(t)
    t.send_keys("l")
    t.wait_for(logs_ready, timeout)


def run_ecotui(env: BenchEnv, source: str, pod: dict[str, str], burst: Burst) -> dict[str, Any]:
    e = env.ecotui_env()
    e["ECOTUI_CONFIG"] = str(ecotui_config(env, source))
    res: dict[str, Any] = {"source": source}
    with Tmux("logs", WIDTH, HEIGHT) as t:
        t.start(env.ecotui_argv("-n", NS, "--context", ports.CONTEXT), env=e, cwd=str(REPO))
        t.go()
        name = "loki" if source == "loki" else "kubernetes"
        open_pod_logs(t, pod["name"], re.compile(r"Pods · \d+(?! ?loading)"), re.compile(r"Pods · 1/\d+"),
                      re.compile(rf"^\s*{name}\s+live\b.*kept", re.M), 60)
        lt.settle(t)
        pid = t.pane_pid()
        pids = procstat.tree(pid)
        cap_ms = capture_cost(t, 20) * 1000
        s = t.capture(True)
        ignore = frozenset(lt.cursor_rows(s.lines, 2, HEIGHT - 2))   # reverse rows while following: not the cursor
        drv = lt.Driver(t, pids, (2, HEIGHT - 2), ignore)   # rows 2..47: not the h-scrollbar, hints
        # the file / Loki may hold earlier lines: let the backfill finish before the burst (bounded)
        _drain(drv.d.last_received, 2.0, 60.0, lambda x: drv.idle(x))
        comp = component_pids()
        cpu_pids = {"ecotui": pids, "tmux": [t.server_pid()], **{c: [p] for c, p in comp.items()}}
        c0, w0 = _cpu(cpu_pids), time.monotonic()
        t_start = burst.start()
        gen_pid = burst.proc.pid if burst.proc else 0
        cpu_pids["generator"] = [gen_pid]
        c0["generator"] = 0.0
        drv.keys_while(burst.running, burst.seconds + 60)
        gen_cpu = procstat.cpu_seconds([gen_pid]) if procstat.alive(gen_pid) else None
        b = burst.finish()
        t_start, t_end = burst.window or (t_start, burst.t1)
        if drv.r0 is not None or lt.cursor_rows(drv.capture().lines, 2, HEIGHT - 2, ignore):
            drv.resync()                           # follow again for the drain (display lag)
        moved = _drain(drv.d.last_received, 3.0, 30.0, lambda x: drv.idle(x))
        c1, w1 = _cpu(cpu_pids), time.monotonic()
        res["cpu_pct"] = {k: round(100 * (c1[k] - c0.get(k, 0.0)) / (w1 - w0), 1) for k in c1 if k != "generator"}
        if gen_cpu is not None:
            res["cpu_pct"]["generator"] = round(100 * gen_cpu / max(1e-9, t_end - t_start), 1)
        res["capture_ms"] = round(cap_ms, 2)
        res["screen_end"] = "\n".join(lt.plain(x) for x in drv.capture().lines[:4])
    d = drv.d
    r0 = d.received_at(t_start) or 0.0
    r1 = d.received_at(t_end) or 0.0
    total = d.last_received() - r0
    res.update(burst=b, received_before=r0, received_in_burst=r1 - r0, received_total=total,
               burst_s=t_end - t_start, rate_in_burst=(r1 - r0) / max(1e-9, t_end - t_start),
               drained_s=max(0.0, moved - t_end), rate_to_drained=total / max(1e-9, moved - t_start),
               lag_lines_at_end=max(0.0, b.get("lines", 0) - (r1 - r0)),
               keypress=lt.press_stats(d.presses), follow_key=lt.press_stats(d.presses, ("G",)),
               presses_log=[(round(p.t_press - t_start, 3), p.key, p.want,
                             None if p.latency is None else round(p.latency * 1000, 1), p.received)
                            for p in d.presses],
               samples=[(round(x.t - t_start, 3), x.received, x.rate, x.state) for x in d.samples],
               rss=_rss_points(d.rss, t_start), lag=_lag_stats(d.lag, t_start, t_end), captures=d.captures)
    return res


def _rss_points(rss: list[tuple[float, int, int]], t0: float) -> dict[str, Any]:
    def at(n: int) -> dict[str, Any] | None:
        for t, b, rcv in rss:
            if rcv >= n:
                return {"t": round(t - t0, 2), "mib": round(b / 2**20, 1), "received": rcv}
        return None
    return {"at_100k": at(100_000), "at_1m": at(1_000_000),
            "peak_mib": round(max((b for _, b, _ in rss), default=0) / 2**20, 1),
            "start_mib": round(rss[0][1] / 2**20, 1) if rss else None,
            "max_received": max((r for _, _, r in rss), default=0),
            "series": [(round(t - t0, 1), round(b / 2**20, 1), r) for t, b, r in rss[::8]]}


def _lag_stats(lag: list[tuple[float, float]], t0: float, t1: float) -> dict[str, Any]:
    during = [x for t, x in lag if t0 + 2 <= t <= t1]
    after = [(t, x) for t, x in lag if t > t1]
    return {"median_s": lt.pct(during, 50), "max_s": max(during) if during else None,
            "at_end_s": during[-1] if during else None,
            "caught_up_s": next((round(t - t1, 2) for t, x in after if x < 1.0), None), "n": len(during)}


def run_kubectl(env: BenchEnv, pod: dict[str, str], burst: Burst) -> dict[str, Any]:
    argv = [str(env.kubectl), "logs", "-f", pod["name"], "-n", NS, "--tail=1"]
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, env=env.kubectl_env(), stdout=null, stderr=subprocess.PIPE)
        try:
            def wchar() -> int:
                try:
                    for line in Path(f"/proc/{p.pid}/io").read_text().splitlines():
                        if line.startswith("wchar:"):
                            return int(line.split()[1])
                except OSError:
                    pass
                return 0
            series: list[tuple[float, int, int]] = []

            def step(dt: float) -> None:
                time.sleep(dt)
                series.append((time.monotonic(), wchar(), procstat.rss_bytes([p.pid])))
            for _ in range(50):
                step(0.1)
            c0 = procstat.cpu_seconds([p.pid])
            t_start = burst.start()
            for _ in range(int((burst.seconds + 120) / 0.2)):
                if not burst.running():
                    break
                step(0.2)
            b = burst.finish()
            t_start, t_end = burst.window or (t_start, burst.t1)
            moved = _drain(wchar, 3.0, 30.0, step)
            cpu = procstat.cpu_seconds([p.pid]) - c0
        finally:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
    bpl = burst_bytes_per_line(b) or bytes_per_line(pod["app"]) or float("nan")

    def at(t: float) -> float:
        best = series[0][1]
        for ts, w, _ in series:
            if ts <= t:
                best = w
        return best
    w0, w1, wl = at(t_start), at(t_end), series[-1][1]
    return {"burst": b, "bytes_per_line": bpl, "bytes_in_burst": w1 - w0, "bytes_total": wl - w0,
            "received_in_burst": (w1 - w0) / bpl, "received_total": (wl - w0) / bpl, "burst_s": t_end - t_start,
            "rate_in_burst": (w1 - w0) / bpl / max(1e-9, t_end - t_start), "drained_s": max(0.0, moved - t_end),
            "rate_to_drained": (wl - w0) / bpl / max(1e-9, moved - t_start),
            "lag_lines_at_end": max(0.0, b.get("lines", 0) - (w1 - w0) / bpl),
            "cpu_pct": {"kubectl": round(100 * cpu / max(1e-9, moved - t_start), 1)},
            "rss_peak_mib": round(max(r for _, _, r in series) / 2**20, 1)}


def run_k9s(env: BenchEnv, pod: dict[str, str], burst: Burst) -> dict[str, Any]:
    res: dict[str, Any] = {}
    with Tmux("k9slogs", WIDTH, HEIGHT) as t:
        t.start([str(env.k9s), "-n", NS, "-c", "pods", "--context", ports.CONTEXT], env=env.k9s_env("k9s"))
        t.go()
        open_pod_logs(t, pod["name"], re.compile(r"[Pp]ods\(" + NS + r"\)\[\d+\]"),
                      re.compile(r"[Pp]ods\(" + NS + r"\)\[1\]"), re.compile(r"[Ll]ogs?\b.*" + re.escape(pod["name"])))
        lt.settle(t)
        pids = procstat.tree(t.pane_pid())
        drv = lt.Driver(t, pids, (0, HEIGHT), frozenset(), title=False, sample_every=0.1)
        drv.idle(1.0)
        c0 = procstat.cpu_seconds(pids)
        t_start = burst.start()
        for _ in range(int((burst.seconds + 120) / 0.1)):
            if not burst.running():
                break
            drv.idle(0.1)
        b = burst.finish()
        t_start, t_end = burst.window or (t_start, burst.t1)
        seq_of = lambda: drv.d.seqs[-1][1] if drv.d.seqs else -1  # noqa: E731
        moved = _drain(seq_of, 5.0, 30.0, lambda x: drv.idle(x))
        cpu = procstat.cpu_seconds(pids) - c0
        res["screen_end"] = "\n".join(lt.plain(x) for x in t.capture().lines[:6])
    d = drv.d
    last_seq = b.get("last_seq")
    seq_at_end = max((s for ts, s in d.seqs if ts <= t_end), default=None)
    res.update(burst=b, burst_s=t_end - t_start, lag=_lag_stats(d.lag, t_start, t_end),
               seq_at_end=seq_at_end, last_seq_shown=seq_of(), last_seq=last_seq,
               lag_lines_at_end=(last_seq - seq_at_end) if (last_seq is not None and seq_at_end is not None) else None,
               shown_final=(seq_of() == last_seq) if last_seq is not None else None,
               drained_s=max(0.0, moved - t_end),
               rate_shown=(seq_at_end - int(b.get("first_seq") or 0) + 1) / max(1e-9, t_end - t_start)
               if seq_at_end is not None else None,
               rss_peak_mib=round(max((x for _, x, _ in d.rss), default=0) / 2**20, 1),
               rss_end_mib=round(d.rss[-1][1] / 2**20, 1) if d.rss else None,
               cpu_pct={"k9s": round(100 * cpu / max(1e-9, moved - t_start), 1)}, captures=d.captures)
    return res


# ---- runs, summary, report -----------------------------------------------------------------------------------

def measure(runs: int, rate: int, seconds: float, service: str, subjects: tuple[str, ...]) -> dict[str, Any]:
    if not cluster.is_up():
        raise SystemExit("the testbed is not up: python3 -m testbed up")
    workdir = Path("/tmp") / f"ecotui-bench-logs-{os.getpid()}"
    env = prepare(workdir)
    use_testbed = testbed_has_burst()
    pod = pick_pod(env, service)
    log(f"pod {pod['namespace']}/{pod['name']}; generator: "
        + ("python3 -m testbed logs burst" if use_testbed else "bench.logs_gen (no `testbed logs burst`)"))
    rounds = []
    errors: list[str] = []
    try:
        for i in range(runs):
            order = list(subjects[i % len(subjects):] + subjects[:i % len(subjects)])
            rnd: dict[str, Any] = {"run": i + 1, "order": order, "errors": []}
            for s in order:
                burst = Burst(pod, rate, seconds, use_testbed, to="loki" if s == "ecotui-loki" else "file")
                if use_testbed:
                    fresh_log_file(pod)
                log(f"run {i + 1}: {s} …")
                try:
                    if s.startswith("ecotui"):
                        rnd[s] = run_ecotui(env, s.split("-", 1)[1], pod, burst)
                    elif s == "kubectl":
                        rnd[s] = run_kubectl(env, pod, burst)
                    else:
                        rnd[s] = run_k9s(env, pod, burst)
                    log(f"run {i + 1}: {s}: " + brief(s, rnd[s]))
                except Exception as e:  # noqa: BLE001 - one subject failing must not stop the others
                    if burst.proc is not None and burst.proc.poll() is None:
                        burst.finish()
                    rnd["errors"].append(f"{s}: {type(e).__name__}: {str(e)[:600]}")
                    log(f"run {i + 1}: {s} FAILED: {type(e).__name__}: {str(e)[:600]}")
                time.sleep(3)       # let the testbed settle between bursts
            rounds.append(rnd)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = {"kind": "logs", **provenance(REPO), "rate": rate, "seconds": seconds, "service": service, "pod": pod,
           "generator": "python3 -m testbed logs burst" if use_testbed else "bench.logs_gen",
           "runs": runs, "rounds": rounds, "errors": errors, "versions": tool_versions(env)}
    out["summary"] = summarize_logs(rounds)
    out["targets"] = targets(out["summary"])
    return out


def brief(s: str, r: dict[str, Any]) -> str:
    if s.startswith("ecotui"):
        k, rss = r["keypress"], r["rss"]
        a, b = rss.get("at_100k") or {}, rss.get("at_1m") or {}
        return (f"{r['rate_in_burst']:,.0f} lines/s in burst ({r['received_total']:,.0f} received, drained "
                f"{r['drained_s']:.1f} s after), keys p50 {k['p50_ms']} p99 {k['p99_ms']} ms ({k['missed']} missed "
                f"of {k['presses']}), RSS {a.get('mib')} MiB @100k → {b.get('mib')} MiB @1M")
    if s == "kubectl":
        return (f"{r['rate_in_burst']:,.0f} lines/s in burst, {r['received_total']:,.0f} lines total, drained "
                f"{r['drained_s']:.1f} s after")
    return (f"newest seq shown at burst end {r['seq_at_end']} of {r['last_seq']} ({r['rate_shown'] or 0:,.0f} "
            f"lines/s shown), RSS {r['rss_peak_mib']} MiB, lag {r['lag'].get('median_s')} s")


def _get(r: dict[str, Any], path: str) -> Any:
    for k in path.split("."):
        if not isinstance(r, dict):
            return None
        r = r.get(k)  # type: ignore[assignment]
    return r


METRICS = {   # id -> (dotted path inside a subject's result, which subjects)
    "rate_in_burst": ("rate_in_burst", ("ecotui-loki", "ecotui-kube", "kubectl")),
    "rate_to_drained": ("rate_to_drained", ("ecotui-loki", "ecotui-kube", "kubectl")),
    "received_total": ("received_total", ("ecotui-loki", "ecotui-kube", "kubectl")),
    "drained_s": ("drained_s", SUBJECTS),
    "lag_lines_at_end": ("lag_lines_at_end", SUBJECTS),
    "key_p50_ms": ("keypress.p50_ms", ("ecotui-loki", "ecotui-kube")),
    "key_p99_ms": ("keypress.p99_ms", ("ecotui-loki", "ecotui-kube")),
    "key_missed": ("keypress.missed", ("ecotui-loki", "ecotui-kube")),
    "rss_100k_mib": ("rss.at_100k.mib", ("ecotui-loki", "ecotui-kube")),
    "rss_1m_mib": ("rss.at_1m.mib", ("ecotui-loki", "ecotui-kube")),
    "rss_peak_mib": ("rss.peak_mib", ("ecotui-loki", "ecotui-kube")),
    "k9s_rss_mib": ("rss_peak_mib", ("k9s", "kubectl")),
    "lag_median_s": ("lag.median_s", ("ecotui-loki", "ecotui-kube", "k9s")),
    "rate_shown": ("rate_shown", ("k9s",)),
    "cpu_app_pct": ("cpu_pct.ecotui", ("ecotui-loki", "ecotui-kube")),
}


def rss_drift(r: dict[str, Any]) -> float | None:
    a, b = _get(r, "rss.at_100k.mib"), _get(r, "rss.at_1m.mib")
    return ratio(b, a) - 1 if ratio(b, a) is not None else None


def summarize_logs(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m, (path, subs) in METRICS.items():
        for s in subs:
            x = summarize(_get(r.get(s) or {}, path) for r in rounds)
            if x:
                out.setdefault(m, {})[s] = x
    for s in ("ecotui-loki", "ecotui-kube"):
        x = summarize(rss_drift(r[s]) for r in rounds if r.get(s))
        if x:
            out.setdefault("rss_drift", {})[s] = x
    return out


def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for s in ("ecotui-loki", "ecotui-kube"):
        for tid, label, metric, limit, ok in (
                ("rate", "lines/s reaching the LogBuffer during the burst (median)", "rate_in_burst", TARGET_RATE,
                 lambda v: v >= TARGET_RATE),
                ("p99", "keypress → repaint p99 while streaming (ms, median of runs)", "key_p99_ms", TARGET_P99_MS,
                 lambda v: v <= TARGET_P99_MS),
                ("rss", "RSS at 1,000,000 lines ÷ at 100,000 − 1 (median of runs)", "rss_drift", TARGET_RSS_DRIFT,
                 lambda v: abs(v) <= TARGET_RSS_DRIFT)):
            x = (summary.get(metric) or {}).get(s)
            v = None if x is None else x["median"]
            rows.append({"subject": s, "id": tid, "label": label, "limit": limit, "value": v,
                         "spread": None if x is None else (x["min"], x["max"]),
                         "result": "NOT MEASURED" if v is None else ("PASS" if ok(v) else "FAIL")})
    return rows


def _f(x: Any, fmt: str = "{:,.0f}") -> str:
    return "—" if x is None or (isinstance(x, float) and x != x) else fmt.format(x)


def render(r: dict[str, Any], results_file: str) -> str:
    g, m, S = r["git"], r["machine"], r["summary"]
    head = g.get("head") or "unknown"
    tree = "clean" if g.get("dirty") is False else f"dirty ({g.get('dirty_count', '?')} paths)"

    def med(metric: str, s: str, fmt: str = "{:,.0f}") -> str:
        x = (S.get(metric) or {}).get(s)
        if not x:
            return "—"
        return _f(x["median"], fmt) + ("" if x["n"] < 2 else f" ({_f(x['min'], fmt)}–{_f(x['max'], fmt)})")

    def fmt_v(t: dict[str, Any]) -> str:
        v = t["value"]
        if v is None:
            return "—"
        return f"{v:+.1%}" if t["id"] == "rss" else (f"{v:,.0f}" if t["id"] == "rate" else f"{v:.0f}")
    kube_rate = ((S.get("rate_in_burst") or {}).get("kubectl") or {}).get("median")
    a = [
        "## Logs",
        "",
        "Written by `python -m bench.logs`, a benchmark of its own (`bench.run_all` and `bench.report` copy the "
        f"newest logs result back in when they re-render this file). Raw results: `{results_file}`.",
        "",
        f"> **Run of {r['date']}** · commit **`{head}`** · work tree {tree}  ",
        f"> Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB RAM, Linux {m['kernel']} · "
        f"{r['runs']} run(s); median (min–max over runs)  ",
        f"> Burst: {r['rate']:,} lines/s for {r['seconds']:g} s into pod `{r['pod']['namespace']}/{r['pod']['name']}` "
        f"(`{r['generator']}`), one burst per subject, order rotating  ",
        "",
        "| Target | Source | Limit | Checked value | Runs (min–max) | Result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in r["targets"]:
        lim = (f"≥ {t['limit']:,}" if t["id"] == "rate" else f"≤ {t['limit']:.0f} ms" if t["id"] == "p99"
               else f"± {t['limit']:.0%}")
        sp = t["spread"]
        spread = "—" if not sp else (f"{sp[0]:+.1%} – {sp[1]:+.1%}" if t["id"] == "rss" else f"{sp[0]:,.0f} – {sp[1]:,.0f}")
        a.append(f"| {t['label']} | {t['subject']} | {lim} | {fmt_v(t)} | {spread} | **{t['result']}** |")
    a += ["", "| Subject | lines/s during burst | ÷ kubectl | lines/s until drained | drained after (s) "
          "| lines behind at burst end | RSS @100k / @1M / peak (MiB) | keys p50 / p99 (ms) | lag on screen (s) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in SUBJECTS:
        if not any(r_.get(s) for r_ in r["rounds"]):
            continue
        x = ((S.get("rate_in_burst") or {}).get(s) or {}).get("median")
        q = ratio(x, kube_rate)
        if s == "k9s":
            rate = med("rate_shown", s) + " shown"
            rss = med("k9s_rss_mib", s) + " (peak)"
        elif s == "kubectl":
            rate, rss = med("rate_in_burst", s), med("k9s_rss_mib", s) + " (peak)"
        else:
            rate = med("rate_in_burst", s)
            rss = f"{med('rss_100k_mib', s)} / {med('rss_1m_mib', s)} / {med('rss_peak_mib', s)}"
        keys = f"{med('key_p50_ms', s)} / {med('key_p99_ms', s)}" if s.startswith("ecotui") else "—"
        a.append(f"| {LABELS[s]} | {rate} | {'—' if q is None else f'{q:.2f}×'} | "
                 f"{med('rate_to_drained', s) if s != 'k9s' else '—'} | {med('drained_s', s, '{:.1f}')} | "
                 f"{med('lag_lines_at_end', s)} | {rss} | {keys} | {med('lag_median_s', s, '{:.1f}')} |")
    a += ["", "Per run:"]
    for rd in r["rounds"]:
        for s in rd["order"]:
            if rd.get(s):
                a.append(f"- run {rd['run']} {s}: {brief(s, rd[s])}; CPU % of a core "
                         + ", ".join(f"{k} {v}" for k, v in (rd[s].get("cpu_pct") or {}).items()) + ".")
        for e in rd.get("errors", []):
            a.append(f"- run {rd['run']} error: `{e.splitlines()[0][:300]}`")
    a += ["", *NOTES, ""]
    if r.get("findings"):
        a += ["### Findings", "", *r["findings"], ""]
    return "\n".join(a)


NOTES = [
    "What each column measures. **lines/s during burst**: lines that reached the subject between the burst's "
    "start and end ÷ its length — for ecotui, lines received by the LogBuffer (`kept + dropped` in the "
    "title, read from tmux captures); for kubectl, bytes it wrote to /dev/null (`wchar`) ÷ the mean line size. "
    "**lines/s until drained**: all burst lines it got ÷ (time its count stopped moving − burst start). "
    "**lines behind at burst end**: generated − received at that moment. **keys**: cursor Up/Down in the log "
    "view while the burst streams (cycle: Up pauses, Up, Down, Up, `G` follows again; the `G` presses are "
    "not in the percentiles), latency from the key to the first capture showing the reversed cursor on the "
    "expected line (matched by its text: the line that was above / below the cursor line). "
    "**RSS**: VmRSS of the ecotui process at the first sample after 100,000 and after 1,000,000 lines received "
    "(buffer capacity 100,000 lines, the default). **lag on screen**: wall clock − newest timestamp visible "
    "while following (median during the burst). **k9s** keeps 5,000 lines in its log view by default "
    "(`logger.buffer`) and starts from the last 100 (`logger.tail`): its row shows what its screen showed "
    "(the newest `seq=` number visible at the burst's end ÷ burst time), not lines it parsed.",
]


def write_docs(section: str, path: Path = DOCS) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    path.write_text(write_section(text, section))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--rate", type=int, default=60_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--service", default="user-service")
    ap.add_argument("--subjects", default=",".join(SUBJECTS))
    ap.add_argument("--results-dir", default=str(RESULTS))
    ap.add_argument("--out", default=str(DOCS))
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--render", metavar="JSON", help="only re-render the docs section from a saved result")
    a = ap.parse_args()
    if a.render:
        src = Path(a.render)
        write_docs(render(json.loads(src.read_text()), f"bench/results/{src.name}"), Path(a.out))
        return 0
    subjects = tuple(s for s in a.subjects.split(",") if s in SUBJECTS)
    r = measure(max(1, min(a.runs, 5)), max(1000, min(a.rate, 200_000)), max(2.0, min(a.seconds, 60.0)),
                a.service, subjects)
    Path(a.results_dir).mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    f = Path(a.results_dir) / f"logs-{stamp}.json"
    f.write_text(json.dumps(r, indent=1, default=str))
    rel = f"bench/results/{f.name}" if f.parent.resolve() == RESULTS.resolve() else str(f)
    section = render(r, rel)
    print(section)
    print(f"raw results: {f}")
    if not a.no_docs:
        write_docs(section, Path(a.out))
    return 0 if all(t["result"] == "PASS" for t in r["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
