"""EKS tokens: the shape EKS expects, accepted by (moto's) STS, refreshed before expiry, invalidated on a 401."""
from __future__ import annotations

import base64
import re
import urllib.parse

import httpx
import pytest

from ecotui.aws.execmatch import EksAuth
from ecotui.aws.token import PRESIGN_EXPIRES_S, TOKEN_LIFETIME_S, EksTokenSource, decode_token
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo

from conftest import KEY_ID, SECRET


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


async def test_token_shape_regional_sts_and_signed_cluster_header(aws_env):
    # a profile without endpoint_url: the presigned URL names the regional STS host (presigning sends nothing)
    aws_env.add_profile("real", "region = eu-west-1", f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}")
    token, expires = await EksTokenSource("ecotrack-prod", "eu-west-1", "real", clock=lambda: 1000.0).token()
    assert token.startswith("k8s-aws-v1.")
    body = token[len("k8s-aws-v1."):]
    assert "=" not in body and re.fullmatch(r"[A-Za-z0-9_-]+", body)        # base64url, no padding
    url = decode_token(token)
    assert base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode() == url
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "sts.eu-west-1.amazonaws.com")
    q = _query(url)
    assert q["Action"] == "GetCallerIdentity" and q["X-Amz-Expires"] == str(PRESIGN_EXPIRES_S) == "60"
    assert "x-k8s-aws-id" in q["X-Amz-SignedHeaders"].split(";") and "host" in q["X-Amz-SignedHeaders"]
    assert q["X-Amz-Credential"].startswith(f"{KEY_ID}/") and "/eu-west-1/sts/aws4_request" in q["X-Amz-Credential"]
    # only parameters on aws-iam-authenticator's whitelist
    allowed = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
               "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
    assert {k.lower() for k in q} <= allowed
    assert expires == 1000.0 + TOKEN_LIFETIME_S == 1000.0 + 14 * 60
    assert len(token) <= 4096


async def test_presigned_url_answers_with_an_arn_from_moto_sts(aws_env):
    """What the EKS authenticator does with the token: GET the URL with the x-k8s-aws-id header."""
    token, _ = await EksTokenSource("eks-learning-lab-dev-cluster", "us-east-1", "t").token()
    url = decode_token(token)
    assert url.startswith(aws_env.endpoint + "/?")          # the profile's endpoint_url = the STS endpoint
    q = _query(url)
    # moto routes a query-signed GET to S3 unless an Authorization header names the service (test-only workaround)
    headers = {"x-k8s-aws-id": "eks-learning-lab-dev-cluster",
               "Authorization": f"AWS4-HMAC-SHA256 Credential={q['X-Amz-Credential']}, SignedHeaders=host, "
                                "Signature=0"}
    resp = httpx.get(url, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text[:200]
    assert re.search(r"<Arn>arn:aws:(sts|iam)::\d{12}:[^<]+</Arn>", resp.text)


async def test_refreshed_before_expiry_with_an_injected_clock(aws_env):
    now = [10_000.0]
    src = EksTokenSource("c1", "us-east-1", "t", clock=lambda: now[0])
    first, exp1 = await src.token()
    now[0] += 12 * 60                                  # 12 min: still the cached token
    assert (await src.token())[0] == first and src.made == 1
    now[0] = exp1 - 60 + 1                             # within the last minute of the reported 14: a new one
    second, exp2 = await src.token()
    assert src.made == 2 and exp2 > exp1
    src.invalidate()
    await src.token()
    assert src.made == 3


async def test_invalidated_on_401_through_the_kube_client(aws_env):
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.headers.get("authorization", ""))
        return httpx.Response(401 if len(seen) == 1 else 200, json={"kind": "Status"} if len(seen) == 1 else {})

    cluster = ClusterInfo(name="eks", server="http://127.0.0.1:9")
    auth = Authenticator(UserInfo(name="eks-user", eks=EksAuth("c1", "us-east-1", "t")), cluster)
    assert auth.native_eks and auth.refreshable and auth.method.startswith("EKS token (cluster c1")
    client = KubeClient(cluster, auth, transport=httpx.MockTransport(handler))
    try:
        await client.get("/version")
    finally:
        await client.aclose()
    assert len(seen) == 2 and all(h.startswith("Bearer k8s-aws-v1.") for h in seen)
    assert auth._eks_tokens.made == 2                  # the 401 invalidated the token: a new one was made
    creds = await auth.credentials()
    assert creds.refresh_at is not None and creds.authorization == seen[1]


async def test_credentials_resolved_off_the_event_loop(aws_env, monkeypatch):
    import threading
    from ecotui.aws import token as tok
    where: list[bool] = []
    real = tok.aws.frozen_credentials

    def spy(*a, **kw):
        where.append(threading.current_thread() is threading.main_thread())
        return real(*a, **kw)
    monkeypatch.setattr(tok.aws, "frozen_credentials", spy)
    await EksTokenSource("c1", "us-east-1", "t").token()
    assert where == [False]


@pytest.mark.parametrize("missing", ["region"])
async def test_no_region_is_one_line(aws_env, missing):
    aws_env.add_profile("noregion", f"endpoint_url = {aws_env.endpoint}",
                        f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}")
    from ecotui.aws.errors import AwsError
    with pytest.raises(AwsError) as exc:
        await EksTokenSource("c1", None, "noregion").token()
    assert "no AWS region" in exc.value.message and "\n" not in exc.value.message
