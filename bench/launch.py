"""Launch → complete pods table: ecotui and k9s (both refresh modes, in tmux), and the baselines: the raw paged
fetch (physical floor, bench/rawfetch.py), `kubectl get pods -A` (Table output) and `kubectl get pods -A -o json`.

`python -m bench.launch` runs launches only: interleaved rounds (rotating order) after one discarded warm-up
round (discovery caches, page cache); bench/run_all.py does the full cycle. The expected pod count is read
from the API server (admin identity, not audited) right before each launch (and again every 5 s while a shown
count does not match); a table counts as complete when its title shows that count (± a small tolerance for pods
other tests create or delete meanwhile) and, for ecotui, no longer says "loading…".

    python -m bench.launch [--runs 5]
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import procstat
from .tmux import MAX_POLLS, Tmux
from .toolenv import BenchEnv, prepare

WIDTH, HEIGHT = 200, 50
TOLERANCE = 10
LAUNCH_TIMEOUT = 240.0
RECHECK = 5.0   # re-read the expected count this often once the tool shows a count that does not match

_ECOTUI_TITLE = re.compile(r"Pods · (\d+)(?:/(\d+))?((?: · [^·\n]*)*)")
_K9S_TITLE = re.compile(r"[Pp]ods\((?:all)\)\[([\d,]+)\]")   # k9s groups digits: pods(all)[13,643]


def ecotui_count(text: str) -> int | None:
    """Rows in ecotui's pods pane, or None while absent or still loading."""
    m = _ECOTUI_TITLE.search(text)
    if not m or "loading" in (m.group(3) or ""):
        return None
    return int(m.group(1))  # rows shown ("shown/total" only appears under a filter)


def k9s_count(text: str) -> int | None:
    m = _K9S_TITLE.search(text)
    return int(m.group(1).replace(",", "")) if m else None


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str]
    ua_prefix: str                      # user agent as the audit log records it
    count: Callable[[str], int | None]
    focus_pods: tuple[str, ...] = ()    # keys that put the cursor into the pods table


def tools(env: BenchEnv) -> dict[str, Tool]:
    return {
        "k9s": Tool("k9s", env.k9s_argv(), env.k9s_env("k9s"), "k9s/", k9s_count),
        "k9s-1s": Tool("k9s-1s", env.k9s_argv(), env.k9s_env("k9s-1s"), "k9s/", k9s_count),
        "ecotui": Tool("ecotui", env.ecotui_argv(), env.ecotui_env(), "ecotui/", ecotui_count, ("2",)),
    }


BASELINES = ("raw", "kubectl", "kubectl-json")


def expected_pods() -> int:
    from testbed.kube import get_json
    page = get_json("/api/v1/pods", limit=1)
    return len(page["items"]) + int(page["metadata"].get("remainingItemCount") or 0)


@dataclass
class Launched:
    tool: str
    seconds: float
    shown: int
    expected: int
    session: Tmux
    pid: int
    t_wall_start: float = 0.0
    t_wall_done: float = 0.0


def launch(tool: Tool, expected: int, timeout: float = LAUNCH_TIMEOUT) -> Launched:
    """Start the tool in tmux; return once its pods table shows `expected` rows. The caller owns the session."""
    t = Tmux(tool.name, WIDTH, HEIGHT).start(tool.argv, tool.env, cwd=str(Path(__file__).resolve().parent.parent))
    try:
        pid = t.pane_pid()
        wall0 = time.time()
        t0 = t.go()
        deadline = t0 + timeout
        last = ""
        recheck = t0 + RECHECK
        for _ in range(MAX_POLLS):
            s = t.capture()
            n = tool.count(s.text)
            if n is not None and abs(n - expected) <= TOLERANCE:
                return Launched(tool.name, s.t - t0, n, expected, t, pid, wall0, time.time())
            if s.t > recheck and n is not None:  # the cluster may have changed meanwhile (other tests)
                expected, recheck = expected_pods(), s.t + RECHECK
            last = s.text
            if s.t > deadline:
                break
            if t.pane_dead():
                raise RuntimeError(f"{tool.name} exited during launch; screen:\n{last[:2000]}")
            t.wait_output(0.02)
        raise TimeoutError(f"{tool.name}: pods table not complete ({expected} pods) after {timeout:.0f}s; "
                           f"screen:\n{last[:3000]}")
    except BaseException:
        t.kill()
        raise


