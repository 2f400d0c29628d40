"""The benchmark's own identity, kubeconfig and per-tool environments.

Every tool under test (kubectl, k9s, ecotui) talks to the testbed as the audited user `oncall-engineer`, but
with a client certificate minted for the benchmark only (same CA, same user name, extra group `ecotui-bench`).
The API server records the certificate's SHA-256 in each audit event (`credential-id`), so the benchmark
counts exactly its own requests even while other e2e runs use the same user and the same user agent.

k9s runs in two modes, each with private config/state/log directories and a config that turns off its only
outbound call (the latest-release check against api.github.com; image scans stay off, the default): "k9s" leaves
`refreshRate` unset (its default, 2 s) and "k9s-1s" sets `refreshRate: 1`.
"""
from __future__ import annotations

import hashlib
import os
import re
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from testbed import paths, ports, versions  # noqa: E402
from testbed.pki import ONCALL_USER  # noqa: E402

BENCH_GROUP = "ecotui-bench"


@dataclass
class BenchEnv:
    workdir: Path
    kubeconfig: Path
    credential_id: str          # "X509SHA256=<hex>" as the audit log records it
    kubectl: Path = field(default_factory=lambda: versions.bin_dir() / "kubectl")
    k9s: Path = field(default_factory=versions.k9s_path)

    def base_env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig), "COLORTERM": "truecolor", "LANG": "C.UTF-8",
                "PATH": f"{versions.bin_dir()}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "HOME": os.environ.get("HOME", "/root")}

    def kubectl_env(self) -> dict[str, str]:
        return dict(os.environ, **self.base_env())

    def k9s_env(self, mode: str = "k9s") -> dict[str, str]:
        """mode: "k9s" (default refresh, no refreshRate in its config) or "k9s-1s" (`refreshRate: 1`)."""
        d = self.workdir / mode
        return {**self.base_env(), "K9S_CONFIG_DIR": str(d / "config"), "K9S_LOGS_DIR": str(d / "logs"),
                "XDG_CONFIG_HOME": str(d / "xdg-config"), "XDG_STATE_HOME": str(d / "xdg-state"),
                "XDG_DATA_HOME": str(d / "xdg-data"), "XDG_CACHE_HOME": str(d / "xdg-cache")}

    def ecotui_env(self) -> dict[str, str]:
        d = self.workdir / "ecotui"
        return {**self.base_env(), "ECOTUI_CONFIG": str(paths.ecotui_config()), "PYTHONPATH": str(REPO),
                "XDG_CONFIG_HOME": str(d / "xdg-config"), "XDG_STATE_HOME": str(d / "xdg-state"),
                "XDG_DATA_HOME": str(d / "xdg-data"), "XDG_CACHE_HOME": str(d / "xdg-cache")}

    def k9s_argv(self) -> list[str]:
        return [str(self.k9s), "-A", "-c", "pods", "--context", ports.CONTEXT]

    def ecotui_argv(self, *args: str) -> list[str]:
        """`python -m ecotui ARGS` (default: all namespaces of the testbed context)."""
        args = args or ("-A", "--context", ports.CONTEXT)
        stalls = os.environ.get("ECOTUI_BENCH_STALLS")   # a path: run under bench/stallwatch.py, stalls logged there
        if stalls:
            ms = os.environ.get("ECOTUI_BENCH_STALLS_MS", "40")
            mem = os.environ.get("ECOTUI_BENCH_MEM", "")   # a path: memory samples (RSS, malloc, pymalloc) there
            return [sys.executable, "-m", "bench.stallwatch", "--out", stalls, "--threshold-ms", ms,
                    *(["--mem", mem] if mem else []), "--", *args]
        return [sys.executable, "-m", "ecotui", *args]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def credential_id(cert_pem: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert_pem.read_text())
    return "X509SHA256=" + hashlib.sha256(der).hexdigest()


