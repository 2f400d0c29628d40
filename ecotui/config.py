"""User configuration (``~/.config/ecotui/config.yaml``).

Format::

    theme: dark
    keymap: ~/.config/ecotui/keymap.yaml     # relative paths are relative to this file
    readonly: false
    critical_contexts: "prod|live"          # regex; matching contexts confirm in red and ask to type the name
    journal: ~/.local/state/ecotui/journal.jsonl   # the action journal (default: $XDG_STATE_HOME/ecotui/)
    log_buffer_lines: 100000                 # lines a log view keeps (older ones are dropped, counted)
    metrics:                                 # key-metric panels for every context (ecotui.metrics.panels):
      preset: runbook                        #   runbook | micrometer; namespace, services, service_label,
      window: 5m                             #   window, refresh_s, range_minutes, panels, services_overrides
    incident:                                # incident mode (ecotui.incident.settings): policy (team overrides
      policy: incident-policy.yaml           #   of the runbook's), bell, updates_file, export_dir, state_dir
    aws:                                     # EKS discovery [clusters]: the profiles x regions searched
      profiles: [oncall]                     #   (default: AWS_PROFILE / the default chain)
      regions: [us-east-1, eu-west-1]        #   (default: each profile's own region)
      node_columns_ec2: true                 # nodes pane: LIFE (spot/od), EC2 (checks, events) on AWS contexts
    contexts:
      ecotui-testbed:
        namespace: ecotrack
        readonly: false
        prometheus_url: http://127.0.0.1:29090
        prometheus_token_file: ~/.config/ecotui/prom-token   # bearer (or prometheus_user + prometheus_password_file)
        prometheus_headers: {X-Scope-OrgID: ecotrack}       # extra headers on every Prometheus request
        metrics: {...}                 # key-metric panels of this context (ecotui.metrics.panels)
        loki_url: http://127.0.0.1:23100   # or an in-cluster Service, reached through a managed port-forward:
                                           #   loki_url: observability/loki-query-frontend:3100
        loki_tenant: ecotrack          # X-Scope-OrgID (multi-tenant Loki)
        loki_token_file: ~/.config/ecotui/loki-token   # bearer token (or loki_user + loki_password_file)
        aws_profile: oncall            # EKS: the AWS profile, region and cluster name of this context
        aws_region: us-east-1
        eks_cluster: ecotrack-prod
        eks:                           # EKS: make the token natively with botocore (no aws CLI): replaces the
          cluster: ecotrack-prod       #   kubeconfig user's credentials; region/profile/role_arn optional
          region: us-east-1
          profile: oncall
          role_arn: arn:aws:iam::123456789012:role/oncall
        prometheus_aws_region: us-east-1   # the Prometheus is Amazon Managed Prometheus: requests signed with
        prometheus_aws_profile: oncall     #   SigV4 (service aps) with this profile's credentials
        critical: false                # overrides critical_contexts for this context
        forwards:                      # port-forward presets (default: the runbook's grafana 3000, prometheus-server
          - name: grafana              #   9090, loki-query-frontend 3100, tempo-query-frontend 3200, on demand)
            target: observability/svc/grafana
            port: 80                   # the Service's port (name or number)
            local_port: 3000           # 0 = a free one
            start: launch              # or on-demand (the default)
        health:                        # the health grid (defaults: the runbook's five services)
          path: /actuator/health
          namespace: ecotrack
          services: [user-service, product-service, order-service, payment-service, notification-service]
          port: http                   # the Service port the health forwards go to
        checks:                        # one-shot checks [run_check] (default: the runbook's psql and redis-cli)
          - name: postgres
            namespace: ecotrack
            target: sts/postgres-primary      # a pod name, or sts/ deploy/ svc/ NAME (a ready pod of it)
            container: postgres               # optional
            command: [psql, -U, ecotrack, -d, ecotrack, -c, "SELECT 1;"]

A missing file at the default location means defaults. An explicitly given file that is missing,
broken YAML, an unknown key or a wrong type raises ``EcotuiError`` with one line naming the file.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecotui.errors import EcotuiError
from ecotui.forward.presets import DEFAULT_PRESETS, Preset, parse_presets, parse_service_ref
from ecotui.health.settings import HealthSettings, parse_health
from ecotui.incident.settings import IncidentSettings, parse_incident

_TOP_KEYS = ("theme", "keymap", "readonly", "critical_contexts", "journal", "log_buffer_lines", "metrics", "contexts", "aws",
             "incident")
_CTX_KEYS = ("namespace", "readonly", "prometheus_url", "loki_url", "aws_profile", "aws_region", "eks_cluster",
             "critical", "loki_tenant", "loki_token_file", "loki_user", "loki_password_file",
             "prometheus_token_file", "prometheus_user", "prometheus_password_file", "prometheus_headers", "metrics",
             "forwards", "health", "checks",
             "eks", "prometheus_aws_region", "prometheus_aws_profile")


@dataclass(frozen=True)
class EksConfig:
    """A context's `eks:`: the EKS cluster whose token ecotui makes natively (botocore)."""
    cluster: str
    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True)
