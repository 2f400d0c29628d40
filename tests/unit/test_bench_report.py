"""The benchmark's pure parts: statistics, ratios and targets, the raw fetch's list-head reader, report text."""
from __future__ import annotations

import gzip
import json
import math
import zlib

import pytest

from bench import meta, report, stats
from bench.keypress import view_count
from bench.rawfetch import HeadError, ListHead


def _round(i: int, launch: dict, *, rss=110.0, cpu=0.9, lists=0, p99=30.0, deploy=None) -> dict:
    kp = {"presses": 120, "detected": 120, "missed": 0, "seconds": 30.0, "over_100ms": 0, "p50_ms": 5.0,
          "p95_ms": 12.0, "p99_ms": p99, "max_ms": p99, "resolution_p50_ms": 1.0, "stream_rate": 50.0,
          "stream_ok": 1500, "stream_failed": 0, "tool_cpu_pct": 8.0, "tmux_cpu_pct": 1.0, "bench_cpu_pct": 12.0}
    deploy = deploy if deploy is not None else dict(kp, p50_ms=5.0, p95_ms=10.0, p99_ms=20.0, rows=30, back_ok=True)
    res = {"rss_after_load_mib": rss, "rss_peak_mib": rss + 1, "idle_cpu_pct": cpu, "requests_per_minute": 0.0,
           "idle_lists": lists, "idle_pod_lists": lists, "load_requests": 40, "idle_by_verb": {}, "load_by_verb": {},
           "peers": ["127.0.0.1:26443"], "loopback_only": True}
    k9s_res = dict(res, rss_after_load_mib=1400.0, idle_cpu_pct=50.0, idle_lists=2)
    return {"round": i, "order": list(launch), "launch": launch, "shown": {"ecotui": 13646, "k9s": 13646},
            "resources": {"ecotui": res, "k9s": k9s_res}, "keypress": {"ecotui": kp, "k9s": dict(kp, p99_ms=300.0)},
            "keypress_deploy": {"ecotui": deploy, "k9s": dict(kp, p50_ms=20.0, p95_ms=200.0, p99_ms=300.0)},
            "errors": []}


ROUNDS = [
    _round(1, {"raw": 1.2, "kubectl": 5.5, "kubectl-json": 15.0, "ecotui": 1.6, "k9s": 8.0, "k9s-1s": 8.2}),
    _round(2, {"raw": 1.1, "kubectl": 5.9, "kubectl-json": 15.5, "ecotui": 1.5, "k9s": 9.0, "k9s-1s": 7.9}),
    _round(3, {"raw": 1.3, "kubectl": 5.6, "kubectl-json": 14.9, "ecotui": 2.0, "k9s": 8.5, "k9s-1s": 8.8}),
]


def test_summarize_median_and_spread_skip_missing():
    s = stats.summarize([3.0, None, 1.0, float("nan"), 2.0, True, "x"])
    assert s == {"n": 3, "median": 2.0, "min": 1.0, "max": 3.0, "values": [3.0, 1.0, 2.0]}
    assert stats.summarize([None, float("nan")]) is None
    assert stats.summarize([1, 2, 3, 4])["median"] == 2.5


def test_ratio_and_per_run_ratios():
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(None, 2.0) is None and stats.ratio(1.0, 0.0) is None
    per = stats.round_ratios(ROUNDS, "launch_s", "ecotui", "raw")
    assert per == pytest.approx([1.6 / 1.2, 1.5 / 1.1, 2.0 / 1.3])
    summary = stats.summarize_rounds(ROUNDS)
    assert summary["launch_s"]["ecotui"]["median"] == 1.6
    assert stats.median_ratio(summary, "launch_s", "ecotui", "raw") == pytest.approx(1.6 / 1.2)
    assert stats.median_ratio(summary, "launch_s", "ecotui", "nope") is None


def test_targets_pass_fail_and_not_measured():
    res = {t["id"]: t for t in stats.evaluate(ROUNDS)}
    assert res["launch_vs_raw"]["result"] == "PASS"            # 1.6 / 1.2 = 1.33 ≤ 1.5
    assert res["launch_vs_raw"]["spread"] == pytest.approx((1.6 / 1.2, 2.0 / 1.3))
    assert res["launch_vs_k9s"]["result"] == "PASS"            # 1.6 / 8.5
    assert res["rss"]["result"] == "PASS" and res["rss"]["value"] == 110.0
    assert res["idle_cpu"]["result"] == "PASS"
    assert res["idle_lists"]["result"] == "PASS"
    assert res["key_p99"]["result"] == "PASS"
    assert res["deploy_p99"]["result"] == "PASS"

    slow = [dict(r, launch=dict(r["launch"], ecotui=r["launch"]["raw"] * 2)) for r in ROUNDS]
    assert {t["id"]: t for t in stats.evaluate(slow)}["launch_vs_raw"]["result"] == "FAIL"


def test_zero_relists_must_hold_in_every_run():
    rounds = [ROUNDS[0], _round(2, ROUNDS[1]["launch"], lists=1), ROUNDS[2]]
    t = {t["id"]: t for t in stats.evaluate(rounds)}["idle_lists"]
    assert t["value"] == 1 and t["result"] == "FAIL"            # the median is 0, but one run re-listed


def test_deploy_view_not_measured_gives_the_reason():
    why = "`:deploy` + Enter showed no Deployments title with a count within 20 s"
    rounds = [_round(i, r["launch"], deploy={"not_measured": why}) for i, r in enumerate(ROUNDS, 1)]
    t = {t["id"]: t for t in stats.evaluate(rounds)}["deploy_p99"]
    assert t["result"] == "NOT MEASURED" and t["reason"] == why and t["value"] is None
    text = report.render(_results(rounds))
    assert f"not measured: {why}" in text
    assert "**NOT MEASURED**" in text


