"""Where and on what a run happened: date, machine (CPU model, cores, RAM), `git rev-parse HEAD` and whether the
work tree was dirty (`git status --porcelain` non-empty). Recorded in every results file and in the report."""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

CODE_DIRS = ("ecotui/", "keymaps.yaml", "themes/", "pyproject.toml")   # what the measured program is made of


def machine() -> dict[str, Any]:
    model = "unknown"
    mem_kib = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                       if x.startswith("MemTotal:"))
    except (OSError, StopIteration):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "os": platform.platform()}


def parse_porcelain(text: str) -> list[str]:
    """Paths from `git status --porcelain` (v1) output; for a rename, the new path."""
    out = []
    for line in text.splitlines():
        if len(line) < 4:
            continue
        path = line[3:]
        if " -> " in path:
            path = path.split(" -> ", 1)[1]
        out.append(path.strip('"'))
    return out


def git_state(repo: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        p = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip()[:300])
        return p.stdout
    try:
        head = git("rev-parse", "HEAD").strip()
        dirty = parse_porcelain(git("status", "--porcelain"))
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        return {"head": None, "dirty": None, "error": str(e)}
    code = [p for p in dirty if p.startswith(CODE_DIRS)]
    return {"head": head, "dirty": bool(dirty), "dirty_count": len(dirty), "dirty_paths": dirty[:200],
            "dirty_code_paths": code[:200], "dirty_code_count": len(code)}


def provenance(repo: Path) -> dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc)
    return {"date": now.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "git": git_state(repo)}
