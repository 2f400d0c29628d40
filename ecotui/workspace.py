"""A workspace per kubeconfig context: its profile, its cluster session, its write gate — and, as later
issues add them, its Prometheus/Loki/AWS sources and port-forwards. One factory builds them; a context
switch swaps the whole workspace, so nothing of the old context (namespace, read-only, URLs) leaks into
the new one.

The profile comes from the per-context section of the config (`ecotui.config`), the kubeconfig context's
own namespace and the command line: `-n/-A` apply to the first context only, `--readonly` to every context.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from ecotui.config import Config
from ecotui.errors import EcotuiError
from ecotui.forward.presets import DEFAULT_PRESETS, Preset, parse_service_ref
from ecotui.health.settings import HealthSettings
from ecotui.kube.kubeconfig import KubeConfig
from ecotui.kube.session_api import SessionAPI
from ecotui.kube.writegate import WriteGate
from ecotui.metrics.prom import PromClient, PromError, prom_config
from ecotui.metrics.usage import UsageSource
from ecotui.ops.access import AccessChecker
from ecotui.ops.api import KubeAPI, NoAPI
from ecotui.ops.safety import is_critical

if TYPE_CHECKING:
    from ecotui.forward.manager import ForwardManager


@dataclass(frozen=True)
class AwsSettings:
    profile: str | None = None
    region: str | None = None
    cluster: str | None = None  # EKS cluster name
    role_arn: str | None = None


@dataclass(frozen=True)
class LokiSettings:
    url: str | None = None
    tenant: str | None = None            # X-Scope-OrgID
    token_file: str | None = None        # bearer token, read when a log view opens (never kept in the config)
    user: str | None = None              # basic auth user, with password_file
    password_file: str | None = None


@dataclass(frozen=True)
class PromSettings:
    url: str | None = None
    token_file: str | None = None        # bearer token, read when the client is made
    user: str | None = None              # basic auth user, with password_file
    password_file: str | None = None
    headers: tuple[tuple[str, str], ...] = ()   # extra headers (e.g. X-Scope-OrgID for Mimir/Cortex)
    aws_region: str | None = None        # Amazon Managed Prometheus: requests SigV4-signed (service aps)
    aws_profile: str | None = None


@dataclass(frozen=True)
class Profile:
    """Everything about one context that is not the cluster's data."""

    context: str
    namespace: str | None = None  # None = all namespaces
    readonly: bool = False
    prometheus_url: str | None = None
    loki_url: str | None = None
    aws: AwsSettings = field(default_factory=AwsSettings)
    critical: bool = False        # production-like: confirmations in the critical colour, type the name
    loki: LokiSettings = field(default_factory=LokiSettings)
    prometheus: PromSettings = field(default_factory=PromSettings)
    metrics: Mapping[str, Any] | None = None   # raw key-metrics config (context's, else the global one)
    forwards: tuple[Preset, ...] = DEFAULT_PRESETS   # port-forward presets (the runbook's by default)
    health: HealthSettings = field(default_factory=HealthSettings)
    checks: tuple[Any, ...] = ()    # ecotui.podexec.checks.CheckSpec: the configured one-shot checks (runbook's)


