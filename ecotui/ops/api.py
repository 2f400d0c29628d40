"""The slice of `ecotui.kube.client.KubeClient` the actions use (unit tests pass small fakes)."""
from __future__ import annotations

from typing import Any, Protocol

Params = dict[str, str] | None


class KubeAPI(Protocol):
    async def request(self, method: str, path: str, *, params: Params = None, json: Any = None,
                      content: bytes | None = None, content_type: str | None = None,
                      timeout: float | None = None) -> Any:
        """Send any request; the decoded JSON body (dicts/lists) or None. Raises EcotuiError subclasses:
        ForbiddenError (403), HttpStatusError (.status, .reason, .retry_after), ConnectError, ReadOnlyError."""

    async def get(self, path: str, type_: Any = Any, *, params: Params = None) -> Any:
        """GET and decode (default: plain dicts/lists)."""

    async def list(self, path: str, list_type: Any, *, params: Params = None,
                   limit: int | None = 500) -> tuple[list[Any], str]:
        """Paginated LIST: (items, resourceVersion)."""


STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class NoAPI:
    """For a session without a client (some test doubles): every request fails with one clear line."""

    def __init__(self, context: str) -> None:
        self.context = context

    def _fail(self) -> Any:
        from ecotui.errors import EcotuiError
        raise EcotuiError(f"context {self.context!r}: this session cannot send requests")

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        return self._fail()

    async def get(self, path: str, type_: Any = Any, **kw: Any) -> Any:
        return self._fail()

    async def list(self, path: str, list_type: Any, **kw: Any) -> tuple[list[Any], str]:
        return self._fail()  # type: ignore[no-any-return,unused-ignore]
