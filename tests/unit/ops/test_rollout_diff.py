"""The undo preview's pod-template diff (images, env, resources, probes, then the rest; `- old` / `+ new`) and
kubectl's equalIgnoreHash."""
from __future__ import annotations

import copy

from ecotui.ops.template_diff import MAX_VALUE, equal_ignore_hash, images, template_diff, without_hash

BASE = {
    "metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}, "annotations": {"a": "1"}},
    "spec": {
        "initContainers": [{"name": "init", "image": "shop/init:1"}],
        "containers": [
            {"name": "app", "image": "shop/web:1",
             "env": [{"name": "LEVEL", "value": "info"},
                     {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}],
             "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}},
             "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
             "ports": [{"containerPort": 8080}]},
            {"name": "sidecar", "image": "shop/proxy:1"}],
        "terminationGracePeriodSeconds": 30,
    },
}


def changed(**edits):
    t = copy.deepcopy(BASE)
    for fn in edits.values():
        fn(t)
    return t


def app(t):
    return t["spec"]["containers"][0]


def test_no_change_no_lines_and_hash_ignored():
    other = copy.deepcopy(BASE)
    other["metadata"]["labels"]["pod-template-hash"] = "zzz"
    assert template_diff(BASE, other) == ()
    assert equal_ignore_hash(BASE, other)
    assert "pod-template-hash" not in without_hash(BASE)["metadata"]["labels"]
    assert BASE["metadata"]["labels"]["pod-template-hash"] == "abc"   # the input is not changed


def test_every_group_one_line_per_side_in_order():
    new = changed(
        image=lambda t: app(t).update(image="shop/web:2"),
        env=lambda t: app(t).update(env=[{"name": "LEVEL", "value": "debug"}, {"name": "NEW", "value": "x"}]),
        res=lambda t: app(t)["resources"]["limits"].update(memory="512Mi", cpu="1"),
        probe=lambda t: app(t)["readinessProbe"]["httpGet"].update(path="/healthz"),
        live=lambda t: app(t).update(livenessProbe={"tcpSocket": {"port": 8080}}),
        grace=lambda t: t["spec"].update(terminationGracePeriodSeconds=60),
        label=lambda t: t["metadata"]["labels"].update(version="2"),
        ports=lambda t: app(t).update(ports=[{"containerPort": 9090}]),
    )
    assert template_diff(BASE, new) == (
        "- container app image: shop/web:1",
        "+ container app image: shop/web:2",
        "- container app env LEVEL: info",
        "+ container app env LEVEL: debug",
        '- container app env DB: {"valueFrom":{"secretKeyRef":{"key":"url","name":"db"}}}',
        "+ container app env NEW: x",
        "- container app resources.limits.memory: 256Mi",
        "+ container app resources.limits.memory: 512Mi",
        "+ container app resources.limits.cpu: 1",
        "- container app readinessProbe.httpGet.path: /ready",
        "+ container app readinessProbe.httpGet.path: /healthz",
        "+ container app livenessProbe.tcpSocket.port: 8080",
        '- container app ports: [{"containerPort":8080}]',
        '+ container app ports: [{"containerPort":9090}]',
        "+ label version: 2",
        "- spec.terminationGracePeriodSeconds: 30",
        "+ spec.terminationGracePeriodSeconds: 60",
    )


def test_containers_added_removed_and_init_containers():
    new = changed(side=lambda t: t["spec"]["containers"].pop(),
                  init=lambda t: t["spec"]["initContainers"][0].update(image="shop/init:2"))
    assert template_diff(BASE, new) == ("- init container init image: shop/init:1",
                                        "+ init container init image: shop/init:2",
                                        "- container sidecar image: shop/proxy:1")


def test_long_values_are_cut():
    new = changed(env=lambda t: app(t)["env"].__setitem__(0, {"name": "LEVEL", "value": "x" * 1000}))
    plus = next(line for line in template_diff(BASE, new) if line.startswith("+"))
    assert plus.endswith("…") and len(plus) == len("+ container app env LEVEL: ") + MAX_VALUE


def test_images():
    assert images(BASE) == ("shop/init:1", "shop/web:1", "shop/proxy:1")
    assert images(None) == ()
