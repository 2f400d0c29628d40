"""[promql] A PromQL query typed by the user: prompt → result screen.

The instant query and a range query over the last `RANGE_MIN` minutes (step = range / width) run at once in a
worker; the result shows as a table of labels and values (vector), sparklines per series (range, up to
`MAX_SERIES`), or one value (scalar/string). Prometheus's own error text is shown as it is; "no data" is said as
such. Every label and value is made inert before display.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ecotui.errors import EcotuiError
from ecotui.metrics.history import resample, sparkline
from ecotui.metrics.prom import PromClient, PromError, PromResult
from ecotui.textsafe import one_line
from ecotui.ui.screens.pickers import PromptScreen
from ecotui.ui.screens.text_view import ScrollKeys
from ecotui.ui.widgets.status import KeyHints

RANGE_MIN = 30
MAX_ROWS = 200
MAX_SERIES = 20
PLACEHOLDER = 'sum by (app)(rate(http_requests_total{namespace="ecotrack"}[5m]))'
HINT_IDS = ("back", "promql", "refresh", "scroll_down", "scroll_up", "quit")
HINT_LABELS = {"back": "back", "promql": "new query", "refresh": "run again", "scroll_down": "down",
               "scroll_up": "up", "quit": "quit"}


def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.6g}"


def _labels(labels: Mapping[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return one_line(f"{name}{{{rest}}}" if rest or not name else name, 160)


def vector_table(res: PromResult) -> Text:
    """Samples as aligned columns: one per label name (sorted, __name__ first), VALUE last; highest first."""
    samples = sorted(res.samples, key=lambda s: (-s.value if not math.isnan(s.value) else math.inf))
    names = sorted({k for s in samples for k in s.labels}, key=lambda k: (k != "__name__", k))
    rows = [[one_line(s.labels.get(k, ""), 60) for k in names] + [_num(s.value)] for s in samples[:MAX_ROWS]]
    head = [n.upper() if n != "__name__" else "NAME" for n in names] + ["VALUE"]
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(len(head))]
    out = Text(no_wrap=True)
    out.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip() + "\n", style="bold")
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")
    if len(samples) > MAX_ROWS:
        out.append(f"… {len(samples) - MAX_ROWS} more series not shown\n")
    return out


def series_sparklines(res: PromResult, start: float, end: float, width: int) -> Text:
    out = Text(no_wrap=True)
    for s in res.series[:MAX_SERIES]:
        vals = resample(s.points, start, end, width)
        last = next((v for v in reversed(vals) if not math.isnan(v)), math.nan)
        finite = [v for _, v in s.points if math.isfinite(v)]
        rng = f"min {_num(min(finite))} max {_num(max(finite))}" if finite else "no values"
        out.append(f"{_labels(s.labels)}\n", style="bold")
        out.append(f"  {sparkline(vals, width)}  last {_num(last)}  {rng}\n")
    if len(res.series) > MAX_SERIES:
        out.append(f"… {len(res.series) - MAX_SERIES} more series not shown\n")
    return out


def result_text(expr: str, instant: PromResult | BaseException, ranged: PromResult | BaseException | None,
                start: float, end: float, width: int, styles: Mapping[str, Style]) -> Text:
    """Everything the result screen shows, as one Text."""
    crit, muted = styles.get("critical", ""), styles.get("muted", "")
    out = Text(no_wrap=True)
    if isinstance(instant, BaseException):
        kind = instant.kind if isinstance(instant, PromError) else "error"
        msg = instant.message if isinstance(instant, PromError) else one_line(f"{type(instant).__name__}: {instant}")
        out.append(f"{'error' if kind == 'query' else kind}: ", style=crit)
        out.append(one_line(msg, 2000) + "\n", style=crit)
        return out
    for w in instant.warnings:
        out.append(f"warning: {w}\n", style=styles.get("warning", ""))
    if instant.kind in ("scalar", "string"):
        s = instant.samples[0]
        out.append(f"{instant.kind}: ", style="bold")
        out.append((one_line(s.labels.get("value", ""), 500) if instant.kind == "string" else _num(s.value)) + "\n")
    elif instant.kind == "matrix":   # a range-vector selector: show its raw points as sparklines
        out.append(f"range vector, {len(instant.series)} series\n", style="bold")
        pts = [t for s in instant.series for t, _ in s.points]
        if pts:
            out.append_text(series_sparklines(instant, min(pts), max(pts) + 1e-9, width))
        else:
            out.append("no data (the query returned no series)\n", style=muted)
    elif not instant.samples:
        out.append("no data (the query returned no series)\n", style=muted)
    else:
        out.append(f"{len(instant.samples)} series now\n", style="bold")
        out.append_text(vector_table(instant))
    if ranged is None or instant.kind != "vector":
        return out
    out.append(f"\nlast {RANGE_MIN} min\n", style="bold")
    if isinstance(ranged, BaseException):
        msg = ranged.message if isinstance(ranged, PromError) else str(ranged)
        out.append(f"range query failed: {one_line(msg, 500)}\n", style=muted)
    elif not ranged.series:
        out.append("no data in the range\n", style=muted)
    else:
        out.append_text(series_sparklines(ranged, start, end, width))
    return out


class PromqlScreen(ScrollKeys, Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "promql", "refresh", "scroll_down", "scroll_up",
                                          "scroll_top", "scroll_bottom")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "promql": "app.promql",
                                             "refresh": "run"}

    DEFAULT_CSS = """
    PromqlScreen > #promql-title { height: 1; background: $panel; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    PromqlScreen > #promql-body { height: 1fr; }
    PromqlScreen #promql-text { width: auto; padding: 0 1; }
    """

    def __init__(self, expr: str, client: PromClient, *, styles: Mapping[str, Style] | None = None,
                 hints: str = "", timeout: float = 10.0) -> None:
        super().__init__()
        self.expr = expr
        self.client = client
        self.cell_styles = styles or {}
        self.hints = hints
        self.timeout = timeout
        self.text = ""         # what the body shows (plain), for tests
        self.done = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f" PromQL │ {one_line(self.expr, 400)}", no_wrap=True), id="promql-title")
        with VerticalScroll(id="promql-body"):
            yield Static(Text("running…"), id="promql-text")
        yield KeyHints(self.hints)

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#promql-body", VerticalScroll)

    def on_mount(self) -> None:
        self.body.focus()
        self.action_run()

    def action_run(self) -> None:
        self.done = False
        self._run()

    @work(exclusive=True, group="promql", exit_on_error=False)
    async def _run(self) -> None:
        try:
            end = time.time()
            start = end - RANGE_MIN * 60
            width = max(20, min(120, self.size.width - 30))
            got = await asyncio.gather(
                self.client.query(self.expr, timeout=self.timeout),
                self.client.query_range(self.expr, start, end, (end - start) / width, timeout=self.timeout),
                return_exceptions=True)
            instant, ranged = got
            text = result_text(self.expr, instant, ranged, start, end, width, self.cell_styles)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - said on the screen, never left "running…"
            why = exc.message if isinstance(exc, EcotuiError) else f"{type(exc).__name__}: {exc}"
            text = Text(f"promql failed: {one_line(why, 300)}", style=self.cell_styles.get("critical", ""))
        self.text = text.plain
        self.done = True
        self.query_one("#promql-text", Static).update(text)


def open_promql(app: Any) -> None:
    """[promql]: prompt for a query (prefilled with the one on screen), then show its result."""
    previous = app.screen.expr if isinstance(app.screen, PromqlScreen) else ""

    def typed(text: str | None) -> None:
        if text is None:
            return
        expr = text.strip()
        if not expr:
            app.say("promql: type a query, e.g. " + PLACEHOLDER, severity="warning")
            return
        try:
            client = app.workspace.prometheus
        except PromError as exc:
            app.say(exc.message, severity="error")
            return
        if client is None:
            app.say(f"no Prometheus configured for context {app.workspace.profile.context} "
                    "(set prometheus_url in the config)", severity="warning")
            return
        if isinstance(app.screen, PromqlScreen):
            app.pop_screen()
        hints = app.hints(HINT_IDS, HINT_LABELS)
        app.push_screen(app.screen_class(PromqlScreen)(expr, client, styles=app.cell_styles, hints=hints))

    prompt = app.screen_class(PromptScreen)("promql:", PLACEHOLDER)
    app.push_screen(prompt, typed)
    if previous:
        def prefill() -> None:
            try:
                inp = prompt.query_one("#prompt-input")
                inp.value = previous
                inp.cursor_position = len(previous)
            except Exception:  # noqa: BLE001 - only a convenience
                pass
        app.call_after_refresh(prefill)
