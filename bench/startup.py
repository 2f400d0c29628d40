"""Start-up time of a NON-AWS context: this tree against a baseline commit (default 3951079, before boto3 became
a regular dependency), so "start-up time of non-AWS users unchanged" is a number, not a hope.

Each run is a fresh interpreter in the tree's directory (PYTHONPATH = that tree) that does what `ecotui` does on
the testbed's `ecotui-testbed` context (client certificates, no `eks:`, no exec plugin, no `aws:` section):

    import ecotui.cli → load config + kubeconfig → WorkspaceFactory.build → preflight (the first LIST answered,
    the UI imported meanwhile, as cli._run does) → EcotuiApp headless (Textual's run_test) → first frame drawn

and reports the milestones (seconds since the interpreter started running the script) plus the process's wall
time and CPU time (user+sys: what the start-up costs, least disturbed by other load on the machine), and which boto3/botocore modules ended up in sys.modules (must be none). Runs alternate between the trees
(baseline, current, baseline, …) after one discarded warm-up each, so drift on the machine hits both alike.

    python -m bench.startup [--runs 15] [--base 3951079] [--json out.json]

The baseline is a detached `git worktree` in /tmp (made if missing, left for the next run). The testbed must be
up (`python3 -m testbed up`). Benchmarks run outside CI.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from . import meta

REPO = Path(__file__).resolve().parent.parent
CONTEXT = "ecotui-testbed"
MILESTONES = ("imported", "built", "preflight", "first_frame")

CHILD = r'''
import asyncio, json, os, sys, time
t0 = time.perf_counter()
marks = {}
import ecotui
from ecotui import cli
from ecotui.config import load_config
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.workspace import WorkspaceFactory
marks["imported"] = time.perf_counter() - t0
factory = WorkspaceFactory(load_kubeconfig(os.environ["KUBECONFIG"]), load_config(os.environ["ECOTUI_CONFIG"]),
                           first_context=sys.argv[1], all_namespaces=True)


async def main():
    ws = factory.build(sys.argv[1])
    marks["built"] = time.perf_counter() - t0

    def import_ui():
        import ecotui.ui.app  # noqa: F401

    await cli.preflight(ws.session, meanwhile=import_ui)
    marks["preflight"] = time.perf_counter() - t0
    from ecotui.ui.app import EcotuiApp
    app = EcotuiApp(ws, workspace_factory=factory.build, start_workspace=False, contexts=factory.contexts)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        marks["first_frame"] = time.perf_counter() - t0
        aws = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer"))
        ours = sorted(m for m in sys.modules if m.split(".")[0] == "ecotui")
    await ws.stop()
    return aws, ours

aws, ours = asyncio.run(main())
print(json.dumps({"marks": marks, "aws_modules": aws, "ecotui_modules": ours, "ecotui_file": ecotui.__file__}))
'''


def ensure_worktree(commit: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"ecotui-startup-base-{commit[:10]}"
    if not (path / "ecotui" / "__init__.py").exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=REPO, check=True,
                       capture_output=True, text=True, timeout=120)
    return path


def non_aws_config(tmp: Path) -> Path:
    """The testbed's context config without the `aws:` section (the baseline predates it; and a non-AWS user
    has none)."""
    src = Path(os.environ.get("ECOTUI_CONFIG") or "")
    data = yaml.safe_load(src.read_text()) if src.is_file() else {}
    out = tmp / "ecotui-startup.yaml"
    out.write_text(yaml.safe_dump({"contexts": {CONTEXT: (data.get("contexts") or {}).get(CONTEXT) or {}}}))
    return out


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def one_run(tree: Path, env: dict[str, str]) -> dict[str, Any]:
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, CONTEXT], cwd=tree, capture_output=True, text=True,
                       env={**env, "PYTHONPATH": str(tree)}, timeout=120)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0   # this child's user+sys CPU: less sensitive to other load than wall time
    if p.returncode != 0:
        raise RuntimeError(f"{tree}: exit {p.returncode}: {p.stderr.strip()[-800:]}")
    got = json.loads(p.stdout.strip().splitlines()[-1])
    if not got["ecotui_file"].startswith(str(tree)):
        raise RuntimeError(f"{tree}: imported ecotui from {got['ecotui_file']}")
    return {**got["marks"], "wall": wall, "cpu": cpu, "aws_modules": got["aws_modules"],
            "ecotui_modules": got["ecotui_modules"]}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in (*MILESTONES, "wall", "cpu"):
        xs = [r[k] for r in runs]
        out[k] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}
    out["aws_modules"] = sorted({m for r in runs for m in r["aws_modules"]})
    out["ecotui_modules"] = sorted({m for r in runs for m in r["ecotui_modules"]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--base", default="3951079")
    ap.add_argument("--json", type=Path, help="write the raw runs and summary here")
    a = ap.parse_args(argv)
    if not os.environ.get("KUBECONFIG"):
        print('run `eval "$(python3 -m testbed env)"` first', file=sys.stderr)
        return 2
    base = ensure_worktree(a.base)
    trees = {"base": base, "now": REPO}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ECOTUI_CONFIG=str(non_aws_config(Path(tmp))),
                   ECOTUI_STATE_DIR=str(Path(tmp) / "state"))
        for k in [k for k in env if k.startswith("AWS_")]:
            del env[k]
        # as installed: byte-compiled (pip compiles a wheel's modules); this machine sets PYTHONDONTWRITEBYTECODE,
        # which made every run of a tree with edited files pay their compile (~10 ms for ui/app.py alone)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for tree in trees.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "ecotui")], check=True, env=env)
        load_before = os.getloadavg()
        for tree in trees.values():   # warm-up (page cache, .pyc), discarded
            one_run(tree, env)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for i in range(a.runs):
            order = list(trees.items()) if i % 2 == 0 else list(reversed(trees.items()))
            for name, tree in order:
                runs[name].append(one_run(tree, env))
        load_after = os.getloadavg()
    summary = {name: summarize(r) for name, r in runs.items()}
    for r in runs.values():   # the module lists are in the summary once, not in every run
        for x in r:
            del x["ecotui_modules"]
    ratio = {k: summary["now"][k]["median"] / summary["base"][k]["median"] for k in (*MILESTONES, "wall", "cpu")}
    base_head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=base, capture_output=True, text=True).stdout.strip()
    result = {"provenance": meta.provenance(REPO), "base_commit": base_head, "runs_per_tree": a.runs,
              "loadavg_before": load_before, "loadavg_after": load_after, "summary": summary, "ratio": ratio,
              "runs": runs}
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    print(report(result))
    return 0


def report(r: dict[str, Any]) -> str:
    s, ratio = r["summary"], r["ratio"]
    g = r["provenance"]["git"]
    lines = [f"start-up of a non-AWS context, {r['runs_per_tree']} runs each "
             f"(now {str(g.get('head'))[:10]}{' dirty' if g.get('dirty') else ''} vs base {r['base_commit'][:10]}); "
             f"load average {r['loadavg_before'][0]:.2f} → {r['loadavg_after'][0]:.2f}",
             f"{'milestone (s)':16} {'base median (min–max)':>24} {'now median (min–max)':>24} {'now/base':>9}"]
    for k in (*MILESTONES, "wall", "cpu"):
        b, n = s["base"][k], s["now"][k]
        lines.append(f"{k:16} {b['median']:>8.3f} ({b['min']:.3f}–{b['max']:.3f}) "
                     f"{n['median']:>8.3f} ({n['min']:.3f}–{n['max']:.3f}) {ratio[k]:>9.3f}")
    lines.append(f"boto3/botocore modules loaded: base {s['base']['aws_modules'] or 'none'}, "
                 f"now {s['now']['aws_modules'] or 'none'}")
    extra = sorted(set(s["now"]["ecotui_modules"]) - set(s["base"]["ecotui_modules"]))
    lines.append(f"ecotui modules loaded by the first frame only now ({len(extra)}): {', '.join(extra) or 'none'}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
