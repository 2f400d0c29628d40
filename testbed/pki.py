"""Certificates and the admin kubeconfig for the testbed, made with the openssl CLI."""
from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import yaml

from . import ports

ONCALL_USER = "oncall-engineer"
ONCALL_TOKEN_USER = "oncall-token"


def static_token(pki: Path) -> str:
    """The bearer token the API server accepts for ONCALL_TOKEN_USER."""
    return (pki / "tokens.csv").read_text().split(",", 1)[0]


def _ssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def ensure_pki(d: Path) -> None:
    """CA, API server serving cert (also used by kwok and metrics-server), admin client cert,
    front-proxy CA + client cert (aggregator → metrics-server) and the service-account key pair."""
    d.mkdir(parents=True, exist_ok=True)
    if (d / "done").exists():
        return
    (d / "srv.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth,clientAuth\n")
    (d / "cli.ext").write_text("extendedKeyUsage=clientAuth\n")
    days = "3650"
    _ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days, "-subj", "/CN=ecotui-testbed-ca",
         "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    for name, subj, ext in (("server", "/CN=ecotui-testbed-server", "srv.ext"),
                            ("admin", "/O=system:masters/CN=ecotui-testbed-admin", "cli.ext"),
                            # the on-call human (ecotui, kubectl, k9s): a separate identity so the
                            # audit log can count exactly their requests
                            ("oncall", f"/O=system:masters/CN={ONCALL_USER}", "cli.ext")):
        _ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", days, "-extfile", ext, "-out", f"{name}.crt", cwd=d)
    _ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days, "-subj", "/CN=ecotui-testbed-front-proxy-ca",
         "-keyout", "fp-ca.key", "-out", "fp-ca.crt", cwd=d)
    _ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=front-proxy-client", "-keyout", "fp.key", "-out", "fp.csr", cwd=d)
    _ssl("x509", "-req", "-in", "fp.csr", "-CA", "fp-ca.crt", "-CAkey", "fp-ca.key", "-CAcreateserial", "-days", days,
         "-extfile", "cli.ext", "-out", "fp.crt", cwd=d)
    # a static bearer token (user oncall-token, group system:masters) for exec-plugin/token tests
    (d / "tokens.csv").write_text(f'{secrets.token_hex(24)},{ONCALL_TOKEN_USER},oncall-token-uid,"system:masters"\n')
    _ssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _ssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    (d / "done").write_text("ok\n")


def write_kubeconfig(path: Path, pki: Path, user: str = "oncall", namespace: str | None = None) -> None:
    """The user-facing kubeconfig (user "oncall") or the components' one (user "admin")."""
    ctx: dict = {"cluster": ports.CONTEXT, "user": user}
    if namespace:
        ctx["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": ports.CONTEXT, "cluster": {
            "server": f"https://{ports.HOST}:{ports.APISERVER}", "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": user, "user": {
            "client-certificate": str(pki / f"{user}.crt"), "client-key": str(pki / f"{user}.key")}}],
        "contexts": [{"name": ports.CONTEXT, "context": ctx}],
        "current-context": ports.CONTEXT,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
