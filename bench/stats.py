"""Pure statistics for the benchmark: per-metric medians and spread over runs, ratios, target checks.

No I/O and no testbed imports: bench/report.py renders from what this computes, and the unit tests
(tests/unit/test_bench_report.py) exercise it on hand-made results.

A run's results (one entry of `results["rounds"]`) look like
    {"round": 1, "launch": {tool: seconds}, "resources": {tool: {...}}, "keypress": {tool: {...}},
     "keypress_deploy": {tool: {...} | {"not_measured": "reason"}}, ...}
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable

# tool ids, in table order, and what each one is
TOOL_ORDER = ("raw", "kubectl", "kubectl-json", "ecotui", "k9s", "k9s-1s")
TUIS = ("ecotui", "k9s", "k9s-1s")
BASELINES = ("raw", "kubectl", "kubectl-json")
LABELS = {
    "raw": "raw paged fetch, 500/page, no decoding (physical floor, not a tool)",
    "kubectl": "`kubectl get pods -A` (Table output)",
    "kubectl-json": "kubectl -o json: fetch + decode + re-encode",
    "ecotui": "ecotui",
    "k9s": "k9s, default refresh (2 s)",
    "k9s-1s": "k9s, `refreshRate: 1`",
}
SHORT = {"raw": "raw fetch (floor)", "kubectl": "kubectl (Table)", "kubectl-json": "kubectl -o json",
         "ecotui": "ecotui", "k9s": "k9s (2 s, default)", "k9s-1s": "k9s (1 s)"}

# metric id -> (section in a round, key in the tool's dict, unit, format)
METRICS: dict[str, tuple[str, str, str, str]] = {
    "launch_s": ("launch", "", "s", "{:.2f}"),
    "rss_mib": ("resources", "rss_after_load_mib", "MiB", "{:.0f}"),
    "rss_peak_mib": ("resources", "rss_peak_mib", "MiB", "{:.0f}"),
    "idle_cpu_pct": ("resources", "idle_cpu_pct", "%", "{:.2f}"),
    "idle_req_per_min": ("resources", "requests_per_minute", "/min", "{:.1f}"),
    "idle_lists": ("resources", "idle_lists", "", "{:.0f}"),
    "idle_pod_lists": ("resources", "idle_pod_lists", "", "{:.0f}"),
    "load_requests": ("resources", "load_requests", "", "{:.0f}"),
    "key_p50_ms": ("keypress", "p50_ms", "ms", "{:.0f}"),
    "key_p95_ms": ("keypress", "p95_ms", "ms", "{:.0f}"),
    "key_p99_ms": ("keypress", "p99_ms", "ms", "{:.0f}"),
    "deploy_p50_ms": ("keypress_deploy", "p50_ms", "ms", "{:.0f}"),
    "deploy_p95_ms": ("keypress_deploy", "p95_ms", "ms", "{:.0f}"),
    "deploy_p99_ms": ("keypress_deploy", "p99_ms", "ms", "{:.0f}"),
}


@dataclass(frozen=True)
class Target:
    id: str
    label: str
    metric: str           # a METRICS id, or "ratio:<metric>:<denominator tool>"
    limit: float
    stat: str = "median"  # which statistic over the runs is checked: "median" or "max" (every run)
    tool: str = "ecotui"


TARGETS: tuple[Target, ...] = (
    Target("launch_vs_raw", "launch → complete pods table ÷ raw paged fetch", "ratio:launch_s:raw", 1.5),
    Target("launch_vs_k9s", "launch → complete pods table ÷ k9s (default 2 s refresh)", "ratio:launch_s:k9s", 0.5),
    Target("launch_vs_k9s_1s", "launch → complete pods table ÷ k9s (`refreshRate: 1`)", "ratio:launch_s:k9s-1s", 0.5),
    Target("rss", "RSS after load (MiB)", "rss_mib", 150.0),
    Target("idle_cpu", "idle CPU (% of one core)", "idle_cpu_pct", 2.0),
    Target("idle_lists", "LIST requests while idle (re-lists), every run", "idle_lists", 0, stat="max"),
    Target("key_p99", "keypress → repaint p99, pods view (ms)", "key_p99_ms", 100.0),
    Target("deploy_p99", "keypress → repaint p99, Deployments view `:deploy` (ms)", "deploy_p99_ms", 100.0),
)


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return None if math.isnan(x) else float(x)


def summarize(values: Iterable[Any]) -> dict[str, Any] | None:
    """Median and spread of the numeric values (None, NaN and non-numbers are skipped); None when empty."""
    xs = [v for v in (_num(x) for x in values) if v is not None]
    if not xs:
        return None
    return {"n": len(xs), "median": statistics.median(xs), "min": min(xs), "max": max(xs), "values": xs}


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def value_of(rnd: dict[str, Any], metric: str, tool: str) -> float | None:
    section, key, _, _ = METRICS[metric]
    d = (rnd.get(section) or {}).get(tool)
    if key == "":
        return _num(d)
    if not isinstance(d, dict):
        return None
    return _num(d.get(key))


def not_measured(rounds: list[dict[str, Any]], section: str, tool: str) -> list[str]:
    """The reasons the runs give for not measuring `section` for `tool` (e.g. the :deploy view did not open)."""
    out = []
    for r in rounds:
        d = (r.get(section) or {}).get(tool)
        if isinstance(d, dict) and d.get("not_measured"):
            out.append(str(d["not_measured"]))
    return out


def summarize_rounds(rounds: list[dict[str, Any]], tools: Iterable[str] = TOOL_ORDER) -> dict[str, dict[str, Any]]:
    """{metric: {tool: summary}} over the runs, for every metric with at least one value."""
    out: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        for tool in tools:
            s = summarize(value_of(r, metric, tool) for r in rounds)
            if s:
                out.setdefault(metric, {})[tool] = s
    return out


def round_ratios(rounds: list[dict[str, Any]], metric: str, num: str, den: str) -> list[float]:
    """num ÷ den within each run (both measured in the same run), for the spread of a ratio."""
    out = []
    for r in rounds:
        q = ratio(value_of(r, metric, num), value_of(r, metric, den))
        if q is not None:
            out.append(q)
    return out


def median_ratio(summary: dict[str, dict[str, Any]], metric: str, num: str, den: str) -> float | None:
    """Ratio of the two tools' medians (the headline ratio)."""
    a = (summary.get(metric) or {}).get(num)
    b = (summary.get(metric) or {}).get(den)
    return ratio(a and a["median"], b and b["median"])


