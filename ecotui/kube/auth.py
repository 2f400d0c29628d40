"""Credentials for one kubeconfig user: token, tokenFile, basic auth, client certificates, exec plugins.

Exec credential plugins are run by us, never by the `kubernetes` package (research/clients.md §1.4): with
`asyncio.create_subprocess_exec`, stdin from /dev/null, stdout and stderr captured, in a new session (so the
plugin has no controlling terminal and cannot draw over the TUI or read its keys), and with
`KUBERNETES_EXEC_INFO` saying `interactive: false`. The plugin's stderr only ever appears inside our error
message. The result is cached until its `expirationTimestamp` (minus a small skew); a plugin that gives no
expiry is cached until the API server rejects it (401), which is when the client calls `reload()`.

Precedence between methods follows client-go: token/tokenFile, then username/password, then exec. A client
certificate from the kubeconfig is used alongside any of them; one returned by an exec plugin replaces it.

EKS: a user whose exec plugin is `aws eks get-token` / `aws-iam-authenticator token` (ecotui.aws.execmatch), or
whose `UserInfo.eks` is set (config `eks:`, a discovered cluster), gets its token made natively with botocore
(ecotui.aws.token) — no aws CLI needed — when botocore is importable; otherwise the exec plugin runs as before.
A 401 invalidates the token and a new one is made once.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import msgspec

from ..errors import AuthError, EcotuiError, KubeconfigError
from .kubeconfig import ClusterInfo, ExecConfig, UserInfo
from ..textsafe import one_line

_serials = itertools.count(1)


@dataclass(frozen=True)
class Credentials:
    authorization: str | None = None  # full Authorization header value, e.g. "Bearer abc"
    cert_pem: bytes | None = None  # client certificate (PEM) for mutual TLS
    key_pem: bytes | None = None
    refresh_at: float | None = None  # epoch seconds after which to load again; None = until rejected
    serial: int = 0  # identifies one load, so concurrent 401s reload only once


class _ExecStatus(msgspec.Struct):
    token: str = ""
    clientCertificateData: str = ""
    clientKeyData: str = ""
    expirationTimestamp: str | None = None


class _ExecCredential(msgspec.Struct):
    apiVersion: str = ""
    kind: str = ""
    status: _ExecStatus | None = None


_decode_exec = msgspec.json.Decoder(_ExecCredential).decode


def _botocore_available() -> bool:
    from ..aws import session as aws_session
    return aws_session.available()


def _eks_target(user: UserInfo) -> Any:
    """The user's EKS cluster: `user.eks`, else what its `aws eks get-token` / aws-iam-authenticator exec names."""
    if user.eks is not None:
        return user.eks
    if user.exec is None:
        return None
    from ..aws.execmatch import eks_from_exec
    return eks_from_exec(user.exec)


def _tail(data: bytes, limit: int = 300) -> str:
    """The end of a plugin's stderr (where it says what failed) as one inert line."""
    text = data.decode("utf-8", "replace").strip()
    return one_line(text) if len(text) <= limit else "…" + one_line(text[-limit:])


