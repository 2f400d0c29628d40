"""The testbed's AWS: moto in server mode (EKS, EC2, STS …) on 127.0.0.1, state in memory, seeded at start.

    python -m testbed.motoserver --host 127.0.0.1 --port 25000 --state-dir DIR --ca PKI/ca.crt \
        --endpoint https://127.0.0.1:26443

Moto's EKS gives every cluster an unreachable `https://<random>.<region>.eks.amazonaws.com` endpoint and a random
1400-character "CA" (research clients.md §5.3): this launcher patches moto in its own process so the clusters it
seeds answer with the testbed's API server as endpoint and the testbed CA as certificateAuthority.data — nothing
ever points off loopback. Seeded (see `seed`):

- EKS `eks-learning-lab-dev-cluster` (us-east-1, ACTIVE, version 1.31) with node groups `ecotrack-ng` (on-demand)
  and `ecotrack-spot` (spot);
- EKS `eks-learning-lab-staging-cluster` (us-west-2) with the same endpoint, status CREATING;
- EC2 instances in us-east-1 (three on-demand m5.large, one spot m5.large), tagged with their cluster and node
  group, for tests to map KWOK nodes onto (providerID aws:///<az>/<instance id>);
- an EBS volume (20 GiB gp3, us-east-1a) for the PV → snapshot path.

When the seed is done it writes DIR/moto-seed.json (pid, clusters, instance ids, volume id): `up` waits for that
file (from this pid) as moto's readiness, so a restarted moto is always a seeded one. Moto keeps no state on disk.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

SEED_FILE = "moto-seed.json"
ACCOUNT = "123456789012"  # moto's default account
EKS_VERSION = "1.31"
CLUSTER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-learning-lab-cluster-role"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-learning-lab-node-role"
VOLUME_SIZE = 20


def seed_file(state_dir: Path) -> Path:
    return state_dir / SEED_FILE


def read_seed(state_dir: Path) -> dict[str, Any] | None:
    """What the running moto was seeded with (None before the seed is done)."""
    try:
        return json.loads(seed_file(state_dir).read_text())
    except (OSError, ValueError):
        return None


def patch_eks(endpoint: str, ca_pem: bytes, statuses: dict[str, str]) -> None:
    """Every EKS cluster moto creates in this process: endpoint = the testbed API server, CA = the testbed CA,
    status from `statuses` (by name; ACTIVE otherwise)."""
    from moto.eks import models

    original = models.Cluster.__init__
    ca_data = base64.b64encode(ca_pem).decode()

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.endpoint = endpoint
        self.certificate_authority = {"data": ca_data}
        self.status = statuses.get(self.name, self.status)

    models.Cluster.__init__ = init  # type: ignore[method-assign]


def seed(base_url: str) -> dict[str, Any]:
    """Create the clusters, node groups, instances and volume through moto's own API; what was made."""
    import boto3

    from . import ports

    def client(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=base_url, aws_access_key_id="testbed",
                            aws_secret_access_key="testbed")

    out: dict[str, Any] = {"clusters": [], "instances": [], "volume": None}
    ec2 = client("ec2", ports.EKS_REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:3]
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for name, region in ((ports.EKS_CLUSTER, ports.EKS_REGION), (ports.EKS_CLUSTER_2, ports.EKS_REGION_2)):
        eks = client("eks", region)
        sub = subnets if region == ports.EKS_REGION else [
            s["SubnetId"] for s in client("ec2", region).describe_subnets()["Subnets"]][:3]
        eks.create_cluster(name=name, version=EKS_VERSION, roleArn=CLUSTER_ROLE,
                           resourcesVpcConfig={"subnetIds": sub},
                           tags={"Environment": "dev" if region == ports.EKS_REGION else "staging",
                                 "Project": "EcoTrack"})
        out["clusters"].append({"name": name, "region": region})
        if region != ports.EKS_REGION:
            continue
        for ng, capacity, size in (("ecotrack-ng", "ON_DEMAND", 3), ("ecotrack-spot", "SPOT", 1)):
            eks.create_nodegroup(clusterName=name, nodegroupName=ng, nodeRole=NODE_ROLE, subnets=sub,
                                 scalingConfig={"minSize": 1, "maxSize": size + 2, "desiredSize": size},
                                 instanceTypes=["m5.large"], amiType="AL2_x86_64", capacityType=capacity,
                                 version=EKS_VERSION, releaseVersion="1.31.0-20241024",
                                 labels={"eks.amazonaws.com/nodegroup": ng})
            tags = [{"Key": "eks:cluster-name", "Value": name}, {"Key": "eks:nodegroup-name", "Value": ng},
                    {"Key": "ecotui-testbed", "Value": "node"}]
            extra: dict[str, Any] = ({"InstanceMarketOptions": {"MarketType": "spot"}} if capacity == "SPOT"
                                     else {})
            resp = ec2.run_instances(ImageId=ami, InstanceType="m5.large", MinCount=size, MaxCount=size,
                                     Placement={"AvailabilityZone": f"{ports.EKS_REGION}a"},
                                     TagSpecifications=[{"ResourceType": "instance", "Tags": tags}], **extra)
            out["instances"] += [{"id": i["InstanceId"], "zone": i["Placement"]["AvailabilityZone"],
                                  "nodegroup": ng, "lifecycle": capacity.lower()} for i in resp["Instances"]]
    vol = ec2.create_volume(AvailabilityZone=f"{ports.EKS_REGION}a", Size=VOLUME_SIZE, VolumeType="gp3",
                            TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                {"Key": "Name", "Value": "ecotrack-orders-data"},
                                {"Key": "kubernetes.io/created-for/pvc/namespace", "Value": "ecotrack"}]}])
    out["volume"] = {"id": vol["VolumeId"], "zone": vol["AvailabilityZone"], "size": VOLUME_SIZE}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.motoserver")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state-dir", type=Path, required=True)
    ap.add_argument("--ca", type=Path, required=True, help="PEM of the CA the EKS clusters report")
    ap.add_argument("--endpoint", required=True, help="the EKS clusters' endpoint (the testbed API server)")
    a = ap.parse_args(argv)
    if not a.host.startswith("127.") or not a.endpoint.startswith("https://127."):
        print(f"motoserver: refusing {a.host} / {a.endpoint}: loopback only", file=sys.stderr)
        return 2
    for k in [k for k in os.environ if k.startswith("AWS_")]:   # moto's own boto3 calls: never a real profile
        del os.environ[k]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    import logging

    from moto.server import ThreadedMotoServer

    from . import ports

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one log line per request
    patch_eks(a.endpoint, a.ca.read_bytes(), {ports.EKS_CLUSTER_2: "CREATING"})
    seed_file(a.state_dir).unlink(missing_ok=True)
    server = ThreadedMotoServer(ip_address=a.host, port=a.port, verbose=False)
    try:
        server.start()
    except OSError as exc:
        print(f"motoserver: cannot listen on {a.host}:{a.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"motoserver listening on http://{a.host}:{a.port}", flush=True)
    made = seed(f"http://{a.host}:{a.port}")
    tmp = seed_file(a.state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **made}, indent=1))
    tmp.replace(seed_file(a.state_dir))
    print(f"motoserver seeded: {json.dumps(made)}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