class WorkspaceAPI(Protocol):
    """What the UI holds for the active context."""

    @property
    def profile(self) -> Profile: ...

    @property
    def session(self) -> SessionAPI: ...

    @property
    def gate(self) -> WriteGate: ...

    @property
    def readonly(self) -> bool: ...

    @property
    def api(self) -> KubeAPI:
        """Requests for actions (the session's client: every request passes the write gate)."""

    @property
    def access(self) -> AccessChecker:
        """SelfSubjectAccessReviews of this context, cached."""

    @property
    def prometheus(self) -> PromClient | None:
        """This context's Prometheus client (None when the context has no prometheus_url); made on first use,
        closed by `stop()`. Raises PromError(kind="config") when a credentials file cannot be read."""

    @property
    def eks(self) -> Any:
        """This context's EKS cluster (ecotui.aws.execmatch.EksAuth: cluster, region, profile, role_arn) — from
        config `eks:` / `eks_cluster`, a discovered cluster, or the kubeconfig's aws exec plugin; None when the
        context is not an EKS context."""

    @property
    def forwards(self) -> ForwardManager:
        """This context's port-forwards (made on first use, every forward closed by `stop()`)."""

    def start_presets(self, launch_only: bool = True) -> list[str]:
        """Start the profile's `start: launch` presets (every preset with launch_only=False): a line per failure."""

    @property
    def loki(self) -> LokiSettings:
        """The Loki settings to connect with: the profile's, except that a `loki_url` naming an in-cluster Service
        (`observability/loki-query-frontend:3100`) is replaced by the local URL of a managed port-forward to it
        (started on first use). Raises EcotuiError (one line) when the forward cannot start."""

    @property
    def usage(self) -> UsageSource:
        """CPU/memory usage (metrics.k8s.io, else Prometheus) for top and the panes' top columns; made on first
        use, polls only while held (`acquire`/`release`), stopped by `stop()`."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


PROM_RETRY_S = 10.0     # an unreadable Prometheus credentials file is read again after this long


class Workspace:
    """The real WorkspaceAPI: a profile, a session (whose client sends through `gate`) and the gate."""

    def __init__(self, profile: Profile, session: SessionAPI, gate: WriteGate, api: KubeAPI,
                 user: str = "") -> None:
        self._profile, self._session, self._gate, self._api = profile, session, gate, api
        self._access = AccessChecker(api, user)
        self._prom: PromClient | None = None
        self._prom_failed: tuple[float, PromError] | None = None
        self._clock: Callable[[], float] = time.monotonic
        self._usage: UsageSource | None = None
        self._forwards: ForwardManager | None = None

    @property
    def profile(self) -> Profile:
        return self._profile

    @property
    def session(self) -> SessionAPI:
        return self._session

    @property
    def gate(self) -> WriteGate:
        return self._gate

    @property
    def readonly(self) -> bool:
        return self._gate.readonly

    @property
    def api(self) -> KubeAPI:
        return self._api

    @property
    def access(self) -> AccessChecker:
        return self._access

    @property
    def eks(self) -> Any:
        from ecotui.aws.execmatch import EksAuth
        a = self._profile.aws
        if a.cluster:
            return EksAuth(a.cluster, a.region, a.profile, a.role_arn)
        auth = getattr(self._session, "auth", None)
        return getattr(auth, "eks", None)

    @property
    def prometheus(self) -> PromClient | None:
        """Made on first use. An unreadable credentials file is remembered for PROM_RETRY_S seconds (the same
        PromError again, no file read: the cockpit asks every second) and read again after that."""
        if self._prom is None:
            failed = self._prom_failed
            if failed is not None and self._clock() - failed[0] < PROM_RETRY_S:
                raise failed[1]
            try:
                settings = self._profile.prometheus
                if settings.url and parse_service_ref(settings.url) is not None:
                    settings = replace(settings, url=self.source_url(settings.url, "prometheus"))
                cfg = prom_config(settings)
            except EcotuiError as exc:   # PromError (a credentials file), or the source's forward did not start
                err = exc if isinstance(exc, PromError) else PromError("config", exc.message, exc.hint)
                self._prom_failed = (self._clock(), err)
                raise err from None
            self._prom_failed = None
            if cfg is None:
                return None
            auth = None
            if settings.aws_region:   # Amazon Managed Prometheus: SigV4 (botocore imported only here)
                from ecotui.aws.sigv4 import SigV4Auth
                auth = SigV4Auth(settings.aws_region, settings.aws_profile)
            self._prom = PromClient(cfg, auth=auth)
        return self._prom

    @property
    def forwards(self) -> ForwardManager:
        if self._forwards is None:
            from ecotui.forward.manager import ForwardManager
            self._forwards = ForwardManager(self._api, self._profile.context)
        return self._forwards

    def source_url(self, ref: str, label: str) -> str:
        """A source address: a URL as it is, or the local URL of the managed forward to an in-cluster Service
        (`namespace/name:port`), started now if it is not running. Raises EcotuiError with one line."""
        svc = parse_service_ref(ref)
        if svc is None:
            return ref
        fid = self.forwards.start(svc.spec(self._profile.context, label))
        view = self.forwards.view(fid)
        if view is None:
            raise EcotuiError(f"{label}: the port-forward to {svc} did not start")
        return view.url

    def start_presets(self, launch_only: bool = True) -> list[str]:
        """Start the presets marked `start: launch` (all of them with launch_only=False); one line per failure."""
        problems = []
        for p in self._profile.forwards:
            if launch_only and p.start != "launch":
                continue
            try:
                self.forwards.start(p.spec(self._profile.context))
            except EcotuiError as exc:
                problems.append(f"port-forward {p.name}: {exc.message}")
        return problems

    @property
    def loki(self) -> LokiSettings:
        loki = self._profile.loki
        if loki.url and parse_service_ref(loki.url) is not None:
            return replace(loki, url=self.source_url(loki.url, "loki"))
        return loki

    @property
    def usage(self) -> UsageSource:
        if self._usage is None:
            self._usage = UsageSource(getattr(self._session, "client", None), self._prom_or_none)
        return self._usage

    def _prom_or_none(self) -> PromClient | None:
        return self.prometheus

    async def start(self) -> None:
        await self._session.start()

    async def stop(self) -> None:
        usage, self._usage = self._usage, None
        if usage is not None:
            await usage.stop()
        prom, self._prom = self._prom, None
        if prom is not None:
            await prom.aclose()
        forwards, self._forwards = self._forwards, None
        if forwards is not None:
            await forwards.close()
        await self._session.stop()


def _check_specs(raw: tuple[Mapping[str, Any], ...] | None) -> tuple[Any, ...]:
    """The config's validated checks → CheckSpecs (None: the runbook's defaults)."""
    from ecotui.podexec.checks import DEFAULT_CHECKS, CheckSpec
    if raw is None:
        return tuple(DEFAULT_CHECKS)
    return tuple(CheckSpec(name=c["name"], namespace=c["namespace"], target=c["target"], container=c["container"],
                           command=list(c["command"])) for c in raw)


def choose_namespace(cli_ns: str | None, all_ns: bool, config_ns: str | None, context_ns: str | None) -> str | None:
    """-n NS, or -A for all, else the config's per-context namespace, else the context's, else all (None)."""
    if cli_ns:
        return cli_ns
    if all_ns:
        return None
    return config_ns or context_ns or None


SessionMaker = Callable[[KubeConfig, str, str | None, WriteGate], SessionAPI]


def _cluster_session(kubeconfig: KubeConfig, context: str, namespace: str | None, gate: WriteGate) -> SessionAPI:
    from ecotui.kube.session import ClusterSession
    return ClusterSession(kubeconfig, context, namespace, gate=gate)


class WorkspaceFactory:
    """Builds the workspace of any context of the kubeconfig (`build(name)`); `contexts` lists them."""

    def __init__(self, kubeconfig: KubeConfig, config: Config, *, first_context: str,
                 namespace: str | None = None, all_namespaces: bool = False, readonly: bool = False,
                 make_session: SessionMaker = _cluster_session) -> None:
        self.kubeconfig, self.config = kubeconfig, config
        self.first_context = first_context
        self._cli_ns, self._cli_all, self._cli_readonly = namespace, all_namespaces, readonly
        self._make_session = make_session
        for name, cc in config.contexts.items():   # `eks:` → the context's token is made natively (botocore)
            if cc.eks is not None:
                from ecotui.aws.execmatch import EksAuth
                kubeconfig.set_eks(name, EksAuth(cc.eks.cluster, cc.eks.region, cc.eks.profile, cc.eks.role_arn))

    @property
    def contexts(self) -> list[str]:
        return [c.name for c in self.kubeconfig.contexts]

    def add_eks_context(self, c: Any) -> str:
        """Add a discovered EKS cluster (ecotui.aws.discovery.DiscoveredCluster) as an in-memory context — no
        kubeconfig entry: its server and CA from describe_cluster, its user a native EKS token. Returns the context
        name (`eks:profile/region/name`), ready for `build()`. Raises KubeconfigError (one line) for a cluster
        without endpoint or with an unusable CA."""
        import base64
        import binascii
        from ecotui.aws.discovery import context_name
        from ecotui.aws.execmatch import EksAuth
        from ecotui.errors import KubeconfigError
        from ecotui.kube.kubeconfig import ClusterInfo, ContextInfo, ResolvedContext, UserInfo
        name = context_name(c)
        if not c.endpoint:
            raise KubeconfigError(f"EKS cluster {c.name} ({c.region}) has no endpoint yet (status {c.status or '?'})",
                                  "wait until it is ACTIVE")
        try:
            ca = base64.b64decode("".join(c.ca_data.split()), validate=True) if c.ca_data else None
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"EKS cluster {c.name} ({c.region}): its certificateAuthority data is not base64",
                                  "check the cluster in the AWS console") from None
        if ca is not None and b"-----BEGIN CERTIFICATE-----" not in ca:
            raise KubeconfigError(f"EKS cluster {c.name} ({c.region}): its certificateAuthority data is not a PEM "
                                  "certificate", "check the cluster in the AWS console")
        server = c.endpoint if "://" in c.endpoint else "https://" + c.endpoint
        eks = EksAuth(c.name, c.region, c.profile)
        self.kubeconfig.add_context(ResolvedContext(
            ContextInfo(name, name, name, None), ClusterInfo(name, server.rstrip("/"), ca_pem=ca),
            UserInfo(name=name, eks=eks)))
        return name

    def profile(self, context: str) -> Profile:
        """The profile of a context (raises KubeconfigError for an unknown context)."""
        ctx = self.kubeconfig.context(context)
        cc = self.config.for_context(ctx.name)
        first = ctx.name == self.first_context
        ns = choose_namespace(self._cli_ns if first else None, self._cli_all if first else False,
                              cc.namespace, ctx.namespace)
        eks = cc.eks
        added = self.kubeconfig.added.get(ctx.name)
        found = added.user.eks if added is not None else None
        aws = AwsSettings(cc.aws_profile or (eks.profile if eks else None) or (found.profile if found else None),
                          cc.aws_region or (eks.region if eks else None) or (found.region if found else None),
                          cc.eks_cluster or (eks.cluster if eks else None) or (found.cluster if found else None),
                          eks.role_arn if eks else None)
        return Profile(context=ctx.name, namespace=ns,
                       readonly=self._cli_readonly or self.config.readonly_for(ctx.name),
                       prometheus_url=cc.prometheus_url, loki_url=cc.loki_url,
                       aws=aws,
                       critical=cc.critical if cc.critical is not None
                       else is_critical(ctx.name, self.config.critical_contexts),
                       loki=LokiSettings(cc.loki_url, cc.loki_tenant, cc.loki_token_file, cc.loki_user,
                                         cc.loki_password_file),
                       prometheus=PromSettings(cc.prometheus_url, cc.prometheus_token_file, cc.prometheus_user,
                                               cc.prometheus_password_file, tuple(cc.prometheus_headers.items()),
                                               cc.prometheus_aws_region, cc.prometheus_aws_profile),
                       metrics=cc.metrics if cc.metrics is not None else self.config.metrics,
                       forwards=cc.forwards, health=cc.health, checks=_check_specs(cc.checks))

    def build(self, context: str) -> Workspace:
        profile = self.profile(context)
        gate = WriteGate(profile.context, profile.readonly)
        session = self._make_session(self.kubeconfig, profile.context, profile.namespace, gate)
        api: KubeAPI = getattr(session, "client", None) or NoAPI(profile.context)
        auth = getattr(session, "auth", None)
        user = auth.user.name if auth is not None else ""
        return Workspace(profile, session, gate, api, user)
