"""The testbed's EKS token authenticator: a webhook token authenticator of ours, behind the API server's
`--authentication-token-webhook-config-file`, that accepts the presigned-STS token shape EKS uses.

    python -m testbed.eksauth --host 127.0.0.1 --port 25001 --sts http://127.0.0.1:25000 --cluster NAME ...

POST /authenticate takes a TokenReview (authentication.k8s.io/v1). A token `k8s-aws-v1.<base64url of a presigned
STS GetCallerIdentity URL>` is checked the way aws-iam-authenticator checks it (pkg/token/token.go): at most 4 KiB,
query parameters on the whitelist only, Action=GetCallerIdentity, `x-k8s-aws-id` among the signed headers,
0 ≤ X-Amz-Expires ≤ 900, and not older than 15 minutes after X-Amz-Date. The URL must point at moto — exactly
http://127.0.0.1:25000/ (any other scheme, host, port or path is refused before any request: the authenticator
never talks to anything else). For the testbed's own (fake) keys it checks the SigV4 signature itself, trying
each accepted cluster name as `x-k8s-aws-id` (moto's STS checks no signature; tokens from keys moto issued, e.g.
assumed roles, are left to moto). Then it GETs the URL from moto's STS with the `x-k8s-aws-id` header (plus a dummy
Authorization header: moto routes a query-signed GET to S3 otherwise) and maps the caller's ARN to the user
`<arn>` in the group `ecotui:eks-admins` (bound to cluster-admin by `up`).

Anything else (not our shape, a malformed token, moto down) answers `authenticated: false` quickly: the API server
then tries nothing else and answers 401, while its other authenticators (client certs, static tokens,
ServiceAccount tokens) never depend on this process.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import sys
import time
from calendar import timegm
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit
from xml.etree import ElementTree

import httpx
from aiohttp import web

from .serve import serve_loopback

PREFIX = "k8s-aws-v1."
MAX_TOKEN = 4096
LIFETIME = 15 * 60  # tokens expire 15 minutes after X-Amz-Date, whatever X-Amz-Expires says
GROUP = "ecotui:eks-admins"
WHITELIST = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
             "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
CONFIG = web.AppKey("config", object)


class Rejected(Exception):
    """The token is not acceptable; the message says why (one line, goes into the TokenReview's error)."""


@dataclass(frozen=True)
class Config:
    sts: str                    # "http://127.0.0.1:25000": the only base URL a token may point at
    clusters: tuple[str, ...]   # accepted x-k8s-aws-id values
    keys: tuple[tuple[str, str], ...] = ()   # (access key, secret) whose signatures we check ourselves


@dataclass(frozen=True)
class Presigned:
    url: str
    credential: str
    signed_headers: str
    signature: str


def decode(token: str, sts: str, now: float) -> Presigned:
    """The presigned URL inside a `k8s-aws-v1.` token, checked; raises Rejected with the reason."""
    if not token.startswith(PREFIX):
        raise Rejected("not a k8s-aws-v1 token")
    if len(token) > MAX_TOKEN:
        raise Rejected("token longer than 4 KiB")
    body = token[len(PREFIX):]
    try:
        url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise Rejected("token is not base64url") from None
    parts, want = urlsplit(url), urlsplit(sts)
    if (parts.scheme, parts.netloc) != (want.scheme, want.netloc) or parts.path not in ("", "/") or parts.fragment:
        raise Rejected(f"token URL is not {want.scheme}://{want.netloc}/ (the testbed's STS)")
    query = parse_qs(parts.query, keep_blank_values=True)
    params = {k.lower(): v for k, v in query.items()}
    extra = sorted(set(params) - WHITELIST)
    if extra:
        raise Rejected(f"non-whitelisted query parameter {extra[0]!r}")
    if any(len(v) != 1 for v in params.values()):
        raise Rejected("repeated query parameter")
    p = {k: v[0] for k, v in params.items()}
    if p.get("action") != "GetCallerIdentity":
        raise Rejected("not a GetCallerIdentity request")
    signed = p.get("x-amz-signedheaders", "")
    if "x-k8s-aws-id" not in signed.lower().split(";"):
        raise Rejected("x-k8s-aws-id is not a signed header")
    try:
        expires = int(p.get("x-amz-expires", ""))
        signed_at = timegm(time.strptime(p.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise Rejected("bad X-Amz-Expires or X-Amz-Date") from None
    if not 0 <= expires <= 900:
        raise Rejected("X-Amz-Expires outside 0..900")
    if now > signed_at + LIFETIME:
        raise Rejected("token expired")
    if signed_at > now + 60:
        raise Rejected("token dated in the future")
    for k in ("x-amz-credential", "x-amz-signature"):
        if not p.get(k):
            raise Rejected(f"missing {k}")
    return Presigned(url, p["x-amz-credential"], signed, p["x-amz-signature"])


def signature(url: str, cluster: str, secret: str) -> str:
    """The SigV4 query signature of a presigned GetCallerIdentity URL with header x-k8s-aws-id = cluster (what
    STS computes; moto does not check signatures, so we do for the keys we know)."""
    u = urlsplit(url)
    q = [(k, v) for k, v in parse_qsl(u.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    p = dict(q)
    enc = lambda x: quote(x, safe="-_.~")  # noqa: E731
    canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(q))
    signed = p.get("X-Amz-SignedHeaders", "")
    values = {"host": u.netloc, "x-k8s-aws-id": cluster}
    headers = "".join(f"{h}:{values.get(h, '')}\n" for h in signed.split(";"))
    creq = "\n".join(["GET", u.path or "/", canonical_query, headers, signed, hashlib.sha256(b"").hexdigest()])
    scope = p.get("X-Amz-Credential", "").split("/", 1)[-1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", p.get("X-Amz-Date", ""), scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def cluster_of(pre: Presigned, cfg: Config) -> str:
    """The accepted cluster the token was signed for (checked when we know the key's secret; else the first one,
    and moto's STS — which checks no signature — decides)."""
    secret = dict(cfg.keys).get(pre.credential.split("/", 1)[0])
    if secret is None:
        return cfg.clusters[0]
    for cluster in cfg.clusters:
        if hmac.compare_digest(signature(pre.url, cluster, secret), pre.signature):
            return cluster
    raise Rejected("signature does not match (the token was altered, or made for another cluster)")


def identity(xml: str) -> tuple[str, str, str]:
    """(arn, account, user id) from an STS GetCallerIdentityResponse."""
    root = ElementTree.fromstring(xml)
    found = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    if not found.get("Arn"):
        raise Rejected("STS answered without an Arn")
    return found["Arn"], found.get("Account", ""), found.get("UserId", "")


async def verify(token: str, cfg: Config, client: httpx.AsyncClient, now: float | None = None) -> dict:
    """The TokenReview status for `token`."""
    try:
        pre = decode(token, cfg.sts, time.time() if now is None else now)
        cluster = cluster_of(pre, cfg)
        auth = (f"AWS4-HMAC-SHA256 Credential={pre.credential}, SignedHeaders={pre.signed_headers}, "
                f"Signature={pre.signature}")
        try:
            r = await client.get(pre.url, headers={"x-k8s-aws-id": cluster, "Authorization": auth})
        except httpx.HTTPError as e:
            raise Rejected(f"STS unreachable: {type(e).__name__}") from None
        if r.status_code != 200:
            raise Rejected(f"STS answered {r.status_code}")
        try:
            arn, account, uid = identity(r.text)
        except ElementTree.ParseError:
            raise Rejected("STS answer is not XML") from None
    except Rejected as e:
        return {"authenticated": False, "error": str(e)}
    return {"authenticated": True, "user": {
        "username": arn, "uid": f"aws-iam-authenticator:{account}:{uid}", "groups": [GROUP],
        "extra": {"arn": [arn], "accessKeyId": [pre.credential.split("/", 1)[0]]}}}


async def authenticate(request: web.Request) -> web.Response:
    try:
        review = await request.json()
        token = review["spec"]["token"]
        api_version = review.get("apiVersion", "authentication.k8s.io/v1")
        if not isinstance(token, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "not a TokenReview"}, status=400)
    cfg = request.app[CONFIG]
    assert isinstance(cfg, Config)
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        status = await verify(token, cfg, client)
    return web.json_response({"apiVersion": api_version, "kind": "TokenReview", "status": status})


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app(cfg: Config) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[CONFIG] = cfg
    app.router.add_post("/authenticate", authenticate)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.eksauth")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sts", required=True, help="the STS (moto) base URL tokens must point at")
    ap.add_argument("--cluster", action="append", required=True, help="accepted cluster name (x-k8s-aws-id)")
    ap.add_argument("--key", action="append", default=[], metavar="ACCESS_KEY=SECRET",
                    help="a (fake) key pair whose signatures are checked here")
    a = ap.parse_args(argv)
    if not urlsplit(a.sts).hostname or not str(urlsplit(a.sts).hostname).startswith("127."):
        print(f"eksauth: refusing STS {a.sts}: loopback only", file=sys.stderr)
        return 2
    return serve_loopback("eksauth", make_app(Config(a.sts.rstrip("/"), tuple(a.cluster),
                                                            tuple(tuple(k.split("=", 1)) for k in a.key))), a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
