"""Against the real API server: each bad-credential case is one clear line and exit 2, never a traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from testbed import ports

pytestmark = pytest.mark.e2e


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_cert(tmp_path, name: str, subj: str, ca_dir):
    """A client cert for `subj` signed by the CA in ca_dir."""
    (tmp_path / "cli.ext").write_text("extendedKeyUsage=clientAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            cwd=tmp_path)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca_dir / "ca.crt"), "-CAkey", str(ca_dir / "ca.key"),
            "-CAcreateserial", "-CAserial", str(tmp_path / "ca.srl"), "-days", "2", "-extfile", "cli.ext",
            "-out", f"{name}.crt", cwd=tmp_path)
    return tmp_path / f"{name}.crt", tmp_path / f"{name}.key"


def kubeconfig(tb, tmp_path, *, cert=None, key=None, ca=None, server=None) -> str:
    kc = yaml.safe_load(tb.kubeconfig.read_text())
    if server:
        kc["clusters"][0]["cluster"]["server"] = server
    if ca:
        kc["clusters"][0]["cluster"]["certificate-authority"] = str(ca)
    if cert:
        kc["users"][0]["user"] = {"client-certificate": str(cert), "client-key": str(key)}
    p = tmp_path / "kubeconfig"
    p.write_text(yaml.safe_dump(kc))
    return str(p)


def run_ecotui(kc: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecotui", "--kubeconfig", kc, *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def assert_one_line(p: subprocess.CompletedProcess, *needles: str) -> None:
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert 1 <= len(lines) <= 2 and lines[0].startswith("ecotui: "), lines
    assert "Traceback" not in p.stderr + p.stdout
    for n in needles:
        assert n.lower() in p.stderr.lower(), (n, p.stderr)


def test_403_user_without_rbac(testbed, tmp_path):
    cert, key = make_cert(tmp_path, "nobody", "/CN=no-rbac-user", testbed.state_dir / "pki")
    assert_one_line(run_ecotui(kubeconfig(testbed, tmp_path, cert=cert, key=key), "-A"), "forbidden", "no-rbac-user")


def test_401_cert_from_unknown_ca(testbed, tmp_path):
    other = tmp_path / "other-ca"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rogue-ca", "-keyout", "ca.key",
            "-out", "ca.crt", cwd=other)
    cert, key = make_cert(tmp_path, "rogue", "/O=system:masters/CN=rogue", other)
    assert_one_line(run_ecotui(kubeconfig(testbed, tmp_path, cert=cert, key=key)), "401")


def test_tls_failure_wrong_ca(testbed, tmp_path):
    other = tmp_path / "other-ca"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=wrong-ca", "-keyout", "ca.key",
            "-out", "ca.crt", cwd=other)
    assert_one_line(run_ecotui(kubeconfig(testbed, tmp_path, ca=other / "ca.crt")), "tls")


def test_unreachable_server(testbed, tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    assert_one_line(run_ecotui(kubeconfig(testbed, tmp_path, server=f"https://127.0.0.1:{port}")), f"127.0.0.1:{port}")


def test_unknown_context_lists_known_ones(testbed):
    p = run_ecotui(str(testbed.kubeconfig), "--context", "prod-eks")
    assert_one_line(p, "prod-eks", ports.CONTEXT)
