"""selection_query: Selection → LogQL, label rendering and quoting."""
from __future__ import annotations

import pytest

from ecotui.logs.loki_query import quote, render_labels, selection_query
from ecotui.logs.model import Selection


@pytest.mark.parametrize("sel, want", [
    (Selection(pods=("ns/a", "ns/b")), '{namespace="ns",pod=~"a|b"}'),
    (Selection(pods=("ns/a",)), '{namespace="ns",pod="a"}'),
    (Selection(pods=("ns/a.b", "ns/c")), '{namespace="ns",pod=~"a\\\\.b|c"}'),
    (Selection(pods=("n1/a", "n2/b")), '{namespace=~"n1|n2",pod=~"a|b"}'),
    (Selection(workload=("deployments", "ecotrack/user-service")), '{namespace="ecotrack",app="user-service"}'),
    (Selection(workload=("statefulsets", "db/pg")), '{namespace="db",app="pg"}'),
    (Selection(workload=("daemonsets", "kube-system/aws-node")), '{namespace="kube-system",app="aws-node"}'),
    (Selection(workload=("jobs", "ns/migrate")), '{namespace="ns",pod=~"migrate-.*"}'),
    (Selection(node="ip-10-0-1-1.ec2.internal"), '{node="ip-10-0-1-1.ec2.internal"}'),
    (Selection(namespace="ecotrack"), '{namespace="ecotrack"}'),
    (Selection(selector="app=x,tier=y"), '{app="x",tier="y"}'),
    (Selection(selector="app==x, tier!=y", namespace="ns"), '{namespace="ns",app="x",tier!="y"}'),
    (Selection(selector="app=~x.*"), '{app=~"x.*"}'),
    (Selection(selector="app.kubernetes.io/name=web"), '{app_kubernetes_io_name="web"}'),
    (Selection(logql='{app="x"} |= "err"', container="c"), '{app="x"} |= "err"'),
    (Selection(namespace="ns", container="app"), '{namespace="ns",container="app"}'),
    (Selection(pods=("ns/a",), container="c"), '{namespace="ns",pod="a",container="c"}'),
    (Selection(namespace='we"ird\\ns'), '{namespace="we\\"ird\\\\ns"}'),
])
def test_selection_query(sel, want):
    assert selection_query(sel) == want


def test_workload_fallback_without_app_label():
    sel = Selection(workload=("deployments", "ecotrack/user-service"))
    assert selection_query(sel, workload_label=None) == '{namespace="ecotrack",pod=~"user-service-.*"}'


@pytest.mark.parametrize("sel, words", [
    (Selection(selector="env in (a,b)"), "set-based"),
    (Selection(selector="!canary"), "cannot be translated"),
    (Selection(selector="canary"), "cannot be translated"),
    (Selection(selector="app!=x"), "at least one"),
    (Selection(), "nothing selected"),
    (Selection(pods=("nons",)), "namespace/name"),
])
def test_untranslatable_selections_raise(sel, words):
    with pytest.raises(ValueError, match=words):
        selection_query(sel)


def test_render_labels_sorted_and_quoted():
    assert render_labels({"b": "2", "a": 'x"\n'}) == '{a="x\\"\\n",b="2"}'
    assert quote("\x1b") == '"\\x1b"'
