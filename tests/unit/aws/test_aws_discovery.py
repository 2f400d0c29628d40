"""Discovery across regions × profiles in moto; a failing region is one problem line; eks_info from moto."""
from __future__ import annotations

import base64

import pytest

from ecotui.aws import discovery, session as aws
from ecotui.aws.discovery import DiscoveredCluster, context_name, discover
from ecotui.aws.eks_info import cluster_info

ROLE = "arn:aws:iam::123456789012:role/eks"


def make_cluster(name: str, region: str, version: str = "1.30") -> None:
    aws.client("eks", "t", region).create_cluster(name=name, version=version, roleArn=ROLE,
                                                  resourcesVpcConfig={"subnetIds": ["subnet-1"]})


async def test_two_regions_one_profile(aws_env):
    make_cluster("eks-learning-lab-dev-cluster", "us-east-1")
    make_cluster("ecotrack-prod", "us-west-2", "1.29")
    make_cluster("ecotrack-stage", "us-west-2")
    clusters, problems = await discover(["t"], ["us-east-1", "us-west-2"])
    assert problems == []
    assert [(c.name, c.region, c.profile) for c in clusters] == [
        ("eks-learning-lab-dev-cluster", "us-east-1", "t"), ("ecotrack-prod", "us-west-2", "t"),
        ("ecotrack-stage", "us-west-2", "t")]
    prod = clusters[1]
    assert prod.version == "1.29" and prod.status == "ACTIVE" and prod.endpoint.startswith("https://")
    assert prod.platform_version and prod.arn.endswith(":cluster/ecotrack-prod") and prod.ca_data
    assert context_name(prod) == "eks:t/us-west-2/ecotrack-prod"


async def test_a_failing_region_is_one_problem_line(aws_env, monkeypatch):
    make_cluster("c1", "us-east-1")
    real = aws.client

    def client(service, profile, region):
        if region == "eu-west-3":   # an endpoint that refuses connections (loopback, closed port)
            import boto3
            from botocore.config import Config
            return boto3.Session(profile_name=profile).client(
                service, region_name=region, endpoint_url="http://127.0.0.1:1",
                config=Config(retries={"max_attempts": 1}, connect_timeout=1))
        return real(service, profile, region)
    monkeypatch.setattr(aws, "client", client)
    clusters, problems = await discover(["t"], ["us-east-1", "eu-west-3"])
    assert [c.name for c in clusters] == ["c1"]
    assert len(problems) == 1 and problems[0].startswith("t/eu-west-3: AWS endpoint unreachable in eu-west-3")
    assert "\n" not in problems[0]


async def test_a_broken_profile_is_said_once(aws_env):
    aws_env.add_profile("oncall", "region = us-east-1\nsso_start_url = https://x.awsapps.com/start\n"
                        "sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = A\n"
                        f"endpoint_url = {aws_env.endpoint}")
    make_cluster("c1", "us-east-1")
    clusters, problems = await discover(["t", "oncall"], ["us-east-1", "us-west-2"])
    assert [c.name for c in clusters] == ["c1"]
    assert problems == ["AWS SSO session expired for profile oncall — run: aws sso login --profile oncall"]


async def test_default_regions_and_profile(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "t")
    make_cluster("c1", "us-east-1")
    clusters, problems = await discover([], [])
    assert [(c.name, c.profile) for c in clusters] == [("c1", None)] and problems == []


async def test_eks_info_from_moto(aws_env):
    make_cluster("ecotrack-prod", "us-east-1", "1.29")
    eks = aws.client("eks", "t", "us-east-1")
    eks.create_nodegroup(clusterName="ecotrack-prod", nodegroupName="ng-general", nodeRole=ROLE,
                         subnets=["subnet-1"], scalingConfig={"minSize": 2, "maxSize": 6, "desiredSize": 3},
                         instanceTypes=["m5.large"], capacityType="SPOT", amiType="AL2_x86_64")
    info = await cluster_info("t", "us-east-1", "ecotrack-prod")
    assert (info.name, info.version, info.status) == ("ecotrack-prod", "1.29", "ACTIVE")
    assert info.upgrade == "1.30" and info.upgrade_note       # next minor (confirmed or with a note)
    [ng] = info.nodegroups
    assert (ng.name, ng.desired, ng.min_size, ng.max_size, ng.status) == ("ng-general", 3, 2, 6, "ACTIVE")
    assert ng.version and ng.release_version and ng.instance_types == ("m5.large",) and ng.capacity_type == "SPOT"
    # what moto does not implement is a note, never an exception
    assert all("\n" not in n for n in info.notes)
    assert info.addons == () and "add-ons: not available (not implemented by this endpoint)" in info.notes
    assert info.updates == () and any(n.startswith("updates: not available") for n in info.notes)


