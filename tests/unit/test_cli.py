"""The command line: every start-up problem is one line (plus a hint) on stderr and exit status 2.

Servers in these tests bind 127.0.0.1 only.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import ecotui
from ecotui.workspace import choose_namespace
from ecotui import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ECOTUI_CONFIG", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)


def kubeconfig(tmp_path: Path, server: str, *, namespace: str = "ecotrack", extra_context: bool = False) -> str:
    contexts = [{"name": "test", "context": {"cluster": "c", "user": "u", "namespace": namespace}}]
    if extra_context:
        contexts.append({"name": "other", "context": {"cluster": "c", "user": "u"}})
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t0ken"}}],
        "contexts": contexts,
    }
    p = tmp_path / "kubeconfig.yaml"
    p.write_text(json.dumps(doc))          # JSON is YAML
    return str(p)


def run_main(argv: list[str], capsys) -> tuple[int, list[str], str]:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, err.splitlines(), out


def assert_one_clear_line(rc: int, lines: list[str], *needles: str) -> None:
    assert rc == 2
    assert 1 <= len(lines) <= 2, lines
    assert lines[0].startswith("ecotui: ")
    if len(lines) == 2:
        assert lines[1].startswith("  hint: ")
    assert "Traceback" not in "\n".join(lines)
    for n in needles:
        assert n in lines[0], (n, lines[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def api_server(handler_cls: type[BaseHTTPRequestHandler], tls: tuple[str, str] | None = None) -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    scheme = "http"
    if tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"{scheme}://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


class _Api(BaseHTTPRequestHandler):
    version_status = 200
    other_status = 200

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        code = self.version_status if self.path.startswith("/version") else self.other_status
        if code == 200:
            self._send(200, {"gitVersion": "v1.31.0"})
            return
        reason = {401: "Unauthorized", 403: "Forbidden"}.get(code, "InternalError")
        msg = "Unauthorized" if code == 401 else f'pods is forbidden: User "dev" cannot list resource "pods"'
        self._send(code, {"kind": "Status", "status": "Failure", "message": msg, "reason": reason, "code": code})


# ---- no network ---------------------------------------------------------------------------------

def test_version(capsys):
    rc, err, out = run_main(["--version"], capsys)
    assert rc == 0 and out.strip() == f"ecotui {ecotui.__version__}" and err == []


def test_python_dash_m_version_and_broken_kubeconfig(tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(REPO)}
    env.pop("KUBECONFIG", None)
    r = subprocess.run([sys.executable, "-m", "ecotui", "--version"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"ecotui {ecotui.__version__}"
    bad = tmp_path / "broken.yaml"
    bad.write_text("clusters: [\n  - {name: x\n")
    r = subprocess.run([sys.executable, "-m", "ecotui", "--kubeconfig", str(bad)], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60)
    assert_one_clear_line(r.returncode, r.stderr.splitlines(), str(bad))
    assert r.stdout == ""


def test_missing_kubeconfig(tmp_path, capsys):
    rc, err, _ = run_main(["--kubeconfig", str(tmp_path / "nope.yaml")], capsys)
    assert_one_clear_line(rc, err, "nope.yaml")


def test_kubeconfig_that_is_not_a_mapping(tmp_path, capsys):
    p = tmp_path / "kc.yaml"
    p.write_text("- just\n- a list\n")
    rc, err, _ = run_main(["--kubeconfig", str(p)], capsys)
    assert_one_clear_line(rc, err)


def test_unknown_context(tmp_path, capsys):
    kc = kubeconfig(tmp_path, "https://127.0.0.1:1")
    rc, err, _ = run_main(["--kubeconfig", kc, "--context", "prod-typo"], capsys)
    assert_one_clear_line(rc, err, "prod-typo")


def test_unknown_theme(tmp_path, capsys):
    kc = kubeconfig(tmp_path, "https://127.0.0.1:1")
    rc, err, _ = run_main(["--kubeconfig", kc, "--theme", "neon"], capsys)
    assert_one_clear_line(rc, err, "neon", "dark")


def test_broken_config_file(tmp_path, capsys):
    kc = kubeconfig(tmp_path, "https://127.0.0.1:1")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("theme: [unclosed\n")
    rc, err, _ = run_main(["--kubeconfig", kc, "--config", str(cfg)], capsys)
    assert_one_clear_line(rc, err, "config.yaml")


def test_namespace_and_all_are_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["-n", "a", "-A"])
    assert exc.value.code == 2


@pytest.mark.parametrize(("cli_ns", "all_ns", "cfg_ns", "ctx_ns", "expected"), [
    ("web", False, "cfg", "ctx", "web"),
    (None, True, "cfg", "ctx", None),
    (None, False, "cfg", "ctx", "cfg"),
    (None, False, None, "ctx", "ctx"),
    (None, False, None, None, None),
])
def test_choose_namespace(cli_ns, all_ns, cfg_ns, ctx_ns, expected):
    assert choose_namespace(cli_ns, all_ns, cfg_ns, ctx_ns) == expected


def test_unexpected_error_is_one_line_and_a_crash_log(tmp_path, capsys, monkeypatch):
    def boom(argv):
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(cli, "run", boom)
    rc = cli.main([])
    err = capsys.readouterr().err.splitlines()
    assert rc == 1 and len(err) == 1
    assert err[0].startswith("ecotui: unexpected error: RuntimeError: kaboom (details in ")
    log = Path(err[0].split("details in ", 1)[1].rstrip(")"))
    assert log.is_file() and "Traceback" in log.read_text() and str(tmp_path) in str(log)


# ---- against local servers (127.0.0.1 only) ------------------------------------------------------

def test_unreachable_server(tmp_path, capsys):
    kc = kubeconfig(tmp_path, f"https://127.0.0.1:{free_port()}")
    rc, err, _ = run_main(["--kubeconfig", kc], capsys)
    assert_one_clear_line(rc, err, "refused")


def test_401_on_version(tmp_path, capsys):
    handler = type("H401", (_Api,), {"version_status": 401, "other_status": 401})
    with api_server(handler) as url:
        rc, err, _ = run_main(["--kubeconfig", kubeconfig(tmp_path, url)], capsys)
    assert_one_clear_line(rc, err, "401")


def test_403_on_listing_pods(tmp_path, capsys):
    handler = type("H403", (_Api,), {"version_status": 200, "other_status": 403})
    with api_server(handler) as url:
        rc, err, _ = run_main(["--kubeconfig", kubeconfig(tmp_path, url)], capsys)
    assert_one_clear_line(rc, err, "forbidden")
    assert "kubectl auth can-i" in err[1]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_verification_failure(tmp_path, capsys):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with api_server(_Api, tls=(str(cert), str(key))) as url:
        rc, err, _ = run_main(["--kubeconfig", kubeconfig(tmp_path, url)], capsys)
    assert_one_clear_line(rc, err, "TLS")
