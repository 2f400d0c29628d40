"""Key-metric panel config: presets, templating, overrides, thresholds, validation naming the key."""
from __future__ import annotations

import math

import pytest

from ecotui.config import _parse
from ecotui.errors import EcotuiError
from ecotui.metrics.levels import Level
from ecotui.metrics.panels import (RUNBOOK_SERVICES, PanelConfigError, format_thresholds, format_value,
                                   parse_metrics, render, service_for)


def test_defaults_are_the_runbooks_five_on_the_runbook_services():
    cfg = parse_metrics(None)
    assert [p.id for p in cfg.panels] == ["rps", "err", "p95", "heap", "pool"]
    assert cfg.services == RUNBOOK_SERVICES and cfg.window == "5m" and cfg.preset == "runbook"
    err = cfg.expr(cfg.panel("payment-service", "err"), "payment-service")
    assert 'http_requests_total{namespace="ecotrack",app="payment-service",status=~"5.."}[5m]' in err
    assert " or 0 * sum(rate(" in err    # no 5xx series yet = 0 % of real traffic; no traffic at all = no data
    p95 = cfg.expr(cfg.panel("user-service", "p95"), "user-service")
    assert p95.startswith("histogram_quantile(0.95, sum by (le)(rate(http_request_duration_seconds_bucket{")
    assert "jvm_memory_used_bytes" in cfg.expr(cfg.panels[3], "x") and 'area="heap"' in cfg.expr(cfg.panels[3], "x")
    assert "hikaricp_connections_active" in cfg.expr(cfg.panels[4], "x")


def test_grid_queries_answer_every_service_at_once():
    cfg = parse_metrics({"services": ["a.b", "c"]})
    q = cfg.grid_expr(cfg.panel("c", "p95"), cfg.services)
    assert q == ('histogram_quantile(0.95, sum by (le, app)(rate(http_request_duration_seconds_bucket'
                 '{namespace="ecotrack",app=~"a\\\\.b|c"}[5m])))')
    grouped, alone = cfg.grid_groups()
    assert [(p.id, svcs) for p, svcs in grouped] == [(i, ("a.b", "c")) for i in ("rps", "err", "p95", "heap", "pool")]
    assert alone == []
    # a service whose query differs is asked alone; a threshold-only override still shares the grid query
    cfg = parse_metrics({"services": ["a", "b", "c"], "panels": [{"id": "err"}, {"id": "p95"}, {"id": "x", "query": "up"}],
                         "services_overrides": {"a": {"panels": [{"id": "err", "query": "mine"}, {"id": "p95", "warn": 9}]}}})
    grouped, alone = cfg.grid_groups()
    assert [(p.id, svcs) for p, svcs in grouped] == [("err", ("b", "c")), ("p95", ("a", "b", "c"))]
    assert [(s, p.id) for s, p in alone] == [("a", "err"), ("a", "x"), ("b", "x"), ("c", "x")]
    assert cfg.panel("a", "err").grid_query == "" and cfg.panel("a", "p95").grid_query


def test_micrometer_preset_and_settings():
    cfg = parse_metrics({"preset": "micrometer", "namespace": "shop", "services": ["cart"], "service_label": "application",
                         "window": "1m"})
    q = cfg.expr(cfg.panel("cart", "rps"), "cart")
    assert q == 'sum(rate(http_server_requests_seconds_count{namespace="shop",application="cart"}[1m]))'
    assert "http_server_requests_seconds_bucket" in cfg.expr(cfg.panel("cart", "p95"), "cart")


def test_panels_replace_and_inherit_and_overrides_merge():
    cfg = parse_metrics({"panels": [{"id": "err", "critical": 0.1}, {"id": "up", "title": "up", "query": "up{app=\"{service}\"}"}],
                         "services_overrides": {"payment-service": {"panels": [{"id": "err", "warn": 0.002},
                                                                               {"id": "q", "query": "x", "unit": "count"}]}}})
    assert [p.id for p in cfg.panels] == ["err", "up"]
    assert cfg.panels[0].critical == 0.1 and cfg.panels[0].warn == 0.01 and cfg.panels[0].unit == "ratio"
    pay = cfg.panels_for("payment-service")
    assert [p.id for p in pay] == ["err", "up", "q"] and pay[0].warn == 0.002 and pay[0].critical == 0.1
    assert [p.id for p in cfg.columns] == ["err", "up", "q"]
    assert cfg.panel("user-service", "q") is None


