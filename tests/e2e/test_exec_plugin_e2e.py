"""An exec credential plugin against the real API server: run with stdin closed, not interactive,
its stderr kept off our terminal, and its token accepted."""
from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest
import yaml

from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.session import ClusterSession
from ecotui.kube.store import ConnState
from testbed import pki

pytestmark = pytest.mark.e2e

PLUGIN = r'''
import json, os, sys
info = json.loads(os.environ.get("KUBERNETES_EXEC_INFO", "{}"))
stdin_data = sys.stdin.read()          # must be at EOF at once (stdin closed)
with open(sys.argv[2], "a") as f:
    f.write(json.dumps({"interactive": info.get("spec", {}).get("interactive"), "stdin": stdin_data,
                        "tty": os.isatty(0)}) + "\n")
sys.stderr.write("\x1b[2J PLUGIN NOISE ON STDERR\n")
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": sys.argv[1]}}))
'''


async def test_exec_plugin_token_works_and_is_contained(testbed, tmp_path, capfd):
    token = pki.static_token(testbed.state_dir / "pki")
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    log = tmp_path / "runs.jsonl"
    kc = yaml.safe_load(testbed.kubeconfig.read_text())
    kc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                                       "args": [str(plugin), token, str(log)], "interactiveMode": "Never"}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kc))
    s = ClusterSession(load_kubeconfig(str(path)), namespace="ecotrack")
    await s.start()
    try:
        deadline = time.monotonic() + 20
        while not (s.connection.state is ConnState.LIVE and s.snapshot("pods").synced):
            assert time.monotonic() < deadline, s.connection
            await asyncio.sleep(0.2)
        assert len(s.snapshot("pods").items) > 10
    finally:
        await s.stop()
    runs = [json.loads(x) for x in log.read_text().splitlines()]
    assert runs and all(r == {"interactive": False, "stdin": "", "tty": False} for r in runs)
    out, err = capfd.readouterr()
    assert "PLUGIN NOISE" not in out + err
