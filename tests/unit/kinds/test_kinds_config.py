"""ConfigMaps and Secrets: the cache keeps key names only; a secret's values never reach the cache, the
describe text, or (after the decode) memory the cache references."""
from __future__ import annotations

import base64
import gc
import json
import sys

import msgspec
from kinds_helpers import HOSTILE, NOW, assert_inert, decode, meta, row, wire

from ecotui.kinds import configmaps, secrets
from ecotui.kinds.common import describe_object
from ecotui.kinds.describing import _as_mapping  # how describe_fresh frames a struct detail

PLAIN = "hunter2-SECRET"
B64 = base64.b64encode(PLAIN.encode()).decode()                      # aHVudGVyMi1TRUNSRVQ=
LAST_APPLIED = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"password": B64}})


def secret(**extra) -> dict:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": meta("db-credentials", "ecotrack", annotations={
                "kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED, "owner": "payments"}),
            "type": "Opaque",
            "data": {"password": B64, "username": base64.b64encode(b"app").decode(), "empty": "",
                     "tls.key": base64.b64encode(b"x" * 1675).decode()},
            **extra}


def _leaks(text: str) -> bool:
    return PLAIN in text or B64 in text or "hunter2" in text or B64.rstrip("=") in text


def test_secret_row_like_kubectl():
    assert row(secrets.SPEC, secret()) == {"namespace": "ecotrack", "name": "db-credentials", "type": "Opaque",
                                           "data": "4", "age": "60m"}
    tls = secret(type="kubernetes.io/tls")
    assert row(secrets.SPEC, tls)["type"] == "kubernetes.io/tls"
    assert row(secrets.SPEC, {**secret(), "data": {}})["data"] == "0"


def test_cached_secret_holds_no_values():
    cached = decode(secrets.SPEC, secret())
    assert isinstance(cached, secrets.Secret)
    assert sorted(cached.keys) == ["empty", "password", "tls.key", "username"]
    for dump in (repr(cached), msgspec.json.encode(cached).decode(), str(msgspec.to_builtins(cached))):
        assert not _leaks(dump), dump
    assert not any(isinstance(o, msgspec.Raw) for o in gc.get_referents(cached))


def test_cached_secret_keeps_no_reference_to_the_response():
    body = wire(secret())
    base = sys.getrefcount(body)
    items = msgspec.json.decode(body, type=secrets.SPEC.list_type).items
    assert sys.getrefcount(body) > base                  # the wire items' Raw values point into the body
    cached = [secrets.SPEC.convert(i) for i in items]
    del items
    gc.collect()
    assert sys.getrefcount(body) == base                 # ... the cached ones do not
    assert cached[0].keys


def test_watch_path_decodes_item_type_then_converts():
    """The informer decodes a watch event's object with `item_type`, then applies `convert`."""
    raw = json.dumps(secret()).encode()
    via_watch = secrets.SPEC.convert(msgspec.json.decode(raw, type=secrets.SPEC.item_type))
    assert via_watch == decode(secrets.SPEC, secret())
    raw_cm = json.dumps(CM).encode()
    assert configmaps.SPEC.convert(msgspec.json.decode(raw_cm, type=configmaps.SPEC.item_type)) == \
        decode(configmaps.SPEC, CM)


def test_secret_describe_shows_sizes_never_values():
    detail = msgspec.json.decode(json.dumps(secret()).encode(), type=secrets.SPEC.detail_type)
    body = secrets.SPEC.describe(detail, NOW)
    text = describe_object("Secret", _as_mapping(detail), body, [], NOW)
    assert "Type:             Opaque" in text
    assert "password:  14 bytes" in text and "username:  3 bytes" in text and "empty:  0 bytes" in text
    assert "tls.key:  1675 bytes" in text
    assert "owner: payments" in text                      # annotations are shown ...
    assert "last-applied-configuration" not in text       # ... except the one that holds the values
    assert not _leaks(text), text
    assert not _leaks(repr(body))


def test_secret_decoded_size_matches_base64():
    for n in range(0, 40):
        value = base64.b64encode(bytes(range(n))).decode()
        raw = msgspec.json.decode(json.dumps({"data": {"k": value}}).encode(), type=secrets.SecretWire).data["k"]
        assert secrets.decoded_size(raw) == n


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("kube-root-ca.crt", "ecotrack"),
      "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n"},
      "binaryData": {"blob": base64.b64encode(b"\x00" * 10).decode()}}


def test_configmap_row_and_cache():
    assert row(configmaps.SPEC, CM) == {"namespace": "ecotrack", "name": "kube-root-ca.crt", "data": "2",
                                        "age": "60m"}
    cached = decode(configmaps.SPEC, CM)
    assert isinstance(cached, configmaps.ConfigMap)
    assert "BEGIN CERTIFICATE" not in repr(cached) and "BEGIN" not in msgspec.json.encode(cached).decode()
    assert row(configmaps.SPEC, {**CM, "data": {}, "binaryData": {}})["data"] == "0"


def test_configmap_describe_keys_and_sizes():
    text = "\n".join(configmaps.SPEC.describe(CM, NOW))
    assert f"ca.crt:  {len(CM['data']['ca.crt'])} bytes" in text
    assert "blob:  10 bytes" in text
    assert "BEGIN CERTIFICATE" not in text


def test_hostile_keys_and_names():
    s = secret(type=HOSTILE)
    s["metadata"]["name"] = HOSTILE
    s["data"] = {HOSTILE: B64}
    for t in row(secrets.SPEC, s).values():
        assert_inert(t)
    detail = msgspec.json.decode(json.dumps(s).encode(), type=secrets.SPEC.detail_type)
    assert_inert(describe_object("Secret", _as_mapping(detail), secrets.describe(detail, NOW), [], NOW))
    c = {**CM, "data": {HOSTILE: "x"}}
    c["metadata"] = {**CM["metadata"], "name": HOSTILE}
    for t in row(configmaps.SPEC, c).values():
        assert_inert(t)
    assert_inert(describe_object("ConfigMap", c, configmaps.describe(c, NOW), [], NOW))
