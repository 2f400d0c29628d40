"""EKS cluster discovery across the configured profiles and regions (research/clients.md §5.2).

`await discover(profiles, regions)` runs `list_clusters` (paginated) + `describe_cluster` for every (profile,
region) in a pool of 8 threads and never raises: each failure becomes one line in `problems` (a region that is
not enabled, AccessDenied, an SSO session that expired — said once per profile, not once per region).
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import session as aws
from .errors import AwsError, explain

WORKERS = 8


@dataclass(frozen=True)
class DiscoveredCluster:
    name: str
    region: str
    profile: str | None
    version: str = ""
    status: str = ""
    endpoint: str = ""
    platform_version: str = ""
    arn: str = ""
    ca_data: str = ""     # base64 PEM, as kubeconfig's certificate-authority-data


def context_name(c: DiscoveredCluster) -> str:
    """The context name a discovered cluster gets: `eks:profile/region/name`."""
    return f"eks:{c.profile or 'default'}/{c.region}/{c.name}"


def _describe(profile: str | None, region: str, name: str) -> DiscoveredCluster:
    eks = aws.client("eks", profile, region)
    try:
        cl = eks.describe_cluster(name=name)["cluster"]
    except Exception as exc:
        raise explain(exc, profile, "eks:DescribeCluster", region) from None
    return DiscoveredCluster(name=str(cl.get("name") or name), region=region, profile=profile,
                             version=str(cl.get("version") or ""), status=str(cl.get("status") or ""),
                             endpoint=str(cl.get("endpoint") or ""),
                             platform_version=str(cl.get("platformVersion") or ""), arn=str(cl.get("arn") or ""),
                             ca_data=str((cl.get("certificateAuthority") or {}).get("data") or ""))


def _list(profile: str | None, region: str) -> list[str]:
    try:
        aws.frozen_credentials(profile, region)          # SSO/expired/none: the clear line first
        eks = aws.client("eks", profile, region)
        names: list[str] = []
        for page in eks.get_paginator("list_clusters").paginate():
            names.extend(str(n) for n in page.get("clusters") or ())
        return names
    except Exception as exc:
        raise explain(exc, profile, "eks:ListClusters", region) from None


def _where(profile: str | None, region: str) -> str:
    return f"{profile or 'default'}/{region}"


async def discover(profiles: Iterable[str | None], regions: Iterable[str]
                   ) -> tuple[list[DiscoveredCluster], list[str]]:
    """Every EKS cluster in profiles × regions, sorted by (profile, region, name), and one line per problem.
    Empty `profiles` = the default chain (AWS_PROFILE); empty `regions` = each profile's own region."""
    profs: list[str | None] = list(dict.fromkeys(profiles)) or [None]
    regs = list(dict.fromkeys(regions))
    problems: list[str] = []
    pairs: list[tuple[str | None, str]] = []
    for p in profs:
        if regs:
            pairs.extend((p, r) for r in regs)
            continue
        try:
            r = await asyncio.to_thread(aws.region_of, p, None)
        except AwsError as exc:
            problems.append(f"{p or 'default'}: {exc.message}")
            continue
        if r:
            pairs.append((p, r))
        else:
            problems.append(f"{p or 'default'}: no region configured (set aws.regions in the ecotui config)")
    loop = asyncio.get_running_loop()
    clusters: list[DiscoveredCluster] = []
    broken_profiles: dict[str | None, str] = {}
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ecotui-eks-discovery") as pool:
        listed = await asyncio.gather(*(loop.run_in_executor(pool, _list, p, r) for p, r in pairs),
                                      return_exceptions=True)
        jobs: list[tuple[str | None, str, str]] = []
        for (p, r), got in zip(pairs, listed):
            if isinstance(got, BaseException):
                err = got if isinstance(got, AwsError) else explain(got, p, "eks:ListClusters", r)
                if err.kind in ("sso", "nocreds", "expired", "config"):   # the profile's problem: say it once
                    if p not in broken_profiles:
                        broken_profiles[p] = err.message
                        problems.append(err.message)
                else:
                    problems.append(f"{_where(p, r)}: {err.message}")
                continue
            jobs.extend((p, r, n) for n in got)
        described = await asyncio.gather(*(loop.run_in_executor(pool, _describe, p, r, n) for p, r, n in jobs),
                                         return_exceptions=True)
        for (p, r, n), d in zip(jobs, described):
            if isinstance(d, BaseException):
                err = d if isinstance(d, AwsError) else explain(d, p, "eks:DescribeCluster", r)
                problems.append(f"{_where(p, r)} {n}: {err.message}")
            else:
                clusters.append(d)
    clusters.sort(key=lambda c: (c.profile or "", c.region, c.name))
    return clusters, problems
