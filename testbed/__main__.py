"""python -m testbed up | down | status | env | scale | incident | logs | build"""
from __future__ import annotations

import argparse
import sys

from . import build, cluster


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed", description="ecotui's local real Kubernetes testbed")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="build if needed, start every component, seed the EcoTrack scenario")
    p_up.add_argument("--no-seed", action="store_true", help="start the control plane only")
    sub.add_parser("down", help="stop exactly what `up` started and remove its state")
    sub.add_parser("status", help="health of each component")
    sub.add_parser("env", help="shell exports for ecotui/kubectl: eval \"$(python -m testbed env)\"")
    p_b = sub.add_parser("build", help="build the binaries into the cache (up does this when missing)")
    p_b.add_argument("--k9s", action="store_true", help="also build k9s for the benchmarks")
    p_sc = sub.add_parser("scale", help="add (or remove) benchmark nodes and pods")
    p_sc.add_argument("--nodes", type=int, required=True)
    p_sc.add_argument("--pods", type=int, required=True)
    p_in = sub.add_parser("incident", help="start an incident, or `incident clear`")
    p_in.add_argument("name", help="error-spike | latency-spike | crashloop | node-notready | pdb-blocks-drain | hpa-at-max | health-down | clear")
    p_in.add_argument("--target", help="service (or node for node-notready)")
    p_lg = sub.add_parser("logs", help="log generator modes: status | seq on|off | burst | hostile")
    p_lg.add_argument("action", choices=["status", "seq", "burst", "hostile"])
    p_lg.add_argument("value", nargs="?", help="for seq: on | off")
    p_lg.add_argument("--rate", type=float, default=60000, help="burst: lines per second")
    p_lg.add_argument("--seconds", type=float, default=20, help="burst: how long")
    p_lg.add_argument("--target", help="the EcoTrack service (burst: payment-service, hostile: notification-service)")
    p_lg.add_argument("--wait", action="store_true", help="burst: wait until it ends and print the achieved rate")
    p_lg.add_argument("--to", choices=["both", "file", "loki"], default="both",
                      help="burst: where the lines go — the pod's log file (Kubernetes API), Loki, or both")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "up":
            cluster.up(do_seed=not a.no_seed)
            print("\n".join(cluster.env_lines()))
        elif a.cmd == "down":
            cluster.down()
        elif a.cmd == "status":
            rows = cluster.status()
            for name, state, rss in rows:
                print(f"{name:24} {state:36} {rss / 1024:8.0f} MiB")
            print(f"{'total':24} {'':36} {sum(r[2] for r in rows) / 1024:8.0f} MiB")
            bad = [name for name, state, _ in rows if not state.endswith("healthy")]
            if bad:
                print(f"[testbed] not healthy: {', '.join(bad)} — `python3 -m testbed up` starts what is missing",
                      file=sys.stderr)
                return 1
        elif a.cmd == "env":
            print("\n".join(cluster.env_lines()))
        elif a.cmd == "build":
            return build.main(["--k9s"] if a.k9s else [])
        elif a.cmd == "scale":
            from . import scale
            scale.scale(a.nodes, a.pods)
        elif a.cmd == "logs":
            from . import logcmd
            print(logcmd.run(a.action, rate=a.rate, seconds=a.seconds, target=a.target, wait=a.wait, value=a.value,
                             to=a.to))
        elif a.cmd == "incident":
            from . import incidents
            print(incidents.run(a.name, a.target))
    except build.BuildError as e:
        print(f"[testbed] build FAILED: {e}", file=sys.stderr)
        return 1
    except (RuntimeError, OSError) as e:
        print(f"[testbed] {a.cmd} failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