class AwsConfig:
    """The top-level `aws:`: where [clusters] looks for EKS clusters (empty = the defaults)."""
    profiles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    node_columns_ec2: bool = False    # the cockpit's nodes pane: LIFE / EC2 columns on AWS contexts (UI)


@dataclass(frozen=True)
class ContextConfig:
    namespace: str | None = None
    readonly: bool | None = None
    prometheus_url: str | None = None
    loki_url: str | None = None
    aws_profile: str | None = None
    aws_region: str | None = None
    eks_cluster: str | None = None
    critical: bool | None = None
    loki_tenant: str | None = None
    loki_token_file: str | None = None
    loki_user: str | None = None
    loki_password_file: str | None = None
    prometheus_token_file: str | None = None
    prometheus_user: str | None = None
    prometheus_password_file: str | None = None
    prometheus_headers: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, Any] | None = None   # raw key-metrics section (validated by ecotui.metrics.panels)
    forwards: tuple[Preset, ...] = DEFAULT_PRESETS
    health: HealthSettings = field(default_factory=HealthSettings)
    checks: tuple[Mapping[str, Any], ...] | None = None   # validated entries (None: the runbook's defaults)
    eks: EksConfig | None = None                # native EKS token for this context
    prometheus_aws_region: str | None = None    # Amazon Managed Prometheus: SigV4-sign requests for this region
    prometheus_aws_profile: str | None = None


@dataclass(frozen=True)
class Config:
    theme: str | None = None
    keymap: str | None = None
    readonly: bool = False
    critical_contexts: str | None = None  # regex (None: ecotui.ops.safety.DEFAULT_CRITICAL)
    journal: str | None = None            # journal file (None: the XDG state dir)
    log_buffer_lines: int = 100_000
    metrics: Mapping[str, Any] | None = None   # key-metrics defaults for every context (ecotui.metrics.panels)
    contexts: Mapping[str, ContextConfig] = field(default_factory=dict)
    aws: AwsConfig = field(default_factory=AwsConfig)   # EKS discovery: profiles x regions
    incident: IncidentSettings = field(default_factory=IncidentSettings)   # incident mode (ecotui.incident.settings)
    path: str | None = None               # the file this came from (None: defaults)

    def for_context(self, name: str) -> ContextConfig:
        """Settings for one kubeconfig context (all None when the file has none)."""
        return self.contexts.get(name, ContextConfig())

    def readonly_for(self, name: str) -> bool:
        """Effective read-only flag: the context's own setting, else the global one."""
        ctx = self.for_context(name).readonly
        return self.readonly if ctx is None else ctx


