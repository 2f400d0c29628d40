"""[snapshot_volume] (b) on PVC / PV rows, with fakes of the data side's plan/create (the real `volume_of`):
read-only refuses before any request and journals "refused" (also with no row); the confirmation shows the
context, the PVC's namespace, the AWS profile and region, the volume and the runbook's description; progress is
said until completed; requested/done/failed/cancelled are journaled; critical contexts type the name; a PV that is
not EBS, an unbound PVC, another kind and an AWS failure are one line each."""
from __future__ import annotations

import asyncio

import msgspec

from ecotui.aws.ebs import SnapshotPlan, SnapshotProgress, SnapshotResult
from ecotui.errors import EcotuiError
from ecotui.keymap import load_keymap
from ecotui.kinds.pvcs import PersistentVolumeClaim
from ecotui.kinds.pvs import PersistentVolume
from ecotui.ops.journal import Journal
from ecotui.ui import aws_flow
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.confirm import ConfirmScreen
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.workspace import AwsSettings, Profile, Workspace
from ecotui.kube.writegate import WriteGate
from test_cockpit import make_session
from ui_fakes import FakeKubeAPI, T0, pilot_until, screen_text

KEYMAP, _ = load_keymap()
PVC = {"metadata": {"name": "data-postgres-0", "namespace": "ecotrack"},
       "spec": {"volumeName": "pvc-1234", "storageClassName": "gp3"},
       "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"]}}
PV = {"metadata": {"name": "pvc-1234", "labels": {"topology.kubernetes.io/zone": "us-east-1a"}},
      "spec": {"capacity": {"storage": "20Gi"}, "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc123"},
               "claimRef": {"namespace": "ecotrack", "name": "data-postgres-0"}},
      "status": {"phase": "Bound"}}
DESCRIPTION = "EcoTrack backup Tue Dec 01 02:30:00 UTC 2026"


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


class FakeEbs:
    def __init__(self, monkeypatch, *, fail: Exception | None = None, end: str = "completed",
                 plan_error: Exception | None = None) -> None:
        self.plans: list[tuple] = []
        self.created: list[SnapshotPlan] = []
        self.fail, self.end, self.plan_error = fail, end, plan_error
        monkeypatch.setattr(aws_flow, "_aws_plan_snapshot", self.plan)
        monkeypatch.setattr(aws_flow, "_aws_create_snapshot", self.create)
        monkeypatch.setattr(aws_flow, "PROGRESS_EVERY", 0.05)
        import ecotui.ui.snapshot_flow as sf
        monkeypatch.setattr(sf, "PROGRESS_EVERY", 0.05)

    async def plan(self, target, volume_id, region, *, pv, pvc, context):
        self.plans.append((target, volume_id, region, pv, pvc, context))
        if self.plan_error is not None:
            raise self.plan_error
        return SnapshotPlan(volume_id, region or "us-east-1", target.profile, DESCRIPTION, 20, "us-east-1a",
                            "in-use", pv=pv, pvc=pvc, context=context)

    async def create(self, plan, gate, progress):
        gate.check("POST", "aws:ec2:CreateSnapshot")      # as the data side does: read-only raises first
        self.created.append(plan)
        if self.fail is not None:
            raise self.fail
        for state, pct in (("pending", 0), ("pending", 40), (self.end, 100 if self.end == "completed" else 40)):
            progress(SnapshotProgress("snap-0feed", state, pct, 0.1))
            await asyncio.sleep(0.12)
        return SnapshotResult("snap-0feed", self.end, 100, 0.4, error="" if self.end == "completed" else "boom",
                              volume_id=plan.volume_id, description=plan.description)


def make_app(tmp_path, *, readonly=False, critical=False, pvcs=(PVC,), pvs=(PV,), aws=None):
    session = make_session(context="prod-eks" if critical else "test-ctx")
    session.set_items("persistentvolumeclaims", {
        f"{p['metadata']['namespace']}/{p['metadata']['name']}": msgspec.convert(p, PersistentVolumeClaim)
        for p in pvcs})
    session.set_items("persistentvolumes", {p["metadata"]["name"]: msgspec.convert(p, PersistentVolume) for p in pvs})
    for p in pvcs:
        session.objects[("persistentvolumeclaims", p["metadata"]["namespace"], p["metadata"]["name"])] = p
    for p in pvs:
        session.objects[("persistentvolumes", None, p["metadata"]["name"])] = p
    gate = WriteGate(session.context, readonly)
    api = FakeKubeAPI(gate)
    profile = Profile(session.context, None, readonly, critical=critical,
                      aws=aws or AwsSettings("testbed", "us-east-1", "eks-learning-lab-dev-cluster"))
    ws = Workspace(profile, session, gate, api, "tester")
    journal = Journal(tmp_path / "journal.jsonl")
    app = EcotuiApp(ws, keymap=KEYMAP, clock=lambda: T0, poll_interval=0.05, journal=journal)
    return app, session, api, journal


