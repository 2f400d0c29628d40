"""The whole EKS path on the testbed, without AWS and without the aws CLI: boto3 credentials (profile `testbed`,
moto on 127.0.0.1:25000) → presigned-STS token → the API server → our webhook (testbed/eksauth.py) → moto's STS →
the mapped user → the cockpit.

- data level: ecotui's own token reaches /api/v1/nodes as the ARN in group ecotui:eks-admins; discovery through
  boto3 finds both seeded clusters (endpoint = the testbed's API server); an expired credential_process profile
  gives one line naming the profile; an EBS snapshot is created in moto and completes; the workspace's
  Prometheus client for an AMP context signs requests that botocore's SigV4 verifies on a loopback server;
- the app (pilot): with KUBECONFIG holding no entry for the cluster, ctrl+k discovers it, enter connects, the
  nodes show, the node describe of a node whose providerID is a moto instance shows that instance's EC2 details;
  `b` on a PVC bound to a PV of a moto EBS volume creates the snapshot (completed in moto) and journals it.

Every AWS call goes to moto on 127.0.0.1 (AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE are the testbed's, HOME is
a temporary directory so ~/.aws is never read, IMDS is off) and PATH holds no `aws`.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from testbed import awsconfig, motoserver, ports

pytestmark = pytest.mark.e2e
DEV, WEST = ports.EKS_CLUSTER, ports.EKS_CLUSTER_2
DEV_CONTEXT = f"eks:{ports.AWS_PROFILE}/{ports.EKS_REGION}/{DEV}"


def _path_without_aws(extra: Path) -> str:
    dirs = [str(extra)] + [d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not os.access(os.path.join(d, "aws"), os.X_OK)]
    return os.pathsep.join(dirs)


@pytest.fixture
def aws_env(testbed, tmp_path, monkeypatch) -> dict[str, Any]:
    """The testbed's AWS and nothing else; D's session/client caches fresh; the moto seed (ids) returned."""
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in awsconfig.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_PROFILE", ports.AWS_PROFILE)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", _path_without_aws(testbed.bin_dir))
    assert shutil.which("aws") is None
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig_without_the_cluster(testbed, tmp_path)))
    from ecotui.aws import session
    for cache in ("_sessions", "_clients", "_cred_locks"):
        if hasattr(session, cache):
            monkeypatch.setattr(session, cache, {})
    seed = motoserver.read_seed(testbed.state_dir)
    assert seed, "moto is not seeded (python3 -m testbed up)"
    return seed


def _api(tb, token: str) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(tb.state_dir / "pki" / "ca.crt"))
    return httpx.Client(base_url=f"https://{ports.HOST}:{ports.APISERVER}", verify=ctx, trust_env=False, timeout=20,
                        headers={"Authorization": f"Bearer {token}"})


# ---- data level ---------------------------------------------------------------------------------------------

def test_ecotuis_own_eks_token_reaches_the_api_server_as_the_mapped_user(aws_env, testbed):
    from ecotui.aws.token import EksTokenSource, decode_token
    src = EksTokenSource(DEV, ports.EKS_REGION, ports.AWS_PROFILE)
    token, expires = asyncio.run(src.token())
    assert token.startswith("k8s-aws-v1.") and expires - time.time() > 13 * 60
    assert decode_token(token).startswith(f"http://{ports.HOST}:{ports.MOTO}/?Action=GetCallerIdentity")
    with _api(testbed, token) as c:
        r = c.get("/api/v1/nodes")
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) >= 12
        me = c.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                    json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).json()
    user = me["status"]["userInfo"]
    assert user["username"].startswith("arn:aws:") and "ecotui:eks-admins" in user["groups"]
    assert user["extra"]["accessKeyId"] == [awsconfig.ACCESS_KEY]
    with _api(testbed, "k8s-aws-v1." + token[len("k8s-aws-v1."):][:-8]) as c:   # a damaged token: 401, not 500
        assert c.get("/api/v1/nodes").status_code == 401


def test_discovery_finds_both_clusters_through_boto3_and_an_expired_profile_is_one_line(aws_env):
    from ecotui.aws.discovery import discover
    clusters, problems = asyncio.run(discover([ports.AWS_PROFILE], [ports.EKS_REGION, ports.EKS_REGION_2]))
    assert problems == []
    got = {(c.name, c.region): c for c in clusters}
    assert set(got) == {(DEV, ports.EKS_REGION), (WEST, ports.EKS_REGION_2)}
    dev = got[(DEV, ports.EKS_REGION)]
    assert dev.endpoint == f"https://{ports.HOST}:{ports.APISERVER}" and dev.status == "ACTIVE"
    assert dev.version == motoserver.EKS_VERSION and dev.ca_data
    assert got[(WEST, ports.EKS_REGION_2)].status == "CREATING"

    expired = f"{ports.AWS_PROFILE}-expired"
    clusters, problems = asyncio.run(discover([expired], [ports.EKS_REGION, ports.EKS_REGION_2]))
    assert clusters == [] and len(problems) == 1, problems
    (line,) = problems
    assert "\n" not in line and expired in line and "expired" in line.lower(), line

    from ecotui.aws.errors import AwsError
    from ecotui.aws.token import EksTokenSource
    with pytest.raises(AwsError) as err:
        EksTokenSource(DEV, ports.EKS_REGION, expired).make()
    assert expired in err.value.message and "\n" not in err.value.message


def test_an_sso_profile_without_a_session_says_run_aws_sso_login(aws_env):
    from ecotui.aws.discovery import discover
    sso = f"{ports.AWS_PROFILE}-sso"
    clusters, problems = asyncio.run(discover([sso], [ports.EKS_REGION]))
    assert clusters == [] and len(problems) == 1, problems
    assert f"aws sso login --profile {sso}" in problems[0], problems[0]


def test_a_snapshot_of_the_seeded_volume_completes_in_moto(aws_env):
    from ecotui.aws import ebs, session
    from ecotui.errors import EcotuiError
    from ecotui.kube.writegate import WriteGate
    vol = aws_env["volume"]["id"]
    plan = asyncio.run(ebs.plan_snapshot(vol, region=ports.EKS_REGION, profile=ports.AWS_PROFILE, pvc="x/y"))
    assert plan.size_gib == motoserver.VOLUME_SIZE and plan.zone == f"{ports.EKS_REGION}a"
    with pytest.raises(EcotuiError):   # read-only: refused before any request
        asyncio.run(ebs.create_snapshot(plan, WriteGate("ro", readonly=True), poll_s=0.1))
    seen: list[Any] = []
    res = asyncio.run(ebs.create_snapshot(plan, WriteGate(DEV_CONTEXT), seen.append, poll_s=0.2, timeout_s=30))
    assert res.ok and res.snapshot_id.startswith("snap-") and seen
    ec2 = session.client("ec2", ports.AWS_PROFILE, ports.EKS_REGION)
    (snap,) = ec2.describe_snapshots(SnapshotIds=[res.snapshot_id])["Snapshots"]
    assert snap["State"] == "completed" and snap["VolumeId"] == vol
    assert snap["Description"].startswith("EcoTrack backup ")


class _SigV4Checker(BaseHTTPRequestHandler):
    """A Prometheus look-alike that answers only requests whose SigV4 signature botocore itself computes the same
    from the testbed's credentials (the headers the request says it signed, its X-Amz-Date)."""
    seen: list[dict[str, Any]] = []

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer(b"")

    def do_POST(self) -> None:  # noqa: N802
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _answer(self, body_in: bytes) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        auth = self.headers.get("Authorization", "")
        fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(",")) if " " in auth else {}
        signed = fields.get("SignedHeaders", "").split(";")
        cred = fields.get("Credential", "").split("/")
        ok = False
        if len(cred) == 5 and cred[3] == "aps" and cred[0] == awsconfig.ACCESS_KEY:
            req = AWSRequest(method=self.command, url=f"http://{self.headers['Host']}{self.path}", data=body_in,
                             headers={h: self.headers[h] for h in signed if h in self.headers})
            signer = SigV4Auth(Credentials(awsconfig.ACCESS_KEY, awsconfig.SECRET_KEY), "aps", cred[2])
            req.context["timestamp"] = self.headers.get("X-Amz-Date", "")
            want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
            ok = want == fields.get("Signature") and "x-amz-date" in signed and "host" in signed
        self.seen.append({"ok": ok, "region": cred[2] if len(cred) == 5 else "", "path": self.path,
                          "method": self.command, "signed": signed})
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "amp"}, "value": [time.time(), "1"]}]}} if ok else
            {"status": "error", "errorType": "auth", "error": "signature does not match"}).encode()
        self.send_response(200 if ok else 403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_workspaces_amp_prometheus_client_signs_what_botocore_verifies(aws_env, testbed, tmp_path):
    from ecotui.config import load_config
    from ecotui.kube.kubeconfig import load_kubeconfig
    from ecotui.workspace import WorkspaceFactory
    srv = ThreadingHTTPServer((ports.HOST, 0), _SigV4Checker)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _SigV4Checker.seen = []
    try:
        cfg = tmp_path / "ecotui.yaml"
        cfg.write_text(yaml.safe_dump({"contexts": {testbed.context: {
            "prometheus_url": f"http://{ports.HOST}:{srv.server_port}/workspaces/ws-e2e",
            "prometheus_aws_region": ports.EKS_REGION, "prometheus_aws_profile": ports.AWS_PROFILE}}}))
        factory = WorkspaceFactory(load_kubeconfig(str(testbed.kubeconfig)), load_config(str(cfg)),
                                   first_context=testbed.context)
        ws = factory.build(testbed.context)
        prom = ws.prometheus
        assert prom is not None

        async def ask() -> Any:
            async with prom:
                return await prom.query('up{job="amp"}')
        res = asyncio.run(ask())
        assert _SigV4Checker.seen and all(s["ok"] for s in _SigV4Checker.seen), _SigV4Checker.seen
        assert _SigV4Checker.seen[0]["region"] == ports.EKS_REGION
        assert _SigV4Checker.seen[0]["path"].startswith("/workspaces/ws-e2e/api/v1/query")
        assert res is not None
    finally:
        srv.shutdown()
        srv.server_close()


# ---- the app: discover → connect → nodes → EC2 describe → snapshot, with no kubeconfig entry and no aws CLI ---

def _node(name: str, instance: dict[str, Any]) -> dict[str, Any]:
    from e2e_objects import node_manifest
    n = node_manifest(name, "eks-e2e")
    n["spec"]["providerID"] = f"aws:///{instance['zone']}/{instance['id']}"
    n["metadata"]["labels"].update({"eks.amazonaws.com/nodegroup": instance["nodegroup"],
                                    "node.kubernetes.io/instance-type": "m5.large",
                                    "topology.kubernetes.io/zone": instance["zone"]})
    return n


def _volume_objects(ns: str, rid: str, volume: dict[str, Any]) -> list[dict[str, Any]]:
    pv, pvc = f"eks-e2e-{rid}-pv", "orders-data"
    return [
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
         "spec": {"capacity": {"storage": f"{volume['size']}Gi"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                  "claimRef": {"namespace": ns, "name": pvc},
                  "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": volume["id"], "fsType": "ext4"},
                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                      {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [volume["zone"]]}]}]}}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": pvc, "namespace": ns},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": pv,
                  "resources": {"requests": {"storage": f"{volume['size']}Gi"}}}},
    ]


