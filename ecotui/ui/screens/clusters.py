"""[clusters] (ctrl+k, `:clusters`): the EKS clusters of the configured AWS profiles and regions, discovered with
boto3 (`ecotui.aws.discovery`, in a worker: every region and profile at once, each failure one line), and
`open` (enter) on one connects to it without any kubeconfig entry: `WorkspaceFactory.add_eks_context(cluster)`
makes an in-memory context "eks:profile/region/name" with the native token, it joins the context list and the
App switches to it.

    open_clusters(app)

Widgets (ids stable for tests): `#clusters-title` (profiles, regions, how many found / discovering…),
`#clusters-table` (ResourceTable; row key = the context name "eks:profile/region/name"; columns NAME REGION
PROFILE VERSION STATUS PLATFORM ENDPOINT), `#clusters-problems` (one line per problem). `refresh` discovers again.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from ecotui.errors import EcotuiError
from ecotui.kube.render import Cell
from ecotui.textsafe import inert, one_line
from ecotui.ui import aws_flow
from ecotui.ui.bindings import make_bindings, with_bindings
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints

COLUMNS = [("name", "NAME"), ("region", "REGION"), ("profile", "PROFILE"), ("version", "VERSION"),
           ("status", "STATUS"), ("platform", "PLATFORM"), ("endpoint", "ENDPOINT")]
MAX_WIDTHS = {"name": 40, "profile": 20, "endpoint": 70}
STATUS_STYLE = {"ACTIVE": "ok", "CREATING": "warning", "UPDATING": "warning", "PENDING": "warning",
                "DELETING": "critical", "FAILED": "critical"}
TABLE_IDS = ("open", "cursor_down", "cursor_up", "cursor_top", "cursor_bottom", "page_down", "page_up", "sort",
             "sort_reverse")
TABLE_ACTIONS = {"open": "screen.connect"}
HINT_IDS = ("back", "open", "refresh", "help")
HINT_LABELS = {"back": "back", "open": "connect", "refresh": "discover again", "help": "help"}
DISCOVERY_TIMEOUT_S = 60.0


def context_name(c: Any) -> str:
    """The context a discovered cluster becomes ("eks:profile/region/name", as ecotui.aws.discovery names it)."""
    try:
        from ecotui.aws.discovery import context_name as named
        return str(named(c))
    except Exception:  # noqa: BLE001 - the same shape without the data side
        return f"eks:{getattr(c, 'profile', None) or 'default'}/{getattr(c, 'region', '')}/{getattr(c, 'name', '')}"


def cluster_cells(c: Any) -> tuple[Cell, ...]:
    def text(v: Any, sort: Any = None, style: str = "") -> Cell:
        s = "" if v is None else str(v)
        return Cell(inert(one_line(s, 200)) or "-", s if sort is None else sort, style if s else "muted")
    status = str(getattr(c, "status", "") or "")
    return (text(c.name), text(c.region), text(getattr(c, "profile", None) or "default"),
            text(getattr(c, "version", "")), text(status, style=STATUS_STYLE.get(status.upper(), "warning")),
            text(getattr(c, "platform_version", "")), text(getattr(c, "endpoint", "")))


class ClustersScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "refresh")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "refresh": "screen.discover"}
    DEFAULT_CSS = """
    ClustersScreen > #clusters-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    ClustersScreen > #clusters-table { height: 1fr; }
    ClustersScreen > #clusters-problems { height: auto; max-height: 6; padding: 0 1; }
    """

    def __init__(self, *, table_cls: type[ResourceTable], styles: Callable[[], Mapping[str, Style]],
                 scope: Callable[[], tuple[list[str | None], list[str]]], connect: Callable[[Any], None],
                 hints: str = "") -> None:
        super().__init__()
        self._table_cls = table_cls
        self._styles = styles
        self._scope = scope
        self._connect = connect
        self.hints = hints
        self.clusters: dict[str, Any] = {}
        self.problems: list[str] = []
        self.discovering = False
        self.runs = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="clusters-title")
        yield self._table_cls(list(COLUMNS), max_widths=dict(MAX_WIDTHS), styles=self._styles(), id="clusters-table")
        yield Static("", id="clusters-problems")
        yield KeyHints(self.hints)

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#clusters-table", ResourceTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.action_discover()

    # ---- discovery ----------------------------------------------------------------------------------

    def action_discover(self) -> None:
        if self.discovering:
            return
        self.discovering = True
        self._show()
        self.run_worker(self._discover(), group="clusters", exclusive=True, exit_on_error=False)

    async def _discover(self) -> None:
        clusters: list[Any] = []
        problems: list[str] = []
        try:
            profiles, regions = self._scope()
            if not aws_flow._aws_available():
                problems = ["boto3/botocore is not installed: pip install boto3 (EKS discovery needs it)"]
            else:
                clusters, problems = await asyncio.wait_for(aws_flow._aws_discover(profiles, regions),
                                                            DISCOVERY_TIMEOUT_S)
        except asyncio.TimeoutError:
            problems = [f"discovery did not finish within {DISCOVERY_TIMEOUT_S:g} s"]
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            problems = [aws_flow.explain(exc, None)]
        finally:
            self.discovering = False
            self.runs += 1
        self.clusters = {context_name(c): c for c in clusters}
        self.problems = [one_line(str(p), 300) for p in problems]
        if self.query("#clusters-table"):
            self.table.apply({k: cluster_cells(c) for k, c in sorted(self.clusters.items())})
            self._show()

    def _show(self) -> None:
        if not self.query("#clusters-title"):
            return
        styles = self._styles()
        profiles, regions = self._scope()
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" EKS clusters ", style="bold")
        profs = ", ".join(one_line(p or "default", 30) for p in profiles) or "default"
        regs = ", ".join(one_line(r, 20) for r in regions) or "each profile's own"
        t.append(f"│ profiles {profs} │ regions {regs} │ ")
        if self.discovering:
            t.append("discovering…", style=styles.get("warning", ""))
        else:
            n = len(self.clusters)
            t.append(f"{n} found", style=styles.get("ok" if n else "muted", ""))
        self.query_one("#clusters-title", Static).update(t)
        p = Text()
        for i, line in enumerate(self.problems[:5]):
            p.append("\n" if i else "")
            p.append(inert(line), style=styles.get("critical", ""))
        if len(self.problems) > 5:
            p.append(f"\n(+{len(self.problems) - 5} more)", style=styles.get("muted", ""))
        self.query_one("#clusters-problems", Static).update(p)

    @property
    def problems_text(self) -> str:
        return "\n".join(self.problems)

    # ---- keys -------------------------------------------------------------------------------------------

    def action_connect(self) -> None:
        key = self.table.cursor_key
        c = self.clusters.get(key or "")
        if c is not None:
            self._connect(c)

    def action_back(self) -> None:
        self.dismiss(None)


def connect_cluster(app: Any, cluster: Any) -> None:
    """Add the discovered cluster as an in-memory context (no kubeconfig entry) and switch to it."""
    factory = aws_flow.factory_of(app)
    add = getattr(factory, "add_eks_context", None)
    if add is None:
        app.say("connecting to a discovered cluster is not available (no workspace factory)", severity="error")
        return
    try:
        name = add(cluster)
    except EcotuiError as exc:
        app.say(exc.message, severity="error")
        return
    except Exception as exc:  # noqa: BLE001 - one line
        app.say(aws_flow.explain(exc, getattr(cluster, "profile", None)), severity="error")
        return
    if name not in app.contexts:
        app.contexts.append(name)
    if isinstance(app.screen, ClustersScreen):
        app.pop_screen()
    app.switch_context(name)


def open_clusters(app: Any) -> None:
    """[clusters]: one discovery screen at a time."""
    if isinstance(app.screen, ClustersScreen):
        return
    table_cls = with_bindings(ResourceTable, make_bindings(app.keymap, TABLE_IDS, actions=TABLE_ACTIONS))
    screen = app.screen_class(ClustersScreen)(table_cls=table_cls, styles=lambda: app.cell_styles,
                                              scope=lambda: aws_flow.aws_scope(app),
                                              connect=lambda c: connect_cluster(app, c),
                                              hints=app.hints(HINT_IDS, HINT_LABELS))
    app.push_screen(screen)
