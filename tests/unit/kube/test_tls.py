"""TLS against a real HTTPS server on 127.0.0.1 with throwaway certificates made by the openssl CLI."""
from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
import pytest_asyncio

from conftest import make_client, write_kubeconfig
from ecotui.errors import ConnectError, KubeconfigError
from fake_apiserver import FakeApiServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(d: Path, name: str) -> None:
    _run("req", "-x509", *EC, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1", "-subj", f"/CN={name}",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _leaf(d: Path, name: str, ca: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext)
    _run("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
         "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "other-ca")
    _leaf(d, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _leaf(d, "named", "ca", "subjectAltName=DNS:kubernetes.internal\nextendedKeyUsage=serverAuth\n")
    _leaf(d, "ecotui-test", "ca", "extendedKeyUsage=clientAuth\n")
    return d


def _server_ctx(pki: Path, cert: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki / f"{cert}.crt", pki / f"{cert}.key")
    ctx.load_verify_locations(pki / "ca.crt")
    ctx.verify_mode = ssl.CERT_OPTIONAL  # record client certificates when offered
    return ctx


@pytest_asyncio.fixture
async def https_api(pki):
    srv = await FakeApiServer(ssl_context=_server_ctx(pki, "server")).start()
    yield srv
    await srv.stop()


def _b64(p: Path) -> str:
    return base64.b64encode(p.read_bytes()).decode()


async def test_trusted_ca_and_client_certificate(tmp_path, pki, https_api):
    kc = write_kubeconfig(tmp_path / "config", https_api.url, cluster={"certificate-authority": str(pki / "ca.crt")},
                          user={"client-certificate-data": _b64(pki / "ecotui-test.crt"),
                                "client-key": str(pki / "ecotui-test.key")})
    client = make_client(kc)
    try:
        assert (await client.get("/version"))["gitVersion"] == "v1.36.3-fake"
    finally:
        await client.aclose()
    subject = dict(x[0] for x in https_api.client_certs[0]["subject"])
    assert subject["commonName"] == "ecotui-test"
    assert https_api.requests[0].auth == ""  # no token: mutual TLS only


async def test_wrong_ca_is_tls_connect_error(tmp_path, pki, https_api):
    kc = write_kubeconfig(tmp_path / "config", https_api.url,
                          cluster={"certificate-authority-data": _b64(pki / "other-ca.crt")})
    client = make_client(kc)
    with pytest.raises(ConnectError) as ei:
        await client.get("/version")
    await client.aclose()
    assert ei.value.message.startswith(f"TLS verification of {https_api.url} failed: ")
    assert "refused" not in ei.value.message and "certificate-authority" in ei.value.hint
    assert https_api.requests == []


async def test_insecure_skip_tls_verify(tmp_path, pki, https_api):
    kc = write_kubeconfig(tmp_path / "config", https_api.url, cluster={"insecure-skip-tls-verify": True})
    client = make_client(kc)
    try:
        assert (await client.get("/version"))["major"] == "1"
    finally:
        await client.aclose()


async def test_tls_server_name(tmp_path, pki):
    srv = await FakeApiServer(ssl_context=_server_ctx(pki, "named")).start()  # cert only names kubernetes.internal
    try:
        ca = {"certificate-authority": str(pki / "ca.crt")}
        plain = make_client(write_kubeconfig(tmp_path / "a", srv.url, cluster=ca))
        with pytest.raises(ConnectError) as ei:
            await plain.get("/version")
        await plain.aclose()
        assert ei.value.message.startswith("TLS verification of") and "127.0.0.1" in ei.value.message
        named = make_client(write_kubeconfig(tmp_path / "b", srv.url,
                                             cluster={**ca, "tls-server-name": "kubernetes.internal"}))
        try:
            assert (await named.get("/version"))["major"] == "1"
        finally:
            await named.aclose()
    finally:
        await srv.stop()


def test_mismatched_client_key_fails_when_the_client_is_built(tmp_path, pki):
    kc = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1",
                          user={"client-certificate": str(pki / "ecotui-test.crt"),
                                "client-key": str(pki / "server.key")})
    with pytest.raises(KubeconfigError) as ei:
        make_client(kc)
    assert ei.value.message.startswith("user 'tester': client certificate or key cannot be used")
    assert "\n" not in ei.value.message