def _kubeconfig_without_the_cluster(tb, tmp_path: Path) -> Path:
    """The testbed's kubeconfig as it is: one unrelated context (ecotui-testbed), no entry for any EKS cluster."""
    kc = yaml.safe_load(tb.kubeconfig.read_text())
    assert [c["name"] for c in kc["contexts"]] == [tb.context]
    assert not any("eks" in json.dumps(u) or "exec" in u.get("user", {}) for u in kc["users"])
    out = tmp_path / "kubeconfig"
    out.write_text(yaml.safe_dump(kc))
    return out


def _app(tb, tmp_path: Path, profiles: list[str]):
    from ecotui.config import load_config
    from ecotui.keymap import load_keymap
    from ecotui.kube.kubeconfig import load_kubeconfig
    from ecotui.ui.app import EcotuiApp
    from ecotui.workspace import WorkspaceFactory
    cfg = yaml.safe_load(tb.ecotui_config.read_text())
    cfg["aws"] = {"profiles": profiles, "regions": [ports.EKS_REGION, ports.EKS_REGION_2]}
    (tmp_path / "ecotui.yaml").write_text(yaml.safe_dump(cfg))
    keymap, problems = load_keymap()
    assert not problems
    factory = WorkspaceFactory(load_kubeconfig(os.environ["KUBECONFIG"]),
                               load_config(str(tmp_path / "ecotui.yaml")), first_context=tb.context,
                               all_namespaces=True)
    assert not any(c.startswith("eks:") for c in factory.contexts)
    app = EcotuiApp(factory.build(tb.context), keymap=keymap, workspace_factory=factory.build,
                    contexts=factory.contexts)
    return app, keymap


