"""A KubeAPI wrapper that turns a late 403 into the same clear line the access check gives:
"not allowed for USER: verb resource" (the server's own text stays in the hint)."""
from __future__ import annotations

from typing import Any

from ecotui.errors import ForbiddenError
from ecotui.ops.api import KubeAPI
from ecotui.ops.catalog import verb_for_request


class ClearForbidden:
    def __init__(self, api: KubeAPI, user: str) -> None:
        self._api, self.user = api, user

    def _clear(self, exc: ForbiddenError, method: str, path: str) -> ForbiddenError:
        return ForbiddenError(f"not allowed for {self.user}: {verb_for_request(method, path)}", exc.message)

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return await self._api.request(method, path, **kw)
        except ForbiddenError as exc:
            raise self._clear(exc, method, path) from None

    async def get(self, path: str, type_: Any = Any, **kw: Any) -> Any:
        try:
            return await self._api.get(path, type_, **kw)
        except ForbiddenError as exc:
            raise self._clear(exc, "GET", path) from None

    async def list(self, path: str, list_type: Any, **kw: Any) -> tuple[list[Any], str]:
        try:
            return await self._api.list(path, list_type, **kw)
        except ForbiddenError as exc:
            raise self._clear(exc, "LIST", path) from None
