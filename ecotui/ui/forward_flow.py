"""[port_forward] on a row of pods, Services, Deployments or StatefulSets: one GET of the object, a dialog that
offers its ports (a Service's service ports, else the container ports of the pod / pod template; TCP only, as
kubectl), the local port (prefilled with the same number when it is free here, else 0 = a free one) and the
bind address (127.0.0.1; anything not loopback shows a warning line and is allowed), then
`workspace.forwards.start(spec)`. A start that fails at once (the port is in use, a bad address) is shown in the
dialog, which stays open; otherwise the forward is awaited in a worker and the outcome said in one line:
"forwarding 127.0.0.1:8080 → ecotrack/svc/user-service:80 (pod user-service-abc)" or the ForwardError.
"""
from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ecotui.errors import EcotuiError
from ecotui.forward.model import ForwardSpec, Target
from ecotui.kinds.registry import by_id
from ecotui.kube.client import is_loopback
from ecotui.ops.outcome import Target as JournalTarget
from ecotui.textsafe import inert, one_line
from ecotui.ui.screens.forwards import ready_line, target_text

KINDS = {"pods": "pod", "services": "service", "deployments": "deployment", "statefulsets": "statefulset"}


@dataclass(frozen=True)
class Offer:
    port: int | str      # what the spec names: a Service port, or a container port
    label: str           # "80/http → http", "8080/http (container app)"

    @property
    def number(self) -> int:
        return self.port if isinstance(self.port, int) else 0


def _tcp(p: dict[str, Any]) -> bool:
    return str(p.get("protocol") or "TCP").upper() == "TCP"


def offered_ports(kind: str, obj: Any) -> list[Offer]:
    """The ports a target offers, in declaration order (UDP/SCTP left out: port-forward is TCP only)."""
    if not isinstance(obj, dict):
        return []
    spec = obj.get("spec") or {}
    out: list[Offer] = []
    if kind == "services":
        for p in spec.get("ports") or ():
            if not isinstance(p, dict) or not isinstance(p.get("port"), int) or not _tcp(p):
                continue
            name = f"/{p['name']}" if p.get("name") else ""
            tp = p.get("targetPort")
            to = f" → {tp}" if tp not in (None, "", p["port"]) else ""
            out.append(Offer(p["port"], one_line(f"{p['port']}{name}{to}", 80)))
        return out
    pod_spec = spec if kind == "pods" else ((spec.get("template") or {}).get("spec") or {})
    seen: set[int] = set()
    for c in pod_spec.get("containers") or ():
        if not isinstance(c, dict):
            continue
        for p in c.get("ports") or ():
            if not isinstance(p, dict) or not isinstance(p.get("containerPort"), int) or not _tcp(p):
                continue
            n = p["containerPort"]
            if n in seen:
                continue
            seen.add(n)
            name = f"/{p['name']}" if p.get("name") else ""
            out.append(Offer(n, one_line(f"{n}{name} (container {c.get('name', '?')})", 80)))
    return out


def port_free(port: int, address: str = "127.0.0.1") -> bool:
    """Whether `address:port` can be bound here now (checked by binding it and letting go)."""
    if not 0 < port < 65536:
        return False
    fam = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.bind((address, port))
        return True
    except OSError:
        return False


def address_warning(address: str) -> str:
    a = address.strip()
    if not a or is_loopback(a):
        return ""
    return (f"! {one_line(a, 60)} is not loopback: anyone who can reach this machine on it can use the forward "
            "(into the cluster, as you)")


def parse_port(text: str) -> int | str:
    """What the user typed as the target port: a number 1-65535 or a port name. ValueError with one line."""
    t = text.strip()
    if t.isdigit() and 0 < int(t) < 65536:
        return int(t)
    if t and not t.isdigit() and len(t) <= 15 and t.replace("-", "").isalnum() and t[0].isalpha():
        return t.lower()
    raise ValueError(f"target port: a number from 1 to 65535 or a port name (got {one_line(t, 20)!r})")


def parse_local(text: str) -> int:
    t = text.strip() or "0"
    if t.isdigit() and 0 <= int(t) < 65536:
        return int(t)
    raise ValueError(f"local port: a number from 0 to 65535, 0 = a free one (got {one_line(t, 20)!r})")


