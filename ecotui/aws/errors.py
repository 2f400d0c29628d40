"""AWS failures as one clear line with the fix (`AwsError`); `explain(exc, profile)` maps botocore's exceptions.

The lines a user sees:
- SSO logged out / token expired: "AWS SSO session expired for profile X — run: aws sso login --profile X"
- no credentials at all: "no AWS credentials (profile X): run aws configure / aws sso login, or set AWS_PROFILE"
- expired credentials (credential_process, session tokens): "AWS credentials for profile X expired at T — …"
- AccessDenied: "not allowed: eks:ListClusters in us-east-1 (arn:…)"
- endpoint unreachable: "AWS endpoint unreachable: https://… (…)"
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..errors import EcotuiError
from ..textsafe import one_line


class AwsError(EcotuiError):
    """An AWS call failed; `message` is one line, `hint` the fix. `kind`: sso | nocreds | expired | denied |
    unreachable | notfound | config | api."""

    def __init__(self, message: str, hint: str = "", kind: str = "api") -> None:
        super().__init__(message, hint)
        self.kind = kind


def _who(profile: str | None) -> str:
    return profile or "default"


def sso_expired(profile: str | None) -> AwsError:
    p = _who(profile)
    return AwsError(f"AWS SSO session expired for profile {p} — run: aws sso login --profile {p}",
                    f"aws sso login --profile {p}", "sso")


def no_credentials(profile: str | None) -> AwsError:
    return AwsError(f"no AWS credentials (profile {_who(profile)}): run aws configure / aws sso login, "
                    "or set AWS_PROFILE", "aws configure, aws sso login, or AWS_PROFILE", "nocreds")


def expired(profile: str | None, when: datetime | None) -> AwsError:
    p = _who(profile)
    at = f" at {when.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}" if when is not None else ""
    return AwsError(f"AWS credentials for profile {p} expired{at} — renew them (aws sso login --profile {p}, "
                    "or fix the profile's credential_process)", f"aws sso login --profile {p}", "expired")


_EXPIRED_CODES = ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired")
_DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
                 "AuthorizationError")
_BADCREDS_CODES = ("UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
                   "SignatureDoesNotMatch", "AuthFailure")


def explain(exc: BaseException, profile: str | None, action: str = "", region: str | None = None) -> AwsError:
    """One AwsError for any exception out of boto3/botocore (or our own). `action` like "eks:ListClusters"."""
    if isinstance(exc, AwsError):
        return exc
    name = type(exc).__name__
    text = one_line(str(exc), 240)
    p = _who(profile)
    where = f" in {region}" if region else ""
    if name in ("SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError", "SSOError"):
        return sso_expired(profile)
    if name == "NoCredentialsError":
        return no_credentials(profile)
    if name == "ProfileNotFound":
        return AwsError(f"AWS profile {p} not found in the AWS config", "check AWS_CONFIG_FILE / ~/.aws/config "
                        "or the profile name in the ecotui config", "config")
    if name == "NoRegionError":
        return AwsError(f"no AWS region for profile {p}", "set region in the profile, AWS_REGION, or the "
                        "context's eks.region", "config")
    if name == "RuntimeError" and "still expired" in text:
        return expired(profile, None)
    if name == "CredentialRetrievalError":
        return AwsError(f"AWS credentials for profile {p} could not be loaded: {text}",
                        "run the profile's credential_process by hand to see why", "nocreds")
    if name in ("PartialCredentialsError", "InvalidConfigError", "UnknownCredentialError"):
        return AwsError(f"AWS profile {p}: {text}", "fix the profile in the AWS config", "config")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
                "ProxyConnectionError", "SSLError", "HTTPClientError"):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
        return AwsError(f"AWS endpoint unreachable{where}: {one_line(url, 120) or text}",
                        "check the network / proxy (or the profile's endpoint_url)", "unreachable")
    if name == "ClientError" or hasattr(exc, "response"):
        err: dict[str, Any] = (getattr(exc, "response", None) or {}).get("Error", {}) or {}
        code = str(err.get("Code", ""))
        msg = one_line(str(err.get("Message", "")), 240)
        if code in _DENIED_CODES:
            arn = _arn_in(msg)
            what = action or _operation(exc)
            return AwsError(f"not allowed: {what}{where}" + (f" ({arn})" if arn else ""),
                            "ask for the IAM permission, or use another profile/role", "denied")
        if code in _EXPIRED_CODES:
            return expired(profile, None)
        if code in _BADCREDS_CODES:
            return AwsError(f"AWS rejected the credentials of profile {p}{where} ({code})",
                            "check the profile's keys, or whether the region is enabled for the account", "nocreds")
        if code in ("ResourceNotFoundException", "NotFoundException") or code.endswith(".NotFound"):
            return AwsError(f"not found{where}: {msg or code}", "", "notfound")
        return AwsError(f"AWS {_operation(exc) or 'request'}{where} failed: {code}" + (f": {msg}" if msg else ""),
                        "", "api")
    return AwsError(f"AWS{where}: {name}: {text}" if text else f"AWS{where}: {name}", "", "api")


def _operation(exc: BaseException) -> str:
    op = getattr(exc, "operation_name", "") or ""
    return str(op)


def _arn_in(msg: str) -> str:
    i = msg.find("arn:")
    if i < 0:
        return ""
    end = i
    while end < len(msg) and not msg[end].isspace():
        end += 1
    return msg[i:end].rstrip(".,;")
