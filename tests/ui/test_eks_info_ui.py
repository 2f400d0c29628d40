"""[eks_info] (O) on a fake of the data side's cluster_info: version and upgrade, node groups (health issues
critical), add-ons (newer version), updates with errors; the cluster from config / the session's EKS auth /
a discovered context name; a non-EKS context is one line and no AWS call; an AWS failure is one line; 80×24."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from ecotui.aws.eks_info import AddonInfo, EksInfo, NodeGroupInfo, UpdateInfo
from ecotui.errors import EcotuiError
from ecotui.keymap import load_keymap
from ecotui.kube.writegate import WriteGate
from ecotui.ui import aws_flow
from ecotui.ui.app import EcotuiApp
from ecotui.ui.aws_flow import EksTarget, eks_target, parse_context_name
from ecotui.ui.screens.eks_info import EksInfoScreen
from ecotui.workspace import AwsSettings, Profile, Workspace
from test_cockpit import make_session
from ui_fakes import FakeKubeAPI, T0, screen_text

KEYMAP, _ = load_keymap()
INFO = EksInfo(
    "eks-learning-lab-dev-cluster", "us-east-1", "testbed", version="1.30", status="ACTIVE", platform_version="eks.12",
    upgrade="1.31", upgrade_note="from describe_cluster_versions",
    nodegroups=(NodeGroupInfo("ng-general", "1.30", "1.30.4-20241115", 3, 2, 5, "ACTIVE"),
                NodeGroupInfo("ng-spot", "1.29", "1.29.9-20240901", 2, 1, 4, "DEGRADED",
                              health=("AsgInstanceLaunchFailures: Could not launch Spot Instances (asg-1)",))),
    addons=(AddonInfo("vpc-cni", "v1.18.1-eksbuild.1", "ACTIVE", newest="v1.19.0-eksbuild.1"),
            AddonInfo("coredns", "v1.11.1-eksbuild.9", "DEGRADED", newest="v1.11.1-eksbuild.9")),
    updates=(UpdateInfo("u-1", "VersionUpdate", "Failed", "2026-11-30T10:00:00Z",
                        errors=("NodeCreationFailure: instances failed to join",), params=("Version=1.30",),
                        nodegroup="ng-spot"),),
    notes=("add-on versions: not available (moto)",))


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


def make_app(monkeypatch, *, context="test-ctx", aws=AwsSettings(), info=INFO, error=None, auth=None):
    calls: list[EksTarget] = []

    async def cluster_info(target):
        calls.append(target)
        await asyncio.sleep(0)
        if error is not None:
            raise error
        return info

    monkeypatch.setattr(aws_flow, "_aws_cluster_info", cluster_info)
    session = make_session(context=context)
    if auth is not None:
        session.auth = SimpleNamespace(eks=auth)  # type: ignore[attr-defined]
    gate = WriteGate(context, False)
    ws = Workspace(Profile(context, aws=aws), session, gate, FakeKubeAPI(gate), "tester")
    return EcotuiApp(ws, keymap=KEYMAP, clock=lambda: T0, poll_interval=0.05), calls


async def open_info(app, pilot):
    await pilot.press(key("eks_info"))
    for _ in range(60):
        await pilot.pause(0.05)
        s = app.screen
        if isinstance(s, EksInfoScreen) and (s.loads or s.target is None) and s.text:
            return s
    raise AssertionError("eks_info did not load")


def test_target_sources():
    assert parse_context_name("eks:testbed/us-east-1/lab") == EksTarget("lab", "us-east-1", "testbed",
                                                                       source="discovered")
    assert parse_context_name("eks:default/eu-west-1/x").profile is None
    assert parse_context_name("eks:broken") is None and parse_context_name("kind-x") is None

    def app_with(context, aws=AwsSettings(), auth=None):
        session = make_session(context=context)
        if auth is not None:
            session.auth = SimpleNamespace(eks=auth)
        ws = Workspace(Profile(context, aws=aws), session, WriteGate(context), FakeKubeAPI(WriteGate(context)))
        return SimpleNamespace(workspace=ws, workspace_factory=None)

    assert eks_target(app_with("plain")) is None
    t = eks_target(app_with("prod", AwsSettings("oncall", "us-east-1", "ecotrack-prod")))
    assert (t.cluster, t.region, t.profile, t.source) == ("ecotrack-prod", "us-east-1", "oncall", "config")
    auth = SimpleNamespace(cluster="lab", region="us-west-2", profile="sso", role_arn="arn:aws:iam::1:role/x")
    t = eks_target(app_with("arn:aws:eks:us-west-2:1:cluster/lab", auth=auth))
    assert (t.cluster, t.region, t.profile, t.role_arn) == ("lab", "us-west-2", "sso", "arn:aws:iam::1:role/x")


async def test_shows_version_upgrade_nodegroups_addons_updates(monkeypatch):
    app, calls = make_app(monkeypatch, aws=AwsSettings("testbed", "us-east-1", "eks-learning-lab-dev-cluster"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_info(app, pilot)
        assert calls == [EksTarget("eks-learning-lab-dev-cluster", "us-east-1", "testbed", None, "config")]
        text = screen.text
        for want in ("Cluster eks-learning-lab-dev-cluster", "Version:   1.30", "Status: ACTIVE", "Platform: eks.12",
                     "1.31 available", "from describe_cluster_versions", "Node groups (2)", "ng-general",
                     "AMI 1.30.4-20241115", "3 desired (2-5)", "DEGRADED",
                     "! AsgInstanceLaunchFailures: Could not launch Spot Instances", "Add-ons (2)",
                     "ACTIVE  → v1.19.0-eksbuild.1", "Updates (1)", "VersionUpdate", "Failed", "ng-spot",
                     "Version=1.30", "! NodeCreationFailure: instances failed to join",
                     "add-on versions: not available (moto)", "AWS profile testbed · region us-east-1"):
            assert want in text, want
        assert "coredns" in text and "→ v1.11.1" not in text   # newest == version: no arrow
        shown = screen_text(app)
        assert "EKS cluster" in shown and len(shown.splitlines()) == 24
        assert all(len(line) <= 80 for line in shown.splitlines())
        # the health issue and the failed update are drawn in the theme's critical style
        body = screen.styled
        crit = app.cell_styles["critical"]
        styled = {body.plain[s.start:s.end] for s in body.spans if s.style == crit}
        assert any("AsgInstanceLaunchFailures" in x for x in styled)
        assert any("NodeCreationFailure" in x for x in styled)
        # refresh loads again; scrolling works
        await pilot.press(key("refresh"))
        for _ in range(40):
            await pilot.pause(0.05)
            if screen.loads == 2:
                break
        assert screen.loads == 2 and len(calls) == 2
        await pilot.press(key("scroll_down"))
        await pilot.press(key("back"))
        await pilot.pause(0.1)
        assert not isinstance(app.screen, EksInfoScreen)


async def test_not_an_eks_context_makes_no_call(monkeypatch):
    app, calls = make_app(monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_info(app, pilot)
        assert calls == [] and screen.text.startswith("not an EKS context")


async def test_session_auth_and_discovered_contexts(monkeypatch):
    auth = SimpleNamespace(cluster="lab", region="us-west-2", profile="sso", role_arn=None)
    app, calls = make_app(monkeypatch, context="arn:aws:eks:us-west-2:1:cluster/lab", auth=auth)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_info(app, pilot)
        assert calls[0].cluster == "lab" and calls[0].profile == "sso" and calls[0].source == "eks token"
    app, calls = make_app(monkeypatch, context="eks:testbed/us-east-1/eks-learning-lab-dev-cluster")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_info(app, pilot)
        assert calls == [EksTarget("eks-learning-lab-dev-cluster", "us-east-1", "testbed", source="discovered")]


async def test_aws_failure_is_one_line_and_hostile_text_inert(monkeypatch):
    err = EcotuiError("AWS SSO session expired for profile testbed — run: aws sso login --profile testbed")
    app, _ = make_app(monkeypatch, aws=AwsSettings("testbed", "us-east-1", "c"), error=err)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_info(app, pilot)
        assert screen.text == err.message
    evil = EksInfo("c\x1b[31m", "us-east-1", None, version="1.30\x07", status="ACTIVE",
                   nodegroups=(NodeGroupInfo("ng[b]x[/b]\x1b]0;t\x07", health=("bad\x1b[2J",)),))
    app, _ = make_app(monkeypatch, aws=AwsSettings(None, "us-east-1", "c"), info=evil)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_info(app, pilot)
        assert "\x1b" not in screen.text and "\x07" not in screen.text and "ng[b]x[/b]" in screen.text
        assert "\x1b" not in screen_text(app)
