"""A small in-memory KubeAPI for the rollout and scale unit tests (no tests here): objects by path for GET,
items by collection path for LIST (unfiltered: the code under test filters by owner), and every request
recorded as (method, path, params, body, content_type)."""
from __future__ import annotations

import copy
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.kube.client import HttpStatusError

NS = "shop"
APPS = f"/apis/apps/v1/namespaces/{NS}"


class FakeAPI:
    def __init__(self, objects: dict[str, Any] | None = None, lists: dict[str, list[Any]] | None = None,
                 fail: EcotuiError | None = None) -> None:
        self.objects = objects or {}
        self.lists = lists or {}
        self.fail = fail                  # raised by every mutation (request)
        self.get_fail: dict[str, EcotuiError] = {}
        self.calls: list[tuple[str, str, Any, Any, Any]] = []

    @property
    def mutations(self) -> list[tuple[str, str, Any, Any, Any]]:
        return [c for c in self.calls if c[0] not in ("GET", "LIST")]

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                      content: bytes | None = None, content_type: str | None = None,
                      timeout: float | None = None) -> Any:
        self.calls.append((method, path, params, copy.deepcopy(json), content_type))
        if self.fail is not None:
            raise self.fail
        return {}

    async def get(self, path: str, type_: Any = Any, *, params: Any = None) -> Any:
        self.calls.append(("GET", path, params, None, None))
        if path in self.get_fail:
            raise self.get_fail[path]
        if path not in self.objects:
            raise HttpStatusError(f"https://127.0.0.1: GET {path} failed with HTTP 404: not found", status=404,
                                  reason="NotFound")
        return copy.deepcopy(self.objects[path])

    async def list(self, path: str, list_type: Any, *, params: Any = None,
                   limit: int | None = 500) -> tuple[list[Any], str]:
        self.calls.append(("LIST", path, params, None, None))
        return copy.deepcopy(self.lists.get(path, [])), "1"


def template(image: str = "shop/web:1", env: str = "1", labels: dict[str, str] | None = None,
             **spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": image, "env": [{"name": "LEVEL", "value": env}]}],
                     **spec}}


def deployment(name: str = "web", tmpl: dict[str, Any] | None = None, revision: int = 2,
               paused: bool = False, annotations: dict[str, str] | None = None, **status: Any) -> dict[str, Any]:
    anns = {"deployment.kubernetes.io/revision": str(revision), **(annotations or {})}
    spec: dict[str, Any] = {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                            "template": tmpl or template("shop/web:2", "2")}
    if paused:
        spec["paused"] = True
    return {"metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": 3,
                         "annotations": anns},
            "spec": spec, "status": {"observedGeneration": 3, **status}}


def replicaset(owner: dict[str, Any], revision: int, tmpl: dict[str, Any], h: str = "abc",
               annotations: dict[str, str] | None = None, uid: str | None = None) -> dict[str, Any]:
    t = copy.deepcopy(tmpl)
    t["metadata"]["labels"] = {**t["metadata"].get("labels", {}), "pod-template-hash": h}
    return {"metadata": {"name": f"{owner['metadata']['name']}-{h}", "namespace": NS,
                         "creationTimestamp": f"2026-01-0{revision}T00:00:00Z",
                         "annotations": {"deployment.kubernetes.io/revision": str(revision), **(annotations or {})},
                         "ownerReferences": [{"kind": "Deployment", "name": owner["metadata"]["name"],
                                              "uid": uid or owner["metadata"]["uid"], "controller": True}]},
            "spec": {"template": t}}


def workload(kind: str, name: str = "db", tmpl: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}},
                            "template": tmpl or template("shop/db:2", "2", {"app": name}),
                            "updateStrategy": {"type": "RollingUpdate"}}
    if kind == "StatefulSet":
        spec["replicas"] = 1
    return {"kind": kind, "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": 2},
            "spec": spec, "status": {"observedGeneration": 2, **status}}


def revision(owner: dict[str, Any], number: int, tmpl: dict[str, Any], cause: str = "") -> dict[str, Any]:
    data_t = {**copy.deepcopy(tmpl), "$patch": "replace"}
    md: dict[str, Any] = {"name": f"{owner['metadata']['name']}-r{number}", "namespace": NS,
                          "creationTimestamp": f"2026-01-0{number}T00:00:00Z",
                          "ownerReferences": [{"uid": owner["metadata"]["uid"], "controller": True}]}
    if cause:
        md["annotations"] = {"kubernetes.io/change-cause": cause}
    return {"metadata": md, "revision": number, "data": {"spec": {"template": data_t}}}