async def until(pilot, pred, n=80):
    return await pilot_until(pilot, pred, n=n)


async def open_view(app, pilot, name):
    await pilot.press("colon", *name, "enter")
    await until(pilot, lambda: isinstance(app.screen, KindScreen) and app.screen.table.row_count > 0)


def events(journal):
    return [(e["event"], e["action"], e.get("targets"), e.get("reason", "")) for e in journal.read()]


async def test_snapshot_of_a_pvc_confirm_progress_journal(monkeypatch, tmp_path):
    ebs = FakeEbs(monkeypatch)
    app, session, api, journal = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        text = screen_text(app)
        assert "EBS snapshot of persistentvolumeclaim ecotrack/data-postgres-0" in text
        assert "context test-ctx" in text and "namespace ecotrack" in text
        body = "\n".join(confirm.preview.lines)
        for want in ("vol-0abc123", "20 GiB", "us-east-1a", f"description: {DESCRIPTION}",
                     "AWS profile testbed, region us-east-1", "PVC ecotrack/data-postgres-0", "PV pvc-1234"):
            assert want in body, want
        assert all(len(line) <= 80 for line in text.splitlines())
        assert ebs.plans[0][1:] == ("vol-0abc123", "us-east-1", "pvc-1234", "ecotrack/data-postgres-0", "test-ctx")
        assert ebs.created == []                       # nothing before confirming
        assert session.get_calls == [("persistentvolumeclaims", "ecotrack", "data-postgres-0"),
                                     ("persistentvolumes", "", "pvc-1234")]
        await pilot.press(key("confirm"))
        await until(pilot, lambda: any("snap-0feed of vol-0abc123 completed" in n for n in app.notices))
        assert len(ebs.created) == 1
        said = [n for n in app.notices if "snapshot of vol-0abc123:" in n]
        assert any("pending 40%" in n for n in said) and any("completed 100%" in n for n in said)
    got = events(journal)
    assert [e[0] for e in got] == ["requested", "done"]
    assert got[0][2] == ["persistentvolumeclaims/ecotrack/data-postgres-0"]
    done = journal.read()[-1]
    assert done["ok"] and done["details"]["snapshot_id"] == "snap-0feed" and done["namespace"] == "ecotrack"
    assert done["params"]["volume_id"] == "vol-0abc123" and done["params"]["description"] == DESCRIPTION
    assert done["params"]["profile"] == "testbed" and done["params"]["region"] == "us-east-1"
    assert api.writes() == []                          # nothing went to the API server


async def test_readonly_refuses_before_any_request(monkeypatch, tmp_path):
    ebs = FakeEbs(monkeypatch)
    app, session, api, journal = make_app(tmp_path, readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: any("read-only: snapshot of ecotrack/data-postgres-0 not sent" in n
                                       for n in app.notices))
        assert not isinstance(app.screen, ConfirmScreen)
    assert ebs.plans == [] and ebs.created == [] and session.get_calls == []
    assert events(journal) == [("refused", "snapshot_volume", ["persistentvolumeclaims/ecotrack/data-postgres-0"],
                                "read-only")]


async def test_readonly_refuses_with_no_row_too(monkeypatch, tmp_path):
    FakeEbs(monkeypatch)
    app, _, _, journal = make_app(tmp_path, readonly=True, pvs=())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"pv", "enter")
        await until(pilot, lambda: isinstance(app.screen, KindScreen) and app.screen.kind == "persistentvolumes")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: journal.read())
    assert events(journal) == [("refused", "snapshot_volume", [], "read-only")]


async def test_the_data_side_gate_refuses_too(monkeypatch, tmp_path):
    """Belt and braces: a context turned read-only after the confirmation is refused by the gate (failed)."""
    ebs = FakeEbs(monkeypatch)
    app, _, _, journal = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pv")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.workspace.gate.set_readonly(True)
        await pilot.press(key("confirm"))
        await until(pilot, lambda: len(journal.read()) == 2)
    assert ebs.created == [] and [e[0] for e in events(journal)] == ["requested", "failed"]
    assert "read-only" in journal.read()[-1]["message"]