def config_path() -> Path:
    """$ECOTUI_CONFIG, else $XDG_CONFIG_HOME/ecotui/config.yaml (default ~/.config/ecotui/config.yaml)."""
    env = os.environ.get("ECOTUI_CONFIG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ecotui" / "config.yaml"


def _err(path: Path, msg: str) -> EcotuiError:
    return EcotuiError(f"config {path}: {msg}", hint="fix the file or pass --config with another path")


def _opt_str(path: Path, where: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _err(path, f"{where} must be a non-empty string (got {value!r})")
    return value.strip()


def _opt_bool(path: Path, where: str, value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _err(path, f"{where} must be true or false (got {value!r})")
    return value


def _url(path: Path, where: str, value: Any, service_ok: bool = False) -> str | None:
    url = _opt_str(path, where, value)
    if url is not None and service_ok and parse_service_ref(url) is not None:
        return url          # an in-cluster Service (namespace/name:port): reached through a managed port-forward
    if url is not None and not url.startswith(("http://", "https://")):
        also = " or be a Service like observability/loki-query-frontend:3100" if service_ok else ""
        raise _err(path, f"{where} must start with http:// or https://{also} (got {url!r})")
    return url.rstrip("/") if url else url


_CHECK_KEYS = ("name", "namespace", "target", "container", "command")


def _checks(path: Path, where: str, raw: Any, default_ns: str) -> tuple[dict[str, Any], ...] | None:
    """One-shot checks: name, target (a pod, or sts/ deploy/ svc/ NAME), command (a list, or a string split like a
    shell would), optional namespace and container."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _err(path, f"{where} must be a list of {{name, target, command}}")
    out = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise _err(path, f"{w} must be a mapping with name, target and command")
        _unknown(path, f" in {w}", item, _CHECK_KEYS)
        for key in ("name", "target"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise _err(path, f"{w}.{key} must be a non-empty string")
        cmd = item.get("command")
        if isinstance(cmd, str):
            import shlex
            try:
                cmd = shlex.split(cmd)
            except ValueError as exc:
                raise _err(path, f"{w}.command: {exc}") from None
        if not isinstance(cmd, list) or not cmd or not all(isinstance(c, str) for c in cmd):
            raise _err(path, f"{w}.command must be a non-empty list of strings (or one string)")
        out.append({"name": item["name"].strip(), "namespace": _opt_str(path, f"{w}.namespace",
                                                                         item.get("namespace")) or default_ns,
                    "target": item["target"].strip(),
                    "container": _opt_str(path, f"{w}.container", item.get("container")), "command": list(cmd)})
    return tuple(out)


def _unknown(path: Path, where: str, data: Mapping[Any, Any], known: tuple[str, ...]) -> None:
    extra = sorted(str(k) for k in data if k not in known)
    if extra:
        raise _err(path, f"unknown key {extra[0]!r}{where} (known: {', '.join(known)})")


def _opt_map(path: Path, where: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _err(path, f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def _headers(path: Path, where: str, value: Any) -> dict[str, str]:
    """Extra HTTP headers: a mapping of token names to printable values (no CR/LF)."""
    raw = _opt_map(path, where, value) or {}
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not _HEADER_NAME.match(k):
            raise _err(path, f"{where}: {k!r} is not a valid header name")
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise _err(path, f"{where}.{k} must be a string")
        text = str(v)
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise _err(path, f"{where}.{k} must not contain control characters")
        out[k] = text
    return out


def _file(path: Path, where: str, value: Any) -> str | None:
    """A file path setting: ~ expanded, relative to the config file."""
    v = _opt_str(path, where, value)
    if v is None:
        return None
    p = Path(v).expanduser()
    return str(p if p.is_absolute() else path.parent / p)


def _buffer_lines(path: Path, value: Any) -> int:
    if value is None:
        return 100_000
    if isinstance(value, bool) or not isinstance(value, int) or not 1_000 <= value <= 10_000_000:
        raise _err(path, f"log_buffer_lines must be a whole number from 1000 to 10000000, got {value!r}")
    return value


def _metrics(path: Path, where: str, raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate a key-metrics section now (a broken one fails at load, naming the key); kept raw."""
    if raw is not None:
        from ecotui.metrics.panels import PanelConfigError, parse_metrics
        try:
            parse_metrics(raw)
        except PanelConfigError as exc:
            raise _err(path, f"{where}{exc}") from None
    return raw


def _incident(path: Path, raw: Any) -> IncidentSettings:
    """The `incident:` section; its team policy file is read and checked now (a bad one fails at load)."""
    settings: IncidentSettings = _wrap(path, parse_incident, raw, "incident", path.parent)
    if settings.policy is not None:
        from ecotui.incident.policy import PolicyError, load_policy
        try:
            load_policy(settings.policy)
        except PolicyError as exc:
            raise _err(path, f"incident.policy: {exc.message}") from None
    return settings


_EKS_KEYS = ("cluster", "region", "profile", "role_arn")


def _eks(path: Path, where: str, raw: Any) -> EksConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _err(path, f"{where} must be a mapping ({', '.join(_EKS_KEYS)})")
    _unknown(path, f" in {where}", raw, _EKS_KEYS)
    cluster = _opt_str(path, f"{where}.cluster", raw.get("cluster"))
    if cluster is None:
        raise _err(path, f"{where}.cluster is required (the EKS cluster name)")
    role = _opt_str(path, f"{where}.role_arn", raw.get("role_arn"))
    if role is not None and not role.startswith("arn:"):
        raise _err(path, f"{where}.role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got {role!r}")
    return EksConfig(cluster=cluster, region=_opt_str(path, f"{where}.region", raw.get("region")),
                     profile=_opt_str(path, f"{where}.profile", raw.get("profile")), role_arn=role)


def _str_list(path: Path, where: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise _err(path, f"{where} must be a list of names")
    return tuple(dict.fromkeys(x.strip() for x in raw))


def _aws(path: Path, raw: Any) -> AwsConfig:
    if raw is None:
        return AwsConfig()
    if not isinstance(raw, dict):
        raise _err(path, "aws must be a mapping (profiles, regions, node_columns_ec2)")
    _unknown(path, " in aws", raw, ("profiles", "regions", "node_columns_ec2"))
    return AwsConfig(profiles=_str_list(path, "aws.profiles", raw.get("profiles")),
                     regions=_str_list(path, "aws.regions", raw.get("regions")),
                     node_columns_ec2=bool(_opt_bool(path, "aws.node_columns_ec2", raw.get("node_columns_ec2"))))


def _wrap(path: Path, parse: Any, raw: Any, where: str, *args: Any) -> Any:
    try:
        return parse(raw, where, *args)
    except ValueError as exc:
        raise _err(path, str(exc)) from None


def _parse(path: Path, data: Any) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _err(path, "must be a YAML mapping (theme:, keymap:, readonly:, contexts:)")
    _unknown(path, "", data, _TOP_KEYS)
    keymap = _opt_str(path, "keymap", data.get("keymap"))
    if keymap is not None:
        kp = Path(keymap).expanduser()
        keymap = str(kp if kp.is_absolute() else path.parent / kp)
    contexts_raw = data.get("contexts") or {}
    if not isinstance(contexts_raw, dict):
        raise _err(path, "contexts must be a mapping of context name -> settings")
    contexts: dict[str, ContextConfig] = {}
    for name, raw in contexts_raw.items():
        where = f"contexts.{name}"
        raw = raw or {}
        if not isinstance(raw, dict):
            raise _err(path, f"{where} must be a mapping ({', '.join(_CTX_KEYS)})")
        _unknown(path, f" in {where}", raw, _CTX_KEYS)
        contexts[str(name)] = ContextConfig(
            namespace=_opt_str(path, f"{where}.namespace", raw.get("namespace")),
            readonly=_opt_bool(path, f"{where}.readonly", raw.get("readonly")),
            prometheus_url=_url(path, f"{where}.prometheus_url", raw.get("prometheus_url"), service_ok=True),
            loki_url=_url(path, f"{where}.loki_url", raw.get("loki_url"), service_ok=True),
            aws_profile=_opt_str(path, f"{where}.aws_profile", raw.get("aws_profile")),
            aws_region=_opt_str(path, f"{where}.aws_region", raw.get("aws_region")),
            eks_cluster=_opt_str(path, f"{where}.eks_cluster", raw.get("eks_cluster")),
            critical=_opt_bool(path, f"{where}.critical", raw.get("critical")),
            loki_tenant=_opt_str(path, f"{where}.loki_tenant", raw.get("loki_tenant")),
            loki_token_file=_file(path, f"{where}.loki_token_file", raw.get("loki_token_file")),
            loki_user=_opt_str(path, f"{where}.loki_user", raw.get("loki_user")),
            loki_password_file=_file(path, f"{where}.loki_password_file", raw.get("loki_password_file")),
            prometheus_token_file=_file(path, f"{where}.prometheus_token_file", raw.get("prometheus_token_file")),
            prometheus_user=_opt_str(path, f"{where}.prometheus_user", raw.get("prometheus_user")),
            prometheus_password_file=_file(path, f"{where}.prometheus_password_file",
                                           raw.get("prometheus_password_file")),
            prometheus_headers=_headers(path, f"{where}.prometheus_headers", raw.get("prometheus_headers")),
            metrics=_metrics(path, f"{where}: ", _opt_map(path, f"{where}.metrics", raw.get("metrics"))),
            forwards=_wrap(path, parse_presets, raw.get("forwards"), f"{where}.forwards",
                           _opt_str(path, f"{where}.namespace", raw.get("namespace")) or "default"),
            health=_wrap(path, parse_health, raw.get("health"), f"{where}.health"),
            checks=_checks(path, f"{where}.checks", raw.get("checks"), "ecotrack"),
            eks=_eks(path, f"{where}.eks", raw.get("eks")),
            prometheus_aws_region=_opt_str(path, f"{where}.prometheus_aws_region", raw.get("prometheus_aws_region")),
            prometheus_aws_profile=_opt_str(path, f"{where}.prometheus_aws_profile",
                                            raw.get("prometheus_aws_profile")),
        )
    critical = _opt_str(path, "critical_contexts", data.get("critical_contexts"))
    if critical is not None:
        try:
            re.compile(critical)
        except re.error as exc:
            raise _err(path, f"critical_contexts is not a valid regular expression: {exc}") from None
    journal = _opt_str(path, "journal", data.get("journal"))
    if journal is not None:
        jp = Path(journal).expanduser()
        journal = str(jp if jp.is_absolute() else path.parent / jp)
    return Config(
        theme=_opt_str(path, "theme", data.get("theme")),
        keymap=keymap,
        readonly=bool(_opt_bool(path, "readonly", data.get("readonly"))),
        critical_contexts=critical,
        journal=journal,
        log_buffer_lines=_buffer_lines(path, data.get("log_buffer_lines")),
        metrics=_metrics(path, "", _opt_map(path, "metrics", data.get("metrics"))),
        contexts=contexts,
        aws=_aws(path, data.get("aws")),
        incident=_incident(path, data.get("incident")),
        path=str(path),
    )


def load_config(path: str | None = None) -> Config:
    """Load the config file (``path``, else ``config_path()``); a missing default file = defaults."""
    explicit = path is not None
    p = Path(path).expanduser() if path is not None else config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise EcotuiError(f"config {p}: file not found", hint="check the --config path") from None
        return Config()
    except IsADirectoryError:
        raise _err(p, "is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(p, f"cannot read ({exc.__class__.__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _err(p, f"not valid YAML{where}") from None
    return _parse(p, data)
