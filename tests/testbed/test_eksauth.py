"""The testbed's EKS side: the webhook token authenticator (testbed/eksauth.py) only ever talks to moto on
127.0.0.1:25000 and refuses every other URL before any request; moto's seed (testbed/motoserver.py) answers with
the testbed's endpoint and CA; a change to these modules restarts nothing else; and — against the real testbed —
the webhook being down never breaks the API server's other authenticators."""
from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from pathlib import Path

import httpx
import pytest

from testbed import components, eksauth, ports

STS = f"http://{ports.HOST}:{ports.MOTO}"
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
AMZ_DATE = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(NOW - 30))
QUERY = ("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=AKIATESTBEDONCALL000%2F20270115%2Fus-east-1%2Fsts%2Faws4_request"
         f"&X-Amz-Date={AMZ_DATE}&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc123")
STS_XML = ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
           '<UserId>AIDAONCALL</UserId><Account>123456789012</Account>'
           '<Arn>arn:aws:iam::123456789012:user/oncall</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>')


def token(url: str) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def review(tok: str, *, answer: str = STS_XML, status: int = 200, now: float = NOW) -> tuple[dict, list]:
    """verify() with a recording transport standing in for moto: (TokenReview status, requests made)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=answer)

    async def run() -> dict:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await eksauth.verify(tok, eksauth.Config(STS, (ports.EKS_CLUSTER,)), client, now=now)

    return asyncio.run(run()), seen


def test_a_presigned_sts_token_maps_to_its_arn_in_the_eks_admins_group():
    status, seen = review(token(f"{STS}/?{QUERY}"))
    assert status["authenticated"] is True
    assert status["user"]["username"] == "arn:aws:iam::123456789012:user/oncall"
    assert status["user"]["groups"] == ["ecotui:eks-admins"]
    assert status["user"]["extra"]["accessKeyId"] == ["AKIATESTBEDONCALL000"]
    (req,) = seen
    assert str(req.url).startswith(f"{STS}/?Action=GetCallerIdentity")
    assert req.headers["x-k8s-aws-id"] == ports.EKS_CLUSTER
    assert req.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIATESTBEDONCALL000/")


@pytest.mark.parametrize("url", [
    f"http://169.254.169.254/?{QUERY}",                      # another host (instance metadata)
    f"https://sts.us-east-1.amazonaws.com/?{QUERY}",         # real AWS
    f"http://127.0.0.1:25001/?{QUERY}",                      # loopback, another port
    f"http://127.0.0.2:25000/?{QUERY}",                      # another loopback address
    f"https://127.0.0.1:25000/?{QUERY}",                     # another scheme
    f"http://localhost:25000/?{QUERY}",                      # a name, not the address
    f"http://127.0.0.1:25000@evil.example/?{QUERY}",          # userinfo trick
    f"http://evil.example#@127.0.0.1:25000/?{QUERY}",
    f"http://127.0.0.1:25000/s3-bucket/?{QUERY}",             # another path
])
def test_any_url_but_motos_is_refused_before_any_request(url):
    status, seen = review(token(url))
    assert status["authenticated"] is False
    assert "testbed's STS" in status["error"]
    assert seen == []


def _signed(cluster: str, secret: str = "s3cret") -> str:
    import boto3
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=STS, aws_access_key_id="AKIAKNOWN",
                       aws_secret_access_key=secret)
    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity",
                             lambda params, context, **_: context.update(c=params.pop("x-k8s-aws-id")))
    sts.meta.events.register("before-sign.sts.GetCallerIdentity",
                             lambda request, **_: request.headers.__setitem__("x-k8s-aws-id", request.context["c"]))
    return sts.generate_presigned_url("get_caller_identity", Params={"x-k8s-aws-id": cluster}, ExpiresIn=60,
                                      HttpMethod="GET")


def test_signatures_of_known_keys_are_checked_and_name_the_cluster():
    cfg = eksauth.Config(STS, (ports.EKS_CLUSTER, ports.EKS_CLUSTER_2), (("AKIAKNOWN", "s3cret"),))
    now = time.time()
    url = _signed(ports.EKS_CLUSTER_2)
    pre = eksauth.decode(token(url), STS, now)
    assert eksauth.cluster_of(pre, cfg) == ports.EKS_CLUSTER_2          # the header the token was signed with
    for bad in (_signed("someone-elses-cluster"), _signed(ports.EKS_CLUSTER, secret="guessed"),
                url[:-4] + ("0000" if not url.endswith("0000") else "1111")):
        with pytest.raises(eksauth.Rejected, match="signature does not match"):
            eksauth.cluster_of(eksauth.decode(token(bad), STS, now), cfg)
    unknown = eksauth.decode(token(f"{STS}/?{QUERY}"), STS, NOW)         # a key moto issued: moto decides
    assert eksauth.cluster_of(unknown, cfg) == ports.EKS_CLUSTER


@pytest.mark.parametrize("tok, why", [
    ("da6cf3464bd6c33259d0", "not a k8s-aws-v1 token"),
    ("k8s-aws-v1.!!!notbase64", "not base64url"),
    (token(f"{STS}/?{QUERY}&X-Evil=1"), "non-whitelisted query parameter 'x-evil'"),
    (token(f"{STS}/?{QUERY.replace('GetCallerIdentity', 'AssumeRole')}"), "not a GetCallerIdentity request"),
    (token(f"{STS}/?{QUERY.replace('host%3Bx-k8s-aws-id', 'host')}"), "x-k8s-aws-id is not a signed header"),
    (token(f"{STS}/?{QUERY.replace('X-Amz-Expires=60', 'X-Amz-Expires=901')}"), "X-Amz-Expires outside 0..900"),
    ("k8s-aws-v1." + "A" * 5000, "longer than 4 KiB"),
])
def test_malformed_tokens_are_refused_with_the_reason_and_no_request(tok, why):
    status, seen = review(tok)
    assert status["authenticated"] is False and why in status["error"]
    assert seen == []


def test_tokens_expire_15_minutes_after_their_date_whatever_x_amz_expires_says():
    assert review(token(f"{STS}/?{QUERY}"), now=NOW + 14 * 60)[0]["authenticated"] is True
    status, seen = review(token(f"{STS}/?{QUERY}"), now=NOW + 15 * 60)
    assert status == {"authenticated": False, "error": "token expired"} and seen == []


def test_sts_refusing_or_answering_garbage_is_not_authenticated():
    assert review(token(f"{STS}/?{QUERY}"), status=403, answer="<Error/>")[0] == {
        "authenticated": False, "error": "STS answered 403"}
    assert review(token(f"{STS}/?{QUERY}"), answer="<a/>")[0]["authenticated"] is False
    assert review(token(f"{STS}/?{QUERY}"), answer="not xml")[0]["authenticated"] is False


def test_our_aws_servers_code_is_only_in_their_own_fingerprints(tmp_path, monkeypatch):
    """Changing motoserver.py/eksauth.py (or components.py) restarts moto/the webhook only, never Loki & co."""
    monkeypatch.setenv("ECOTUI_TESTBED_STATE", str(tmp_path))
    names = {n.name for n in components.module_files("testbed.eksauth")}
    assert names == {"__init__.py", "eksauth.py", "serve.py"}
    assert "ports.py" in {n.name for n in components.module_files("testbed.motoserver")}
    for other in ("testbed.loki", "testbed.exporter", "testbed.healthserver", "testbed.loggen"):
        files = {f.name for f in components.module_files(other)}
        assert not files & {"motoserver.py", "eksauth.py", "components.py", "cluster.py", "awsconfig.py"}, other
    specs = {c.name: c for c in components.components(tmp_path / "bin", write=False)}
    assert "--authentication-token-webhook-version=v1" in specs["kube-apiserver"].argv
    assert specs["kube-apiserver"].fingerprint and specs["motoserver"].fingerprint


def test_the_webhook_kubeconfig_points_at_loopback_only(tmp_path):
    import yaml
    cfg = yaml.safe_load(components.webhook_kubeconfig_yaml())
    assert cfg["clusters"][0]["cluster"]["server"] == f"http://127.0.0.1:{ports.EKS_AUTH}/authenticate"


def test_moto_seed_answers_with_the_testbed_endpoint_and_ca(tmp_path, monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    from moto.eks import models

    from testbed import motoserver
    monkeypatch.setattr(models.Cluster, "__init__", models.Cluster.__init__)  # undone after the test
    for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    pem = b"-----BEGIN CERTIFICATE-----\nTESTBEDCA\n-----END CERTIFICATE-----\n"
    motoserver.patch_eks("https://127.0.0.1:26443", pem, {ports.EKS_CLUSTER_2: "CREATING"})
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    try:
        host, port = srv.get_host_and_port()
        made = motoserver.seed(f"http://{host}:{port}")
        import boto3
        eks = boto3.client("eks", region_name=ports.EKS_REGION, endpoint_url=f"http://{host}:{port}",
                           aws_access_key_id="t", aws_secret_access_key="t")
        c = eks.describe_cluster(name=ports.EKS_CLUSTER)["cluster"]
        assert c["endpoint"] == "https://127.0.0.1:26443" and c["status"] == "ACTIVE"
        assert base64.b64decode(c["certificateAuthority"]["data"]) == pem
        assert {n for n in eks.list_nodegroups(clusterName=ports.EKS_CLUSTER)["nodegroups"]} == {
            "ecotrack-ng", "ecotrack-spot"}
        west = boto3.client("eks", region_name=ports.EKS_REGION_2, endpoint_url=f"http://{host}:{port}",
                            aws_access_key_id="t", aws_secret_access_key="t")
        c2 = west.describe_cluster(name=ports.EKS_CLUSTER_2)["cluster"]
        assert c2["status"] == "CREATING" and c2["endpoint"] == "https://127.0.0.1:26443"
        assert sorted(i["lifecycle"] for i in made["instances"]) == ["on_demand"] * 3 + ["spot"]
        assert made["volume"]["id"].startswith("vol-")
    finally:
        srv.stop()


# --- against the real testbed: the webhook down never breaks certs, static tokens or ServiceAccount tokens ---

def _api(pki: Path, token: str | None = None, cert: bool = False) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return httpx.Client(base_url=f"https://{ports.HOST}:{ports.APISERVER}", verify=ctx, trust_env=False, timeout=20,
                        headers={"Authorization": f"Bearer {token}"} if token else {})


@pytest.mark.e2e
@pytest.mark.disruptive
def test_webhook_down_never_breaks_the_other_authenticators(testbed):
    from testbed import cluster, pki as pki_mod, procs
    pki = testbed.state_dir / "pki"
    with _api(pki, cert=True) as admin:
        r = admin.post("/api/v1/namespaces/default/serviceaccounts/default/token",
                       json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {"expirationSeconds": 600}})
        assert r.status_code == 201, r.text
        sa_token = r.json()["status"]["token"]
    static = pki_mod.static_token(pki)

    def who(client: httpx.Client) -> str:
        r = client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert r.status_code == 201, r.text
        return r.json()["status"]["userInfo"]["username"]

    cluster.stop_component("eksauth")
    try:
        assert procs.pid_of("eksauth") is None
        with httpx.Client(trust_env=False) as c:
            with pytest.raises(httpx.ConnectError):
                c.get(f"http://{ports.HOST}:{ports.EKS_AUTH}/healthz", timeout=2)
        t0 = time.monotonic()
        with _api(pki, cert=True) as c:
            assert who(c) == "ecotui-testbed-admin"
        with _api(pki, token=static) as c:
            assert who(c) == pki_mod.ONCALL_TOKEN_USER
        with _api(pki, token=sa_token) as c:
            assert who(c) == "system:serviceaccount:default:default"
            assert c.get("/api/v1/namespaces/default/serviceaccounts/default").status_code in (200, 403)
        assert time.monotonic() - t0 < 10, "known credentials must not wait on the dead webhook"
        with _api(pki, token="k8s-aws-v1.not-a-token") as c:   # an EKS-shaped token: refused, not a 500
            assert c.get("/api/v1/nodes").status_code == 401
    finally:
        cluster.start_component("eksauth")
    with httpx.Client(trust_env=False) as c:
        assert c.get(f"http://{ports.HOST}:{ports.EKS_AUTH}/healthz", timeout=5).text == "ok"


@pytest.mark.e2e
def test_motos_seed_file_names_the_running_moto(testbed):
    from testbed import motoserver, procs
    seed = motoserver.read_seed(testbed.state_dir)
    assert seed and seed["pid"] == procs.pid_of("motoserver")
    assert json.dumps(seed["clusters"]).count("eks-learning-lab") == 2
