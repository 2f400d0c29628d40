"""Load kubeconfig files the way kubectl does, with one clear error line for every problem.

Why pyyaml and not `kubernetes.config.kube_config`: we only need to *read* the file, and doing it ourselves is
shorter than adapting the official loader. That loader raises multi-line `ConfigException`s, writes every
`*-data` field to temp files that live until exit, and runs exec plugins synchronously at load time with the
terminal's stdin/stderr (unusable under Textual; see research/clients.md §1.4). Here the merge rules follow
client-go's `clientcmd` loading rules:

- `$KUBECONFIG` is a colon-separated list; files that do not exist are skipped; for clusters, users and
  contexts the first file that defines a name wins; the first file that sets `current-context` wins.
- Relative paths (certificate-authority, client-certificate, client-key, tokenFile, an exec command containing
  a path separator) are resolved against the directory of the file that names them. `~` is expanded too.
- `*-data` fields are base64 and take precedence over the matching file field.

Nothing here does network I/O or runs plugins. `KubeConfig.resolve()` reads the certificate files of one
context, so an unreadable file is reported before the UI starts.
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import KubeconfigError

_HINT = "check the kubeconfig (kubectl config view) or pass --kubeconfig / --context"


@dataclass(frozen=True)
class ContextInfo:
    name: str
    cluster: str
    user: str
    namespace: str | None  # None when the context sets none


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    server: str
    ca_pem: bytes | None = None  # None = system trust store
    insecure: bool = False  # insecure-skip-tls-verify
    tls_server_name: str | None = None
    proxy_url: str | None = None


@dataclass(frozen=True)
class ExecConfig:
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"
    install_hint: str = ""
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"


@dataclass(frozen=True)
class UserInfo:
    name: str
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    exec: ExecConfig | None = None
    eks: Any = None   # ecotui.aws.execmatch.EksAuth: a native EKS token (config `eks:` or a discovered cluster)


@dataclass(frozen=True)
class ResolvedContext:
    """Everything needed to talk to the cluster of one context (certificate files already read)."""

    context: ContextInfo
    cluster: ClusterInfo
    user: UserInfo


@dataclass
class KubeConfig:
    source: str  # e.g. "/root/.kube/config" or "KUBECONFIG=a:b" (for messages)
    contexts: list[ContextInfo]
    current_context: str | None
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    users: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # in-memory additions (EKS clusters found by discovery: no kubeconfig entry) and `eks:` overrides per context
    added: dict[str, ResolvedContext] = field(default_factory=dict, repr=False)
    eks_overrides: dict[str, Any] = field(default_factory=dict, repr=False)

    def add_context(self, resolved: ResolvedContext) -> None:
        """Add (or replace) an in-memory context with its cluster and user; it is listed after the file's."""
        name = resolved.context.name
        if name not in self.added:
            self.contexts = [c for c in self.contexts if c.name != name] + [resolved.context]
        self.added[name] = resolved

    def set_eks(self, context: str, eks: Any) -> None:
        """Give a context's user a native EKS token (config `eks:`), replacing its own credentials."""
        self.eks_overrides[context] = eks

    def context(self, name: str | None = None) -> ContextInfo:
        """The named context (None = current-context); KubeconfigError if unknown or if it names a missing
        cluster or user."""
        if name is None:
            name = self.current_context
            if not name:
                raise KubeconfigError(f"{self.source} sets no current-context",
                                      f"pick one with --context ({_known(self.contexts)})")
        if name in self.added:
            return self.added[name].context
        for ctx in self.contexts:
            if ctx.name == name:
                break
        else:
            raise KubeconfigError(f"context {name!r} not found in {self.source}; known contexts: "
                                  f"{_known(self.contexts)}", _HINT)
        if ctx.cluster not in self.clusters:
            raise KubeconfigError(f"context {name!r} names cluster {ctx.cluster!r}, which is not defined in "
                                  f"{self.source}", _HINT)
        if ctx.user and ctx.user not in self.users:
            raise KubeconfigError(f"context {name!r} names user {ctx.user!r}, which is not defined in "
                                  f"{self.source}", _HINT)
        return ctx

    def resolve(self, name: str | None = None) -> ResolvedContext:
        ctx = self.context(name)
        if ctx.name in self.added:
            return self.added[ctx.name]
        user = _user(ctx.user, self.users.get(ctx.user, {}))
        eks = self.eks_overrides.get(ctx.name)
        if eks is not None:   # the native token replaces the user's own token/basic/exec (client certs stay)
            user = UserInfo(name=user.name or f"eks:{eks.cluster}", cert_pem=user.cert_pem, key_pem=user.key_pem,
                            eks=eks)
        return ResolvedContext(ctx, _cluster(ctx.cluster, self.clusters[ctx.cluster]), user)


