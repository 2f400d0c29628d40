"""Native EKS bearer tokens, as `aws eks get-token` and aws-iam-authenticator make them (research/clients.md §5.1).

The token is `k8s-aws-v1.` + base64url (no padding) of an STS GetCallerIdentity URL presigned with SigV4 for 60 s
with the `x-k8s-aws-id: <cluster>` header among the signed headers. EKS accepts it for 15 minutes after its
X-Amz-Date whatever X-Amz-Expires says; like the aws-cli we report it valid for 14 minutes and make a new one a
minute before that (`REFRESH_MARGIN_S`), and at once after `invalidate()` (the API server said 401).

Resolving credentials may do network I/O or run a credential_process (SSO, assume-role …): `token()` does all of
it in a worker thread (`asyncio.to_thread`); only a cached token is handed out on the event loop.
"""
from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Callable
from typing import Any

from . import session as aws
from .errors import AwsError, explain

TOKEN_PREFIX = "k8s-aws-v1."
K8S_AWS_ID = "x-k8s-aws-id"
PRESIGN_EXPIRES_S = 60          # X-Amz-Expires, as the aws-cli and aws-iam-authenticator use
TOKEN_LIFETIME_S = 14 * 60      # reported lifetime (the server's limit is 15 min after X-Amz-Date)
REFRESH_MARGIN_S = 60.0         # a new token this long before the reported expiry
ROLE_REFRESH_MARGIN_S = 300.0   # assumed-role credentials renewed this long before they expire


def _move_id_to_context(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if K8S_AWS_ID in params:
        context[K8S_AWS_ID] = params.pop(K8S_AWS_ID)


def _id_header(request: Any, **_: Any) -> None:
    if K8S_AWS_ID in request.context:
        request.headers[K8S_AWS_ID] = request.context[K8S_AWS_ID]


def presign_token(sts: Any, cluster: str) -> str:
    """The EKS token for `cluster` from an STS client (blocking only if the client must refresh credentials)."""
    events = sts.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", _move_id_to_context,
                    unique_id="ecotui-k8s-aws-id-params")
    events.register("before-sign.sts.GetCallerIdentity", _id_header, unique_id="ecotui-k8s-aws-id-header")
    url = sts.generate_presigned_url("get_caller_identity", Params={K8S_AWS_ID: cluster},
                                     ExpiresIn=PRESIGN_EXPIRES_S, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str) -> str:
    """The presigned URL inside a token (tests, the testbed's authenticator)."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not an EKS token (no k8s-aws-v1. prefix)")
    body = token[len(TOKEN_PREFIX):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")


class EksTokenSource:
    """Tokens for one (cluster, region, profile, role). `await token()` → (token, expires_at epoch seconds)."""

    def __init__(self, cluster: str, region: str | None = None, profile: str | None = None,
                 role_arn: str | None = None, *, clock: Callable[[], float] = time.time,
                 refresh_margin: float = REFRESH_MARGIN_S) -> None:
        self.cluster, self.region, self.profile, self.role_arn = cluster, region, profile, role_arn
        self._clock = clock
        self._margin = refresh_margin
        self._cached: tuple[str, float] | None = None
        self._role: tuple[Any, float] | None = None   # (sts client with the role's credentials, expires epoch)
        self._thread_lock = threading.Lock()
        self._lock: asyncio.Lock | None = None
        self.made = 0     # tokens made (tests, diagnostics)

    def _fresh(self) -> tuple[str, float] | None:
        c = self._cached
        if c is not None and self._clock() < c[1] - self._margin:
            return c
        return None

    def invalidate(self) -> None:
        """Forget the token (after a 401): the next `token()` makes a new one."""
        self._cached = None

    async def token(self) -> tuple[str, float]:
        c = self._fresh()
        if c is not None:
            return c
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            c = self._fresh()
            if c is None:
                c = await asyncio.to_thread(self.make)
            return c

    def make(self) -> tuple[str, float]:
        """Make a new token now (blocking: credentials may be resolved). Raises AwsError (one line)."""
        with self._thread_lock:
            region = self.region
            try:
                region = aws.region_of(self.profile, self.region)
                if not region:
                    raise AwsError(f"no AWS region for EKS cluster {self.cluster} (profile "
                                   f"{self.profile or 'default'})",
                                   "set region in the profile, AWS_REGION, or the context's eks.region", "config")
                aws.frozen_credentials(self.profile, region)   # the clear line for SSO / expired / none, first
                sts = self._role_client(region) if self.role_arn else aws.client("sts", self.profile, region)
                token = presign_token(sts, self.cluster)
            except Exception as exc:
                raise explain(exc, self.profile, "sts:GetCallerIdentity", region) from None
            self.made += 1
            self._cached = (token, self._clock() + TOKEN_LIFETIME_S)
            return self._cached

    def _role_client(self, region: str) -> Any:
        now = self._clock()
        if self._role is not None and now < self._role[1] - ROLE_REFRESH_MARGIN_S:
            return self._role[0]
        base = aws.client("sts", self.profile, region)
        try:
            got = base.assume_role(RoleArn=self.role_arn, RoleSessionName=f"ecotui-{int(now)}")
        except Exception as exc:
            raise explain(exc, self.profile, f"sts:AssumeRole {self.role_arn}", region) from None
        cr = got["Credentials"]
        exp = cr["Expiration"]
        expires = exp.timestamp() if hasattr(exp, "timestamp") else now + 900
        with aws._lock:
            sts = aws.aws_session(self.profile, region).client(
                "sts", region_name=region, aws_access_key_id=cr["AccessKeyId"],
                aws_secret_access_key=cr["SecretAccessKey"], aws_session_token=cr["SessionToken"])
        self._role = (sts, expires)
        return sts