def evaluate(rounds: list[dict[str, Any]], targets: Iterable[Target] = TARGETS) -> list[dict[str, Any]]:
    """Each target with its checked value, the runs' spread and "PASS" / "FAIL" / "NOT MEASURED"."""
    summary = summarize_rounds(rounds)
    res = []
    for t in targets:
        row: dict[str, Any] = {"id": t.id, "label": t.label, "limit": t.limit, "stat": t.stat, "tool": t.tool}
        if t.metric.startswith("ratio:"):
            _, metric, den = t.metric.split(":")
            per_run = round_ratios(rounds, metric, t.tool, den)
            value = median_ratio(summary, metric, t.tool, den) if t.stat == "median" else (max(per_run) if per_run else None)
            spread = (min(per_run), max(per_run)) if per_run else None
            section = METRICS[metric][0]
            why = not_measured(rounds, section, t.tool) + not_measured(rounds, section, den)
            if value is None and not why:
                missing = [x for x in (t.tool, den) if not (summary.get(metric) or {}).get(x)]
                why = [f"no successful {metric} run of {', '.join(missing) or 'both'}"]
        else:
            s = (summary.get(t.metric) or {}).get(t.tool)
            value = None if s is None else s[t.stat]
            spread = None if s is None else (s["min"], s["max"])
            why = not_measured(rounds, METRICS[t.metric][0], t.tool)
            if s is None and not why:
                why = [f"no successful run of {t.tool} measured {t.metric}"]
        row["value"], row["spread"] = value, spread
        if value is None:
            row["result"] = "NOT MEASURED"
            row["reason"] = "; ".join(dict.fromkeys(why))  # unique, in order
        else:
            row["result"] = "PASS" if value <= t.limit else "FAIL"
        res.append(row)
    return res