class ForwardDialog(ModalScreen["tuple[str, ForwardSpec] | None"]):
    """Dismisses with (forward id, spec) once `start(spec)` accepted it, or None (escape)."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back",)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}
    DEFAULT_CSS = """
    ForwardDialog { align: center middle; }
    ForwardDialog > Vertical { width: 72; max-width: 100%; height: auto; max-height: 100%;
                               border: round $accent; background: $surface; }
    ForwardDialog #fwd-title { height: 1; text-style: bold; padding: 0 1; }
    ForwardDialog .fwd-label { height: 1; padding: 0 1; color: $text-muted; }
    ForwardDialog OptionList { height: auto; max-height: 6; border: none; padding: 0 1; }
    ForwardDialog Input { height: 1; border: none; padding: 0 1; background: $panel; }
    ForwardDialog #fwd-warning { height: auto; padding: 0 1; color: $warning; }
    ForwardDialog #fwd-error { height: auto; padding: 0 1; color: $error; }
    ForwardDialog #fwd-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, context: str, target: Target, offers: Sequence[Offer],
                 start: Callable[[ForwardSpec], str], *, free: Callable[[int], bool] = port_free) -> None:
        super().__init__()
        self.context, self.target, self.offers = context, target, list(offers)
        self._start = start
        self._free = free
        self._prefill = ""        # the local port we filled in (replaced while the user has not typed another)
        self.error = ""
        self.warning = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Port-forward {inert(str(self.target))}", no_wrap=True, overflow="ellipsis"),
                         id="fwd-title")
            if self.offers:
                yield Static("target port (↑/↓)", classes="fwd-label")
                yield OptionList(*[Option(Text(o.label), id=f"p{i}") for i, o in enumerate(self.offers)],
                                 id="fwd-ports")
            else:
                yield Static("target port (no ports declared: type a number or a name)", classes="fwd-label")
                yield Input(placeholder="8080", id="fwd-port")
            yield Static("local port (0 = a free one)", classes="fwd-label")
            yield Input(value="0", id="fwd-local")
            yield Static("address (127.0.0.1 unless you mean it)", classes="fwd-label")
            yield Input(value="127.0.0.1", id="fwd-address")
            yield Static("", id="fwd-warning")
            yield Static("", id="fwd-error")
            yield Static(Text("enter: start   tab: next field   escape: cancel", no_wrap=True), id="fwd-keys")

    def on_mount(self) -> None:
        if self.offers:
            ol = self.query_one("#fwd-ports", OptionList)
            ol.highlighted = 0
            ol.focus()
            self._fill_local(self.offers[0])
        else:
            self.query_one("#fwd-port", Input).focus()

    # ---- fields -----------------------------------------------------------------------------------

    def _fill_local(self, offer: Offer | None) -> None:
        local = self.query_one("#fwd-local", Input)
        if local.value.strip() not in ("", "0", self._prefill):
            return                          # the user typed their own
        n = offer.number if offer is not None else 0
        value = str(n) if n and self._free(n) else "0"
        self._prefill = value
        local.value = value

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index is not None and 0 <= event.option_index < len(self.offers):
            self._fill_local(self.offers[event.option_index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.submit()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fwd-address":
            self.warning = address_warning(event.value)
            self.query_one("#fwd-warning", Static).update(Text(self.warning))
        elif event.input.id == "fwd-port":
            try:
                p = parse_port(event.value)
            except ValueError:
                return
            self._fill_local(Offer(p, "") if isinstance(p, int) else None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def values(self) -> tuple[int | str, int, str]:
        """(target port, local port, address) as typed/picked. ValueError with one line."""
        if self.offers:
            idx = self.query_one("#fwd-ports", OptionList).highlighted
            port: int | str = self.offers[idx if idx is not None else 0].port
        else:
            port = parse_port(self.query_one("#fwd-port", Input).value)
        local = parse_local(self.query_one("#fwd-local", Input).value)
        address = self.query_one("#fwd-address", Input).value.strip()
        if not address:
            raise ValueError("address: 127.0.0.1, or the address to listen on")
        return port, local, address

    def _show_error(self, text: str) -> None:
        self.error = text
        self.query_one("#fwd-error", Static).update(Text(inert(text)))

    def submit(self) -> None:
        try:
            port, local, address = self.values()
        except ValueError as exc:
            self._show_error(str(exc))
            return
        spec = ForwardSpec(self.context, self.target, port, local, address)
        try:
            fid = self._start(spec)
        except EcotuiError as exc:
            self._show_error(one_line(exc.message, 300))
            return
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self._show_error(f"{type(exc).__name__}: {one_line(str(exc), 200)}")
            return
        self.dismiss((fid, spec))

    def action_back(self) -> None:
        self.dismiss(None)


def request_forward(app: Any, kind: str, keys: list[str]) -> None:
    """[port_forward] on the rows `keys` of `kind` (the first one: one forward at a time)."""
    if kind not in KINDS:
        app.say("port-forward: pick a pod, a Service, a Deployment or a StatefulSet", severity="warning")
        return
    if not keys:
        app.say("port-forward: no row selected", severity="warning")
        return
    ns, _, name = keys[0].rpartition("/")
    if not ns or not name:
        app.say(f"port-forward: not a namespaced object: {one_line(keys[0], 80)}", severity="warning")
        return
    if len(keys) > 1:
        app.say(f"port-forward: one at a time — {one_line(keys[0], 80)} first", severity="warning", timeout=4)
    app.run_worker(_open(app, kind, Target(KINDS[kind], ns, name)), group="forward-open", exit_on_error=False)


async def _open(app: Any, kind: str, target: Target) -> None:
    ws = app.workspace
    try:
        obj = await ws.session.get_object(by_id(kind), target.namespace, target.name)
    except EcotuiError as exc:
        app.say(f"port-forward {target}: {exc.message}", severity="error")
        return
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        app.say(f"port-forward {target}: {type(exc).__name__}: {one_line(str(exc), 200)}", severity="error")
        return
    try:
        mgr = ws.forwards
    except Exception as exc:  # noqa: BLE001 - e.g. no forward manager in this build
        msg = exc.message if isinstance(exc, EcotuiError) else f"{type(exc).__name__}: {one_line(str(exc), 160)}"
        app.say(f"port-forward: {msg}", severity="error")
        return

    def done(result: tuple[str, ForwardSpec] | None) -> None:
        if result is not None:
            fid, spec = result
            app.run_worker(_ready(app, mgr, fid, spec), group="forward-ready", exit_on_error=False)

    dialog = app.screen_class(ForwardDialog)(ws.profile.context, target, offered_ports(kind, obj), mgr.start)
    await app.push_screen(dialog, done)


_JOURNAL_KIND = {"pod": "pods", "service": "services", "deployment": "deployments", "statefulset": "statefulsets"}


async def _journal(app: Any, event: str, spec: ForwardSpec, **extra: Any) -> None:
    """Port-forwards change nothing in the cluster, but an on-call engineer's journal says what was opened."""
    ws = app.workspace
    try:
        user = await ws.access.user()
    except Exception:  # noqa: BLE001 - the journal line is written without a user rather than not at all
        user = ""
    t = spec.target
    app.journal.append(event, "port_forward", context=spec.context, namespace=t.namespace, user=user,
                       targets=[JournalTarget(_JOURNAL_KIND.get(t.kind, t.kind), t.name, t.namespace)],
                       params={"port": spec.port, "local_port": spec.local_port, "address": spec.address}, **extra)


async def _ready(app: Any, mgr: Any, fid: str, spec: ForwardSpec) -> None:
    await _journal(app, "requested", spec)
    try:
        view = await mgr.wait_ready(fid, 10.0)
    except EcotuiError as exc:
        await _journal(app, "failed", spec, reason=exc.message)
        app.say(f"port-forward {target_text(spec)}: {exc.message}", severity="error")
        return
    except Exception as exc:  # noqa: BLE001
        await _journal(app, "failed", spec, reason=f"{type(exc).__name__}: {one_line(str(exc), 200)}")
        app.say(f"port-forward {target_text(spec)}: {type(exc).__name__}: {one_line(str(exc), 200)}",
                severity="error")
        return
    await _journal(app, "done", spec, local=view.local, pod=view.pod, warning=view.warning)
    app.say(ready_line(view), severity="warning" if view.warning else "information", timeout=6)
