"""Key-metric panels: the config model, the two presets, `{service}`/`{namespace}` templating, thresholds.

Config (top-level `metrics:` = defaults for every context; a context's own `metrics:` replaces it)::

    metrics:
      preset: runbook            # runbook (http_requests_total …) | micrometer (http_server_requests_seconds_*)
      namespace: ecotrack        # {namespace}
      services: [user-service, product-service, order-service, payment-service, notification-service]
      service_label: app         # {label}: the label that names the service in the series
      window: 5m                 # {window}: the rate() window
      refresh_s: 5               # instant values every …
      range_minutes: 30          # sparkline span (query_range, step = span / width)
      range_refresh_s: 30        # sparklines refresh less often
      timeout_s: 5               # per query
      concurrency: 8             # queries in flight at once
      panels:                    # replaces the preset's panels (omit to keep them)
        - {id: err, title: 5xx, query: '...', unit: ratio, warn: 0.01, critical: 0.05, below: false,
           grid_query: '...'}   # optional: every service at once, one series per service (by {label})
      services_overrides:
        payment-service:
          panels: [{id: p95, critical: 3}]          # same id: fields override; a new id adds a column

Placeholders in a query: `{service}`, `{namespace}`, `{label}`, `{window}`, and in a grid query `{services}` (an
alternation for `=~`) instead of `{service}` — only these; PromQL's own braces are left alone. The presets ship
grid queries, so a pass asks one query per panel for all services; a service whose query differs is asked alone. Units: ratio (shown as %), percent, seconds, bytes, rps, count. Thresholds are in the unit's raw
value (a ratio's 5 % is 0.05); `below: true` for metrics that are bad when low.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .levels import Thresholds

UNITS = ("ratio", "percent", "seconds", "bytes", "rps", "count")
PRESETS = ("runbook", "micrometer")
RUNBOOK_SERVICES = ("user-service", "product-service", "order-service", "payment-service", "notification-service")
_KEYS = ("preset", "namespace", "services", "service_label", "window", "refresh_s", "range_minutes",
         "range_refresh_s", "timeout_s", "concurrency", "panels", "services_overrides")
_PANEL_KEYS = ("id", "title", "query", "grid_query", "unit", "warn", "critical", "below")
_WINDOW = re.compile(r"^[0-9]+(ms|s|m|h|d)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PanelConfigError(ValueError):
    """A broken `metrics:` section; `str()` names the key."""


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    query: str
    unit: str = "count"
    warn: float | None = None
    critical: float | None = None
    below: bool = False
    grid_query: str = ""    # optional: every service at once, one series per service labelled {label}

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.warn, self.critical, above=not self.below)


def _both(template: str) -> tuple[str, str]:
    """(per-service query, grid query) from one template: `SEL(metric, extra)` is the series selector, `BY` the
    outer grouping and `BYC` extra grouping labels. The grid query answers for every service at once, one
    series per service labelled by {label}."""
    def expand(grid: bool) -> str:
        out = template.replace("BYC", ", {label}" if grid else "").replace("BY", " by ({label})" if grid else "")
        match = '{label}=~"{services}"' if grid else '{label}="{service}"'
        while "SEL(" in out:
            i = out.index("SEL(")
            j = out.index(")", i)
            metric, _, extra = out[i + 4:j].partition(",")
            extra = f",{extra}" if extra else ""
            out = out[:i] + f'{metric.strip()}{{namespace="{{namespace}}",{match}{extra}}}' + out[j + 1:]
        return out
    return expand(False), expand(True)


def _runbook() -> tuple[Panel, ...]:
    return _common("http_requests_total", "http_request_duration_seconds_bucket")


def _micrometer() -> tuple[Panel, ...]:
    return _common("http_server_requests_seconds_count", "http_server_requests_seconds_bucket")


def _common(req: str, bucket: str) -> tuple[Panel, ...]:
    total = f"sumBY(rate(SEL({req})[{{window}}]))"
    specs = (
        ("rps", "req/s", total, "rps", None, None),
        ("err", "5xx", f'(sumBY(rate(SEL({req},status=~"5..")[{{window}}])) or 0 * {total}) / {total}',
         "ratio", 0.01, 0.05),
        ("p95", "p95", f"histogram_quantile(0.95, sum by (leBYC)(rate(SEL({bucket})[{{window}}])))",
         "seconds", 1.0, 2.0),
        ("heap", "heap", 'maxBY(sum by (podBYC)(SEL(jvm_memory_used_bytes,area="heap"))'
                         ' / sum by (podBYC)(SEL(jvm_memory_max_bytes,area="heap") > 0))', "ratio", 0.8, 0.9),
        ("pool", "db pool", "maxBY(max by (pod, poolBYC)(SEL(hikaricp_connections_active))"
                            " / max by (pod, poolBYC)(SEL(hikaricp_connections_max) > 0))", "ratio", 0.8, 0.95),
    )
    out = []
    for pid, title, template, unit, warn, crit in specs:
        query, grid = _both(template)
        out.append(Panel(pid, title, query, unit, warn, crit, grid_query=grid))
    return tuple(out)


def preset_panels(name: str) -> tuple[Panel, ...]:
    if name == "runbook":
        return _runbook()
    if name == "micrometer":
        return _micrometer()
    raise PanelConfigError(f"metrics.preset must be one of {', '.join(PRESETS)} (got {name!r})")


@dataclass(frozen=True)
class MetricsConfig:
    preset: str = "runbook"
    namespace: str = "ecotrack"
    services: tuple[str, ...] = RUNBOOK_SERVICES
    service_label: str = "app"
    window: str = "5m"
    refresh_s: float = 5.0
    range_minutes: float = 30.0
    range_refresh_s: float = 30.0
    timeout_s: float = 5.0
    concurrency: int = 8
    panels: tuple[Panel, ...] = field(default_factory=_runbook)
    overrides: Mapping[str, tuple[Panel, ...]] = field(default_factory=dict)

    def panels_for(self, service: str) -> tuple[Panel, ...]:
        """The service's panels in column order (its overrides applied)."""
        return self.overrides.get(service, self.panels)

    @property
    def columns(self) -> tuple[Panel, ...]:
        """Grid columns: the default panels, then ids only some services add (first definition's title)."""
        seen = {p.id: p for p in self.panels}
        out = list(self.panels)
        for svc in self.services:
            for p in self.panels_for(svc):
                if p.id not in seen:
                    seen[p.id] = p
                    out.append(p)
        return tuple(out)

    def panel(self, service: str, panel_id: str) -> Panel | None:
        return next((p for p in self.panels_for(service) if p.id == panel_id), None)

    def expr(self, panel: Panel, service: str) -> str:
        return render(panel.query, service=service, namespace=self.namespace, label=self.service_label,
                      window=self.window)

    def grid_expr(self, panel: Panel, services: tuple[str, ...]) -> str:
        """The panel's grid query for these services ({services} = an anchored regex alternation)."""
        alt = "|".join(s.replace(".", "\\.") for s in services)   # names are [A-Za-z0-9._-]: only "." is special
        return render(panel.grid_query, services=alt, namespace=self.namespace, label=self.service_label,
                      window=self.window)

    def grid_groups(self) -> tuple[list[tuple[Panel, tuple[str, ...]]], list[tuple[str, Panel]]]:
        """How a pass asks: ([(panel, services answered by its one grid query)], [(service, panel) asked alone]).
        A service shares a panel's grid query when its own panel has the same query and grid query."""
        grouped: list[tuple[Panel, tuple[str, ...]]] = []
        alone: list[tuple[str, Panel]] = []
        taken: set[tuple[str, str]] = set()
        for col in self.columns:
            if not col.grid_query:
                continue
            svcs = tuple(s for s in self.services if (p := self.panel(s, col.id)) is not None
                         and p.query == col.query and p.grid_query == col.grid_query)
            if len(svcs) > 1:
                grouped.append((col, svcs))
                taken.update((s, col.id) for s in svcs)
        for s in self.services:
            alone.extend((s, p) for p in self.panels_for(s) if (s, p.id) not in taken)
        return grouped, alone


