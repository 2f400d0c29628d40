"""k9s-style views of registry kinds (`:deploy`, `:secret` …), the refresh key and the pods title count."""
from __future__ import annotations

import base64

import msgspec

from ecotui.kinds.registry import by_id
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.ui.screens.text_view import DescribeScreen
from test_cockpit import make_app, make_session
from ui_fakes import screen_text


def deployment(ns: str, name: str, replicas: int, ready: int, updated: int | None = None) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": "2023-11-14T20:00:00Z",
                         "resourceVersion": "1", "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"spec": {"containers": [{"name": "app", "image": f"{name}:1.4.2"}]}}},
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
                       "updatedReplicas": replicas if updated is None else updated}}


def items(kind: str, objs: list[dict]) -> dict:
    spec = by_id(kind)
    decoded = msgspec.json.decode(msgspec.json.encode({"items": objs}), type=spec.list_type).items
    out = {}
    for o in decoded:
        o = spec.convert(o) if spec.convert else o
        md = o.metadata
        out[f"{md.namespace}/{md.name}" if spec.namespaced else md.name] = o
    return out


async def test_deploy_view_lists_filters_sorts_describes_and_goes_back():
    s = make_session()
    s.set_items("deployments", items("deployments", [
        deployment("ecotrack", "payment-service", 3, 1), deployment("ecotrack", "order-service", 2, 2),
        deployment("observability", "grafana", 1, 1)]))
    s.objects[("deployments", "ecotrack", "payment-service")] = deployment("ecotrack", "payment-service", 3, 1)
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"deploy", "enter")
        await pilot.pause(0.2)
        view = app.screen
        assert isinstance(view, KindScreen) and view.kind == "deployments"
        t = view.table
        assert t.keys == ["ecotrack/order-service", "ecotrack/payment-service", "observability/grafana"]
        ready = {k: str(t.get_cell(k, "ready")) for k in t.keys}
        assert ready == {"ecotrack/order-service": "2/2", "ecotrack/payment-service": "1/3",
                         "observability/grafana": "1/1"}
        assert view.panes["deployments"].title_text.startswith("Deployments · 3")
        text = screen_text(app)
        assert "NAMESPACE" in text and "UP-TO-DATE" in text and "AVAILABLE" in text and "1/3" in text
        # filter by text, then by label selector
        await pilot.press("slash", *"pay", "enter")
        await pilot.pause(0.1)
        assert t.keys == ["ecotrack/payment-service"]
        assert "Deployments · 1/3" in view.panes["deployments"].title_text
        await pilot.press("escape")                       # clears the filter, stays in the view
        await pilot.pause(0.1)
        assert len(t.keys) == 3 and app.screen is view
        await pilot.press("slash", *"app=grafana", "enter")
        await pilot.pause(0.1)
        assert t.keys == ["observability/grafana"]
        await pilot.press("escape")
        await pilot.pause(0.1)
        # sort: next column each press
        await pilot.press("s")
        await pilot.pause(0.1)
        assert "sort:" in view.panes["deployments"].title_text
        # live: a change in the snapshot lands as a keyed diff
        s.set_items("deployments", items("deployments", [
            deployment("ecotrack", "payment-service", 3, 3), deployment("ecotrack", "order-service", 2, 2)]))
        await pilot.pause(0.2)
        assert sorted(t.keys) == ["ecotrack/order-service", "ecotrack/payment-service"]
        assert str(t.get_cell("ecotrack/payment-service", "ready")) == "3/3"
        # describe: a fresh GET of the object
        t.move_to_key("ecotrack/payment-service")
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert isinstance(app.screen, DescribeScreen)
        desc = app.screen.text
        assert "payment-service" in desc and "payment-service:1.4.2" in desc and "Namespace:" in desc
        assert ("deployments", "ecotrack", "payment-service") in s.get_calls
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is view
        await pilot.press("escape")                       # back to the cockpit
        await pilot.pause(0.1)
        assert app.screen is app.cockpit


async def test_every_registry_name_opens_its_view_and_cockpit_kinds_focus_their_pane():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for name, kind in [("deploy", "deployments"), ("sts", "statefulsets"), ("ds", "daemonsets"),
                           ("rs", "replicasets"), ("svc", "services"), ("ing", "ingresses"),
                           ("hpa", "horizontalpodautoscalers"), ("pdb", "poddisruptionbudgets"),
                           ("ns", "namespaces"), ("namespaces", "namespaces"), ("pvc", "persistentvolumeclaims"),
                           ("cm", "configmaps"), ("secret", "secrets"), ("secrets", "secrets"),
                           ("statefulsets", "statefulsets")]:
            await pilot.press("colon", *name, "enter")
            await pilot.pause(0.1)
            assert isinstance(app.screen, KindScreen) and app.screen.kind == kind, name
            assert len(app.screen_stack) == 2             # a view replaces the previous view
        await pilot.press("colon", *"po", "enter")
        await pilot.pause(0.1)
        assert app.screen is app.cockpit and app.cockpit.active == "pods"


async def test_secret_view_shows_keys_never_values():
    s = make_session()
    secret = {"metadata": {"name": "db", "namespace": "ecotrack", "creationTimestamp": "2023-11-14T20:00:00Z"},
              "type": "Opaque", "data": {"password": base64.b64encode(b"hunter2-SECRET").decode()}}
    s.set_items("secrets", items("secrets", [secret]))
    spec = by_id("secrets")
    s.objects[("secrets", "ecotrack", "db")] = msgspec.json.decode(msgspec.json.encode(secret), type=spec.detail_type)
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"secret", "enter")
        await pilot.pause(0.2)
        assert "Opaque" in screen_text(app)
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        desc = app.screen.text
        assert "password" in desc and "bytes" in desc and "hunter2" not in desc
        assert base64.b64encode(b"hunter2-SECRET").decode() not in desc


async def test_refresh_relists_and_pods_title_counts_rows():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        n = len(s.snapshot("pods").items)
        assert app.cockpit.panes["pods"].title_text.startswith(f"Pods · {n}")
        await pilot.press("1")
        await pilot.press("enter")                        # node-a's pods only
        await pilot.pause(0.1)
        shown = len(app.cockpit.tables["pods"].keys)
        assert shown < n and app.cockpit.panes["pods"].title_text.startswith(f"Pods · {shown}/{n}")
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        assert s.relists == 1
