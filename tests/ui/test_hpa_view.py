"""The HPA pane [hpa]: rows like `kubectl get hpa` + desired + status in the severity colours, the selected
HPA explained below (metrics never a bare <unknown>, conditions, events, replica sparkline), keyed-diff updates
with the cursor kept, the target workload [hpa_target] and its pods [open]; 80x24."""
from __future__ import annotations

from ecotui.keymap import load_keymap
from ecotui.ui.screens.hpa_view import FocusKindScreen, HpaScreen, TargetPodsScreen
from test_cockpit import make_app, make_session
from test_kind_views import deployment, items
from ui_fakes import event, pod, screen_text

KEYMAP, _ = load_keymap()
CREATED = "2023-11-14T20:00:00Z"
CPU70 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
ABLE = {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches"}
ACTIVE = {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "message": "computed"}
WITHIN = {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange", "message": "within range"}
TOO_MANY = {"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
            "message": "the desired replica count is more than the maximum replica count"}
INACTIVE = {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
            "message": "the HPA was unable to compute the replica count: no metrics returned from resource metrics API"}


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def hpa(name: str, cur: int, mx: int, conds: list, util: int | None = 50, ns: str = "ecotrack") -> dict:
    current = [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": util,
                                                                            "averageValue": f"{util}m"}}}] \
        if util is not None else None
    return {"metadata": {"name": f"{name}-hpa", "namespace": ns, "creationTimestamp": CREATED, "resourceVersion": "1"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": 2, "maxReplicas": mx, "metrics": [CPU70]},
            "status": {"currentReplicas": cur, "desiredReplicas": cur, "currentMetrics": current,
                       "conditions": conds}}


def session():
    s = make_session()
    s.set_items("horizontalpodautoscalers", items("horizontalpodautoscalers", [
        hpa("order-service", 3, 10, [ABLE, ACTIVE, WITHIN]),
        hpa("user-service", 8, 8, [ABLE, ACTIVE, TOO_MANY], util=300),
        hpa("payment-service", 3, 10, [ABLE, INACTIVE], util=None),
    ]))
    s.set_items("deployments", items("deployments", [deployment("ecotrack", "user-service", 8, 8),
                                                     deployment("ecotrack", "order-service", 3, 3)]))
    s.objects[("deployments", "ecotrack", "user-service")] = deployment("ecotrack", "user-service", 8, 8)
    s.set_pods([pod("user-service-a", labels={"app": "user-service"}),
                pod("user-service-b", labels={"app": "user-service"}),
                pod("user-service-x", ns="other", labels={"app": "user-service"}),
                pod("order-service-a", labels={"app": "order-service"})])
    s.set_events([event("r1", reason="SuccessfulRescale", kind="HorizontalPodAutoscaler", obj="user-service-hpa",
                        message="New size: 8; reason: cpu resource utilization (percentage of request) above target",
                        last="2023-11-14T22:00:00Z"),
                  event("r0", reason="SuccessfulRescale", kind="HorizontalPodAutoscaler", obj="user-service-hpa",
                        message="New size: 5; reason: cpu resource utilization (percentage of request) above target",
                        last="2023-11-14T21:55:00Z")])
    return s


async def test_rows_colours_and_the_selected_hpa_explained_at_80x24():
    s = session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("hpa"))
        await pilot.pause(0.2)
        view = app.screen
        assert isinstance(view, HpaScreen)
        t = view.table
        assert t.keys == ["ecotrack/order-service-hpa", "ecotrack/payment-service-hpa", "ecotrack/user-service-hpa"]
        cell = lambda k, c: t.get_cell(k, c)  # noqa: E731
        assert str(cell("ecotrack/user-service-hpa", "targets")) == "cpu: 300%/70%"
        assert (str(cell("ecotrack/user-service-hpa", "replicas")), str(cell("ecotrack/user-service-hpa", "maxpods"))) \
            == ("8", "8")
        styles = app.cell_styles
        assert cell("ecotrack/user-service-hpa", "status").style == styles["warning"]
        assert "ScalingLimited: TooManyReplicas" in str(cell("ecotrack/user-service-hpa", "status"))
        assert cell("ecotrack/payment-service-hpa", "status").style == styles["critical"]
        assert str(cell("ecotrack/order-service-hpa", "status")) == "ok"
        assert "1 at max" in view.panes["horizontalpodautoscalers"].title_text
        # the detail follows the cursor
        assert "resource cpu on pods (as a percentage of request): 50% (50m) / 70%" in view.detail_text
        t.move_to_key("ecotrack/payment-service-hpa")
        await pilot.pause(0.1)
        assert "<unknown> (ScalingActive False, FailedGetResourceMetric: the HPA was unable" in view.detail_text
        t.move_to_key("ecotrack/user-service-hpa")
        await pilot.pause(0.1)
        d = view.detail_text
        assert "status: at max (8), ScalingLimited: TooManyReplicas" in d
        assert "ScalingLimited  True   TooManyReplicas: the desired replica count is more than" in d
        assert "SuccessfulRescale: New size: 8" in d
        assert "Replicas (30m, 0–8):" in d and "█" in d   # seeded from the rescale events (5, then 8)
        text = screen_text(app)
        assert "STATUS" in text and "at max" in text and "user-service-hpa" in text and "status: at max" in text
        assert all(len(line) <= 80 for line in text.splitlines())


async def test_keyed_updates_keep_the_cursor_and_the_jumps():
    s = session()
    app = make_app(s)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("hpa"))
        await pilot.pause(0.2)
        view = app.screen
        t = view.table
        t.move_to_key("ecotrack/user-service-hpa")
        await pilot.pause(0.1)
        # the controller scales order-service up: that row changes, the cursor stays on user-service
        s.set_items("horizontalpodautoscalers", {**s.snapshot("horizontalpodautoscalers").items, **items(
            "horizontalpodautoscalers", [hpa("order-service", 10, 10, [ABLE, ACTIVE, TOO_MANY], util=200)])})
        await pilot.pause(0.3)
        assert t.cursor_key == "ecotrack/user-service-hpa"
        assert str(t.get_cell("ecotrack/order-service-hpa", "replicas")) == "10"
        assert t.get_cell("ecotrack/order-service-hpa", "status").style == app.cell_styles["warning"]
        assert "2 at max" in view.panes["horizontalpodautoscalers"].title_text
        # [hpa_target]: the deployments view with the cursor on the target
        await pilot.press(key("hpa_target"))
        await pilot.pause(0.3)
        assert isinstance(app.screen, FocusKindScreen) and app.screen.kind == "deployments"
        assert app.screen.table.cursor_key == "ecotrack/user-service"
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is view
        # [open]: the target's pods (its selector, in the HPA's namespace only)
        await pilot.press(key("open"))
        await pilot.pause(0.3)
        pods = app.screen
        assert isinstance(pods, TargetPodsScreen)
        assert pods.table.keys == ["ecotrack/user-service-a", "ecotrack/user-service-b"]
        assert "pods of Deployment/user-service in ecotrack" in pods.panes["pods"].title_text
        assert ("deployments", "ecotrack", "user-service") in s.get_calls
        await pilot.press("escape")   # clears the selector filter first
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is view
        # a target that cannot be read: one line, no screen
        t.move_to_key("ecotrack/order-service-hpa")
        await pilot.pause(0.1)
        await pilot.press(key("open"))
        await pilot.pause(0.3)
        assert app.screen is view
