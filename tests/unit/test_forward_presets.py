"""Port-forward presets, Service references for sources, health settings and checks in the config."""
from __future__ import annotations

import pytest

from ecotui.config import load_config
from ecotui.errors import EcotuiError
from ecotui.forward.model import ForwardSpec, ForwardState, ForwardView, Target
from ecotui.forward.presets import DEFAULT_PRESETS, parse_presets, parse_service_ref
from ecotui.health.settings import RUNBOOK_SERVICES, HealthSettings, parse_health


def test_runbook_presets_are_the_defaults():
    by = {p.name: p for p in DEFAULT_PRESETS}
    assert (str(by["grafana"].target), by["grafana"].port, by["grafana"].local_port) == \
        ("observability/svc/grafana", 80, 3000)
    assert (by["prometheus"].target.name, by["prometheus"].port, by["prometheus"].local_port) == \
        ("prometheus-server", 80, 9090)
    assert (by["loki"].target.name, by["loki"].port, by["loki"].local_port) == ("loki-query-frontend", 3100, 3100)
    assert (by["tempo"].target.name, by["tempo"].port, by["tempo"].local_port) == ("tempo-query-frontend", 3200, 3200)
    assert all(p.start == "on-demand" and p.address == "127.0.0.1" for p in DEFAULT_PRESETS)
    assert parse_presets(None, "x") == DEFAULT_PRESETS and parse_presets([], "x") == ()


def test_presets_parse_targets_ports_and_start_modes():
    (a, b) = parse_presets([{"name": "g", "target": "observability/svc/grafana", "port": "80", "local_port": 0,
                             "start": "launch"},
                            {"name": "db", "target": "sts/postgres-primary", "namespace": "ecotrack",
                             "port": "postgres"}], "contexts.x.forwards", "default")
    assert a.target == Target("service", "observability", "grafana") and a.port == 80 and a.start == "launch"
    assert b.target == Target("statefulset", "ecotrack", "postgres-primary") and b.port == "postgres"
    spec = b.spec("ctx")
    assert spec == ForwardSpec("ctx", b.target, "postgres", 0, "127.0.0.1", "db")


@pytest.mark.parametrize("raw,needle", [
    ({"name": "g", "target": "svc/grafana"}, "port is missing"),
    ({"name": "g", "target": "cm/x", "port": 1}, "cannot forward to a 'cm'"),
    ({"name": "g", "target": "svc/grafana", "port": 70000}, "from 1 to 65535"),
    ({"name": "g", "target": "svc/grafana", "port": 80, "start": "boot"}, "start must be one of"),
    ({"name": "g", "target": "svc/grafana", "port": 80, "locl_port": 1}, "unknown key 'locl_port'"),
    ({"target": "svc/grafana", "port": 80}, "name must be"),
])
def test_bad_presets_say_which_key(raw, needle):
    with pytest.raises(ValueError) as e:
        parse_presets([raw], "contexts.x.forwards")
    assert needle in str(e.value) and "contexts.x.forwards[0]" in str(e.value)


def test_duplicate_preset_names_are_refused():
    with pytest.raises(ValueError, match="two presets are named 'g'"):
        parse_presets([{"name": "g", "target": "svc/a", "port": 1}, {"name": "g", "target": "svc/b", "port": 1}], "f")


@pytest.mark.parametrize("text,ref", [
    ("observability/loki-query-frontend:3100", ("observability", "loki-query-frontend", 3100)),
    ("observability/svc/prometheus-server:80", ("observability", "prometheus-server", 80)),
    ("svc/observability/loki:http", ("observability", "loki", "http")),
    ("http://127.0.0.1:3100", None),
    ("loki-query-frontend:3100", None),
    ("observability/loki", None),
])
def test_service_refs(text, ref):
    got = parse_service_ref(text)
    assert (None if got is None else (got.namespace, got.name, got.port)) == ref


def test_health_settings_defaults_and_errors():
    h = parse_health(None, "h")
    assert h == HealthSettings() and h.services == RUNBOOK_SERVICES and h.path == "/actuator/health"
    h = parse_health({"path": "/health", "services": ["a"], "port": 8080, "interval_s": 5}, "h")
    assert (h.path, h.services, h.port, h.interval_s) == ("/health", ("a",), 8080, 5.0)
    for raw, needle in (({"path": "health"}, "path must start with /"), ({"services": []}, "non-empty list"),
                        ({"port": True}, "port must be"), ({"x": 1}, "unknown key 'x'"),
                        ({"timeout_s": 0}, "timeout_s must be")):
        with pytest.raises(ValueError, match=needle):
            parse_health(raw, "h")


