"""[clusters] (ctrl+k, `:clusters`) on fakes of the data side's discovery: the table (NAME REGION PROFILE VERSION
STATUS PLATFORM ENDPOINT, status coloured), problems as lines, enter → add_eks_context + the context switch, one
line when boto3 is missing, hostile strings inert, 80×24."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from ecotui.aws.discovery import DiscoveredCluster
from ecotui.config import AwsConfig, Config
from ecotui.keymap import load_keymap
from ecotui.ui import aws_flow
from ecotui.ui.app import EcotuiApp
from ecotui.ui.commands import parse_command
from ecotui.ui.screens.clusters import ClustersScreen, cluster_cells
from test_cockpit import make_session
from ui_fakes import FakeSession, T0, pilot_until, screen_text, workspace

KEYMAP, _ = load_keymap()
CLUSTERS = [DiscoveredCluster("eks-learning-lab-dev-cluster", "us-east-1", "testbed", "1.31", "ACTIVE",
                              "https://127.0.0.1:26443", "eks.12", "arn:aws:eks:us-east-1:123:cluster/x", "Q0E="),
            DiscoveredCluster("ecotrack-prod", "us-west-2", "testbed", "1.30", "UPDATING", "https://prod.example",
                              "eks.9")]


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


class FakeFactory:
    def __init__(self, regions=("us-east-1", "us-west-2")) -> None:
        self.config = Config(aws=AwsConfig(profiles=("testbed",), regions=tuple(regions)))
        self.added: list[DiscoveredCluster] = []
        self.built: list[str] = []

    def add_eks_context(self, c: DiscoveredCluster) -> str:
        self.added.append(c)
        return f"eks:{c.profile}/{c.region}/{c.name}"

    def build(self, name: str):
        self.built.append(name)
        return workspace(make_session(context=name))


def make_app(monkeypatch, clusters=CLUSTERS, problems=(), available=True, delay=0.0):
    calls: list[tuple[list, list]] = []

    async def discover(profiles, regions):
        calls.append((list(profiles), list(regions)))
        await asyncio.sleep(delay)
        return list(clusters), list(problems)

    monkeypatch.setattr(aws_flow, "_aws_discover", discover)
    monkeypatch.setattr(aws_flow, "_aws_available", lambda: available)
    factory = FakeFactory()
    app = EcotuiApp(workspace(make_session()), keymap=KEYMAP, clock=lambda: T0, poll_interval=0.05,
                    contexts=["test-ctx"], workspace_factory=factory.build)
    return app, factory, calls


async def wait_for(pilot, pred, n=60):
    return await pilot_until(pilot, pred, n=n)


def test_command_and_cells():
    assert parse_command(":clusters").verb == "clusters"
    assert parse_command("eks").verb == "clusters"
    cells = cluster_cells(CLUSTERS[0])
    assert [c.text for c in cells] == ["eks-learning-lab-dev-cluster", "us-east-1", "testbed", "1.31", "ACTIVE",
                                       "eks.12", "https://127.0.0.1:26443"]
    assert cells[4].style == "ok" and cluster_cells(CLUSTERS[1])[4].style == "warning"
    assert cluster_cells(DiscoveredCluster("x", "r", None, status="FAILED"))[4].style == "critical"
    assert cluster_cells(DiscoveredCluster("x", "r", None))[2].text == "default"


async def test_discover_list_and_connect_without_kubeconfig(monkeypatch):
    app, factory, calls = make_app(monkeypatch, problems=["testbed/us-west-2: not allowed: eks:ListClusters"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("clusters"))
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen.runs
                                and app.screen)
        assert calls == [(["testbed"], ["us-east-1", "us-west-2"])]
        table = screen.query_one("#clusters-table")
        assert table.row_count == 2
        text = screen_text(app)
        assert "EKS clusters" in text and "2 found" in text and "profiles testbed" in text
        assert "eks-learning-lab-dev-cluster" in text and "ACTIVE" in text and "us-west-2" in text
        assert "not allowed: eks:ListClusters" in text
        assert len(text.splitlines()) == 24 and all(len(line) <= 80 for line in text.splitlines())
        # cursor on the first row (sorted by context name: testbed/us-east-1 first) → enter connects
        assert table.cursor_key == "eks:testbed/us-east-1/eks-learning-lab-dev-cluster"
        await pilot.press(key("open"))
        await wait_for(pilot, lambda: app.workspace.profile.context == "eks:testbed/us-east-1/eks-learning-lab-dev-cluster")
        assert factory.added == [CLUSTERS[0]]
        assert factory.built == ["eks:testbed/us-east-1/eks-learning-lab-dev-cluster"]
        assert "eks:testbed/us-east-1/eks-learning-lab-dev-cluster" in app.contexts
        assert not isinstance(app.screen, ClustersScreen)


async def test_command_opens_it_and_refresh_discovers_again(monkeypatch):
    app, _, calls = make_app(monkeypatch, delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"clusters", "enter")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen)
        await wait_for(pilot, lambda: "discovering…" in screen_text(app))
        await wait_for(pilot, lambda: screen.runs == 1)
        await pilot.press(key("refresh"))
        await wait_for(pilot, lambda: screen.runs == 2)
        assert len(calls) == 2
        await pilot.press(key("back"))
        await wait_for(pilot, lambda: not isinstance(app.screen, ClustersScreen))


async def test_no_boto3_and_failures_are_one_line(monkeypatch):
    app, _, calls = make_app(monkeypatch, available=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("clusters"))
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen.runs
                                and app.screen)
        assert calls == [] and "pip install boto3" in screen.problems_text
        assert "0 found" in screen_text(app)

    async def boom(profiles, regions):
        raise RuntimeError("kaboom\nsecond line")
    app, _, _ = make_app(monkeypatch)
    monkeypatch.setattr(aws_flow, "_aws_discover", boom)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("clusters"))
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen.runs
                                and app.screen)
        assert len(screen.problems) == 1 and "RuntimeError: kaboom second line" in screen.problems[0]


async def test_hostile_strings_are_inert(monkeypatch):
    evil = DiscoveredCluster("evil\x1b[31m[b]x", "us-east-1", "p\x07", status="ACTIVE\x1b]0;t\x07",
                             endpoint="https://e/\x1b[2J")
    app, _, _ = make_app(monkeypatch, clusters=[evil], problems=["bad \x1b[5m line [red]x[/red]"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("clusters"))
        await wait_for(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen.runs)
        text = screen_text(app)
        assert "\x1b" not in text and "\x07" not in text
        assert "[red]x[/red]" in text     # markup shown literally, never interpreted


async def test_connect_failure_is_one_line(monkeypatch):
    from ecotui.errors import EcotuiError
    app, factory, _ = make_app(monkeypatch)

    def refuse(c):
        raise EcotuiError("AWS SSO session expired for profile testbed — run: aws sso login --profile testbed")
    factory.add_eks_context = refuse  # type: ignore[method-assign]
    app.aws_factory = factory         # type: ignore[attr-defined]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("clusters"))
        await wait_for(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen.runs)
        await pilot.press(key("open"))
        await wait_for(pilot, lambda: any("aws sso login --profile testbed" in n for n in app.notices))
        assert app.workspace.profile.context == "test-ctx"


def test_scope_defaults(monkeypatch):
    app = SimpleNamespace(workspace=workspace(FakeSession()), workspace_factory=None)
    assert aws_flow.aws_scope(app) == ([], [])
    app.aws_factory = FakeFactory(regions=())
    assert aws_flow.aws_scope(app) == (["testbed"], [])