def make_identity(workdir: Path) -> tuple[Path, str]:
    """Mint bench.crt/bench.key (CN=oncall-engineer) with the testbed CA; write a kubeconfig using it."""
    pki = paths.pki_dir()
    if not (pki / "ca.key").is_file():
        raise RuntimeError(f"testbed PKI not found in {pki}: is the testbed up? (python -m testbed up)")
    d = workdir / "pki"
    d.mkdir(parents=True, exist_ok=True)
    (d / "cli.ext").write_text("extendedKeyUsage=clientAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/O=system:masters/O={BENCH_GROUP}/CN={ONCALL_USER}",
             "-keyout", "bench.key", "-out", "bench.csr", cwd=d)
    _openssl("x509", "-req", "-in", "bench.csr", "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
             "-CAcreateserial", "-CAserial", str(d / "ca.srl"), "-days", "2", "-extfile", "cli.ext",
             "-out", "bench.crt", cwd=d)
    kc = workdir / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": ports.CONTEXT, "cluster": {
            "server": f"https://{ports.HOST}:{ports.APISERVER}", "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "bench", "user": {"client-certificate": str(d / "bench.crt"),
                                             "client-key": str(d / "bench.key")}}],
        "contexts": [{"name": ports.CONTEXT, "context": {"cluster": ports.CONTEXT, "user": "bench"}}],
        "current-context": ports.CONTEXT,
    }, sort_keys=False))
    return kc, credential_id(d / "bench.crt")


K9S_MODES = {"k9s": None, "k9s-1s": 1}   # mode -> refreshRate written to its config (None: not set = default)


def write_k9s_config(env: BenchEnv, mode: str = "k9s") -> Path:
    e = env.k9s_env(mode)
    for k in ("K9S_CONFIG_DIR", "K9S_LOGS_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        Path(e[k]).mkdir(parents=True, exist_ok=True)
    cfg = Path(e["K9S_CONFIG_DIR"]) / "config.yaml"
    k9s: dict = {
        "skipLatestRevCheck": True,        # the only call k9s makes outside the cluster (api.github.com)
        "imageScans": {"enable": False},   # default, stated explicitly: no vulnerability-DB download
        "ui": {"splashless": True, "enableMouse": False},  # no fixed 1 s splash: k9s at its fastest
    }
    if K9S_MODES[mode] is not None:
        k9s["refreshRate"] = K9S_MODES[mode]   # (k9s v0.50 caps values below 2 s to 2 s and logs a warning)
    cfg.write_text(yaml.safe_dump({"k9s": k9s}, sort_keys=False))
    return cfg


def k9s_log_text(env: BenchEnv, mode: str = "k9s", limit: int = 2_000_000) -> str:
    """The tail of k9s's own log for `mode` (to check e.g. whether it capped the refresh rate)."""
    out = []
    for p in sorted(Path(env.k9s_env(mode)["K9S_LOGS_DIR"]).glob("*.log")):
        try:
            out.append(p.read_bytes()[-limit:].decode("utf-8", "replace"))
        except OSError:
            pass
    return "\n".join(out)


def prepare(workdir: Path) -> BenchEnv:
    workdir.mkdir(parents=True, exist_ok=True)
    kc, cid = make_identity(workdir)
    env = BenchEnv(workdir=workdir, kubeconfig=kc, credential_id=cid)
    for mode in K9S_MODES:
        write_k9s_config(env, mode)
    for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        Path(env.ecotui_env()[k]).mkdir(parents=True, exist_ok=True)
    return env


def tool_versions(env: BenchEnv) -> dict[str, str]:
    def run(argv: list[str], e: dict[str, str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=e)
            return (p.stdout + p.stderr).strip()
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"unavailable ({err})"
    out = {"ecotui": run([sys.executable, "-m", "ecotui", "--version"], dict(os.environ, **env.ecotui_env())),
           "kubectl": run([str(env.kubectl), "version", "--client", "-o", "yaml"], env.kubectl_env())}
    m = re.search(r"gitVersion: (\S+)", out["kubectl"])
    out["kubectl"] = m.group(1) if m else out["kubectl"][:80]
    k9s = run([str(env.k9s), "version", "-s"], dict(os.environ, **env.k9s_env())) if env.k9s.is_file() else "not built"
    m = re.search(r"Version\s+(\S+)", k9s)
    out["k9s"] = m.group(1) if m else k9s[:80]
    srv = run([str(env.kubectl), "version", "-o", "yaml"], env.kubectl_env())
    m = re.search(r"serverVersion:(?:.|\n)*?gitVersion: (\S+)", srv)
    out["kubernetes"] = m.group(1) if m else "unknown"
    out["python"] = sys.version.split()[0]
    return out
