"""The namespace snapshot: kubectl-get-all-like YAML, secret values never in it (plain or base64, nor in the
last-applied annotation), keys kept, managedFields gone, a 403 on one kind a comment line; written atomically."""
from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecotui.errors import ConnectError, EcotuiError, ForbiddenError
from ecotui.incident.model import Incident
from ecotui.incident.snapshot import KINDS, snapshot_namespaces, write_snapshot

SECRET = "hunter2-s3cr3t-value"
B64 = base64.b64encode(SECRET.encode()).decode()
LAST_APPLIED = ('{"apiVersion":"v1","data":{"password":"' + B64 + '"},"kind":"Secret",'
                '"stringData":{"token":"' + SECRET + '"}}')


def meta(name: str, **extra) -> dict:
    return {"name": name, "namespace": "ecotrack", "uid": f"u-{name}",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:password": {}}}}], **extra}


class FakeAPI:
    def __init__(self) -> None:
        self.forbidden: set[str] = set()
        self.down = False
        self.objects: dict[str, list[dict]] = {
            "pods": [{"metadata": meta("payment-service-abc"), "spec": {"containers": [{"name": "app"}]},
                      "status": {"phase": "Running"}}],
            "deployments": [{"metadata": meta("payment-service"), "spec": {"replicas": 3}}],
            "configmaps": [{"metadata": meta("payment-config"), "data": {"LOG_LEVEL": "debug"}}],
            "secrets": [{"metadata": meta("payment-db", annotations={
                "kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED, "team": "payments"}),
                "type": "Opaque", "data": {"password": B64, "user": base64.b64encode(b"pay").decode()},
                "stringData": {"token": SECRET}}],
        }

    async def get(self, path: str, type_: Any = Any, *, params=None) -> Any:
        if self.down:
            raise ConnectError("connection to https://127.0.0.1:6443 refused")
        plural = path.rsplit("/", 1)[1]
        if plural in self.forbidden:
            raise ForbiddenError(f'https://127.0.0.1:6443: forbidden: {plural} is forbidden: User "viewer" '
                                 f'cannot list resource "{plural}"')
        assert "/namespaces/ecotrack/" in path
        return {"kind": "List", "metadata": {"resourceVersion": "9"}, "items": self.objects.get(plural, [])}


async def test_secret_values_never_appear_keys_are_kept_and_managed_fields_are_gone():
    text = await snapshot_namespaces(FakeAPI(), ["ecotrack"])
    assert SECRET not in text and B64 not in text
    assert "managedFields:" not in text and "fieldsV1" not in text
    doc = yaml.safe_load(text)
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    by_kind = {(o["kind"], o["metadata"]["name"]): o for o in doc["items"]}
    secret = by_kind[("Secret", "payment-db")]
    assert secret["apiVersion"] == "v1"
    assert secret["data"] == {"password": "<redacted>", "user": "<redacted>"}
    assert secret["stringData"] == {"token": "<redacted>"}
    assert secret["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": "<redacted>",
                                                 "team": "payments"}
    assert by_kind[("ConfigMap", "payment-config")]["data"] == {"LOG_LEVEL": "debug"}
    assert by_kind[("Deployment", "payment-service")]["apiVersion"] == "apps/v1"
    assert ("Pod", "payment-service-abc") in by_kind
    assert text.startswith("# ecotui snapshot of namespace ecotrack at ")


async def test_a_403_on_one_kind_is_a_comment_line_not_a_failure():
    api = FakeAPI()
    api.forbidden = {"secrets"}
    text = await snapshot_namespaces(api, ["ecotrack"])
    comments = [line for line in text.splitlines() if line.startswith("# not captured:")]
    assert len(comments) == 1
    assert comments[0].startswith("# not captured: secrets in ecotrack: https://127.0.0.1:6443: forbidden:")
    doc = yaml.safe_load(text)
    assert "Secret" not in {o["kind"] for o in doc["items"]}
    assert {"Pod", "Deployment", "ConfigMap"} <= {o["kind"] for o in doc["items"]}


async def test_an_unreachable_server_is_one_line():
    api = FakeAPI()
    api.down = True
    with pytest.raises(EcotuiError) as err:
        await snapshot_namespaces(api, ["ecotrack"])
    assert err.value.message == "snapshot: connection to https://127.0.0.1:6443 refused"
    with pytest.raises(EcotuiError):
        await snapshot_namespaces(FakeAPI(), [])


def test_every_kind_of_kubectl_get_all_plus_configmaps_and_secrets():
    assert {k for k, _, _ in KINDS} == {"Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                                        "Job", "CronJob", "HorizontalPodAutoscaler", "ConfigMap", "Secret"}


class DirStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def dir_for(self, inc: Incident) -> Path:
        d = self.root / inc.id
        d.mkdir(parents=True, exist_ok=True)
        return d


def test_write_snapshot_is_atomic_next_to_the_incident(tmp_path):
    inc = Incident(id="INC-1", title="t", services=("payment-service",), namespaces=("ecotrack",), severity="P1",
                   impact="", context="prod", user="me", started=1_796_000_000.0)
    path = write_snapshot(DirStore(tmp_path), inc, "kind: List\n", 1_796_000_100.0)
    assert path.parent == tmp_path / "INC-1"
    assert path.name == "snapshot-ecotrack-" + __import__("time").strftime(
        "%Y%m%dT%H%M%SZ", __import__("time").gmtime(1_796_000_100.0)) + ".yaml"
    assert path.read_text() == "kind: List\n"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == [path.name]     # no tmp file left
    (tmp_path / "INC-1").chmod(0o500)
    try:
        if os.geteuid() != 0:
            with pytest.raises(EcotuiError) as err:
                write_snapshot(DirStore(tmp_path), inc, "x", 1_796_000_200.0)
            assert err.value.message.startswith("snapshot: cannot write ")
    finally:
        (tmp_path / "INC-1").chmod(0o700)
