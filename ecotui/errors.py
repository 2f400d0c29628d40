"""User-facing errors: each carries one clear line (and an optional hint), never a traceback."""
from __future__ import annotations


class EcotuiError(Exception):
    """An error the user can act on. `message` is one line; `hint` says what to try next."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class KubeconfigError(EcotuiError):
    """Missing or broken kubeconfig, unknown context, unusable credentials."""


class ConnectError(EcotuiError):
    """The API server cannot be reached (refused, DNS, timeout) or TLS failed."""


class AuthError(EcotuiError):
    """401: credentials rejected even after reloading them."""


class ForbiddenError(EcotuiError):
    """403: RBAC denies the request."""


class ReadOnlyError(EcotuiError):
    """A request that would change the cluster was refused (not sent) because the context is read-only."""


class ApiError(EcotuiError):
    """Any other unexpected HTTP status or malformed response."""

    def __init__(self, message: str, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint)
        self.status = status
