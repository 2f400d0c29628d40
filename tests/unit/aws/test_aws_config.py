"""Config: per-context `eks:` (native token for that context), `prometheus_aws_*`, top-level `aws:`."""
from __future__ import annotations

import textwrap

import pytest

from ecotui.config import AwsConfig, EksConfig, load_config
from ecotui.errors import EcotuiError
from ecotui.kube.auth import Authenticator
from ecotui.kube.kubeconfig import ContextInfo, KubeConfig
from ecotui.workspace import WorkspaceFactory


def cfg(tmp_path, text: str):
    p = tmp_path / "config.yaml"
    p.write_text(textwrap.dedent(text))
    return load_config(str(p))


def test_eks_aws_and_amp_settings(tmp_path):
    c = cfg(tmp_path, """
        aws: {profiles: [oncall, testbed], regions: [us-east-1, us-west-2]}
        contexts:
          prod:
            eks: {cluster: ecotrack-prod, region: us-east-1, profile: oncall,
                  role_arn: "arn:aws:iam::123456789012:role/oncall"}
            prometheus_url: https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1
            prometheus_aws_region: us-east-1
            prometheus_aws_profile: oncall
        """)
    assert c.aws == AwsConfig(("oncall", "testbed"), ("us-east-1", "us-west-2"))
    p = c.for_context("prod")
    assert p.eks == EksConfig("ecotrack-prod", "us-east-1", "oncall", "arn:aws:iam::123456789012:role/oncall")
    assert (p.prometheus_aws_region, p.prometheus_aws_profile) == ("us-east-1", "oncall")
    assert load_config(str(tmp_path / "config.yaml")).aws.regions == ("us-east-1", "us-west-2")


@pytest.mark.parametrize("text,fragment", [
    ("contexts: {p: {eks: {region: us-east-1}}}", "contexts.p.eks.cluster is required"),
    ("contexts: {p: {eks: {cluster: c, zone: a}}}", "unknown key 'zone' in contexts.p.eks"),
    ("contexts: {p: {eks: {cluster: c, role_arn: oncall}}}", "contexts.p.eks.role_arn must be an IAM role ARN"),
    ("contexts: {p: {eks: ecotrack}}", "contexts.p.eks must be a mapping"),
    ("aws: {profiles: oncall, regionz: [x]}", "unknown key 'regionz' in aws"),
    ("aws: {regions: [1]}", "aws.regions must be a list of names"),
    ("aws: [x]", "aws must be a mapping"),
])
def test_bad_aws_settings_are_one_line(tmp_path, text, fragment):
    with pytest.raises(EcotuiError) as exc:
        cfg(tmp_path, text)
    assert fragment in exc.value.message and "\n" not in exc.value.message


def test_eks_key_gives_the_context_a_native_token(tmp_path):
    c = cfg(tmp_path, """
        contexts:
          prod: {eks: {cluster: ecotrack-prod, region: us-east-1, profile: oncall}}
        """)
    kc = KubeConfig(source="t", contexts=[ContextInfo("prod", "prod", "prod-user", None),
                                          ContextInfo("dev", "prod", "prod-user", None)], current_context="prod",
                    clusters={"prod": {"server": "https://127.0.0.1:6443"}},
                    users={"prod-user": {"exec": {"command": "some-sso-helper", "apiVersion":
                                                  "client.authentication.k8s.io/v1", "interactiveMode": "Never"}}})
    resolved = []

    class S:
        auth = None

        async def start(self) -> None: ...

        async def stop(self) -> None: ...

    def make(k, ctx, ns, gate):
        resolved.append(k.resolve(ctx))
        return S()
    f = WorkspaceFactory(kc, c, first_context="prod", make_session=make)
    ws = f.build("prod")
    f.build("dev")
    prod, dev = resolved
    assert prod.user.eks is not None and prod.user.exec is None and dev.user.eks is None
    a = Authenticator(prod.user, prod.cluster)
    assert a.native_eks and a.method == "EKS token (cluster ecotrack-prod, region us-east-1, profile oncall)"
    assert ws.profile.aws.cluster == "ecotrack-prod" and ws.eks.profile == "oncall"