async def test_cancel_and_critical_context(monkeypatch, tmp_path):
    ebs = FakeEbs(monkeypatch)
    app, _, _, journal = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(key("back"))
        await until(pilot, lambda: journal.read())
    assert ebs.created == [] and [e[0] for e in events(journal)] == ["cancelled"]

    app, _, _, journal = make_app(tmp_path / "crit", critical=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        assert confirm.critical and confirm.word == "data-postgres-0"
        await pilot.press("enter")                  # nothing typed: not confirmed
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmScreen) and ebs.created == []
        await pilot.press(*"data-postgres-0", "enter")
        await until(pilot, lambda: len(ebs.created) == 1)
        await until(pilot, lambda: len(journal.read()) == 2)


async def test_failures_are_one_line(monkeypatch, tmp_path):
    ebs = FakeEbs(monkeypatch, fail=EcotuiError("not allowed: ec2:CreateSnapshot in us-east-1 (arn:aws:iam::1:user/x)"))
    app, _, _, journal = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(key("confirm"))
        await until(pilot, lambda: len(journal.read()) == 2)
        assert any("not allowed: ec2:CreateSnapshot" in n for n in app.notices)
    assert [e[0] for e in events(journal)] == ["requested", "failed"]

    FakeEbs(monkeypatch, end="error")
    app, _, _, journal = make_app(tmp_path / "err")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(key("confirm"))
        await until(pilot, lambda: len(journal.read()) == 2)
        assert any("snap-0feed of vol-0abc123 error: boom" in n for n in app.notices)
    assert journal.read()[-1]["event"] == "failed"

    ebs = FakeEbs(monkeypatch, plan_error=EcotuiError("EBS volume vol-0abc123 not found in us-east-1"))
    app, _, _, journal = make_app(tmp_path / "plan")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: any("vol-0abc123 not found" in n for n in app.notices))
    assert journal.read() == []


async def test_not_ebs_unbound_and_other_kinds(monkeypatch, tmp_path):
    ebs = FakeEbs(monkeypatch)
    host = {"metadata": {"name": "local-pv"}, "spec": {"hostPath": {"path": "/data"}}, "status": {"phase": "Available"}}
    pending = {"metadata": {"name": "new", "namespace": "ecotrack"}, "spec": {}, "status": {"phase": "Pending"}}
    app, _, _, journal = make_app(tmp_path, pvcs=(pending,), pvs=(host,))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pv")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: any("PV local-pv is not an EBS volume (hostPath /data)" in n for n in app.notices))
        await pilot.press(key("back"))
        await open_view(app, pilot, "pvc")
        await pilot.press(key("snapshot_volume"))
        await until(pilot, lambda: any("PVC ecotrack/new is not bound to a volume (Pending)" in n for n in app.notices))
        await pilot.press(key("back"))
        await pilot.pause(0.1)
        await pilot.press(key("snapshot_volume"))      # the cockpit's pods pane
        await until(pilot, lambda: any("snapshot works on PersistentVolumeClaims and PersistentVolumes" in n
                                       for n in app.notices))
    assert ebs.plans == [] and journal.read() == []


async def test_hint_line_offers_snapshot_on_pvcs(monkeypatch, tmp_path):
    FakeEbs(monkeypatch)
    app, _, _, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pvc")
        assert f"{key('snapshot_volume')} snapshot" in app.screen.action_hint_text().plain


async def test_a_pv_on_a_context_without_aws_settings(monkeypatch, tmp_path):
    """Not an EKS context: the first profile of the config's aws.profiles, the volume's region; the confirmation
    names the claim's namespace."""
    from types import SimpleNamespace
    from ecotui.config import AwsConfig, Config
    ebs = FakeEbs(monkeypatch)
    app, _, _, journal = make_app(tmp_path, aws=AwsSettings())
    app.aws_factory = SimpleNamespace(config=Config(aws=AwsConfig(profiles=("testbed",))))  # type: ignore[attr-defined]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, "pv")
        await pilot.press(key("snapshot_volume"))
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        assert confirm.namespace == "ecotrack"
        target, volume_id, region = ebs.plans[0][:3]
        assert (target.profile, volume_id, region) == ("testbed", "vol-0abc123", "us-east-1")
        await pilot.press(key("confirm"))
        await until(pilot, lambda: len(journal.read()) == 2)
    assert journal.read()[0]["targets"] == ["persistentvolumes/pvc-1234"]