def test_templating_only_known_placeholders_and_quoting():
    assert render('a{x="{service}"}[{window}] {other}', service='we"ird\\', window="1m") == \
        'a{x="we\\"ird\\\\"}[1m] {other}'


def test_thresholds_levels_above_and_below():
    cfg = parse_metrics({"panels": [{"id": "err"}, {"id": "ok", "query": "x", "unit": "percent", "warn": 99,
                                                     "critical": 95, "below": True}]})
    err, ok = cfg.panels
    assert err.thresholds.level(0.002) is Level.OK and err.thresholds.level(0.02) is Level.WARN
    assert err.thresholds.level(0.3) is Level.CRIT and err.thresholds.level(math.nan) is Level.NODATA
    assert ok.thresholds.level(99.5) is Level.OK and ok.thresholds.level(90) is Level.CRIT
    assert format_thresholds(err) == "warn≥1.0 % crit≥5.0 %" and format_thresholds(ok).startswith("warn≤")


@pytest.mark.parametrize("value,unit,text", [(0.0123, "ratio", "1.2 %"), (0.245, "seconds", "245 ms"),
                                             (2.5, "seconds", "2.50 s"), (3 * 2**20, "bytes", "3.0 MiB"),
                                             (12.34, "rps", "12.3/s"), (7, "count", "7"), (math.inf, "ratio", "+Inf"),
                                             (math.nan, "seconds", "NaN")])
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


@pytest.mark.parametrize("raw,where", [
    ({"preset": "grafana"}, "metrics.preset"),
    ({"bogus": 1}, "unknown key 'bogus' in metrics"),
    ({"services": []}, "metrics.services"),
    ({"services": ["a b"]}, "metrics.services[0]"),
    ({"window": "5 minutes"}, "metrics.window"),
    ({"refresh_s": 0}, "metrics.refresh_s"),
    ({"panels": [{"id": "new"}]}, "metrics.panels[0].query is required"),
    ({"panels": [{"id": "err", "unit": "furlong"}]}, "metrics.panels[0].unit"),
    ({"panels": [{"id": "err", "warn": "high"}]}, "metrics.panels[0].warn"),
    ({"panels": [{"id": "err"}, {"id": "err"}]}, "appears twice"),
    ({"services_overrides": {"ghost": {"panels": [{"id": "err"}]}}}, "metrics.services_overrides.ghost"),
])
def test_bad_config_names_the_key(raw, where):
    with pytest.raises(PanelConfigError) as e:
        parse_metrics(raw)
    assert where in str(e.value)


def test_config_load_rejects_a_broken_metrics_section_naming_file_and_key(tmp_path):
    path = tmp_path / "config.yaml"
    with pytest.raises(EcotuiError) as e:
        _parse(path, {"contexts": {"prod": {"metrics": {"panels": [{"id": "err", "unit": "x"}]}}}})
    assert str(path) in e.value.message and "contexts.prod" in e.value.message and "panels[0].unit" in e.value.message
    with pytest.raises(EcotuiError) as e:
        _parse(path, {"metrics": {"window": "soon"}})
    assert "metrics.window" in e.value.message
    ok = _parse(path, {"metrics": {"preset": "micrometer"}})
    assert ok.metrics == {"preset": "micrometer"}


def test_service_for_workload_and_pod_names():
    svcs = ("user-service", "user-service-admin", "order-service")
    assert service_for("ecotrack/user-service", svcs) == "user-service"
    assert service_for("user-service-7d9f8-x2k4q", svcs) == "user-service"
    assert service_for("user-service-admin-5c-abcde", svcs) == "user-service-admin"
    assert service_for("ecotrack/payment-service", svcs) is None
