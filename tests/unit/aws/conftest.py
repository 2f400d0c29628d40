"""moto in server mode on 127.0.0.1 (a free port) and a temporary AWS config pointing every profile at it.

Nothing here can reach real AWS: every AWS_* variable is removed, AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE
name temp files whose profiles carry `endpoint_url = http://127.0.0.1:<moto>`, HOME is a temp dir (no
~/.aws/sso/cache), and the instance metadata service is disabled.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

moto_server = pytest.importorskip("moto.server")

ACCOUNT = "123456789012"
KEY_ID, SECRET = "AKIATESTKEY0000001", "test-secret"
KEY_ID_2 = "AKIATESTKEY0000002"


@dataclass
class AwsEnv:
    endpoint: str
    dir: Path

    def add_profile(self, name: str, body: str, creds: str | None = None) -> None:
        with open(self.dir / "config", "a") as fh:
            fh.write(f"\n[profile {name}]\n{body.strip()}\n")
        if creds is not None:
            with open(self.dir / "credentials", "a") as fh:
                fh.write(f"\n[{name}]\n{creds.strip()}\n")
        from ecotui.aws import session
        session.reset()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    assert host == "127.0.0.1"
    try:
        yield f"http://{host}:{port}"
    finally:
        srv.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsEnv]:
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    d = tmp_path / "aws"
    d.mkdir()
    (tmp_path / "home").mkdir()
    (d / "config").write_text(f"[profile t]\nregion = us-east-1\nendpoint_url = {moto_endpoint}\n")
    (d / "credentials").write_text(f"[t]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(d / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(d / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    from ecotui.aws import ec2, session
    session.reset()
    ec2._lookups.clear()
    try:
        yield AwsEnv(moto_endpoint, d)
    finally:
        session.reset()
        ec2._lookups.clear()


