"""Amazon Managed Prometheus: every request signed with SigV4 (service aps); the signature of a recorded request
verifies with botocore's own signer; credentials looked up again before they expire."""
from __future__ import annotations

import re
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx

from ecotui.aws.sigv4 import SigV4Auth
from ecotui.metrics.prom import PromClient, PromConfig

from conftest import KEY_ID, SECRET

AMP = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd-4567"
OK = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"service": "order-service"}, "value": [1764558000, "0.5"]}]}}
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<cred>[^,]+), SignedHeaders=(?P<signed>[^,]+), "
                     r"Signature=(?P<sig>[0-9a-f]{64})$")


def botocore_signature(recorded: httpx.Request, secret: str, token: str | None = None) -> str:
    """Recompute the signature of a recorded request with botocore's SigV4Auth (the verifier's side)."""
    from botocore.auth import SigV4Auth as BotoSigV4
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    m = AUTH_RE.match(recorded.headers["authorization"])
    assert m, recorded.headers["authorization"]
    key, _date, region, service, _ = m.group("cred").split("/")
    signed = m.group("signed").split(";")
    req = AWSRequest(method=recorded.method, url=str(recorded.url), data=recorded.content,
                     headers={h: recorded.headers[h] for h in signed})
    req.context["timestamp"] = recorded.headers["x-amz-date"]
    signer = BotoSigV4(Credentials(key, secret, token), service, region)
    return signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)


async def test_amp_request_signature_verifies_with_botocore(aws_env):
    recorded: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        recorded.append(req)
        return httpx.Response(200, json=OK)
    auth = SigV4Auth("us-east-1", "t")
    async with PromClient(PromConfig(url=AMP), transport=httpx.MockTransport(handler), auth=auth) as prom:
        result = await prom.query('sum(rate(http_server_requests_seconds_count{service="order-service"}[5m]))')
    assert result.samples[0].value == 0.5
    [req] = recorded
    m = AUTH_RE.match(req.headers["authorization"])
    assert m and m.group("cred").startswith(f"{KEY_ID}/") and m.group("cred").endswith("/us-east-1/aps/aws4_request")
    assert {"host", "x-amz-date", "content-type"} <= set(m.group("signed").split(";"))
    assert req.method == "POST" and b"query=" in req.content          # the PromQL body is covered by the signature
    assert botocore_signature(req, SECRET) == m.group("sig")
    # and the check is real: another body or secret does not verify
    tampered = httpx.Request(req.method, req.url, headers=req.headers, content=req.content.replace(b"5m", b"1h"))
    assert botocore_signature(tampered, SECRET) != m.group("sig")
    assert botocore_signature(req, "wrong-secret") != m.group("sig")


async def test_credentials_looked_up_again_before_expiry(aws_env, tmp_path):
    exp = datetime.now(timezone.utc) + timedelta(hours=1)
    script = tmp_path / "creds.py"
    script.write_text("import json\nprint(json.dumps(" + repr({
        "Version": 1, "AccessKeyId": "AKIAPROCESS0000009", "SecretAccessKey": "s9", "SessionToken": "tok9",
        "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}) + "))\n")
    aws_env.add_profile("amp", f"region = us-east-1\ncredential_process = {sys.executable} {script}")
    now = [time.time()]
    auth = SigV4Auth("us-east-1", "amp", clock=lambda: now[0])
    recorded: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        recorded.append(req)
        return httpx.Response(200, json=OK)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as http:
        await http.post(AMP + "/api/v1/query", data={"query": "up"})
        await http.post(AMP + "/api/v1/query", data={"query": "up"})
        assert auth.resolved == 1
        now[0] = exp.timestamp() - 200          # within the refresh margin (5 min) of the expiry
        await http.post(AMP + "/api/v1/query", data={"query": "up"})
        assert auth.resolved == 2
    assert all("x-amz-security-token" in r.headers for r in recorded)
    assert botocore_signature(recorded[-1], "s9", "tok9") == AUTH_RE.match(
        recorded[-1].headers["authorization"]).group("sig")


def test_workspace_signs_prometheus_for_an_amp_context():
    from ecotui.config import Config, ContextConfig
    from ecotui.kube.kubeconfig import ContextInfo, KubeConfig
    from ecotui.workspace import WorkspaceFactory
    kc = KubeConfig(source="t", contexts=[ContextInfo("eks", "eks", "eks", None)], current_context="eks",
                    clusters={"eks": {"server": "https://127.0.0.1:6443"}}, users={"eks": {"token": "x"}})
    cfg = Config(contexts={"eks": ContextConfig(prometheus_url=AMP, prometheus_aws_region="us-east-1",
                                                prometheus_aws_profile="t")})

    class S:
        auth = None

        async def start(self) -> None: ...

        async def stop(self) -> None: ...
    ws = WorkspaceFactory(kc, cfg, first_context="eks", make_session=lambda *a: S()).build("eks")
    prom = ws.prometheus
    assert prom is not None and isinstance(prom._auth, SigV4Auth)
    assert (prom._auth.region, prom._auth.profile, prom._auth.service) == ("us-east-1", "t", "aps")
