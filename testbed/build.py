"""Build the testbed binaries from the Go module proxy into a version-keyed cache.

Usage: python -m testbed build [--k9s]. `up` calls this when the cache is missing.
Each step prints what it runs (without the long linker flags) and a progress line every PROGRESS_EVERY seconds;
a failure names the exact failing step and shows the end of its output.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import versions

HERE = Path(__file__).resolve().parent
K8S_CMDS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
BINARIES = K8S_CMDS + ["kwok", "metrics-server", "etcd"]


class BuildError(RuntimeError):
    pass


def missing() -> list[str]:
    b = versions.bin_dir()
    return [n for n in BINARIES if not (b / n).is_file()]


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOFLAGS="-mod=mod", GOTOOLCHAIN=env.get("GOTOOLCHAIN", "auto"))
    return env


PROGRESS_EVERY = 20.0  # seconds between "still running" lines while a step runs


def _short(cmd: list[str]) -> str:
    """The command without its (long) linker flags, at most ~100 characters."""
    text = " ".join(a for a in cmd if not a.startswith("-ldflags"))
    return text if len(text) <= 100 else text[:99] + "…"


def _run(step: str, cmd: list[str], cwd: Path) -> None:
    print(f"[testbed build] {step}: {_short(cmd)}", flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+", errors="replace") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=_go_env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
        try:
            while True:
                try:
                    rc = proc.wait(timeout=PROGRESS_EVERY)
                    break
                except subprocess.TimeoutExpired:
                    print(f"[testbed build] {step}: still running ({time.monotonic() - t0:.0f}s)", flush=True)
        except BaseException:  # Ctrl-C: do not leave the go toolchain running
            proc.kill()
            proc.wait()
            raise
        if rc != 0:
            out.seek(0)
            tail = "\n".join(out.read().splitlines()[-40:])
            raise BuildError(f"step '{step}' failed (exit {rc}) after {time.monotonic() - t0:.0f}s in {cwd}:\n{tail}")
    print(f"[testbed build] {step}: ok in {time.monotonic() - t0:.0f}s", flush=True)


def _k8s_ldflags() -> str:
    kv = versions.KUBERNETES
    major, minor = kv.lstrip("v").split(".")[:2]
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        parts += [
            f"-X {pkg}.gitVersion={kv}", f"-X {pkg}.gitMajor={major}", f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean", f"-X {pkg}.buildDate={date}",
            f"-X {pkg}.gitCommit=0000000000000000000000000000000000000000",
        ]
    return " ".join(parts)


def build(with_k9s: bool = False) -> Path:
    if not shutil.which("go"):
        raise BuildError("step 'find go' failed: no `go` on PATH (install Go ≥ 1.26)")
    out = versions.bin_dir()
    tmp = out.with_name("bin.partial")
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if missing():
        k8s = HERE / "gomod" / "k8s"
        _run("download kubernetes/kwok/metrics-server modules", ["go", "mod", "download"], k8s)
        pkgs = [f"k8s.io/kubernetes/cmd/{c}" for c in K8S_CMDS] + [
            "sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/metrics-server/cmd/metrics-server"]
        _run("build kube-apiserver, controller-manager, scheduler, kubectl, kwok, metrics-server",
             ["go", "build", "-trimpath", "-tags=selinux,notest", f"-ldflags={_k8s_ldflags()}",
              "-o", str(tmp) + "/", *pkgs], k8s)
        etcd = HERE / "gomod" / "etcd"
        _run("download etcd modules", ["go", "mod", "download"], etcd)
        _run("build etcd", ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(tmp / "etcd"),
                            "go.etcd.io/etcd/server/v3"], etcd)
        out.mkdir(parents=True, exist_ok=True)
        for f in tmp.iterdir():
            f.replace(out / f.name)
        (out.parent / "BUILD_SECONDS").write_text(f"{time.monotonic() - t0:.0f}\n")
        print(f"[testbed build] all binaries built in {time.monotonic() - t0:.0f}s", flush=True)
    if with_k9s and not versions.k9s_path().is_file():
        build_k9s()
    return out


def build_k9s() -> Path:
    dest = versions.k9s_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    env_dir = dest.parent.parent
    gomod = env_dir / "mod"
    gomod.mkdir(exist_ok=True)
    (gomod / "go.mod").write_text("module ecotui.bench/k9s\n\ngo 1.26.0\n")
    _run("get k9s", ["go", "get", f"github.com/derailed/k9s@{versions.K9S}"], gomod)
    _run("build k9s", ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(dest), "github.com/derailed/k9s"], gomod)
    return dest


def main(argv: list[str]) -> int:
    try:
        out = build(with_k9s="--k9s" in argv)
    except BuildError as e:
        print(f"[testbed build] FAILED: {e}", file=sys.stderr)
        return 1
    print(f"[testbed build] binaries in {out}")
    return 0