class Authenticator:
    """Hands out the current credentials of one user; loads them lazily, serialised by a lock."""

    def __init__(self, user: UserInfo, cluster: ClusterInfo, *, clock: Callable[[], float] = time.time,
                 exec_timeout: float = 60.0, token_file_ttl: float = 60.0, max_skew: float = 60.0) -> None:
        self.user = user
        self.cluster = cluster
        self._clock = clock
        self._exec_timeout = exec_timeout
        self._token_file_ttl = token_file_ttl
        self._max_skew = max_skew
        self._creds: Credentials | None = None
        self._lock = asyncio.Lock()
        self.exec_runs = 0  # how many times the exec plugin was started (diagnostics, tests)
        self.eks = _eks_target(user)   # the EKS cluster of this user (also when its exec plugin has to be used)
        self._eks_tokens: Any = None   # ecotui.aws.token.EksTokenSource, made on first use
        self.native_eks = user.eks is not None or (self.eks is not None and not user.token and not user.token_file
                                                   and not user.username and _botocore_available())

    @property
    def refreshable(self) -> bool:
        """True when loading again may give different credentials (tokenFile or exec plugin)."""
        u = self.user
        return bool(self.native_eks or u.token_file or (u.exec and not u.token and not u.username))

    @property
    def method(self) -> str:
        u = self.user
        if self.native_eks and self.eks is not None:
            return f"EKS token ({self.eks.describe()})"
        if u.token_file:
            return f"tokenFile {u.token_file}"
        if u.token:
            return "token"
        if u.username:
            return "username/password"
        if u.exec:
            return f"exec plugin {u.exec.command}"
        return "client certificate" if u.cert_pem else "no credentials"

    def _valid(self, c: Credentials | None) -> bool:
        return c is not None and (c.refresh_at is None or self._clock() < c.refresh_at)

    async def credentials(self) -> Credentials:
        if self._valid(self._creds):
            return self._creds  # type: ignore[return-value]
        async with self._lock:
            if not self._valid(self._creds):
                self._creds = await self._load()
            return self._creds  # type: ignore[return-value]

    async def reload(self, rejected: Credentials) -> Credentials:
        """Load again after `rejected` got a 401 (unless another task already did)."""
        async with self._lock:
            if self._creds is None or self._creds.serial == rejected.serial:
                if self._eks_tokens is not None:
                    self._eks_tokens.invalidate()
                self._creds = await self._load()
            return self._creds

    async def _load(self) -> Credentials:
        u = self.user
        cert, key, refresh_at, auth = u.cert_pem, u.key_pem, None, None
        if self.native_eks:
            token, expires = await self._eks_token()
            now = self._clock()
            auth = "Bearer " + token
            refresh_at = max(expires - min(self._max_skew, max(0.0, expires - now) / 4), now + 1.0)
        elif u.token_file:
            auth, refresh_at = "Bearer " + self._read_token_file(u.token_file), self._clock() + self._token_file_ttl
        elif u.token:
            auth = "Bearer " + u.token
        elif u.username:
            pair = f"{u.username}:{u.password or ''}".encode()
            auth = "Basic " + base64.b64encode(pair).decode()
        elif u.exec:
            token, ecert, ekey, refresh_at = await self._run_exec(u.exec)
            auth = "Bearer " + token if token else None
            if ecert:
                cert, key = ecert, ekey
        return Credentials(auth, cert, key, refresh_at, next(_serials))

    async def _eks_token(self) -> tuple[str, float]:
        from ..aws.token import EksTokenSource
        e = self.eks
        assert e is not None
        if not _botocore_available():
            raise AuthError(f"user {self.user.name!r}: EKS cluster {e.cluster} needs botocore for its token, which "
                            "is not installed", "pip install boto3 (an ecotui dependency)")
        if self._eks_tokens is None:
            self._eks_tokens = EksTokenSource(e.cluster, e.region, e.profile, e.role_arn, clock=self._clock)
        try:
            return await self._eks_tokens.token()
        except EcotuiError as exc:   # AwsError: one line with the fix (aws sso login --profile X …)
            raise AuthError(f"user {self.user.name!r}: {exc.message}", exc.hint) from None

    def _read_token_file(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8") as fh:
                token = fh.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise KubeconfigError(f"user {self.user.name!r}: cannot read tokenFile {path}: "
                                  f"{getattr(e, 'strerror', None) or e}",
                                  "fix users[].user.tokenFile in the kubeconfig") from None
        if not token:
            raise KubeconfigError(f"user {self.user.name!r}: tokenFile {path} is empty",
                                  "fix users[].user.tokenFile in the kubeconfig")
        return token

    def _exec_info(self, ex: ExecConfig) -> str:
        info: dict = {"apiVersion": ex.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        if ex.provide_cluster_info:
            c = self.cluster
            cl: dict = {"server": c.server}
            if c.ca_pem:
                cl["certificate-authority-data"] = base64.b64encode(c.ca_pem).decode()
            if c.insecure:
                cl["insecure-skip-tls-verify"] = True
            if c.tls_server_name:
                cl["tls-server-name"] = c.tls_server_name
            if c.proxy_url:
                cl["proxy-url"] = c.proxy_url
            info["spec"]["cluster"] = cl
        return json.dumps(info)

    async def _run_exec(self, ex: ExecConfig) -> tuple[str, bytes | None, bytes | None, float | None]:
        who = f"exec plugin {ex.command!r} (user {self.user.name!r})"
        hint = one_line(ex.install_hint, 200) or "check users[].user.exec in the kubeconfig"
        if ex.interactive_mode == "Always":
            raise AuthError(f"{who} needs an interactive terminal (interactiveMode: Always), which ecotui "
                            "cannot give it", "log in once in a shell, or set interactiveMode: IfAvailable")
        env = dict(os.environ)
        env.update(ex.env)
        env["KUBERNETES_EXEC_INFO"] = self._exec_info(ex)
        self.exec_runs += 1
        try:
            proc = await asyncio.create_subprocess_exec(
                ex.command, *ex.args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
        except FileNotFoundError:
            raise KubeconfigError(f"{who} not found", hint) from None
        except OSError as e:
            raise KubeconfigError(f"{who} cannot be run: {e.strerror or e}", hint) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self._exec_timeout)
        except BaseException as e:  # timeout or cancellation: never leave the plugin running
            if proc.returncode is None:
                try:  # the plugin leads its own process group (new session): end it and its children
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await asyncio.shield(proc.wait())
            if isinstance(e, asyncio.TimeoutError):
                raise AuthError(f"{who} did not finish within {self._exec_timeout:g} s", hint) from None
            raise
        stderr = _tail(err)
        if proc.returncode != 0:
            raise AuthError(f"{who} failed (exit {proc.returncode})" + (f": {stderr}" if stderr else ""), hint)
        try:
            cred = _decode_exec(out)
        except msgspec.DecodeError as e:
            raise AuthError(f"{who} printed invalid ExecCredential JSON: {one_line(str(e), 120)}"
                            + (f"; stderr: {stderr}" if stderr else ""), hint) from None
        if cred.kind != "ExecCredential":
            raise AuthError(f"{who} printed kind {one_line(cred.kind, 40)!r}, expected ExecCredential", hint)
        if cred.apiVersion != ex.api_version:
            raise AuthError(f"{who} returned apiVersion {one_line(cred.apiVersion, 60)!r}, but the kubeconfig "
                            f"asks for {ex.api_version!r}", hint)
        st = cred.status
        if st is None or not (st.token or st.clientCertificateData):
            raise AuthError(f"{who} returned no token and no client certificate", hint)
        if bool(st.clientCertificateData) != bool(st.clientKeyData):
            raise AuthError(f"{who} returned a client certificate without a key (or a key without one)", hint)
        refresh_at = None
        if st.expirationTimestamp:
            try:
                exp = datetime.fromisoformat(st.expirationTimestamp.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise AuthError(f"{who} returned a bad expirationTimestamp "
                                f"{one_line(st.expirationTimestamp, 40)!r}", hint) from None
            now = self._clock()
            skew = min(self._max_skew, max(0.0, exp - now) / 4)
            refresh_at = max(exp - skew, now + 1.0)
        cert = st.clientCertificateData.encode() if st.clientCertificateData else None
        key = st.clientKeyData.encode() if st.clientKeyData else None
        return st.token, cert, key, refresh_at


class LoopAuthProxy:
    """An `Authenticator` as seen from another thread's event loop (`KubeClient.sibling()`): `user`,
    `refreshable` and `method` read through; `credentials()` and `reload(c)` run on the owner's loop
    (`asyncio.run_coroutine_threadsafe` + `asyncio.wrap_future`), so its asyncio.Lock stays on one loop and
    exec plugins / EKS tokens stay single-flight for every client of the user."""

    def __init__(self, auth: Authenticator, loop: asyncio.AbstractEventLoop) -> None:
        self.auth = auth
        self.loop = loop

    @property
    def user(self) -> UserInfo:
        return self.auth.user

    @property
    def refreshable(self) -> bool:
        return self.auth.refreshable

    @property
    def method(self) -> str:
        return self.auth.method

    async def _on_owner(self, coro: Any) -> Credentials:
        """`coro` on the owner's loop, shielded there: a cancelled caller (its log stream closed) does not kill
        an exec plugin run that the owner's own requests may be waiting for too."""
        async def shielded() -> Credentials:
            return await asyncio.shield(coro)
        run = shielded()
        try:
            fut = asyncio.run_coroutine_threadsafe(run, self.loop)
        except RuntimeError:  # the owner's loop is closed: ecotui is shutting down
            run.close()
            coro.close()
            raise AuthError(f"user {self.auth.user.name!r}: credentials unavailable (ecotui is closing)") from None
        return await asyncio.wrap_future(fut)

    async def credentials(self) -> Credentials:
        return await self._on_owner(self.auth.credentials())

    async def reload(self, rejected: Credentials) -> Credentials:
        return await self._on_owner(self.auth.reload(rejected))
