"""The testbed's AWS profiles: every one points at moto on 127.0.0.1 (nothing here can reach real AWS).

`up` writes <run>/aws/config and <run>/aws/credentials; `python3 -m testbed env` exports AWS_CONFIG_FILE,
AWS_SHARED_CREDENTIALS_FILE (so ~/.aws is never read) and AWS_EC2_METADATA_DISABLED=true.

- `testbed`: us-east-1, fake static keys, `endpoint_url = http://127.0.0.1:25000` (botocore ≥ 1.31 uses it for
  every service): EKS discovery, tokens, EC2, EBS snapshots all go to moto;
- `testbed-expired`: a credential_process that prints credentials that expired in 2020 (the one-line "expired"
  message);
- `testbed-sso`: SSO settings and no token cache (the "run aws sso login --profile testbed-sso" message; botocore
  looks for the token under ~/.aws/sso/cache, so a test of it sets HOME to a temporary directory).
"""
from __future__ import annotations

import configparser
import io
import json
import os
from pathlib import Path

from . import paths, ports

ACCESS_KEY = "AKIATESTBEDONCALL000"
SECRET_KEY = "testbed-secret-not-a-real-key"
EXPIRED = {"Version": 1, "AccessKeyId": "AKIATESTBEDEXPIRED00", "SecretAccessKey": "expired",
           "SessionToken": "expired", "Expiration": "2020-01-01T00:00:00Z"}


def aws_dir() -> Path:
    return paths.state_dir() / "aws"


def config_file() -> Path:
    return aws_dir() / "config"


def credentials_file() -> Path:
    return aws_dir() / "credentials"


def moto_url() -> str:
    return f"http://{ports.HOST}:{ports.MOTO}"


def _ini(sections: dict[str, dict[str, str]]) -> str:
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_dict(sections)
    buf = io.StringIO()
    cp.write(buf)
    return buf.getvalue()


def texts() -> dict[Path, str]:
    """File → content of the testbed's AWS files."""
    expired = aws_dir() / "expired-credentials"
    common = {"region": ports.EKS_REGION, "endpoint_url": moto_url(), "output": "json"}
    return {
        config_file(): _ini({
            "default": {"region": ports.EKS_REGION, "endpoint_url": moto_url()},
            f"profile {ports.AWS_PROFILE}": common,
            f"profile {ports.AWS_PROFILE}-expired": {**common, "credential_process": str(expired)},
            f"profile {ports.AWS_PROFILE}-sso": {
                **common, "sso_start_url": "https://testbed.awsapps.example/start", "sso_region": ports.EKS_REGION,
                "sso_account_id": "123456789012", "sso_role_name": "EcoTrackOnCall"},
        }),
        credentials_file(): _ini({ports.AWS_PROFILE: {"aws_access_key_id": ACCESS_KEY,
                                                      "aws_secret_access_key": SECRET_KEY}}),
        expired: f"#!/bin/sh\necho '{json.dumps(EXPIRED)}'\n",
    }


def write() -> None:
    """(Re)write the files whose content differs (small; each AWS session reads them afresh)."""
    aws_dir().mkdir(parents=True, exist_ok=True)
    for f, text in texts().items():
        if not f.exists() or f.read_text() != text:
            tmp = f.with_name(f.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(f)
    os.chmod(aws_dir() / "expired-credentials", 0o755)


def env() -> dict[str, str]:
    """What a process needs to use the testbed's AWS and nothing else."""
    return {"AWS_CONFIG_FILE": str(config_file()), "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file()),
            "AWS_EC2_METADATA_DISABLED": "true"}
