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
