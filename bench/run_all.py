"""Run every benchmark in one go and write docs/benchmarks.md (plus the raw JSON in bench/results/).

    python -m bench.run_all                      # scale to 500 nodes / 10,000 pods, measure, scale back to 0
    python -m bench.run_all --no-scale --runs 2  # quick check at the testbed's current size

Steps: testbed up (if down) → k9s build (if missing) → scale → interleaved launch rounds (kubectl, k9s,
ecotui) → per tool: fresh launch, RSS, 60 s idle (CPU, audit requests), keypress latency under a pod-event
stream → scale back → report. A failing step is recorded in the report and the others still run.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import events, keypress, launch, report, resources
from .audit import AuditTail
from .tmux import capture_cost
from .toolenv import REPO, BenchEnv, prepare, tool_versions, versions

RESULTS = Path(__file__).resolve().parent / "results"
SCALE_DONE = re.compile(r"scale to (\d+) nodes / (\d+) pods done in ([\d.]+)s")


def log(msg: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {msg}", flush=True)


def testbed(*args: str, timeout: float = 1800) -> tuple[float, str]:
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "testbed", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=timeout)
    out = (p.stdout + p.stderr).strip()
    if p.returncode != 0:
        raise RuntimeError(f"python -m testbed {' '.join(args)} failed: {out[-1500:]}")
    return time.monotonic() - t0, out


def counts() -> dict[str, int]:
    from testbed.kube import get_json
    from testbed.scale import BENCH_LABEL, NS

    def total(path: str) -> int:  # remainingItemCount is only given for lists without a selector
        page = get_json(path, limit=1)
        return len(page["items"]) + int(page["metadata"].get("remainingItemCount") or 0)
    bench_nodes = len(get_json("/api/v1/nodes", labelSelector=f"{BENCH_LABEL}=true")["items"])
    return {"nodes": total("/api/v1/nodes"), "pods": total("/api/v1/pods"), "bench_nodes": bench_nodes,
            "bench_pods": total(f"/api/v1/namespaces/{NS}/pods")}


def previous_scale(log_path: Path, out: dict[str, Any]) -> tuple[float, int, int] | None:
    """With --no-scale: the duration `testbed scale` printed when it made the current size (if it did)."""
    try:
        m = list(SCALE_DONE.finditer(log_path.read_text()))[-1:]
    except OSError:
        return None
    if not m:
        return None
    out["scale_note"] = (f"measured when this size was made at {dt.datetime.fromtimestamp(log_path.stat().st_mtime):%H:%M} "
                         f"(`testbed scale` output kept in {log_path})")
    return float(m[0].group(3)), int(m[0].group(1)), int(m[0].group(2))


def _mib(x: int) -> float:
    return round(x / 2**20, 1)


def resident_phase(env: BenchEnv, tool: launch.Tool, audit: AuditTail, a: argparse.Namespace,
                   out: dict[str, Any]) -> None:
    """Fresh launch → RSS + idle → keypress latency, in one session of `tool`."""
    l = launch.launch(tool, launch.expected_pods())
    log(f"[resident] {tool.name} loaded in {l.seconds:.2f}s ({l.shown} rows)")
    try:
        r = resources.measure(l, tool, audit, env.credential_id, a.idle, log)
        out["resources"][tool.name] = {
            "launch_seconds": l.seconds, "rss_after_load_mib": _mib(r.rss_after_load), "rss_peak_mib": _mib(r.rss_peak),
            "idle_cpu_pct": round(r.cpu_pct, 3), "idle_seconds": round(r.seconds, 1),
            "requests_per_minute": round(r.requests_per_minute, 2), "idle_requests": r.idle.total,
            "idle_pod_lists": r.idle.pod_lists, "idle_by_verb": r.idle.by_verb, "idle_samples": r.idle.samples,
            "load_requests": r.load.total, "load_pod_lists": r.load.pod_lists, "load_by_verb": r.load.by_verb,
            "peers": r.peers, "loopback_only": r.loopback_only, "idle_window_epoch": r.window,
            "load_window_epoch": (l.t_wall_start, l.t_wall_done)}
        if not a.skip_keypress:
            out["params"]["capture_ms"] = round(capture_cost(l.session) * 1000, 2)
            cal = keypress.calibrate(l.session, tool.focus_pods)
            ns = "bench" if out["scale"]["bench_pods"] else "kube-system"
            stream = events.PodEventStream(ns, events.pick_pods(ns), a.rate, max_seconds=a.press_max + 10)
            log(f"[keypress] {tool.name}: cursor rows at screen line {cal.row}; streaming {a.rate:.0f} patches/s on {ns}")
            k = keypress.measure(l.session, cal, stream, min_presses=a.presses, min_seconds=a.press_seconds,
                                 max_seconds=a.press_max)
            ms = lambda x: round(x * 1000, 1)  # noqa: E731
            out["keypress"][tool.name] = {
                "presses": k.presses, "detected": len(k.latencies), "missed": k.missed, "seconds": k.seconds,
                "over_100ms": sum(1 for x in k.latencies if x > 0.1),
                "p50_ms": ms(k.pct(50)), "p95_ms": ms(k.pct(95)), "p99_ms": ms(k.pct(99)),
                "max_ms": ms(max(k.latencies)) if k.latencies else None,
                "resolution_p50_ms": ms(k.pct(50, k.resolution)), "resolution_max_ms": ms(max(k.resolution or [0])),
                "stream_rate": round(k.stream_rate, 2), "stream_ok": k.stream_ok, "stream_failed": k.stream_failed,
                "tool_cpu_pct": k.tool_cpu_pct, "tmux_cpu_pct": k.tmux_cpu_pct, "bench_cpu_pct": k.bench_cpu_pct,
                "latencies_ms": [ms(x) for x in k.latencies]}
            log(f"[keypress] {tool.name}: {len(k.latencies)} presses, p50 {ms(k.pct(50))} ms, p95 {ms(k.pct(95))} ms, "
                f"p99 {ms(k.pct(99))} ms, missed {k.missed}; detection error median {ms(k.pct(50, k.resolution))} ms")
    finally:
        launch.stop(l)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--no-scale", action="store_true", help="measure at the testbed's current size")
    ap.add_argument("--keep-scale", action="store_true", help="do not scale back to 0 afterwards")
    ap.add_argument("--scale-down", action="store_true", help="scale back to 0 afterwards even with --no-scale")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=50.0, help="pod events per second during the keypress run")
    ap.add_argument("--presses", type=int, default=120)
    ap.add_argument("--press-seconds", type=float, default=30.0)
    ap.add_argument("--press-max", type=float, default=90.0)
    ap.add_argument("--skip-keypress", action="store_true")
    ap.add_argument("--tools", default="kubectl,k9s,ecotui")
    ap.add_argument("--workdir", default="/tmp/ecotui-bench")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    a = ap.parse_args(argv)
    names = tuple(a.tools.split(","))
    started, t_start = dt.datetime.now(dt.timezone.utc), time.monotonic()

    from testbed import cluster
    if not cluster.is_up():
        log("[testbed] down: python -m testbed up")
        testbed("up")
    if "k9s" in names and not versions.k9s_path().is_file():
        log("[build] k9s missing: python -m testbed build --k9s")
        testbed("build", "--k9s", timeout=3600)
    env = prepare(Path(a.workdir))
    vers = tool_versions(env)
    if vers.get("k9s") in ("dev", "v0.0.0"):
        vers["k9s"] = f"{versions.K9S} (Go module; the binary reports `{vers['k9s']}`: no version ldflags)"
    out: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": report.machine(), "versions": vers,
        "params": {"tolerance": launch.TOLERANCE, "idle_s": a.idle, "rate": a.rate, "width": launch.WIDTH,
                   "height": launch.HEIGHT, "runs": a.runs},
        "resources": {}, "keypress": {}, "errors": [],
        "launch": {"runs": a.runs, "samples": {}, "shown": {}, "warmup": {}, "expected": [], "median": {}, "errors": {}},
        "scale": {"nodes": "?", "pods": "?", "bench_nodes": "?", "bench_pods": 0, "want_nodes": a.nodes,
                  "want_pods": a.pods, "scale_seconds": None}, "scaled": False}
    try:
        _run(env, a, names, out)
    except Exception as e:
        log(f"FAILED: {e}")
        out["errors"].append(f"run: {e}")
        traceback.print_exc()
    finally:
        if (out.get("scaled") and not a.keep_scale) or a.scale_down:
            log("[scale] back to 0: python -m testbed scale --nodes 0 --pods 0")
            try:
                secs, _ = testbed("scale", "--nodes", "0", "--pods", "0")
                log(f"[scale] scaled back in {secs:.0f}s")
            except (RuntimeError, subprocess.SubprocessError) as e:
                log(f"[scale] scaling back FAILED: {e}")
                out["errors"].append(f"scale back: {e}")
    out["duration_s"] = time.monotonic() - t_start
    RESULTS.mkdir(exist_ok=True)
    raw = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    raw.write_text(json.dumps(out, indent=1, default=str))
    Path(a.out).write_text(report.render(out))
    log(f"[report] {a.out} written; raw results {raw}")
    return 0 if not out["errors"] else 1


def _run(env: BenchEnv, a: argparse.Namespace, names: tuple[str, ...], out: dict[str, Any]) -> None:
    if not a.no_scale:
        log(f"[scale] python -m testbed scale --nodes {a.nodes} --pods {a.pods}")
        out["scaled"] = True
        secs, txt = testbed("scale", "--nodes", str(a.nodes), "--pods", str(a.pods))
        (Path(a.workdir) / "scale.log").write_text(txt + "\n")
        log(f"[scale] done in {secs:.0f}s: {txt.splitlines()[-1] if txt else ''}")
        want: tuple[Any, Any] = (a.nodes, a.pods)
    else:
        prev = previous_scale(Path(a.workdir) / "scale.log", out)
        secs, want = (prev[0], prev[1:]) if prev else (None, ("(unchanged)", "(unchanged)"))
    c = counts()
    if a.no_scale and want[0] != "(unchanged)" and (c["bench_nodes"], c["bench_pods"]) != want:
        secs, want = None, ("(unchanged)", "(unchanged)")   # the kept scale log is about another size
        out.pop("scale_note", None)
    out["scale"] = {**c, "want_nodes": want[0], "want_pods": want[1], "scale_seconds": secs}
    log(f"[scale] {out['scale']}")
    audit = AuditTail()
    audit.mark()
    la = launch.run(env, a.runs, names, lambda m: log(m))
    med = {n: la.median(n) for n in names}
    out["launch"] = {**dataclasses.asdict(la), "median": med,
                     "ratio_kubectl": (med["ecotui"] / med["kubectl"]) if med.get("ecotui") and med.get("kubectl") else None,
                     "ratio_k9s": (med["ecotui"] / med["k9s"]) if med.get("ecotui") and med.get("k9s") else None}
    ts = launch.tools(env)
    for name in ("ecotui", "k9s"):
        if name not in names:
            continue
        try:
            resident_phase(env, ts[name], audit, a, out)
        except Exception as e:  # keep going: the other tool's numbers are still worth having
            log(f"[resident] {name} FAILED: {e}")
            out["errors"].append(f"{name} resources/keypress: {e}")
            traceback.print_exc()


if __name__ == "__main__":
    raise SystemExit(main())
