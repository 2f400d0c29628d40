"""Credentials as boto3 finds them (AWS_PROFILE, assume-role, credential_process, SSO) and the one-line failures."""
from __future__ import annotations

import json
import sys
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest

from ecotui.aws.errors import AwsError
from ecotui.aws.execmatch import EksAuth
from ecotui.aws.token import EksTokenSource, decode_token
from ecotui.errors import AuthError
from ecotui.kube.auth import Authenticator
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo

from conftest import ACCOUNT, KEY_ID, KEY_ID_2, SECRET


def credential_of(token: str) -> tuple[str, bool]:
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(decode_token(token)).query)
    return q["X-Amz-Credential"][0].split("/")[0], "X-Amz-Security-Token" in q


async def test_aws_profile_environment_variable(aws_env, monkeypatch):
    aws_env.add_profile("other", f"region = us-east-1\nendpoint_url = {aws_env.endpoint}",
                        f"aws_access_key_id = {KEY_ID_2}\naws_secret_access_key = {SECRET}")
    monkeypatch.setenv("AWS_PROFILE", "other")
    token, _ = await EksTokenSource("c1", "us-east-1", None).token()      # profile None = AWS_PROFILE
    assert credential_of(token) == (KEY_ID_2, False)


async def test_assume_role_profile_through_moto_sts(aws_env):
    aws_env.add_profile("admin", f"region = us-east-1\nendpoint_url = {aws_env.endpoint}\n"
                        f"role_arn = arn:aws:iam::{ACCOUNT}:role/eks-admin\nsource_profile = t")
    token, _ = await EksTokenSource("c1", "us-east-1", "admin").token()
    key, has_session = credential_of(token)
    assert key != KEY_ID and has_session             # moto's temporary credentials of the assumed role


async def test_role_arn_of_the_context(aws_env):
    src = EksTokenSource("c1", "us-east-1", "t", role_arn=f"arn:aws:iam::{ACCOUNT}:role/eks-admin")
    token, _ = await src.token()
    key, has_session = credential_of(token)
    assert key != KEY_ID and has_session
    src.invalidate()
    token2, _ = await src.token()
    assert credential_of(token2)[0] == key           # the role's credentials are reused until near expiry


def _process_profile(aws_env, tmp_path, name: str, expiration: datetime) -> None:
    script = tmp_path / f"creds-{name}.py"
    script.write_text("import json\nprint(json.dumps(" + repr({
        "Version": 1, "AccessKeyId": "AKIAPROCESS0000001", "SecretAccessKey": "s", "SessionToken": "tok",
        "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}) + "))\n")
    aws_env.add_profile(name, f"region = us-east-1\nendpoint_url = {aws_env.endpoint}\n"
                        f"credential_process = {sys.executable} {script}")


async def test_credential_process(aws_env, tmp_path):
    _process_profile(aws_env, tmp_path, "proc", datetime.now(timezone.utc) + timedelta(hours=1))
    token, _ = await EksTokenSource("c1", "us-east-1", "proc").token()
    assert credential_of(token) == ("AKIAPROCESS0000001", True)


async def test_expired_credential_process_is_one_line(aws_env, tmp_path):
    _process_profile(aws_env, tmp_path, "stale", datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    with pytest.raises(AwsError) as exc:
        await EksTokenSource("c1", "us-east-1", "stale").token()
    assert exc.value.kind == "expired"
    assert exc.value.message.startswith("AWS credentials for profile stale expired at 2020-01-02 03:04:05 UTC — ")
    assert "\n" not in exc.value.message


SSO = """region = us-east-1
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Admin"""


async def test_sso_profile_without_a_cached_token(aws_env):
    aws_env.add_profile("oncall", SSO + f"\nendpoint_url = {aws_env.endpoint}")
    with pytest.raises(AwsError) as exc:
        await EksTokenSource("c1", "us-east-1", "oncall").token()
    assert exc.value.message == "AWS SSO session expired for profile oncall — run: aws sso login --profile oncall"


async def test_sso_line_reaches_the_kube_client_as_an_auth_error(aws_env):
    aws_env.add_profile("oncall", SSO + f"\nendpoint_url = {aws_env.endpoint}")
    auth = Authenticator(UserInfo(name="eks-user", eks=EksAuth("c1", "us-east-1", "oncall")),
                         ClusterInfo(name="eks", server="https://127.0.0.1:1"))
    with pytest.raises(AuthError) as exc:
        await auth.credentials()
    assert "run: aws sso login --profile oncall" in exc.value.message and "\n" not in exc.value.message
    assert exc.value.hint == "aws sso login --profile oncall"


async def test_no_credentials_at_all(aws_env):
    aws_env.add_profile("empty", f"region = us-east-1\nendpoint_url = {aws_env.endpoint}")
    with pytest.raises(AwsError) as exc:
        await EksTokenSource("c1", "us-east-1", "empty").token()
    assert exc.value.message.startswith("no AWS credentials (profile empty): run aws configure / aws sso login")


async def test_unknown_profile(aws_env):
    with pytest.raises(AwsError) as exc:
        await EksTokenSource("c1", "us-east-1", "nope").token()
    assert exc.value.message == "AWS profile nope not found in the AWS config"


def test_explain_access_denied_names_the_action_and_arn():
    from botocore.exceptions import ClientError
    from ecotui.aws.errors import explain
    err = ClientError({"Error": {"Code": "AccessDeniedException", "Message":
                                 "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
                                 "eks:ListClusters on resource: arn:aws:eks:us-east-1:123456789012:cluster/*"}},
                      "ListClusters")
    e = explain(err, "oncall", "eks:ListClusters", "us-east-1")
    assert e.message == "not allowed: eks:ListClusters in us-east-1 (arn:aws:iam::123456789012:user/bob)"
    assert e.kind == "denied"
    assert json.dumps(e.message)   # plain text


async def test_credential_process_cannot_read_the_terminal(aws_env, tmp_path):
    """Like exec plugins: stdin is /dev/null and the process leads its own session (no controlling terminal)."""
    import os
    seen = tmp_path / "seen.json"
    script = tmp_path / "creds-tty.py"
    script.write_text("import json, os\n"
                      f"open({str(seen)!r}, 'w').write(json.dumps([os.readlink('/proc/self/fd/0'), os.getsid(0)]))\n"
                      "print(json.dumps({'Version': 1, 'AccessKeyId': 'AKIAPROCESS0000003', 'SecretAccessKey': 's'}))\n")
    aws_env.add_profile("tty", f"region = us-east-1\nendpoint_url = {aws_env.endpoint}\n"
                        f"credential_process = {sys.executable} {script}")
    token, _ = await EksTokenSource("c1", "us-east-1", "tty").token()
    assert credential_of(token) == ("AKIAPROCESS0000003", False)
    stdin, sid = json.loads(seen.read_text())
    assert stdin == "/dev/null" and sid != os.getsid(0)
