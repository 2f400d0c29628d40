"""The registry: every kind's `:` names resolve, columns follow the namespace rule, rows fit the columns."""
from __future__ import annotations

import msgspec
import pytest
from kinds_helpers import NOW

from ecotui.kinds import registry
from ecotui.kinds.spec import Cap

NEW = {"deployments": ("deployments", "deployment", "deploy"), "statefulsets": ("statefulsets", "statefulset", "sts"),
       "daemonsets": ("daemonsets", "daemonset", "ds"), "replicasets": ("replicasets", "replicaset", "rs"),
       "services": ("services", "service", "svc"), "ingresses": ("ingresses", "ingress", "ing"),
       "horizontalpodautoscalers": ("horizontalpodautoscalers", "horizontalpodautoscaler", "hpa"),
       "poddisruptionbudgets": ("poddisruptionbudgets", "poddisruptionbudget", "pdb"),
       "persistentvolumeclaims": ("persistentvolumeclaims", "persistentvolumeclaim", "pvc"),
       "configmaps": ("configmaps", "configmap", "cm"), "secrets": ("secrets", "secret")}


@pytest.mark.parametrize("spec", registry.all_specs(), ids=lambda s: s.id)
def test_spec_is_consistent(spec):
    for name in (spec.id, *spec.names):
        assert registry.lookup(name) is spec
        assert registry.lookup(name.upper()) is spec
    assert (spec.columns[0][0] == "namespace") == spec.namespaced
    assert len({cid for cid, _ in spec.columns}) == len(spec.columns)
    assert spec.can(Cap.DESCRIBE)
    # an empty object (every field defaulted) renders a full row
    item = msgspec.json.decode(b'{"metadata":{},"items":[{"metadata":{"name":"x","namespace":"y"}}]}',
                               type=spec.list_type).items[0]
    if spec.convert:
        item = spec.convert(item)
    assert len(spec.cells(item, NOW)) == len(spec.columns)
    if spec.describe is not None and spec.detail_type is not object:
        body = spec.describe(msgspec.convert({"metadata": {"name": "x"}}, spec.detail_type), NOW)
        assert isinstance(body, list) and all(isinstance(x, str) for x in body)


def test_new_kinds_names_and_caps():
    for kid, names in NEW.items():
        spec = registry.by_id(kid)
        assert spec.names == names and spec.namespaced
    caps = {k: registry.by_id(k).capabilities for k in NEW}
    assert caps["deployments"] == caps["statefulsets"] == {Cap.DESCRIBE, Cap.SCALE, Cap.RESTART, Cap.ROLLOUT,
                                                          Cap.DELETE, Cap.LOGS}
    assert caps["daemonsets"] == {Cap.DESCRIBE, Cap.RESTART, Cap.ROLLOUT, Cap.DELETE, Cap.LOGS}
    assert caps["replicasets"] == {Cap.DESCRIBE, Cap.DELETE}  # scaled through their Deployment
    assert caps["services"] == {Cap.DESCRIBE, Cap.PORT_FORWARD, Cap.DELETE}
    assert caps["horizontalpodautoscalers"] == {Cap.DESCRIBE}
    for k in ("ingresses", "poddisruptionbudgets", "persistentvolumeclaims", "configmaps", "secrets"):
        assert caps[k] == {Cap.DESCRIBE, Cap.DELETE}
    assert registry.by_id("horizontalpodautoscalers").path("ecotrack") == \
        "/apis/autoscaling/v2/namespaces/ecotrack/horizontalpodautoscalers"
    assert registry.by_id("persistentvolumeclaims").path(None) == "/api/v1/persistentvolumeclaims"
