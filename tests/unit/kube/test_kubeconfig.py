"""Kubeconfig loading: kubectl's merge rules, path resolution, *-data fields, and one-line errors."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import yaml

from ecotui.errors import KubeconfigError
from ecotui.kube.kubeconfig import ContextInfo, load_kubeconfig


def _write(path: Path, doc: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _doc(ctx: str, cluster: str, server: str, user: str, user_body: dict | None = None,
         current: str | None = None, ns: str | None = None) -> dict:
    c = {"cluster": cluster, "user": user, **({"namespace": ns} if ns else {})}
    d = {"clusters": [{"name": cluster, "cluster": {"server": server}}],
         "users": [{"name": user, "user": user_body or {"token": "x"}}],
         "contexts": [{"name": ctx, "context": c}]}
    if current:
        d["current-context"] = current
    return d


def _one_line(e: KubeconfigError) -> str:
    assert "\n" not in e.message
    assert "Traceback" not in str(e)
    return e.message


def test_kubeconfig_colon_list_merges_first_wins(tmp_path, monkeypatch):
    a = _write(tmp_path / "a" / "config", {
        **_doc("ctx-a", "shared", "https://a.example:6443", "ua", {"client-certificate": "certs/a.crt",
                                                                    "client-key": "certs/a.key"},
               current="ctx-a", ns="team-a")})
    b_doc = _doc("ctx-b", "shared", "https://b.example:6443", "ub", {"tokenFile": "tok"}, current="ctx-b")
    b_doc["clusters"].append({"name": "only-b", "cluster": {"server": "https://only-b:443"}})
    b_doc["contexts"].append({"name": "ctx-a", "context": {"cluster": "only-b", "user": "ub"}})  # loses to a's
    b = _write(tmp_path / "b" / "config", b_doc)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([a, str(tmp_path / "missing"), b]))
    kc = load_kubeconfig()
    assert kc.source.startswith("KUBECONFIG=")
    assert [c.name for c in kc.contexts] == ["ctx-a", "ctx-b"]
    assert kc.current_context == "ctx-a"  # first file that sets it
    assert kc.context() == ContextInfo("ctx-a", "shared", "ua", "team-a")
    assert kc.context("ctx-b").namespace is None
    assert kc.clusters["shared"]["server"] == "https://a.example:6443"  # first definition wins
    assert "only-b" in kc.clusters
    # relative paths are resolved against the file that names them
    assert kc.users["ua"]["client-certificate"] == str(tmp_path / "a" / "certs" / "a.crt")
    assert kc.users["ub"]["tokenFile"] == str(tmp_path / "b" / "tok")


def test_default_path_is_home_kube_config(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeconfigError) as ei:
        load_kubeconfig()
    assert _one_line(ei.value) == f"kubeconfig {tmp_path}/.kube/config does not exist"
    _write(tmp_path / ".kube" / "config", _doc("home", "c", "https://h:6443", "u", current="home"))
    kc = load_kubeconfig()
    assert kc.source == f"{tmp_path}/.kube/config" and kc.context().name == "home"


def test_data_fields_and_files_are_read_by_resolve(tmp_path):
    ca = b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
    (tmp_path / "client.key").write_bytes(b"KEY")
    doc = _doc("c", "k", "127.0.0.1:6443", "u", {
        "client-certificate-data": base64.b64encode(b"CERT").decode(), "client-key": "client.key"}, current="c")
    doc["clusters"][0]["cluster"].update({"certificate-authority-data": base64.b64encode(ca).decode(),
                                          "certificate-authority": "/nonexistent/ignored-when-data-set",
                                          "tls-server-name": "kubernetes.internal"})
    r = load_kubeconfig(_write(tmp_path / "config", doc)).resolve()
    assert r.cluster.server == "https://127.0.0.1:6443"
    assert r.cluster.ca_pem == ca and r.cluster.tls_server_name == "kubernetes.internal"
    assert r.user.cert_pem == b"CERT" and r.user.key_pem == b"KEY" and r.user.token is None


def test_exec_block_is_parsed_and_relative_command_resolved(tmp_path):
    doc = _doc("c", "k", "https://k:6443", "u", {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "./bin/plugin", "args": ["a", "b"],
        "env": [{"name": "X", "value": "1"}], "installHint": "install it\nplease", "provideClusterInfo": True}},
        current="c")
    r = load_kubeconfig(_write(tmp_path / "config", doc)).resolve()
    ex = r.user.exec
    assert ex is not None and ex.command == str(tmp_path / "bin" / "plugin")
    assert ex.args == ("a", "b") and ex.env == (("X", "1"),) and ex.provide_cluster_info
    assert ex.interactive_mode == "IfAvailable"


@pytest.mark.parametrize("setup, expected", [
    (lambda p: str(p / "nope.yaml"), "kubeconfig {p}/nope.yaml does not exist"),
    (lambda p: _raw(p, "clusters: [\n  - name: x\n  bad"), "kubeconfig {p}/config is not valid YAML at line"),
    (lambda p: _raw(p, "- just\n- a list\n"), "kubeconfig {p}/config is not a YAML mapping"),
    (lambda p: _raw(p, "apiVersion: v1\nkind: Config\n"), "{p}/config defines no contexts"),
    (lambda p: _raw(p, "contexts: {a: b}\n"), "kubeconfig {p}/config: 'contexts' must be a list"),
    (lambda p: _raw(p, "contexts:\n- context: {cluster: c}\n"), "kubeconfig {p}/config: contexts[0] has no name"),
])
def test_broken_files_give_one_line(tmp_path, setup, expected):
    path = setup(tmp_path)
    with pytest.raises(KubeconfigError) as ei:
        load_kubeconfig(path)
    assert _one_line(ei.value).startswith(expected.format(p=tmp_path))


def _raw(p: Path, text: str) -> str:
    (p / "config").write_text(text)
    return str(p / "config")


def test_unreadable_file_gives_one_line(tmp_path):
    if os.geteuid() == 0:
        d = tmp_path / "dir-not-file"
        d.mkdir()
        path = str(d)  # reading a directory fails even for root
    else:
        path = _raw(tmp_path, "x: 1")
        os.chmod(path, 0)
    with pytest.raises(KubeconfigError) as ei:
        load_kubeconfig(path)
    assert _one_line(ei.value).startswith(f"cannot read kubeconfig {path}: ")


def test_all_kubeconfig_entries_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/a:{tmp_path}/b")
    with pytest.raises(KubeconfigError) as ei:
        load_kubeconfig()
    assert _one_line(ei.value) == (f"no kubeconfig found: none of the files in KUBECONFIG={tmp_path}/a:{tmp_path}/b "
                                   "exist")


def test_context_errors(tmp_path):
    doc = _doc("good", "c", "https://c:6443", "u")
    doc["contexts"] += [{"name": "no-cluster", "context": {"cluster": "ghost", "user": "u"}},
                        {"name": "no-user", "context": {"cluster": "c", "user": "phantom"}}]
    kc = load_kubeconfig(_write(tmp_path / "config", doc))
    with pytest.raises(KubeconfigError) as ei:
        kc.context()
    assert _one_line(ei.value) == f"{tmp_path}/config sets no current-context"
    with pytest.raises(KubeconfigError) as ei:
        kc.context("prod")
    assert _one_line(ei.value) == (f"context 'prod' not found in {tmp_path}/config; known contexts: "
                                   "good, no-cluster, no-user")
    with pytest.raises(KubeconfigError) as ei:
        kc.resolve("no-cluster")
    assert _one_line(ei.value) == (f"context 'no-cluster' names cluster 'ghost', which is not defined in "
                                   f"{tmp_path}/config")
    with pytest.raises(KubeconfigError) as ei:
        kc.context("no-user")
    assert "names user 'phantom', which is not defined" in _one_line(ei.value)
    assert kc.resolve("good").cluster.server == "https://c:6443"


@pytest.mark.parametrize("user, cluster, expected", [
    ({"client-certificate": "missing.crt", "client-key": "k"}, {},
     "user 'u': cannot read client-certificate {p}/missing.crt: No such file or directory"),
    ({"token": "t"}, {"certificate-authority": "/nonexistent/ca.crt"},
     "cluster 'c': cannot read certificate-authority /nonexistent/ca.crt: No such file or directory"),
    ({"token": "t"}, {"certificate-authority-data": "%%%not base64%%%"},
     "cluster 'c': certificate-authority-data is not valid base64"),
    ({"token": "t", "username": "a", "password": "b"}, {},
     "user 'u' sets both a token and username/password; only one is allowed"),
    ({"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1alpha1"}}, {},
     "user 'u': exec apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported"),
    ({"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1"}}, {},
     "user 'u': exec interactiveMode is required with client.authentication.k8s.io/v1"),
    ({"auth-provider": {"name": "gcp"}}, {}, "user 'u' uses auth-provider 'gcp', which ecotui does not support"),
    ({"token": "t"}, {"server": ""}, "cluster 'c' has no server URL"),
])
def test_resolve_errors(tmp_path, user, cluster, expected):
    doc = _doc("x", "c", "https://c:6443", "u", user, current="x")
    doc["clusters"][0]["cluster"].update(cluster)
    kc = load_kubeconfig(_write(tmp_path / "config", doc))
    with pytest.raises(KubeconfigError) as ei:
        kc.resolve()
    assert _one_line(ei.value) == expected.format(p=tmp_path)
