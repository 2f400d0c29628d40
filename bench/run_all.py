"""Run every benchmark and write docs/benchmarks.md (plus the raw JSON in bench/results/).

The real result (what docs/benchmarks.md should show) — run it on an otherwise idle machine:

    python3 -m bench.run_all
        = --nodes 500 --pods 10000 --runs 3: scales the testbed to 500 bench nodes / 10,000 bench pods
          (~13.6k pods in all), measures, scales back to 0, writes bench/results/<UTC time>.json and
          docs/benchmarks.md. Expect about 30 min (25–40), from the old runs' timings: scaling ~3 min up and
          ~1 min down, a warm-up round ~1 min, then per run ~8 min: the three baselines ~30 s (raw ~1.2 s,
          `kubectl get pods -A` ~6 s, `-o json` ~15 s) and three TUIs × ~2.4 min (launch 3–9 s, 5 s settle,
          60 s idle, 2 × ~35 s of keypresses incl. calibration, `:deploy`, stop).

    python3 -m bench.run_all --no-scale --runs 1 --results-dir /tmp/ecotui-bench/results \\
        --out /tmp/ecotui-bench/benchmarks.md        # quick check of every code path at the current size

Steps: testbed up (if down) → k9s build (if missing) → scale → one warm-up round of launches (discarded) →
`--runs` complete runs. In each run every subject is measured once, in a rotating order (interleaved, so
slow drifts hit every subject alike):
  baselines   raw paged fetch (500/page, bodies discarded: the physical floor, not a tool), `kubectl get pods
              -A` (Table output), `kubectl get pods -A -o json` (fetch + decode + re-encode);
  TUIs        ecotui, k9s at its default refresh (2 s) and k9s with `refreshRate: 1`, each in one fresh tmux
              session: launch → complete pods table, RSS, idle CPU and API requests (audit log), keypress →
              repaint in the pods table under a pod-event stream, then `:deploy` + Enter and keypress →
              repaint in the Deployments view under a deployment-change stream (reported as "not measured:
              <reason>" when the view does not open), then Escape back.
→ scale back → report (medians, min–max over the runs, ratios vs the raw fetch and vs k9s, targets PASS/FAIL).
A failing step is recorded in the report and the others still run. Every loop is bounded in count and time;
everything talks to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from . import events, keypress, launch, meta, report, resources, stats
from .audit import AuditTail
from .tmux import capture_cost
from .toolenv import K9S_MODES, REPO, BenchEnv, k9s_log_text, prepare, tool_versions, versions

RESULTS = Path(__file__).resolve().parent / "results"
SCALE_DONE = re.compile(r"scale to (\d+) nodes / (\d+) pods done in ([\d.]+)s")
ALL_TOOLS = ",".join(stats.TOOL_ORDER)
K9S_CAP_WARNING = "Refresh rate is below minimum"


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
            "bench_pods": total(f"/api/v1/namespaces/{NS}/pods"), "deployments": total("/apis/apps/v1/deployments")}


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


def _ms(x: float) -> float | None:
    return None if x != x else round(x * 1000, 1)  # NaN (no press detected) -> None


def keypress_summary(k: keypress.KeypressResult) -> dict[str, Any]:
    return {
        "presses": k.presses, "detected": len(k.latencies), "missed": k.missed, "seconds": round(k.seconds, 2),
        "over_100ms": sum(1 for x in k.latencies if x > 0.1),
        "p50_ms": _ms(k.pct(50)), "p95_ms": _ms(k.pct(95)), "p99_ms": _ms(k.pct(99)),
        "max_ms": _ms(max(k.latencies)) if k.latencies else None,
        "resolution_p50_ms": _ms(k.pct(50, k.resolution)), "resolution_max_ms": _ms(max(k.resolution or [0])),
        "stream_rate": round(k.stream_rate, 2), "stream_ok": k.stream_ok, "stream_failed": k.stream_failed,
        "tool_cpu_pct": round(k.tool_cpu_pct, 2), "tmux_cpu_pct": round(k.tmux_cpu_pct, 2),
        "bench_cpu_pct": round(k.bench_cpu_pct, 2), "latencies_ms": [_ms(x) for x in k.latencies]}


def _log_kp(name: str, view: str, d: dict[str, Any]) -> None:
    log(f"[keypress] {name} {view}: {d['detected']} presses, p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, "
        f"p99 {d['p99_ms']} ms, missed {d['missed']}; detection error median {d['resolution_p50_ms']} ms")


def tui_cycle(env: BenchEnv, tool: launch.Tool, audit: AuditTail, a: argparse.Namespace, rnd: dict[str, Any],
              out: dict[str, Any]) -> None:
    """One fresh session of `tool`: launch → RSS + idle → keypress (pods) → `:deploy` keypress → Escape."""
    name = tool.name
    l = launch.launch(tool, launch.expected_pods())
    rnd["launch"][name], rnd["shown"][name] = l.seconds, l.shown
    log(f"[run {rnd['round']}] {name}: launch → complete pods table {l.seconds:.2f}s ({l.shown} rows)")
    errs: list[str] = rnd["errors"]

    def step(what: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 — keep going: the next step is still worth measuring
            errs.append(f"{name} {what}: {e}")
            log(f"[run {rnd['round']}] {name} {what} FAILED: {str(e)[:1500]}")
            traceback.print_exc()

    def resident() -> None:
        r = resources.measure(l, tool, audit, env.credential_id, a.idle, log)
        rnd["resources"][name] = {
            "rss_after_load_mib": _mib(r.rss_after_load), "rss_peak_mib": _mib(r.rss_peak),
            "idle_cpu_pct": round(r.cpu_pct, 3), "idle_seconds": round(r.seconds, 1),
            "requests_per_minute": round(r.requests_per_minute, 2), "idle_requests": r.idle.total,
            "idle_lists": r.idle.by_verb.get("list", 0), "idle_pod_lists": r.idle.pod_lists,
            "idle_by_verb": r.idle.by_verb, "idle_samples": r.idle.samples,
            "load_requests": r.load.total, "load_pod_lists": r.load.pod_lists, "load_by_verb": r.load.by_verb,
            "peers": r.peers, "loopback_only": r.loopback_only, "idle_window_epoch": r.window,
            "load_window_epoch": (l.t_wall_start, l.t_wall_done)}

    def pods_keys() -> None:
        out["params"]["capture_ms"] = round(capture_cost(l.session) * 1000, 2)
        cal = keypress.calibrate(l.session, tool.focus_pods)
        ns = "bench" if out["scale"].get("bench_pods") else "kube-system"
        stream = events.PodEventStream(ns, events.pick_pods(ns), a.rate, max_seconds=a.press_max + 10)
        log(f"[keypress] {name} pods: cursor rows at screen line {cal.row}; streaming {a.rate:.0f} patches/s on {ns}")
        k = keypress.measure(l.session, cal, stream, min_presses=a.presses, min_seconds=a.press_seconds,
                             max_seconds=a.press_max)
        rnd["keypress"][name] = d = keypress_summary(k)
        _log_kp(name, "pods", d)

    def deploy_keys() -> None:
        rnd["keypress_deploy"][name] = {"not_measured": "the step failed before measuring (see errors)"}
        v = keypress.open_view(l.session, "deploy")
        if not v.ok:
            rnd["keypress_deploy"][name] = {"not_measured": v.reason}
            log(f"[keypress] {name} deployments: not measured: {v.reason}")
            return
        log(f"[keypress] {name}: `:deploy` opened in {v.seconds:.2f}s ({v.rows} rows)")
        try:
            cal = keypress.calibrate(l.session)
        except RuntimeError as e:
            rnd["keypress_deploy"][name] = {"not_measured": f"Deployments view opened but no table cursor found: "
                                                            f"{str(e).splitlines()[0]}"}
            return
        # the two cursor rows are left out of the stream: a patched row changes colour in k9s ("modified" rows),
        # which the SGR-signature detection cannot tell from a cursor move; every other deployment is patched
        screen = " ".join(l.session.capture().lines[cal.row:cal.row + 2])
        every = events.pick_deployments()
        targets = [p for p in every if not re.search(rf"(?<![\w.-]){re.escape(p.rsplit('/', 1)[1])}(?![\w.-])", screen)]
        if not targets:
            rnd["keypress_deploy"][name] = {"not_measured": "no deployment outside the two cursor rows to patch"}
            return
        stream = events.DeploymentEventStream(targets, a.deploy_rate, max_seconds=a.press_max + 10)
        log(f"[keypress] {name} deployments: streaming {a.deploy_rate:.0f} patches/s over {len(targets)} deployments")
        try:
            k = keypress.measure(l.session, cal, stream, min_presses=a.presses, min_seconds=a.press_seconds,
                                 max_seconds=a.press_max)
        finally:
            failed = events.clear_annotation(targets)
        d = keypress_summary(k)
        if not k.latencies:
            d["not_measured"] = f"Deployments view opened, but no repaint of a press was detected ({k.missed} missed)"
        d.update(open_seconds=round(v.seconds, 3), rows=v.rows, deployments_patched=len(targets),
                 deployments_on_cursor_rows=len(every) - len(targets),
                 annotation_cleanup_failed=failed, back_ok=keypress.go_back(l.session, tool.count))
        rnd["keypress_deploy"][name] = d
        _log_kp(name, "deployments", d)

    try:
        if not a.skip_idle:
            step("resources", resident)
        if not a.skip_keypress:
            step("keypress (pods)", pods_keys)
        if not a.skip_keypress and not a.skip_deploy:
            step("keypress (deployments)", deploy_keys)
    finally:
        launch.stop(l)


def baseline_step(env: BenchEnv, name: str, rnd: dict[str, Any]) -> None:
    secs, info = launch.baseline(env, name)
    rnd["launch"][name] = secs
    if info:
        rnd.setdefault("baseline_info", {})[name] = info
    log(f"[run {rnd['round']}] {stats.SHORT[name]}: {secs:.2f}s" + (f" {info}" if info else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--no-scale", action="store_true", help="measure at the testbed's current size")
    ap.add_argument("--keep-scale", action="store_true", help="do not scale back to 0 afterwards")
    ap.add_argument("--scale-down", action="store_true", help="scale back to 0 afterwards even with --no-scale")
    ap.add_argument("--runs", type=int, default=3, help="complete runs (default 3); medians and min–max over them")
    ap.add_argument("--no-warmup", action="store_true", help="skip the discarded warm-up round of launches")
    ap.add_argument("--idle", type=float, default=60.0, help="idle window in seconds (default 60)")
    ap.add_argument("--rate", type=float, default=50.0, help="pod events per second during the pods keypress run")
    ap.add_argument("--deploy-rate", type=float, default=20.0,
                    help="deployment annotation patches per second during the :deploy keypress run")
    ap.add_argument("--presses", type=int, default=120)
    ap.add_argument("--press-seconds", type=float, default=30.0)
    ap.add_argument("--press-max", type=float, default=90.0)
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--skip-keypress", action="store_true")
    ap.add_argument("--skip-deploy", action="store_true", help="skip the :deploy view keypress run")
    ap.add_argument("--tools", default=ALL_TOOLS, help=f"subjects to measure (default {ALL_TOOLS})")
    ap.add_argument("--workdir", default="/tmp/ecotui-bench")
    ap.add_argument("--results-dir", default=str(RESULTS), help="where the raw JSON goes (default bench/results)")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    a = ap.parse_args(argv)
    names = tuple(a.tools.split(","))
    unknown = [n for n in names if n not in stats.TOOL_ORDER]
    if unknown:
        ap.error(f"unknown tool(s) {unknown}; choose from {ALL_TOOLS}")
    if not 1 <= a.runs <= 20:
        ap.error("--runs must be between 1 and 20")
    started, t_start = dt.datetime.now(dt.timezone.utc), time.monotonic()
    prov = meta.provenance(REPO)
    g = prov["git"]
    log(f"[meta] HEAD {g.get('head')}, work tree {'DIRTY (%s paths)' % g.get('dirty_count') if g.get('dirty') else 'clean'}")

    from testbed import cluster
    if not cluster.is_up():
        log("[testbed] down: python -m testbed up")
        testbed("up")
    if any(n.startswith("k9s") for n in names) and not versions.k9s_path().is_file():
        log("[build] k9s missing: python -m testbed build --k9s")
        testbed("build", "--k9s", timeout=3600)
    env = prepare(Path(a.workdir))
    vers = tool_versions(env)
    if vers.get("k9s") in ("dev", "v0.0.0"):
        vers["k9s"] = f"{versions.K9S} (Go module; the binary reports `{vers['k9s']}`: no version ldflags)"
    out: dict[str, Any] = {
        "schema": 2, "date": prov["date"], "machine": prov["machine"], "git": g, "versions": vers,
        "tools": {n: stats.LABELS[n] for n in names},
        "params": {"tolerance": launch.TOLERANCE, "idle_s": a.idle, "rate": a.rate, "deploy_rate": a.deploy_rate,
                   "width": launch.WIDTH, "height": launch.HEIGHT, "runs": a.runs, "presses": a.presses,
                   "press_seconds": a.press_seconds, "k9s_refresh_config": dict(K9S_MODES),
                   "argv": sys.argv[1:] if argv is None else list(argv)},
        "warmup": {}, "rounds": [], "errors": [],
        "scale": {"nodes": "?", "pods": "?", "bench_nodes": "?", "bench_pods": 0, "want_nodes": a.nodes,
                  "want_pods": a.pods, "scale_seconds": None}, "scaled": False}
    RESULTS_DIR = Path(a.results_dir)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    raw = RESULTS_DIR / f"{started:%Y%m%dT%H%M%SZ}.json"

    def save() -> None:
        out["summary"] = stats.summarize_rounds(out["rounds"])
        out["targets"] = stats.evaluate(out["rounds"])
        raw.write_text(json.dumps(out, indent=1, default=str))

    try:
        _run(env, a, names, out, save)
    except Exception as e:  # noqa: BLE001
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
    for mode in K9S_MODES:
        if mode in names:
            out.setdefault("k9s_refresh", {})[mode] = {
                "configured": K9S_MODES[mode], "capped_warning_in_log": K9S_CAP_WARNING in k9s_log_text(env, mode)}
    g_end = meta.git_state(REPO)
    out["git_end"] = {"head": g_end.get("head"), "dirty": g_end.get("dirty"), "dirty_count": g_end.get("dirty_count")}
    out["duration_s"] = time.monotonic() - t_start
    save()
    Path(a.out).write_text(report.with_drain_section(report.render(out, previous=report.previous_runs(RESULTS,
                                                                                                      exclude=raw))))
    log(f"[report] {a.out} written; raw results {raw}")
    for t in out["targets"]:
        log(f"[target] {t['result']:12} {t['label']}: {t['value'] if t['value'] is not None else t.get('reason')}")
    return 0 if not out["errors"] and not any(r["errors"] for r in out["rounds"]) else 1


def _run(env: BenchEnv, a: argparse.Namespace, names: tuple[str, ...], out: dict[str, Any],
         save: Callable[[], None]) -> None:
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
    ts = launch.tools(env)
    if not a.no_warmup:
        for name in names:
            try:
                if name in launch.BASELINES:
                    secs, _ = launch.baseline(env, name)
                else:
                    l = launch.launch(ts[name], launch.expected_pods())
                    secs = l.seconds
                    launch.stop(l)
                out["warmup"][name] = secs
                log(f"[warm-up] {stats.SHORT[name]}: {secs:.2f}s (discarded)")
            except Exception as e:  # noqa: BLE001
                out["errors"].append(f"warm-up {name}: {str(e)[:2000]}")
                log(f"[warm-up] {name} FAILED: {str(e)[:2000]}")
            time.sleep(2)
    for i in range(a.runs):
        order = names[i % len(names):] + names[:i % len(names)]
        rnd: dict[str, Any] = {"round": i + 1, "order": list(order), "started": time.time(), "launch": {},
                               "shown": {}, "resources": {}, "keypress": {}, "keypress_deploy": {}, "errors": []}
        out["rounds"].append(rnd)
        log(f"[run {i + 1}/{a.runs}] order: {', '.join(order)}")
        for name in order:
            try:
                if name in launch.BASELINES:
                    baseline_step(env, name, rnd)
                else:
                    tui_cycle(env, ts[name], audit, a, rnd, out)
            except Exception as e:  # noqa: BLE001 — keep going: the other subjects are still worth having
                rnd["errors"].append(f"{name}: {str(e)[:3000]}")
                log(f"[run {i + 1}] {name} FAILED: {str(e)[:2000]}")
                traceback.print_exc()
            time.sleep(2)  # let the API server settle between subjects
        rnd["seconds"] = time.time() - rnd["started"]
        save()   # a partial result survives an interrupted run


if __name__ == "__main__":
    raise SystemExit(main())