def stop(l: Launched) -> None:
    l.session.kill()
    if not procstat.wait_gone(l.pid, 15):
        raise RuntimeError(f"{l.tool} (pid {l.pid}) did not exit after its tmux server was killed")


def kubectl_get(env: BenchEnv, json_output: bool) -> float:
    """Wall time of `kubectl get pods -A` (server-side Table, 500-item pages) or `... -o json` (full objects,
    decoded and re-encoded by kubectl), stdout discarded."""
    argv = [str(env.kubectl), "get", "pods", "-A"] + (["-o", "json"] if json_output else [])
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env.kubectl_env(), timeout=300)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} failed: {p.stderr.decode()[:500]}")
    return dt


def baseline(env: BenchEnv, name: str) -> tuple[float, dict]:
    """Seconds for one baseline, and what it saw."""
    if name == "raw":
        from . import rawfetch
        r = rawfetch.fetch(env.kubeconfig)
        return r.seconds, r.as_dict()
    if name in ("kubectl", "kubectl-json"):
        return kubectl_get(env, name == "kubectl-json"), {}
    raise ValueError(f"unknown baseline {name!r}")


@dataclass
class LaunchResults:
    runs: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    shown: dict[str, list[int]] = field(default_factory=dict)
    expected: list[int] = field(default_factory=list)
    warmup: dict[str, float] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        xs = self.samples.get(name) or []
        return statistics.median(xs) if xs else None


def run(env: BenchEnv, runs: int = 5, names: tuple[str, ...] = ("raw", "kubectl", "kubectl-json", "k9s", "ecotui"),
        log: Callable[[str], None] = print, max_errors: int = 2) -> LaunchResults:
    """One discarded warm-up round, then `runs` interleaved rounds (the order rotates every round)."""
    ts = tools(env)
    res = LaunchResults(runs, {n: [] for n in names}, {n: [] for n in names if n not in BASELINES},
                        errors={n: [] for n in names})
    for rnd in range(runs + 1):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for name in order:
            if len(res.errors[name]) >= max_errors:
                continue
            shown = None
            try:
                if name in BASELINES:
                    secs, _ = baseline(env, name)
                else:
                    exp = expected_pods()
                    res.expected.append(exp)
                    l = launch(ts[name], exp)
                    secs, shown = l.seconds, l.shown
                    stop(l)
            except Exception as e:  # noqa: BLE001 — one failed launch must not end the rounds
                res.errors[name].append(f"round {rnd}: {e}")
                log(f"[launch] round {rnd} {name}: FAILED: {str(e)[:2000]}")
                continue
            if rnd == 0:
                res.warmup[name] = secs
                log(f"[launch] warm-up {name}: {secs:.2f}s (discarded)")
            else:
                res.samples[name].append(secs)
                if shown is not None:
                    res.shown[name].append(shown)
                log(f"[launch] run {rnd}/{runs} {name}: {secs:.2f}s" + (f" ({shown} rows)" if shown else ""))
            time.sleep(2)  # let the API server settle between tools
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tools", default="raw,kubectl,kubectl-json,k9s,k9s-1s,ecotui")
    ap.add_argument("--workdir", default="/tmp/ecotui-bench")
    a = ap.parse_args()
    env = prepare(Path(a.workdir))
    res = run(env, a.runs, tuple(a.tools.split(",")))
    for n, xs in res.samples.items():
        med = res.median(n)
        print(f"{n:8} median {med:.2f}s" if med is not None else f"{n:8} no successful run",
              " runs", ", ".join(f"{x:.2f}" for x in xs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