def _config(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_config(str(p))


def test_config_reads_forwards_health_checks_and_service_sources(tmp_path):
    c = _config(tmp_path, """
contexts:
  x:
    namespace: ecotrack
    loki_url: observability/loki-query-frontend:3100
    prometheus_url: observability/prometheus-server:80
    forwards: [{name: g, target: observability/svc/grafana, port: 80, local_port: 3000, start: launch}]
    health: {services: [user-service]}
    checks:
      - {name: pg, target: sts/postgres-primary, command: 'psql -U ecotrack -c "SELECT 1;"'}
""").for_context("x")
    assert c.loki_url == "observability/loki-query-frontend:3100"
    assert c.prometheus_url == "observability/prometheus-server:80"
    assert [p.name for p in c.forwards] == ["g"] and c.health.services == ("user-service",)
    assert c.checks == ({"name": "pg", "namespace": "ecotrack", "target": "sts/postgres-primary", "container": None,
                         "command": ["psql", "-U", "ecotrack", "-c", "SELECT 1;"]},)
    assert _config(tmp_path, "contexts: {y: {}}").for_context("y").forwards == DEFAULT_PRESETS


@pytest.mark.parametrize("body,needle", [
    ("loki_url: loki-query-frontend", "or be a Service like"),
    ("forwards: {a: 1}", "forwards must be a list"),
    ("health: {path: x}", "health.path must start with /"),
    ("checks: [{name: a, target: b}]", "checks[0].command must be"),
    ("checks: [{name: a, target: b, command: [x], extra: 1}]", "unknown key 'extra'"),
])
def test_config_errors_name_the_file_and_key(tmp_path, body, needle):
    with pytest.raises(EcotuiError) as e:
        _config(tmp_path, f"contexts:\n  x:\n    {body}\n")
    assert needle in e.value.message and "c.yaml" in e.value.message


def test_forward_view_url_is_loopback_for_any_address():
    v = ForwardView("1", ForwardSpec("c", Target("pod", "n", "p"), 80), ForwardState.ACTIVE, "0.0.0.0:4000", "n/p", 80,
                    0, 0, 0, 0, 0.0)
    assert v.url == "http://127.0.0.1:4000"


class FakeForwards:
    def __init__(self, fail: str = "") -> None:
        self.started: list[ForwardSpec] = []
        self.fail = fail

    def start(self, spec: ForwardSpec) -> str:
        if self.fail:
            raise EcotuiError(self.fail)
        if spec not in self.started:
            self.started.append(spec)
        return str(self.started.index(spec))

    def view(self, fid: str) -> ForwardView:
        spec = self.started[int(fid)]
        return ForwardView(fid, spec, ForwardState.ACTIVE, f"127.0.0.1:{41000 + int(fid)}", None, None, 0, 0, 0, 0, 0.0)

    async def close(self) -> None:
        self.started.clear()


def _workspace(tmp_path, body: str):
    from ecotui.workspace import WorkspaceFactory
    from tests.unit.test_workspace import kubeconfig

    class S:
        def __init__(self, kc, context, namespace, gate):
            self.context, self.namespace, self.gate = context, namespace, gate

        async def stop(self):
            pass

    cfg = _config(tmp_path, f"contexts:\n  dev:\n{body}")
    return WorkspaceFactory(kubeconfig(), cfg, first_context="dev", make_session=S).build("dev")


async def test_sources_named_as_services_go_through_one_managed_forward_each(tmp_path):
    ws = _workspace(tmp_path, "    loki_url: observability/loki-query-frontend:3100\n"
                              "    prometheus_url: observability/prometheus-server:80\n"
                              "    loki_tenant: t1\n")
    fake = FakeForwards()
    ws._forwards = fake
    assert ws.loki.url == "http://127.0.0.1:41000" and ws.loki.tenant == "t1"
    assert ws.loki.url == "http://127.0.0.1:41000"                    # the same forward, not a second one
    prom = ws.prometheus
    assert prom is not None and str(prom.config.url).startswith("http://127.0.0.1:41001")
    assert [(s.target.name, s.port, s.address, s.local_port) for s in fake.started] == [
        ("loki-query-frontend", 3100, "127.0.0.1", 0), ("prometheus-server", 80, "127.0.0.1", 0)]
    await ws.stop()
    assert fake.started == [] and ws._forwards is None                # stop closes the forwards


async def test_a_url_source_needs_no_forward_and_a_failed_forward_is_one_line(tmp_path):
    ws = _workspace(tmp_path, "    loki_url: http://127.0.0.1:23100\n    prometheus_url: observability/prom:80\n")
    ws._forwards = FakeForwards(fail="forbidden: user x cannot create pods/portforward")
    assert ws.loki.url == "http://127.0.0.1:23100"
    from ecotui.metrics.prom import PromError
    with pytest.raises(PromError) as e:
        ws.prometheus
    assert e.value.kind == "config" and "forbidden" in e.value.message


def test_launch_presets_start_and_failures_are_lines(tmp_path):
    ws = _workspace(tmp_path, "    forwards:\n"
                              "      - {name: g, target: observability/svc/grafana, port: 80, start: launch}\n"
                              "      - {name: p, target: observability/svc/prometheus-server, port: 80}\n")
    fake = FakeForwards()
    ws._forwards = fake
    assert ws.start_presets() == [] and [s.name for s in fake.started] == ["g"]
    ws._forwards = FakeForwards(fail="127.0.0.1:3000 is in use")
    assert ws.start_presets(launch_only=False) == ["port-forward g: 127.0.0.1:3000 is in use",
                                                   "port-forward p: 127.0.0.1:3000 is in use"]
