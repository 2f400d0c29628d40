"""SigV4 request signing for Amazon Managed Prometheus (service `aps`) as an `httpx.Auth`.

Each request is signed with botocore's own `SigV4Auth` over its method, URL, `host`, `content-type` and body hash
(the form-encoded PromQL POST body included). Credentials are the profile's (boto3's chain, like EKS tokens):
resolved in a worker thread on first use and again when they are due to expire (`REFRESH_MARGIN_S` before
botocore's expiry for refreshable credentials); signing itself is pure CPU (~0.1 ms).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from . import session as aws
from .errors import explain

SERVICE = "aps"
REFRESH_MARGIN_S = 300.0
STATIC_RECHECK_S = 900.0     # credentials without an expiry are looked up again this often


class SigV4Auth(httpx.Auth):
    requires_request_body = True

    def __init__(self, region: str, profile: str | None = None, service: str = SERVICE, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.region, self.profile, self.service = region, profile, service
        self._clock = clock
        self._creds: Any = None            # botocore ReadOnlyCredentials
        self._valid_until = 0.0
        self.resolved = 0                  # credential look-ups (tests)

    def _resolve(self) -> None:
        creds = aws.frozen_credentials(self.profile, self.region)
        exp = aws.credentials_expiry(self.profile, self.region)
        now = self._clock()
        self._valid_until = exp.timestamp() - REFRESH_MARGIN_S if exp is not None else now + STATIC_RECHECK_S
        self._valid_until = max(self._valid_until, now + 30.0)
        self._creds = creds
        self.resolved += 1

    def _stale(self) -> bool:
        return self._creds is None or self._clock() >= self._valid_until

    def sign(self, request: httpx.Request) -> None:
        """Add Authorization, X-Amz-Date (and X-Amz-Security-Token) to `request` (credentials already resolved)."""
        from botocore.auth import SigV4Auth as BotoSigV4
        from botocore.awsrequest import AWSRequest
        headers = {"host": request.url.netloc.decode("ascii")}
        ctype = request.headers.get("content-type")
        if ctype:
            headers["content-type"] = ctype
        aws_req = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        try:
            BotoSigV4(self._creds, self.service, self.region).add_auth(aws_req)
        except Exception as exc:
            raise explain(exc, self.profile, f"{self.service} signing", self.region) from None
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = aws_req.headers.get(name)
            if value is not None:
                request.headers[name] = value

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._stale():
            self._resolve()
        self.sign(request)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._stale():
            await asyncio.to_thread(self._resolve)
        self.sign(request)
        response = yield request
        if response.status_code == 403 and self._creds is not None:   # maybe rotated credentials: look again
            self._valid_until = 0.0