def _quote(value: str) -> str:
    """A value safe inside a PromQL double-quoted string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render(query: str, **values: str) -> str:
    """Replace `{name}` for the given names only (PromQL braces stay)."""
    out = query
    for k, v in values.items():
        out = out.replace("{" + k + "}", _quote(v) if k in ("service", "namespace", "services") else v)
    return out


def service_for(name: str, services: tuple[str, ...]) -> str | None:
    """The configured service a workload/pod name belongs to (`payment-service-7d9f-x2k` → payment-service);
    a `namespace/name` key is accepted."""
    base = name.rsplit("/", 1)[-1]
    best = None
    for svc in services:
        if (base == svc or base.startswith(svc + "-")) and (best is None or len(svc) > len(best)):
            best = svc
    return best


# ---- parsing --------------------------------------------------------------------------------------------------

def _num(where: str, v: Any, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise PanelConfigError(f"{where} must be a number from {lo:g} to {hi:g} (got {v!r})")
    return float(v)


def _str(where: str, v: Any, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(v, str) or not v.strip():
        raise PanelConfigError(f"{where} must be a non-empty string (got {v!r})")
    v = v.strip()
    if pattern is not None and not pattern.match(v):
        raise PanelConfigError(f"{where}: {v!r} is not valid")
    return v


def _mapping(where: str, v: Any) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise PanelConfigError(f"{where} must be a mapping")
    return v


def _unknown(where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
    extra = sorted(str(k) for k in raw if k not in known)
    if extra:
        raise PanelConfigError(f"unknown key {extra[0]!r} in {where} (known: {', '.join(known)})")


def _threshold(where: str, v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise PanelConfigError(f"{where} must be a number or null (got {v!r})")
    return float(v)


def _panel(where: str, raw: Any, base: Panel | None) -> Panel:
    raw = _mapping(where, raw)
    _unknown(where, raw, _PANEL_KEYS)
    pid = _str(f"{where}.id", raw.get("id"), _LABEL)
    if base is None:
        for k in ("query",):
            if k not in raw:
                raise PanelConfigError(f"{where}.{k} is required for a new panel {pid!r}")
        base = Panel(pid, pid, "")
    unit = raw.get("unit", base.unit)
    if unit not in UNITS:
        raise PanelConfigError(f"{where}.unit must be one of {', '.join(UNITS)} (got {unit!r})")
    below = raw.get("below", base.below)
    if not isinstance(below, bool):
        raise PanelConfigError(f"{where}.below must be true or false (got {below!r})")
    return replace(base, id=pid,
                   title=_str(f"{where}.title", raw["title"]) if "title" in raw else base.title,
                   query=_str(f"{where}.query", raw["query"]) if "query" in raw else base.query,
                   # a changed query drops the inherited grid query (it would answer something else)
                   grid_query=(_str(f"{where}.grid_query", raw["grid_query"]) if "grid_query" in raw
                               else "" if "query" in raw else base.grid_query),
                   unit=unit, below=below,
                   warn=_threshold(f"{where}.warn", raw["warn"]) if "warn" in raw else base.warn,
                   critical=_threshold(f"{where}.critical", raw["critical"]) if "critical" in raw else base.critical)


def _panels(where: str, raw: Any, base: tuple[Panel, ...], merge: bool) -> tuple[Panel, ...]:
    """A panels list. `merge`: entries with a known id override that panel's fields, new ids are appended;
    otherwise the list replaces `base` (an entry with a base id still inherits its fields)."""
    if not isinstance(raw, list) or not raw:
        raise PanelConfigError(f"{where} must be a non-empty list of panels")
    by_id = {p.id: p for p in base}
    out: list[Panel] = list(base) if merge else []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        p = _panel(f"{where}[{i}]", item, by_id.get(str(item.get("id"))) if isinstance(item, Mapping) else None)
        if p.id in seen:
            raise PanelConfigError(f"{where}[{i}].id {p.id!r} appears twice")
        seen.add(p.id)
        idx = next((j for j, q in enumerate(out) if q.id == p.id), None)
        if idx is None:
            out.append(p)
        else:
            out[idx] = p
    return tuple(out)


def parse_metrics(raw: Mapping[str, Any] | None) -> MetricsConfig:
    """The `metrics:` mapping → MetricsConfig (None → the runbook defaults). Raises PanelConfigError naming the
    key (`metrics.panels[2].unit …`)."""
    if raw is None:
        return MetricsConfig()
    raw = _mapping("metrics", raw)
    _unknown("metrics", raw, _KEYS)
    preset = raw.get("preset", "runbook")
    base = preset_panels(preset) if isinstance(preset, str) else preset_panels(repr(preset))
    services_raw = raw.get("services", list(RUNBOOK_SERVICES))
    if not isinstance(services_raw, list) or not services_raw:
        raise PanelConfigError("metrics.services must be a non-empty list of service names")
    services = tuple(_str(f"metrics.services[{i}]", s, _NAME) for i, s in enumerate(services_raw))
    if len(set(services)) != len(services):
        raise PanelConfigError("metrics.services lists a service twice")
    window = _str("metrics.window", raw.get("window", "5m"), _WINDOW)
    panels = _panels("metrics.panels", raw["panels"], base, merge=False) if "panels" in raw else base
    overrides: dict[str, tuple[Panel, ...]] = {}
    ov_raw = _mapping("metrics.services_overrides", raw.get("services_overrides") or {})
    for svc, spec in ov_raw.items():
        where = f"metrics.services_overrides.{svc}"
        if svc not in services:
            raise PanelConfigError(f"{where}: {svc!r} is not in metrics.services")
        spec = _mapping(where, spec)
        _unknown(where, spec, ("panels",))
        if "panels" in spec:
            overrides[str(svc)] = _panels(f"{where}.panels", spec["panels"], panels, merge=True)
    return MetricsConfig(
        preset=str(preset), namespace=_str("metrics.namespace", raw.get("namespace", "ecotrack"), _NAME),
        services=services, service_label=_str("metrics.service_label", raw.get("service_label", "app"), _LABEL),
        window=window,
        refresh_s=_num("metrics.refresh_s", raw.get("refresh_s", 5), 1, 3600),
        range_minutes=_num("metrics.range_minutes", raw.get("range_minutes", 30), 1, 24 * 60),
        range_refresh_s=_num("metrics.range_refresh_s", raw.get("range_refresh_s", 30), 1, 3600),
        timeout_s=_num("metrics.timeout_s", raw.get("timeout_s", 5), 0.1, 300),
        concurrency=int(_num("metrics.concurrency", raw.get("concurrency", 8), 1, 64)),
        panels=panels, overrides=overrides)


# ---- formatting -----------------------------------------------------------------------------------------------

def format_value(value: float, unit: str) -> str:
    """A value with its unit, short (fits a grid cell of ~9 characters)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if unit == "ratio":
        return f"{value * 100:.1f} %" if abs(value) < 10 else f"{value * 100:.0f} %"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "seconds":
        a = abs(value)
        if a < 1:
            return f"{value * 1000:.0f} ms" if a >= 0.001 or a == 0 else f"{value * 1e6:.0f} µs"
        return f"{value:.2f} s" if a < 100 else f"{value:.0f} s"
    if unit == "bytes":
        for suffix, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
            if abs(value) >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit == "rps":
        return f"{value:.1f}/s" if abs(value) < 1000 else f"{value:.0f}/s"
    return f"{value:.3g}" if abs(value) < 1e6 else f"{value:.3e}"


def format_thresholds(panel: Panel) -> str:
    op = "≤" if panel.below else "≥"
    parts = []
    if panel.warn is not None:
        parts.append(f"warn{op}{format_value(panel.warn, panel.unit)}")
    if panel.critical is not None:
        parts.append(f"crit{op}{format_value(panel.critical, panel.unit)}")
    return " ".join(parts) or "no thresholds"
