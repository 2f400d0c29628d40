"""Small helpers the testbed uses to talk to its own API server (kubectl and raw HTTPS)."""
from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import httpx

from . import paths, ports, versions
from .components import admin_ssl


def kubectl(*args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, KUBECONFIG=str(paths.component_kubeconfig()))
    p = subprocess.run([str(versions.bin_dir() / "kubectl"), *args], input=input, capture_output=True, text=True,
                       env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {p.stderr.strip() or p.stdout.strip()}")
    return p


def manifest_stream(objs: list[dict]) -> str:
    """Objects as a `kubectl apply -f -` stream of JSON documents. Not PyYAML: it leaves a string such as
    1e234 unquoted (a YAML 1.1 float needs a dot) and kubectl's YAML 1.2 reader then sees a number."""
    return "\n---\n".join(json.dumps(o) for o in objs) + "\n"


def apply(objs: list[dict]) -> None:
    kubectl("apply", "-f", "-", input=manifest_stream(objs))


def client(timeout: float = 30) -> httpx.Client:
    return httpx.Client(base_url=f"https://{ports.HOST}:{ports.APISERVER}", verify=admin_ssl(paths.pki_dir()),
                        timeout=timeout)


def get_json(path: str, **params: Any) -> dict:
    with client() as c:
        r = c.get(path, params=params)
        r.raise_for_status()
        return r.json()


def patch(path: str, body: dict, kind: str = "merge") -> dict:
    ctype = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json",
             "json": "application/json-patch+json"}[kind]
    with client() as c:
        r = c.patch(path, content=json.dumps(body), headers={"Content-Type": ctype})
        r.raise_for_status()
        return r.json()
