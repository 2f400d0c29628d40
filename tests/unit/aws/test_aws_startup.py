"""Start-up of users without AWS contexts does not import boto3/botocore (they cost ~0.1-0.3 s to import)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

SCRIPT = r"""
import json, sys
import ecotui.cli
import ecotui.workspace, ecotui.config, ecotui.kube.session, ecotui.kube.auth, ecotui.metrics.prom
import ecotui.aws, ecotui.aws.session, ecotui.aws.errors, ecotui.aws.token, ecotui.aws.execmatch
import ecotui.aws.discovery, ecotui.aws.eks_info, ecotui.aws.ec2, ecotui.aws.ebs, ecotui.aws.sigv4
from ecotui.kube.auth import Authenticator
from ecotui.kube.kubeconfig import ClusterInfo, ExecConfig, UserInfo
c = ClusterInfo(name="c", server="https://127.0.0.1:1")
Authenticator(UserInfo(name="u", token="t"), c)
Authenticator(UserInfo(name="u", exec=ExecConfig(command="kubelogin", args=("get-token",))), c)
a = Authenticator(UserInfo(name="u", exec=ExecConfig(command="aws", args=("eks", "get-token", "--cluster-name", "x"))), c)
assert a.native_eks
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer"))))
"""


def test_ecotui_cli_import_leaves_boto_out():
    out = subprocess.run([sys.executable, "-c", "import ecotui.cli, sys, json; print(json.dumps(sorted("
                          "m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore'))))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_aws_modules_and_matching_import_nothing_of_boto():
    """Even an EKS user is recognised (exec matching, `available()`) without importing botocore; it is imported
    when the first token is made."""
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
