"""Which kubeconfig exec plugins get a native token, and the fallback to the plugin without botocore."""
from __future__ import annotations

import pytest

from ecotui.aws import session as aws_session
from ecotui.aws.execmatch import EksAuth, eks_from_exec
from ecotui.kube.auth import Authenticator
from ecotui.kube.kubeconfig import ClusterInfo, ExecConfig, UserInfo


def ex(command: str, *args: str, env: dict[str, str] | None = None) -> ExecConfig:
    return ExecConfig(command=command, args=tuple(args), env=tuple((env or {}).items()))


@pytest.mark.parametrize("config,want", [
    (ex("aws", "--region", "us-east-1", "eks", "get-token", "--cluster-name", "x"), None),   # global flag first: not ours
    (ex("aws", "eks", "get-token", "--cluster-name", "eks-learning-lab-dev-cluster", "--region", "us-east-1"),
     EksAuth("eks-learning-lab-dev-cluster", "us-east-1")),
    (ex("/usr/local/bin/aws", "eks", "get-token", "--region=eu-west-1", "--cluster-name=prod", "--output", "json",
        "--role-arn", "arn:aws:iam::1:role/r", env={"AWS_PROFILE": "oncall"}),
     EksAuth("prod", "eu-west-1", "oncall", "arn:aws:iam::1:role/r")),
    (ex("aws", "eks", "get-token", "--cluster-name", "c", "--profile", "p", env={"AWS_PROFILE": "ignored",
                                                                                "AWS_REGION": "ap-south-1"}),
     EksAuth("c", "ap-south-1", "p")),
    (ex("aws-iam-authenticator", "token", "-i", "c2"), EksAuth("c2")),
    (ex("aws-iam-authenticator", "token", "-i", "c2", "-r", "arn:aws:iam::1:role/x", env={"AWS_PROFILE": "q"}),
     EksAuth("c2", None, "q", "arn:aws:iam::1:role/x")),
    (ex("aws", "eks", "get-token"), None),                                 # no cluster
    (ex("aws", "eks", "get-token", "--cluster-name", "c", "--unknown-flag", "v"), None),   # not understood
    (ex("aws", "sts", "get-caller-identity"), None),
    (ex("kubelogin", "get-token"), None),
    (ex("aws-iam-authenticator", "verify", "-i", "c"), None),
])
def test_exec_shapes(config, want):
    assert eks_from_exec(config) == want


CLUSTER = ClusterInfo(name="eks", server="https://127.0.0.1:1")
AWS_EXEC = ex("aws", "eks", "get-token", "--cluster-name", "c1", "--region", "us-east-1", env={"AWS_PROFILE": "t"})


def test_native_when_botocore_is_available():
    auth = Authenticator(UserInfo(name="u", exec=AWS_EXEC), CLUSTER)
    assert auth.eks == EksAuth("c1", "us-east-1", "t") and auth.native_eks
    assert auth.method == "EKS token (cluster c1, region us-east-1, profile t)"


def test_falls_back_to_the_exec_plugin_without_botocore(monkeypatch):
    monkeypatch.setattr(aws_session, "available", lambda: False)
    auth = Authenticator(UserInfo(name="u", exec=AWS_EXEC), CLUSTER)
    assert auth.eks == EksAuth("c1", "us-east-1", "t")       # still known as EKS (for eks_info)
    assert not auth.native_eks and auth.method == "exec plugin aws"


async def test_fallback_runs_the_plugin(monkeypatch, tmp_path):
    """Without botocore the exec plugin really runs (here a fake `aws` script printing an ExecCredential)."""
    monkeypatch.setattr(aws_session, "available", lambda: False)
    script = tmp_path / "aws"
    script.write_text('#!/bin/sh\necho \'{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",'
                      ' "status": {"token": "from-plugin"}}\'\n')
    script.chmod(0o755)
    cfg = ExecConfig(command=str(script), args=AWS_EXEC.args, env=AWS_EXEC.env)
    auth = Authenticator(UserInfo(name="u", exec=cfg), CLUSTER)
    creds = await auth.credentials()
    assert creds.authorization == "Bearer from-plugin" and auth.exec_runs == 1


async def test_native_token_from_a_matched_exec_user(aws_env):
    auth = Authenticator(UserInfo(name="u", exec=AWS_EXEC), CLUSTER)
    creds = await auth.credentials()
    assert creds.authorization.startswith("Bearer k8s-aws-v1.") and auth.exec_runs == 0


def test_a_static_token_wins_over_the_exec_plugin():
    auth = Authenticator(UserInfo(name="u", token="abc", exec=AWS_EXEC), CLUSTER)
    assert not auth.native_eks and auth.method == "token"


async def test_eks_user_without_botocore_is_one_line(monkeypatch):
    from ecotui.errors import AuthError
    monkeypatch.setattr(aws_session, "available", lambda: False)
    auth = Authenticator(UserInfo(name="u", eks=EksAuth("c1", "us-east-1")), CLUSTER)
    with pytest.raises(AuthError) as exc:
        await auth.credentials()
    assert exc.value.message == "user 'u': EKS cluster c1 needs botocore for its token, which is not installed"
