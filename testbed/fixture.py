"""pytest integration: a session-wide handle on a running testbed (started or reused).

Where Go is missing or the build fails, e2e tests skip with the exact reason, except under
ECOTUI_REQUIRE_TESTBED=1 (set by .ci/run), where they fail instead.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import build, cluster, paths, ports, versions


@dataclass(frozen=True)
class Testbed:
    kubeconfig: Path
    ecotui_config: Path
    state_dir: Path
    bin_dir: Path
    context: str = ports.CONTEXT
    prometheus_url: str = f"http://{ports.HOST}:{ports.PROMETHEUS}"
    loki_url: str = f"http://{ports.HOST}:{ports.LOKI}"

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, KUBECONFIG=str(self.kubeconfig), ECOTUI_CONFIG=str(self.ecotui_config),
                    PATH=f"{self.bin_dir}:{os.environ.get('PATH', '')}")

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60, input: str | None = None
                ) -> subprocess.CompletedProcess:
        p = subprocess.run([str(self.bin_dir / "kubectl"), *args], capture_output=True, text=True, env=self.env,
                           timeout=timeout, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr or p.stdout}")
        return p


    def create_namespace(self, name: str, timeout: float = 30) -> None:
        """Create a namespace and wait for its default ServiceAccount (pods are refused until it exists)."""
        import time
        self.kubectl("create", "namespace", name)
        deadline = time.monotonic() + timeout
        while self.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"no default ServiceAccount in {name} after {timeout}s")
            time.sleep(0.2)


    def wait_settled(self, timeout: float = 180) -> None:
        """Wait until the controllers have caught up (e.g. after an API server restart): every Deployment in
        ecotrack is fully available at its generation, and a new namespace gets its ServiceAccount."""
        import json
        import time
        import uuid
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            deps = json.loads(self.kubectl("get", "deployments", "-n", "ecotrack", "-o", "json").stdout)["items"]
            lagging = [d["metadata"]["name"] for d in deps
                       if d["status"].get("observedGeneration") != d["metadata"]["generation"]
                       or d["status"].get("availableReplicas", 0) != d["spec"]["replicas"]
                       or d["status"].get("updatedReplicas", 0) != d["spec"]["replicas"]]
            if not lagging:
                ns = f"settle-{uuid.uuid4().hex[:6]}"
                try:
                    self.create_namespace(ns, timeout=max(1.0, deadline - time.monotonic()))
                    return
                finally:
                    self.kubectl("delete", "namespace", ns, "--wait=false", check=False)
            last = f"deployments not available: {lagging}"
            time.sleep(1)
        raise AssertionError(f"testbed did not settle in {timeout}s: {last}")


def required() -> bool:
    return os.environ.get("ECOTUI_REQUIRE_TESTBED") == "1"


def obtain() -> tuple[Testbed | None, str]:
    """(testbed, "") when one is up (started here if needed), else (None, reason)."""
    if build.missing() and not shutil.which("go") and not cluster.is_up():
        return None, f"testbed binaries missing in {versions.bin_dir()} and no `go` on PATH to build them"
    try:
        # reuses a healthy testbed (fast), starts what is missing or unhealthy, or starts one from nothing
        started_here = cluster.ensure_up().fresh
    except (build.BuildError, RuntimeError, OSError) as e:
        return None, f"testbed could not start: {e}"
    tb = Testbed(kubeconfig=paths.kubeconfig(), ecotui_config=paths.ecotui_config(), state_dir=paths.state_dir(),
                 bin_dir=versions.bin_dir())
    object.__setattr__(tb, "_started_here", started_here)
    return tb, ""