async def test_eks_info_unknown_cluster_is_one_line(aws_env):
    from ecotui.aws.errors import AwsError
    with pytest.raises(AwsError) as exc:
        await cluster_info("t", "us-east-1", "nope")
    assert exc.value.kind == "notfound" and "\n" not in exc.value.message


def test_add_eks_context_builds_an_in_memory_context():
    from ecotui.config import Config
    from ecotui.kube.kubeconfig import ContextInfo, KubeConfig
    from ecotui.workspace import WorkspaceFactory
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    kc = KubeConfig(source="test", contexts=[ContextInfo("kind", "kind", "kind", None)], current_context="kind",
                    clusters={"kind": {"server": "https://127.0.0.1:6443"}}, users={"kind": {"token": "x"}})
    made = []
    f = WorkspaceFactory(kc, Config(), first_context="kind",
                         make_session=lambda k, ctx, ns, gate: made.append(k.resolve(ctx)) or _FakeSession())
    c = DiscoveredCluster("ecotrack-prod", "us-west-2", "oncall", "1.30", "ACTIVE", "https://abc.eks.amazonaws.com",
                          "eks.7", "arn:aws:eks:us-west-2:1:cluster/ecotrack-prod", base64.b64encode(pem).decode())
    name = f.add_eks_context(c)
    assert name == "eks:oncall/us-west-2/ecotrack-prod" and f.contexts == ["kind", name]
    assert f.add_eks_context(c) == name and f.contexts == ["kind", name]          # added once
    ws = f.build(name)
    r = made[0]
    assert r.cluster.server == "https://abc.eks.amazonaws.com" and r.cluster.ca_pem == pem
    assert r.user.eks.cluster == "ecotrack-prod" and r.user.eks.region == "us-west-2"
    assert (ws.profile.aws.profile, ws.profile.aws.region, ws.profile.aws.cluster) == \
        ("oncall", "us-west-2", "ecotrack-prod")
    assert ws.eks.cluster == "ecotrack-prod"


def test_add_eks_context_refuses_a_bad_ca():
    from ecotui.config import Config
    from ecotui.errors import KubeconfigError
    from ecotui.kube.kubeconfig import ContextInfo, KubeConfig
    from ecotui.workspace import WorkspaceFactory
    kc = KubeConfig(source="test", contexts=[ContextInfo("kind", "kind", "kind", None)], current_context="kind",
                    clusters={"kind": {"server": "https://127.0.0.1:6443"}}, users={"kind": {"token": "x"}})
    f = WorkspaceFactory(kc, Config(), first_context="kind")
    c = DiscoveredCluster("x", "us-east-1", None, endpoint="https://e", ca_data="QUJD")   # base64, but not a PEM
    with pytest.raises(KubeconfigError) as exc:
        f.add_eks_context(c)
    assert "not a PEM certificate" in exc.value.message


class _FakeSession:
    auth = None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def test_discovery_workers():
    assert discovery.WORKERS == 8


async def test_a_credential_process_runs_once_for_every_region(aws_env, tmp_path):
    import sys
    from datetime import datetime, timedelta, timezone
    runs = tmp_path / "runs"
    exp = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = tmp_path / "creds.py"
    script.write_text(f"import json\nopen({str(runs)!r}, 'a').write('x')\n"
                      "print(json.dumps({'Version': 1, 'AccessKeyId': 'AKIAPROCESS0000004', 'SecretAccessKey': 's', "
                      f"'SessionToken': 't', 'Expiration': {exp!r}}}))\n")
    aws_env.add_profile("proc", f"region = us-east-1\nendpoint_url = {aws_env.endpoint}\n"
                        f"credential_process = {sys.executable} {script}")
    make_cluster("c1", "us-east-1")
    clusters, problems = await discover(["proc"], ["us-east-1", "us-west-2", "eu-west-1"])
    assert [c.name for c in clusters] == ["c1"] and problems == []
    assert runs.read_text() == "x"
