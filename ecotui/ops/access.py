"""May this user do that? SelfSubjectAccessReview before offering an action (cached per context), and
SelfSubjectReview for the user's name (falling back to the kubeconfig user).

The write gate lets these POSTs through in read-only mode: they change nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.ops.api import KubeAPI

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
WHOAMI_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
TTL = 60.0  # seconds a decision is kept (RBAC changes during an incident are picked up within a minute)


@dataclass(frozen=True)
class Verb:
    """One request the action will make: `verb group/resource[/subresource]` in `namespace` (None: all)."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str | None = None

    def __str__(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        res = f"{res}.{self.group}" if self.group else res
        return f"{self.verb} {res}" + (f" in {self.namespace}" if self.namespace else "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""      # the authorizer's reason, or why the review itself failed
    unknown: bool = False  # the review could not be made (the action is offered; the server decides)


class AccessChecker:
    """One per workspace (context)."""

    def __init__(self, api: KubeAPI, fallback_user: str = "", *, clock: Callable[[], float] = time.monotonic,
                 ttl: float = TTL) -> None:
        self._api, self._fallback, self._clock, self._ttl = api, fallback_user, clock, ttl
        self._cache: dict[Verb, tuple[float, Decision]] = {}
        self._user: str | None = None
        self.reviews = 0  # how many reviews were sent (tests read it)

    async def user(self) -> str:
        """The user's name as the API server sees it (SelfSubjectReview), else the kubeconfig user."""
        if self._user is None:
            try:
                got = await self._api.request("POST", WHOAMI_PATH, json={
                    "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
                self._user = str(((got or {}).get("status") or {}).get("userInfo", {}).get("username") or "")
            except EcotuiError:
                self._user = ""
            self._user = self._user or self._fallback or "unknown user"
        return self._user

    async def check(self, v: Verb) -> Decision:
        now = self._clock()
        hit = self._cache.get(v)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        attrs: dict[str, Any] = {"verb": v.verb, "group": v.group, "resource": v.resource}
        if v.subresource:
            attrs["subresource"] = v.subresource
        if v.namespace:
            attrs["namespace"] = v.namespace
        self.reviews += 1
        try:
            got = await self._api.request("POST", SSAR_PATH, json={
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}})
        except EcotuiError as exc:
            # cannot tell (an old server, or reviews themselves forbidden): let the server decide later
            return Decision(True, exc.message, unknown=True)
        status = (got or {}).get("status") or {}
        d = Decision(bool(status.get("allowed")) and not status.get("denied"),
                     str(status.get("reason") or status.get("evaluationError") or ""))
        self._cache[v] = (now, d)
        return d

    async def first_denied(self, verbs: list[Verb]) -> str:
        """'' when every verb is allowed, else "not allowed for USER: verb resource" for the first one that is not."""
        for v in verbs:
            d = await self.check(v)
            if not d.allowed:
                return f"not allowed for {await self.user()}: {v}"
        return ""

    def forget(self) -> None:
        self._cache.clear()
