"""boto3 sessions and clients, made lazily and cached per (profile, region); `available()` without importing.

A boto3 `Session` is not thread-safe, its clients are: sessions and clients are created under one lock and the
clients are then used from worker threads (`asyncio.to_thread`). Credentials are boto3's own chain for the
profile (AWS_PROFILE when profile is None; static keys, SSO, assume-role, credential_process, …), so an
`endpoint_url` in the profile (botocore ≥ 1.31) is honoured by every client — that is how the tests and the
testbed point everything at moto on 127.0.0.1.
"""
from __future__ import annotations

import importlib.util
import threading
from datetime import datetime
from typing import Any

from .errors import AwsError, expired, explain, no_credentials

_lock = threading.RLock()
_sessions: dict[str | None, Any] = {}     # one per profile: its credentials are resolved once for every region
_cred_locks: dict[str | None, threading.Lock] = {}
_clients: dict[tuple[str | None, str | None, str], Any] = {}


def available() -> bool:
    """botocore can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("botocore") is not None and importlib.util.find_spec("boto3") is not None
    except (ImportError, ValueError):
        return False


def aws_session(profile: str | None, region: str | None = None) -> Any:
    """The boto3 Session of `profile` (None: AWS_PROFILE / the default chain), cached — one per profile, so SSO,
    assume-role or a credential_process run once for all regions (clients name their region). Raises AwsError
    (unknown profile …)."""
    key = profile
    with _lock:
        s = _sessions.get(key)
        if s is None:
            try:
                import boto3
                s = boto3.Session(profile_name=profile)
            except Exception as exc:  # ProfileNotFound and friends
                raise explain(exc, profile) from None
            _detach_credential_process(s)
            _sessions[key] = s
        return s


def client(service: str, profile: str | None, region: str | None) -> Any:
    """A botocore client of `service` for (profile, region), cached (thread-safe to use once made)."""
    key = (profile, region, service)
    with _lock:
        c = _clients.get(key)
        if c is None:
            s = aws_session(profile, region)
            if not (region or s.region_name):
                raise AwsError(f"no AWS region for profile {profile or 'default'}",
                               "set region in the profile, AWS_REGION, or the context's eks.region", "config")
            try:
                from botocore.config import Config
                c = s.client(service, region_name=region or s.region_name,
                             config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                           connect_timeout=5, read_timeout=20))
            except Exception as exc:
                raise explain(exc, profile, region=region) from None
            _clients[key] = c
        return c


def _detached_popen(*args: Any, **kwargs: Any) -> Any:
    import subprocess
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("start_new_session", True)
    return subprocess.Popen(*args, **kwargs)


def _detach_credential_process(s: Any) -> None:
    """A profile's credential_process runs like our exec plugins: stdin from /dev/null and in a new session, so it
    can neither read the TUI's keys nor prompt on its terminal (botocore would let it inherit both)."""
    try:
        provider = s._session.get_component("credential_provider").get_provider("custom-process")
        provider._popen = _detached_popen
    except Exception:  # noqa: BLE001 - another botocore layout: leave botocore's default
        pass


def region_of(profile: str | None, region: str | None) -> str | None:
    """The region a client for (profile, region) uses: `region`, else the profile's (or AWS_REGION)."""
    return region or aws_session(profile, None).region_name


def frozen_credentials(profile: str | None, region: str | None = None) -> Any:
    """Resolve (and refresh if needed) the profile's credentials now — blocking: call from a thread. Returns
    botocore's ReadOnlyCredentials (access_key, secret_key, token). Raises AwsError with the one-line fix (SSO
    logged out, none at all, expired credential_process output …)."""
    s = aws_session(profile, region)
    with _lock:
        lock = _cred_locks.setdefault(profile, threading.Lock())
    try:
        with lock:   # a boto3 Session is not thread-safe: its first resolution runs once
            creds = s.get_credentials()
    except Exception as exc:
        raise explain(exc, profile) from None
    if creds is None:
        raise no_credentials(profile)
    try:
        return creds.get_frozen_credentials()
    except RuntimeError as exc:
        if "still expired" in str(exc):
            raise expired(profile, _expiry(creds)) from None
        raise explain(exc, profile) from None
    except Exception as exc:
        raise explain(exc, profile) from None


def credentials_expiry(profile: str | None, region: str | None = None) -> datetime | None:
    """When the profile's current credentials expire (None: static / unknown)."""
    creds = aws_session(profile, region).get_credentials()
    return _expiry(creds) if creds is not None else None


def _expiry(creds: Any) -> datetime | None:
    exp = getattr(creds, "_expiry_time", None)
    return exp if isinstance(exp, datetime) else None


def reset() -> None:
    """Forget every session and client (tests; after the AWS config changed)."""
    with _lock:
        _sessions.clear()
        _clients.clear()
        _cred_locks.clear()
