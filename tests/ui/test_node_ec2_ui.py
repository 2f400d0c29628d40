"""Node → EC2 on a fake of the data side's instance lookup: the node describe's EC2 section (type, AZ, lifecycle,
launch time, state, status checks, scheduled events, problems), the optional LIFE/EC2 node columns with
failing checks critical and scheduled events warning — and for a non-AWS context (or columns off) no lookup at
all, not even an import of ecotui.aws."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import msgspec

from ecotui.aws.ec2 import InstanceInfo, ScheduledEvent
from ecotui.config import AwsConfig, Config
from ecotui.keymap import load_keymap
from ecotui.kube.models import NodeSpec
from ecotui.kube.writegate import WriteGate
from ecotui.ui import aws_flow
from ecotui.ui.app import EcotuiApp
from ecotui.ui.ec2_columns import Ec2Columns, level
from ecotui.ui.screens.text_view import DescribeScreen
from ecotui.workspace import AwsSettings, Profile, Workspace
from ui_fakes import FakeKubeAPI, FakeSession, T0, node, pilot_until, screen_text

KEYMAP, _ = load_keymap()
INFOS = {
    "i-0aaa": InstanceInfo("i-0aaa", "m5.large", "us-east-1a", "on-demand", "2026-11-30T08:00:00+00:00", "running",
                           "ok", "ok"),
    "i-0bbb": InstanceInfo("i-0bbb", "m5.xlarge", "us-east-1b", "spot", "2026-11-30T09:00:00+00:00", "running", "ok",
                           "ok", events=(ScheduledEvent("instance-retirement", "The instance is scheduled for retirement",
                                                        "2026-12-03T00:00:00+00:00"),)),
    "i-0ccc": InstanceInfo("i-0ccc", "t3.medium", "us-west-2a", "on-demand", "2026-11-29T00:00:00+00:00", "running",
                           "impaired", "ok"),
}


def ec2_node(name: str, provider: str):
    n = node(name)
    return msgspec.structs.replace(n, spec=NodeSpec(providerID=provider))


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


class Lookups:
    def __init__(self, monkeypatch, fail: Exception | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail = fail
        monkeypatch.setattr(aws_flow, "_aws_instances", self)

    async def __call__(self, profile, region, ids):
        self.calls.append((profile, region, sorted(ids)))
        if self.fail is not None:
            raise self.fail
        return {i: INFOS[i] for i in ids if i in INFOS}


def make_app(*, aws=AwsSettings("testbed", "us-east-1", "eks-learning-lab-dev-cluster"), columns=True):
    session = FakeSession(context="eks-ctx")
    session.set_nodes([ec2_node("ip-10-0-1-1", "aws:///us-east-1a/i-0aaa"),
                       ec2_node("ip-10-0-1-2", "aws:///us-east-1b/i-0bbb"),
                       ec2_node("ip-10-0-9-9", "aws:///us-west-2a/i-0ccc"),
                       node("kwok-node")])
    session.set_pods([])
    gate = WriteGate(session.context)
    ws = Workspace(Profile(session.context, aws=aws), session, gate, FakeKubeAPI(gate), "tester")
    app = EcotuiApp(ws, keymap=KEYMAP, clock=lambda: T0, poll_interval=0.05)
    app.aws_factory = SimpleNamespace(config=Config(aws=AwsConfig(node_columns_ec2=columns)))  # type: ignore[attr-defined]
    return app, session


async def until(pilot, pred, n=80):
    return await pilot_until(pilot, pred, n=n)


def test_pure_parts():
    assert aws_flow.instance_of("aws:///us-east-1a/i-0abc") == ("us-east-1a", "i-0abc")
    assert aws_flow.instance_of("kwok://x") is None and aws_flow.instance_of("") is None
    assert aws_flow.region_of_zone("us-east-1a") == "us-east-1" and aws_flow.region_of_zone("") is None
    assert level(INFOS["i-0aaa"]) == "" and level(INFOS["i-0bbb"]) == "warning" and level(INFOS["i-0ccc"]) == "critical"
    cols = Ec2Columns()
    cols.infos = {"a": INFOS["i-0ccc"]}
    from ecotui.kube.render import Cell
    row = cols.row(SimpleNamespace(metadata=SimpleNamespace(name="a")), (Cell("a", "a"), Cell("Ready", "Ready")))
    assert row[0].style == "critical" and [c.text for c in row[2:]] == ["od", "system status check impaired"]
    assert [c.text for c in cols.row(SimpleNamespace(metadata=SimpleNamespace(name="zz")), ())] == ["—", "—"]


async def test_describe_shows_the_ec2_section(monkeypatch):
    lookups = Lookups(monkeypatch)
    app, _ = make_app(columns=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.describe("nodes", "ip-10-0-1-2")
        screen = await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and "EC2:" in app.screen.text
                             and app.screen)
        text = screen.text
        for want in ("ProviderID:", "EC2:", "Instance:          i-0bbb", "Instance Type:     m5.xlarge",
                     "Availability Zone: us-east-1b", "Lifecycle:         spot", "Launch Time:       2026-11-30T09:00",
                     "State:             running", "Status Checks:     system ok, instance ok", "Scheduled Events:",
                     "instance-retirement 2026-12-03T00:00:00+00:00: The instance is scheduled for retirement",
                     "! scheduled instance-retirement"):
            assert want in text, want
        assert lookups.calls == [("testbed", "us-east-1", ["i-0bbb"])]
        assert all(len(line) <= 80 for line in screen_text(app).splitlines())
        await pilot.press(key("back"))
        app.describe("nodes", "ip-10-0-9-9")          # another region: the zone's region is used
        screen = await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and "EC2:" in app.screen.text
                             and app.screen)
        assert "system impaired, instance ok" in screen.text and "! system status check impaired" in screen.text
        assert lookups.calls[-1] == ("testbed", "us-west-2", ["i-0ccc"])


async def test_describe_failures_and_nodes_not_on_ec2(monkeypatch):
    from ecotui.errors import EcotuiError
    lookups = Lookups(monkeypatch, fail=EcotuiError("AWS credentials for profile testbed expired at 02:00 — renew"))
    app, _ = make_app(columns=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.describe("nodes", "ip-10-0-1-1")
        screen = await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and "EC2:" in app.screen.text
                             and app.screen)
        assert "  (AWS credentials for profile testbed expired at 02:00 — renew)" in screen.text
        await pilot.press(key("back"))
        app.describe("nodes", "kwok-node")
        screen = await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and "Non-terminated" in app.screen.text
                             and app.screen)
        await pilot.pause(0.2)
        assert "EC2" not in screen.text
    assert len(lookups.calls) == 1


async def test_non_aws_context_never_looks_up(monkeypatch):
    lookups = Lookups(monkeypatch)
    app, _ = make_app(aws=AwsSettings(), columns=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(2.5)                        # a column poll or two
        assert app.cockpit is not None and not app.cockpit.ec2.on
        app.describe("nodes", "ip-10-0-1-1")
        screen = await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and "EC2:" in app.screen.text
                             and app.screen)
        assert "not fetched: this context is not an AWS context" in screen.text
    assert lookups.calls == []


def test_a_kwok_cluster_never_imports_ecotui_aws():
    """The subprocess check: a cockpit tick and a describe on a non-AWS context leave ecotui.aws unimported."""
    import subprocess
    code = """
