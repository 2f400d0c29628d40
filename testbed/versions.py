"""Pinned versions of everything the testbed builds, and where the build cache lives."""
from __future__ import annotations

import os
from pathlib import Path

KUBERNETES = "v1.36.3"
ETCD = "v3.6.16"
KWOK = "v0.8.0"
METRICS_SERVER = "v0.9.0"
K9S = "v0.50.16"  # benchmarks only

KEY = f"k8s-{KUBERNETES}_etcd-{ETCD}_kwok-{KWOK}_ms-{METRICS_SERVER}"


def cache_root() -> Path:
    base = os.environ.get("ECOTUI_TESTBED_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ecotui-testbed"
    )
    return Path(base)


def bin_dir() -> Path:
    return cache_root() / KEY / "bin"


def k9s_path() -> Path:
    return cache_root() / f"k9s-{K9S}" / "bin" / "k9s"
