"""Which kubeconfig users are EKS users: `EksAuth` and `eks_from_exec(exec_config)`.

Recognised exec plugins (what `aws eks update-kubeconfig` and eksctl write):
- `aws eks get-token --cluster-name X [--region R] [--role-arn A] [--profile P]` (also `--cluster-id`, the
  `--opt=value` form, and AWS_PROFILE / AWS_REGION / AWS_DEFAULT_REGION in the exec env);
- `aws-iam-authenticator token -i X [-r A] [--region R]` (also `--cluster-id`, `--role`).
Anything else (other flags we do not understand, such as `--output` is fine, but e.g. `--assume-role-external-id`)
returns None and the exec plugin is run as before. No AWS imports here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EksAuth:
    """What a native EKS token needs. region/profile None = the AWS defaults (AWS_PROFILE, the profile's region)."""

    cluster: str
    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None

    def describe(self) -> str:
        parts = [f"cluster {self.cluster}"]
        if self.region:
            parts.append(f"region {self.region}")
        parts.append(f"profile {self.profile or os.environ.get('AWS_PROFILE') or 'default'}")
        if self.role_arn:
            parts.append(f"role {self.role_arn}")
        return ", ".join(parts)


_AWS_FLAGS = {"--cluster-name": "cluster", "--cluster-id": "cluster", "--region": "region", "--role-arn": "role_arn",
              "--profile": "profile"}
_AWS_HARMLESS = {"--output": True, "--debug": False, "--no-verify-ssl": False, "--color": True}
_IAM_FLAGS = {"-i": "cluster", "--cluster-id": "cluster", "-r": "role_arn", "--role": "role_arn",
              "--region": "region"}
_IAM_HARMLESS = {"--forward-session-name": False}


def _parse(args: list[str], flags: dict[str, str], harmless: dict[str, bool]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        name, eq, val = a.partition("=")
        if name in flags:
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                val = args[i]
            if not val:
                return None
            out[flags[name]] = val
        elif name in harmless:
            if harmless[name] and not eq:
                i += 1
        else:
            return None
        i += 1
    return out if out.get("cluster") else None


def eks_from_exec(exec_config: Any) -> EksAuth | None:
    """The EKS cluster/region/profile/role of an `aws eks get-token` or `aws-iam-authenticator token` exec plugin,
    else None. `exec_config` is a kubeconfig `ExecConfig` (command, args, env)."""
    if exec_config is None:
        return None
    command = os.path.basename(str(exec_config.command))
    args = [str(a) for a in exec_config.args]
    env = dict(exec_config.env)
    if command in ("aws", "aws2", "aws.cmd", "aws.exe"):
        if args[:2] != ["eks", "get-token"]:
            return None
        got = _parse(args[2:], _AWS_FLAGS, _AWS_HARMLESS)
    elif command in ("aws-iam-authenticator", "aws-iam-authenticator.exe"):
        if args[:1] != ["token"]:
            return None
        got = _parse(args[1:], _IAM_FLAGS, _IAM_HARMLESS)
    else:
        return None
    if got is None:
        return None
    region = got.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    profile = got.get("profile") or env.get("AWS_PROFILE") or None
    return EksAuth(cluster=got["cluster"], region=region, profile=profile, role_arn=got.get("role_arn"))