import asyncio, sys
sys.path[:0] = ["tests/ui", "."]
from ui_fakes import FakeSession, node, workspace
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.text_view import DescribeScreen
async def main():
    s = FakeSession(); s.set_nodes([node("n1")]); s.set_pods([])
    app = EcotuiApp(workspace(s), poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(2.3)
        app.describe("nodes", "n1")
        for _ in range(40):
            await pilot.pause(0.05)
            if isinstance(app.screen, DescribeScreen) and "Non-terminated" in app.screen.text:
                break
        await pilot.pause(0.2)
    print(sorted(m for m in sys.modules if m.startswith(("ecotui.aws", "boto3", "botocore"))))
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


async def test_columns_stand_out(monkeypatch):
    lookups = Lookups(monkeypatch)
    app, session = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        cockpit = app.cockpit
        await until(pilot, lambda: cockpit.ec2.on, n=80)
        table = cockpit.tables["nodes"]
        assert [h for _, h in table.columns_spec][-2:] == ["LIFE", "EC2"]
        assert sorted(lookups.calls) == [("testbed", "us-east-1", ["i-0aaa", "i-0bbb"]),
                                         ("testbed", "us-west-2", ["i-0ccc"])]
        await until(pilot, lambda: cockpit.models["nodes"]._cells.get("ip-10-0-9-9") is not None
                    and len(cockpit.models["nodes"]._cells["ip-10-0-9-9"]) >= 3)
        rows = cockpit.models["nodes"]._cells
        assert rows["ip-10-0-9-9"][0].style == "critical" and rows["ip-10-0-9-9"][-1].style == "critical"
        assert rows["ip-10-0-1-2"][0].style == "warning" and rows["ip-10-0-1-2"][-1].text.startswith(
            "scheduled instance-retirement")
        assert rows["ip-10-0-1-2"][-2].text == "spot" and rows["ip-10-0-1-1"][-1].text == "ok"
        assert rows["kwok-node"][-1].text == "—"
        await pilot.press(key("focus_nodes"))
        shown = screen_text(app)
        assert "ip-10-0-9-9" in shown
        # a new node → looked up again (only when the node set changes, or after 60 s)
        n = len(lookups.calls)
        session.set_nodes([*session.snapshot("nodes").items.values(), ec2_node("ip-new", "aws:///us-east-1a/i-0ddd")])
        await until(pilot, lambda: len(lookups.calls) > n)
        await pilot.pause(2.5)
        assert len(lookups.calls) == n + 2              # both regions once, no more


async def test_a_failed_lookup_is_one_line_in_the_nodes_title(monkeypatch):
    from ecotui.errors import EcotuiError
    Lookups(monkeypatch, fail=EcotuiError("AWS SSO session expired for profile testbed — run: aws sso login "
                                          "--profile testbed"))
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        cockpit = app.cockpit
        await until(pilot, lambda: cockpit.ec2.fetches)
        await until(pilot, lambda: "EC2: AWS SSO session expired" in cockpit.panes["nodes"].title_text)
        assert not cockpit.ec2.on