def _header(app) -> str:
    return app.screen.query_one("#header").plain if app.screen.query("#header") else ""


async def test_discover_connect_nodes_ec2_describe_and_snapshot_without_kubeconfig_entry_or_aws_cli(
        aws_env, testbed, tmp_path):
    from e2e_app import wait
    from ecotui.aws import session
    from ecotui.ui.screens.clusters import ClustersScreen
    from ecotui.ui.screens.confirm import ConfirmScreen
    from ecotui.ui.screens.kind_view import KindScreen
    from ecotui.ui.screens.text_view import DescribeScreen
    from e2e_objects import apply
    rid = uuid.uuid4().hex[:6]
    ns = f"eks-e2e-{rid}"
    spot = next(i for i in aws_env["instances"] if i["lifecycle"] == "spot")
    od = next(i for i in aws_env["instances"] if i["lifecycle"] == "on_demand")
    nodes = {f"eks-e2e-{rid}-spot": spot, f"eks-e2e-{rid}-od": od}
    testbed.create_namespace(ns)
    try:
        apply(testbed, [_node(n, i) for n, i in nodes.items()] + _volume_objects(ns, rid, aws_env["volume"]))
        app, keymap = _app(testbed, tmp_path, [ports.AWS_PROFILE])
        k = lambda a: keymap.keys_for(a)[0]  # noqa: E731
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: "live" in _header(app), 30, "the unrelated first context live")
            await pilot.press(k("clusters"))
            screen = await wait(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen, 5, "clusters")
            await wait(pilot, lambda: screen.runs >= 1 and not screen.discovering, 60, "discovery done")
            assert screen.problems == [], screen.problems
            assert set(screen.table.keys) == {DEV_CONTEXT, f"eks:{ports.AWS_PROFILE}/{ports.EKS_REGION_2}/{WEST}"}
            assert screen.table.move_to_key(DEV_CONTEXT)
            await pilot.press("enter")
            await wait(pilot, lambda: app.session.context == DEV_CONTEXT and "live" in _header(app), 30,
                       f"connected to {DEV_CONTEXT}")
            assert DEV_CONTEXT in app.contexts and DEV_CONTEXT in _header(app)
            nodes_table = app.cockpit.tables["nodes"]
            await wait(pilot, lambda: set(nodes) <= set(nodes_table.keys), 30, "our EC2-backed nodes listed")
            assert len(nodes_table.keys) >= 12 + len(nodes)

            # the node describe shows what moto says about the spot instance
            ec2 = session.client("ec2", ports.AWS_PROFILE, ports.EKS_REGION)
            (inst,) = [i for r in ec2.describe_instances(InstanceIds=[spot["id"]])["Reservations"]
                       for i in r["Instances"]]
            await pilot.press("1")
            assert nodes_table.move_to_key(f"eks-e2e-{rid}-spot")
            await pilot.press(k("describe"))
            d = await wait(pilot, lambda: isinstance(app.screen, DescribeScreen) and "EC2:" in app.screen.text
                           and app.screen, 30, "the EC2 section")
            text = d.text
            for want in (spot["id"], inst["InstanceType"], inst["Placement"]["AvailabilityZone"], "spot",
                         inst["State"]["Name"]):
                assert want in text.split("EC2:", 1)[1], f"{want!r} not in the EC2 section:\n{text}"
            await pilot.press("escape")

            # b on the PVC: the snapshot is created in moto, followed to completed, and journaled
            await pilot.press("colon", *"pvc", "enter")
            view = await wait(pilot, lambda: isinstance(app.screen, KindScreen) and app.screen, 10, "pvc view")
            await wait(pilot, lambda: f"{ns}/orders-data" in view.table.keys, 30, "our PVC listed")
            assert view.table.move_to_key(f"{ns}/orders-data")
            await pilot.press(k("snapshot_volume"))
            dialog = await wait(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, 30,
                                "snapshot confirmation")
            shown = "\n".join(dialog.preview.lines)
            assert aws_env["volume"]["id"] in shown and "EcoTrack backup" in shown, shown
            assert dialog.context == DEV_CONTEXT and dialog.namespace == ns
            await pilot.press(k("confirm"))
            done = await wait(pilot, lambda: [e for e in app.journal.read() if e.get("action") == "snapshot_volume"
                                              and e.get("event") in ("done", "failed")], 60,
                              "journal: snapshot done")
        entries = [e for e in app.journal.read() if e.get("action") == "snapshot_volume"]
        assert done and done[-1].get("event") == "done", entries
        assert done[-1]["context"] == DEV_CONTEXT and done[-1]["namespace"] == ns
        assert done[-1]["user"].startswith("arn:aws:"), done[-1]   # the API server knew us by our STS identity
        snaps = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [aws_env["volume"]["id"]]}])
        ids = {s["SnapshotId"]: s for s in snaps["Snapshots"]}
        sid = next(s for s in ids if s in json.dumps(done[-1]))
        assert ids[sid]["State"] == "completed" and ids[sid]["Description"].startswith("EcoTrack backup ")
        assert [e.get("event") for e in entries][-2:] == ["requested", "done"], entries
    finally:
        testbed.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        for n in [*nodes, f"eks-e2e-{rid}-pv"]:
            kind = "pv" if n.endswith("-pv") else "node"
            testbed.kubectl("delete", kind, n, "--wait=false", check=False)


async def test_an_expired_profile_in_the_clusters_screen_is_one_line(aws_env, testbed, tmp_path):
    from e2e_app import wait
    from ecotui.ui.screens.clusters import ClustersScreen
    expired = f"{ports.AWS_PROFILE}-expired"
    app, keymap = _app(testbed, tmp_path, [expired])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait(pilot, lambda: "live" in _header(app), 30, "live")
        await pilot.press(keymap.keys_for("clusters")[0])
        screen = await wait(pilot, lambda: isinstance(app.screen, ClustersScreen) and app.screen, 5, "clusters")
        await wait(pilot, lambda: screen.runs >= 1 and not screen.discovering, 60, "discovery done")
        assert screen.table.keys == [] or not list(screen.table.keys)
        assert len(screen.problems) == 1, screen.problems
        line = screen.problems[0]
        assert expired in line and "expired" in line.lower() and "\n" not in line, line
        shown = str(screen.query_one("#clusters-problems").render())
        assert expired in shown