def _known(contexts: list[ContextInfo]) -> str:
    return ", ".join(c.name for c in contexts) or "(none)"


def load_kubeconfig(path: str | None = None) -> KubeConfig:
    """Load `path`, else the merged `$KUBECONFIG` list, else ~/.kube/config. Raises KubeconfigError (one line)."""
    if path:
        files, source = [os.path.expanduser(path)], os.path.expanduser(path)
        explicit = True
    elif os.environ.get("KUBECONFIG", "").strip(os.pathsep):
        files = [os.path.expanduser(p) for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        source, explicit = f"KUBECONFIG={os.environ['KUBECONFIG']}", False
    else:
        default = os.path.join(os.path.expanduser("~"), ".kube", "config")
        files, source, explicit = [default], default, True
    kc = KubeConfig(source=source, contexts=[], current_context=None)
    seen_ctx: set[str] = set()
    found = 0
    for f in files:
        if not explicit and not os.path.exists(f):
            continue  # kubectl skips missing entries of $KUBECONFIG
        found += 1
        doc = _read_yaml(f)
        base = os.path.dirname(os.path.abspath(f))
        if kc.current_context is None and doc.get("current-context"):
            kc.current_context = str(doc["current-context"])
        for name, body in _named(doc, "clusters", "cluster", f):
            kc.clusters.setdefault(name, _resolve_paths(body, base, ("certificate-authority",)))
        for name, body in _named(doc, "users", "user", f):
            body = _resolve_paths(body, base, ("client-certificate", "client-key", "tokenFile"))
            ex = body.get("exec")
            if isinstance(ex, dict) and isinstance(ex.get("command"), str) and os.sep in ex["command"]:
                body = {**body, "exec": _resolve_paths(ex, base, ("command",))}
            kc.users.setdefault(name, body)
        for name, body in _named(doc, "contexts", "context", f):
            if name in seen_ctx:
                continue
            seen_ctx.add(name)
            ns = body.get("namespace")
            kc.contexts.append(ContextInfo(name, str(body.get("cluster") or ""), str(body.get("user") or ""),
                                           str(ns) if ns else None))
    if not found:
        raise KubeconfigError(f"no kubeconfig found: none of the files in {source} exist", _HINT)
    if not kc.contexts:
        raise KubeconfigError(f"{source} defines no contexts", _HINT)
    return kc


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise KubeconfigError(f"kubeconfig {path} does not exist", _HINT) from None
    except OSError as e:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {e.strerror or e}", _HINT) from None
    try:
        doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(e, "problem", None) or type(e).__name__
        raise KubeconfigError(f"kubeconfig {path} is not valid YAML{where}: {what}", _HINT) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a YAML mapping", _HINT)
    return doc


def _named(doc: dict[str, Any], section: str, inner: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    entries = doc.get(section) or []
    if not isinstance(entries, list):
        raise KubeconfigError(f"kubeconfig {path}: '{section}' must be a list", _HINT)
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise KubeconfigError(f"kubeconfig {path}: {section}[{i}] has no name", _HINT)
        body = entry.get(inner) or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"kubeconfig {path}: {section}[{i}] ({entry['name']}) has no '{inner}' mapping",
                                  _HINT)
        out.append((str(entry["name"]), body))
    return out


def _resolve_paths(body: dict[str, Any], base: str, keys: tuple[str, ...]) -> dict[str, Any]:
    out = dict(body)
    for k in keys:
        v = out.get(k)
        if isinstance(v, str) and v:
            v = os.path.expanduser(v)
            out[k] = os.path.normpath(v if os.path.isabs(v) else os.path.join(base, v))
    return out


def _data_or_file(body: dict[str, Any], key: str, what: str) -> bytes | None:
    data = body.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode("".join(str(data).split()), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"{what}: {key}-data is not valid base64", _HINT) from None
    path = body.get(key)
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise KubeconfigError(f"{what}: cannot read {key} {path}: {e.strerror or e}", _HINT) from None


def _cluster(name: str, body: dict[str, Any]) -> ClusterInfo:
    server = str(body.get("server") or "").strip()
    if not server:
        raise KubeconfigError(f"cluster {name!r} has no server URL", _HINT)
    if "://" not in server:
        server = "https://" + server
    insecure = bool(body.get("insecure-skip-tls-verify"))
    return ClusterInfo(
        name=name, server=server.rstrip("/"),
        ca_pem=None if insecure else _data_or_file(body, "certificate-authority", f"cluster {name!r}"),
        insecure=insecure, tls_server_name=body.get("tls-server-name") or None,
        proxy_url=body.get("proxy-url") or None)


def _user(name: str, body: dict[str, Any]) -> UserInfo:
    what = f"user {name!r}"
    token = body.get("token") or None
    token_file = body.get("tokenFile") or None
    basic = body.get("username") or body.get("password")
    if (token or token_file) and basic:
        raise KubeconfigError(f"{what} sets both a token and username/password; only one is allowed", _HINT)
    cert = _data_or_file(body, "client-certificate", what)
    key = _data_or_file(body, "client-key", what)
    if bool(cert) != bool(key):
        raise KubeconfigError(f"{what} sets a client certificate without a key (or a key without a certificate)",
                              _HINT)
    ex = body.get("exec")
    if ex is not None and body.get("auth-provider"):
        raise KubeconfigError(f"{what} sets both exec and auth-provider; only one is allowed", _HINT)
    provider = body.get("auth-provider")
    if provider and not token:
        cfg = provider.get("config") if isinstance(provider, dict) else None
        token = (cfg or {}).get("id-token") if isinstance(cfg, dict) else None
        if not token:
            pname = provider.get("name") if isinstance(provider, dict) else provider
            raise KubeconfigError(f"{what} uses auth-provider {pname!r}, which ecotui does not support",
                                  "switch the user to an exec credential plugin (e.g. kubelogin)")
    return UserInfo(name=name, token=str(token) if token else None, token_file=token_file,
                    username=str(body["username"]) if body.get("username") else None,
                    password=str(body["password"]) if body.get("password") else None,
                    cert_pem=cert, key_pem=key, exec=_exec(what, ex) if ex is not None else None)


def _exec(what: str, ex: Any) -> ExecConfig:
    if not isinstance(ex, dict) or not ex.get("command"):
        raise KubeconfigError(f"{what}: exec has no command", _HINT)
    env = []
    for item in ex.get("env") or []:
        if not isinstance(item, dict) or "name" not in item:
            raise KubeconfigError(f"{what}: exec env entries need a name and a value", _HINT)
        env.append((str(item["name"]), str(item.get("value") or "")))
    api = str(ex.get("apiVersion") or "")
    if api not in ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"):
        raise KubeconfigError(f"{what}: exec apiVersion {api or '(missing)'!r} is not supported",
                              "use client.authentication.k8s.io/v1 or v1beta1")
    mode = str(ex.get("interactiveMode") or ("IfAvailable" if api.endswith("v1beta1") else ""))
    if not mode:  # as in kubectl: required with v1
        raise KubeconfigError(f"{what}: exec interactiveMode is required with {api}",
                              "add interactiveMode: IfAvailable (or Never) to the exec block")
    if mode not in ("Never", "IfAvailable", "Always"):
        raise KubeconfigError(f"{what}: exec interactiveMode must be Never, IfAvailable or Always (got {mode!r})",
                              _HINT)
    return ExecConfig(command=str(ex["command"]), args=tuple(str(a) for a in ex.get("args") or ()),
                      env=tuple(env), api_version=api, install_hint=str(ex.get("installHint") or "").strip(),
                      provide_cluster_info=bool(ex.get("provideClusterInfo")), interactive_mode=mode)