def test_missing_subject_is_not_measured_not_a_crash():
    rounds = [dict(r, launch={k: v for k, v in r["launch"].items() if k != "raw"}) for r in ROUNDS]
    t = {t["id"]: t for t in stats.evaluate(rounds)}["launch_vs_raw"]
    assert t["result"] == "NOT MEASURED" and "raw" in t["reason"]


def _results(rounds=ROUNDS, dirty=True) -> dict:
    return {
        "schema": 2, "date": "2026-11-27 10:00 UTC",
        "machine": {"nproc": 2, "cpu": "AMD EPYC", "mem_gib": 23.5, "kernel": "6.1", "os": "Linux"},
        "git": {"head": "a" * 40, "dirty": dirty, "dirty_count": 3 if dirty else 0, "dirty_code_count": 1 if dirty else 0},
        "git_end": {"head": "a" * 40}, "versions": {"ecotui": "0.1.0", "python": "3.11", "k9s": "v0.50.16",
                                                    "kubectl": "v1.36.3", "kubernetes": "v1.36.3"},
        "tools": {n: stats.LABELS[n] for n in stats.TOOL_ORDER},
        "params": {"runs": len(rounds), "tolerance": 10, "idle_s": 60.0, "rate": 50.0, "deploy_rate": 20.0,
                   "width": 200, "height": 50, "capture_ms": 0.9},
        "scale": {"nodes": 512, "pods": 13646, "bench_nodes": 500, "bench_pods": 10000, "deployments": 30,
                  "want_nodes": 500, "want_pods": 10000, "scale_seconds": 200.0},
        "warmup": {"raw": 1.4}, "rounds": rounds, "errors": [], "duration_s": 1800.0,
        "k9s_refresh": {"k9s": {"configured": None, "capped_warning_in_log": False},
                        "k9s-1s": {"configured": 1, "capped_warning_in_log": True}},
    }


def test_report_text():
    text = report.render(_results())
    assert "commit **`" + "a" * 40 + "`**" in text
    assert "**work tree DIRTY at run time**" in text and "2 CPUs" not in text and "2 cores (AMD EPYC)" in text
    assert "median" in text and "min–max" in text
    for label in stats.LABELS.values():
        assert label in text
    assert "| 1.60 (1.50–2.00) |" in text                        # ecotui launch median (min–max)
    assert "1.33× (1.33–1.54)" in text                           # ecotui ÷ raw fetch, per-run range
    assert "**PASS**" in text and "8 of 8 targets pass" in text
    assert "both k9s rows ran with a 2 s tick" in text
    clean = report.render(_results(dirty=False))
    assert "work tree clean" in clean and "DIRTY" not in clean


def test_report_rejects_old_results_and_lists_them_as_history(tmp_path):
    old = {"date": "2026-11-26 13:28 UTC", "scale": {"pods": 13647},
           "launch": {"median": {"kubectl": 15.2, "k9s": 8.4, "ecotui": 3.0}}}
    with pytest.raises(ValueError):
        report.render(old)
    (tmp_path / "20261126T132840Z.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(_results()))
    prev = report.previous_runs(tmp_path)
    assert [p["file"] for p in prev] == ["bench/results/20261126T132840Z.json"]
    text = report.render(_results(), previous=prev)
    assert "Previous runs" in text and "ecotui 3.00 s" in text


def _page(cont: str, n_items: int = 300) -> bytes:
    items = [{"metadata": {"name": f"p{i}", "namespace": "bench"}, "spec": {"x": "y" * 50}} for i in range(n_items)]
    meta_ = {"resourceVersion": "123", **({"continue": cont, "remainingItemCount": 9500} if cont else {})}
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": meta_, "items": items}).encode()


def _chunks(b: bytes, size: int) -> list[bytes]:
    return [b[i:i + size] for i in range(0, len(b), size)]


@pytest.mark.parametrize("enc", ["identity", "gzip", "deflate"])
def test_list_head_finds_continue_without_decoding_items(enc):
    body = _page("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==", n_items=3000)
    raw = {"identity": body, "gzip": gzip.compress(body), "deflate": zlib.compress(body)}[enc]
    h = ListHead(enc, head_max=4096)
    for c in _chunks(raw, 7):            # the metadata arrives split over many chunks
        h.feed(c)
    assert h.metadata == {"resourceVersion": "123", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==",
                          "remainingItemCount": 9500}
    assert len(h.buf) <= 4096 < len(body)  # only the head was decompressed


def test_list_head_last_page_and_garbage():
    h = ListHead("gzip")
    h.feed(gzip.compress(_page("")))
    assert h.done and not h.metadata.get("continue")
    h = ListHead("identity", head_max=64)
    with pytest.raises(HeadError):
        h.feed(b'{"kind":"PodList","items":[' + b"x" * 100)
    with pytest.raises(HeadError):
        ListHead("br")


def test_porcelain_paths():
    out = " M ecotui/ui/app.py\n?? bench/new.py\nR  old.md -> docs/new.md\n"
    assert meta.parse_porcelain(out) == ["ecotui/ui/app.py", "bench/new.py", "docs/new.md"]
    assert meta.parse_porcelain("") == []


def test_deployments_title_detection():
    assert view_count("│ Deployments · 12 ─────") == 12
    assert view_count("│ Deployments · 12 · loading… ─") is None
    assert view_count(" deployments(all)[1,234] ") == 1234
    assert view_count("unknown command 'deploy'; commands: ns NAME|all, deployments, pods") is None
    assert view_count(" Pods · 13646 ") is None


def test_nan_is_not_a_value():
    assert stats.summarize([math.nan]) is None
