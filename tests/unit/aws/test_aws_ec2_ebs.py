"""Node → EC2 instance details from moto; EBS volume of a PV; snapshots through the write gate, polled to the end."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ecotui.aws import ebs, ec2, session as aws
from ecotui.aws.ebs import create_snapshot, plan_snapshot, volume_of
from ecotui.aws.ec2 import InstanceInfo, InstanceLookup, ScheduledEvent, instance_id, instances
from ecotui.errors import ReadOnlyError
from ecotui.kube.writegate import WriteGate


@pytest.mark.parametrize("pid,want", [
    ("aws:///us-east-1a/i-0abc123def4567890", ("us-east-1a", "i-0abc123def4567890")),
    ("aws:///eu-west-1c/i-0abc", ("eu-west-1c", "i-0abc")),
    ("kind://docker/kind/kind-control-plane", None), ("", None), (None, None), ("aws:///us-east-1a/vol-1", None),
])
def test_instance_id(pid, want):
    assert instance_id(pid) == want


def _image() -> str:
    return aws.client("ec2", "t", "us-east-1").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


async def test_instances_from_moto_with_a_spot_instance(aws_env):
    c = aws.client("ec2", "t", "us-east-1")
    img = _image()
    od = c.run_instances(ImageId=img, MinCount=2, MaxCount=2, InstanceType="m5.large",
                         Placement={"AvailabilityZone": "us-east-1a"})["Instances"]
    spot = c.run_instances(ImageId=img, MinCount=1, MaxCount=1, InstanceType="c5.xlarge",
                           InstanceMarketOptions={"MarketType": "spot"},
                           Placement={"AvailabilityZone": "us-east-1b"})["Instances"][0]
    c.stop_instances(InstanceIds=[od[1]["InstanceId"]])
    ids = [od[0]["InstanceId"], od[1]["InstanceId"], spot["InstanceId"], "i-0000000000000dead"]
    got = await instances(ids, "t", "us-east-1")
    assert set(got) == set(ids[:3])                             # the unknown id is left out, not an error
    a, b, s = got[ids[0]], got[ids[1]], got[ids[2]]
    assert (a.type, a.zone, a.lifecycle, a.state) == ("m5.large", "us-east-1a", "on-demand", "running")
    assert a.system_status == "ok" and a.instance_status == "ok" and a.launch_time and a.problems == []
    assert (s.type, s.zone, s.lifecycle) == ("c5.xlarge", "us-east-1b", "spot")
    assert b.state in ("stopping", "stopped") and b.problems and b.problems[0].startswith("instance stop")


async def test_lookup_is_cached_and_batched(aws_env, monkeypatch):
    c = aws.client("ec2", "t", "us-east-1")
    ids = [i["InstanceId"] for i in c.run_instances(ImageId=_image(), MinCount=3, MaxCount=3)["Instances"]]
    monkeypatch.setattr(ec2, "BATCH", 2)
    now = [0.0]
    lk = InstanceLookup("t", "us-east-1", clock=lambda: now[0])
    assert set(await lk.instances(ids)) == set(ids)
    assert lk.calls == 4                                      # 2 batches x (describe_instances + status)
    await lk.instances(ids)
    assert lk.calls == 4                                      # cached
    now[0] = 61.0
    await lk.instances(ids[:1])
    assert lk.calls == 6                                      # expired after ~60 s: asked again


def test_failing_checks_and_scheduled_events_stand_out():
    info = InstanceInfo("i-1", system_status="impaired", instance_status="ok", state="running",
                        events=(ScheduledEvent("instance-retirement", "The instance is running on degraded hardware",
                                               "2026-12-03T00:00:00+00:00"),
                                ScheduledEvent("system-reboot", "[Completed] reboot", "")))
    assert info.problems == ["system status check impaired",
                             "scheduled instance-retirement 2026-12-03T00:00:00+00:00: "
                             "The instance is running on degraded hardware"]


@pytest.mark.parametrize("pv,want", [
    ({"spec": {"awsElasticBlockStore": {"volumeID": "aws://us-east-1a/vol-0abc123"}}}, ("vol-0abc123", "us-east-1")),
    ({"spec": {"awsElasticBlockStore": {"volumeID": "vol-0abc"}},
      "metadata": {"labels": {"topology.kubernetes.io/zone": "eu-west-1b"}}}, ("vol-0abc", "eu-west-1")),
    ({"spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0def"},
               "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                   {"key": "topology.ebs.csi.aws.com/zone", "operator": "In", "values": ["us-west-2c"]}]}]}}}},
     ("vol-0def", "us-west-2")),
    ({"spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0def"}}}, ("vol-0def", None)),
    ({"spec": {"csi": {"driver": "efs.csi.aws.com", "volumeHandle": "fs-1::fsap-2"}}}, None),
    ({"spec": {"hostPath": {"path": "/data"}}}, None),
    ({"spec": {"awsElasticBlockStore": {"volumeID": "garbage"}}}, None),
])
def test_volume_of(pv, want):
    assert volume_of(pv) == want


async def test_snapshot_created_and_polled_to_completed(aws_env):
    c = aws.client("ec2", "t", "us-east-1")
    vol = c.create_volume(Size=20, AvailabilityZone="us-east-1a")["VolumeId"]
    # moto completes snapshots at once: make it report pending 0% at creation and 60% on the first poll
    polls = [0]

    def pending(parsed, **_):
        parsed.update(State="pending", Progress="0%")

    def half(parsed, **_):
        polls[0] += 1
        if polls[0] == 1:
            for s in parsed.get("Snapshots", []):
                s.update(State="pending", Progress="60%")
    c.meta.events.register("after-call.ec2.CreateSnapshot", pending, unique_id="t-pending")
    c.meta.events.register("after-call.ec2.DescribeSnapshots", half, unique_id="t-half")
    try:
        plan = await plan_snapshot(vol, region="us-east-1", profile="t", pv="pvc-123", pvc="ecotrack/data-postgres-0",
                                   context="ctx", now=datetime(2026, 12, 1, 3, 4, 5, tzinfo=timezone.utc))
        assert plan.description == "EcoTrack backup Tue Dec 01 03:04:05 UTC 2026"
        assert (plan.size_gib, plan.zone, plan.region) == (20, "us-east-1a", "us-east-1")
        assert plan.preview[0] == f"EBS snapshot of {vol} (20 GiB, us-east-1a, available)"
        seen = []
        result = await create_snapshot(plan, WriteGate("ctx"), seen.append, poll_s=0.01, timeout_s=10)
    finally:
        c.meta.events.unregister("after-call.ec2.CreateSnapshot", unique_id="t-pending")
        c.meta.events.unregister("after-call.ec2.DescribeSnapshots", unique_id="t-half")
    assert result.ok and result.progress == 100 and result.snapshot_id.startswith("snap-")
    assert [(p.state, p.progress) for p in seen] == [("pending", 0), ("pending", 60), ("completed", 100)]
    snap = c.describe_snapshots(SnapshotIds=[result.snapshot_id])["Snapshots"][0]
    assert snap["VolumeId"] == vol and snap["Description"] == plan.description
    assert {"Key": "ecotui:pvc", "Value": "ecotrack/data-postgres-0"} in snap.get("Tags", [])


async def test_readonly_refuses_before_any_request(aws_env, monkeypatch):
    c = aws.client("ec2", "t", "us-east-1")
    vol = c.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    plan = await plan_snapshot(vol, region="us-east-1", profile="t")
    asked = []
    monkeypatch.setattr(aws, "client", lambda *a, **k: asked.append(a))
    gate = WriteGate("prod", readonly=True)
    with pytest.raises(ReadOnlyError) as exc:
        await create_snapshot(plan, gate)
    assert asked == [] and gate.refused == 1
    assert exc.value.message == "read-only: POST aws:ec2:CreateSnapshot refused on context 'prod'"
    monkeypatch.undo()
    assert aws.client("ec2", "t", "us-east-1").describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vol]}])["Snapshots"] == []


async def test_missing_volume_is_one_line(aws_env):
    from ecotui.aws.errors import AwsError
    with pytest.raises(AwsError) as exc:
        await plan_snapshot("vol-0123456789abcdef0", region="us-east-1", profile="t")
    assert "\n" not in exc.value.message and "vol-0123456789abcdef0" in exc.value.message


def test_gate_path_is_a_write():
    from ecotui.kube.writegate import is_mutating
    assert is_mutating("POST", ebs.GATE_PATH)
