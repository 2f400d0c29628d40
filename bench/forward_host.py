"""ecotui's port-forward in its own process (as `kubectl port-forward` runs in its own), for bench/forward.py:

    python3 -m bench.forward_host --target ecotrack/pod/NAME --port 9000

Builds the context's KubeClient the way ecotui does (our kubeconfig loader), starts one forward with
`ecotui.forward.manager.ForwardManager`, prints `READY <local port>` once it is active and runs until stdin closes.
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from ecotui.forward.model import ForwardSpec, Target
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import load_kubeconfig


async def run(target: str, port: str) -> int:
    kc = load_kubeconfig()
    resolved = kc.resolve(None)
    client = KubeClient(resolved.cluster, Authenticator(resolved.user, resolved.cluster))
    from ecotui.forward.manager import ForwardManager
    manager = ForwardManager(client, resolved.context.name)
    tgt = Target.parse(target, resolved.context.namespace or "default")
    fid = manager.start(ForwardSpec(resolved.context.name, tgt, int(port) if port.isdigit() else port))
    view = await manager.wait_ready(fid, 30)
    print(f"READY {view.local.rpartition(':')[2]}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)     # until the benchmark closes our stdin
    await manager.close()
    await client.aclose()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.forward_host")
    ap.add_argument("--target", required=True)
    ap.add_argument("--port", required=True)
    a = ap.parse_args()
    return asyncio.run(run(a.target, a.port))


if __name__ == "__main__":
    raise SystemExit(main())
