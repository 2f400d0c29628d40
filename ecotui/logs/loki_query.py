"""LogQL text: quoting, label sets rendered as stream names, and `selection_query(Selection) -> LogQL`.

Label assumption for workloads: the runbook's services (and the testbed's loggen) label their log streams
with `app=<workload name>` (promtail's usual `app` relabel from the pod label `app` /
`app.kubernetes.io/name`). Where that is not true, pass `workload_label=None` and the query falls back to the
pod-name prefix `pod=~"<name>-.*"` (which can over-match a sibling workload named `<name>-something`).
Kubernetes label keys such as `app.kubernetes.io/name` are not valid Loki label names; like promtail's
`labelmap` they are translated with every character outside `[A-Za-z0-9_]` turned into `_`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from .model import Selection

_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_LABEL_CHAR = re.compile(r"[^A-Za-z0-9_]")
_RE_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
WORKLOAD_KINDS = ("deployments", "statefulsets", "daemonsets")


def quote(value: str) -> str:
    """A LogQL double-quoted string (Go escapes) for any text: `a"b\\c` → `"a\\"b\\\\c"`."""
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def regex_escape(value: str) -> str:
    """Escape RE2 metacharacters (the subset `re.escape` would also touch that RE2 accepts escaped)."""
    return _RE_SPECIAL.sub(r"\\\1", value)


def label_name(key: str) -> str:
    """A Kubernetes label key as a Loki label name (`app.kubernetes.io/name` → `app_kubernetes_io_name`)."""
    name = _NOT_LABEL_CHAR.sub("_", key.strip())
    if not name:
        raise ValueError(f"label key {key!r} cannot be used as a Loki label name")
    return name if _LABEL_NAME.match(name) else "_" + name


def render_labels(labels: Mapping[str, str]) -> str:
    """A label set as LogLine.stream: sorted, `{a="1",b="2"}`."""
    return "{" + ",".join(f"{k}={quote(str(labels[k]))}" for k in sorted(labels)) + "}"


def _selector(matchers: list[tuple[str, str, str]]) -> str:
    if not any(op in ("=", "=~") and val and val not in (".*", ".*?") for _, op, val in matchers):
        raise ValueError("a Loki query needs at least one = or =~ matcher that does not match the empty string "
                         "(add a namespace or an app=… requirement)")
    return "{" + ",".join(f"{name}{op}{quote(val)}" for name, op, val in matchers) + "}"


def _parse_selector(selector: str) -> list[tuple[str, str, str]]:
    """`app=x,tier!=y,name=~"a.*"` → matchers. Set-based (`in`, `notin`, `!key`, bare `key`) raise."""
    out: list[tuple[str, str, str]] = []
    if "(" in selector or ")" in selector:
        raise ValueError(f"label selector {selector!r}: set-based requirements (in/notin) cannot be translated "
                         "to LogQL; use =, != or =~")
    for raw in selector.split(","):
        req = raw.strip()
        if not req:
            continue
        for op, logql_op in (("!=", "!="), ("=~", "=~"), ("==", "="), ("=", "=")):
            key, sep, value = req.partition(op)
            if sep and key.strip():
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                out.append((label_name(key), logql_op, value))
                break
        else:
            raise ValueError(f"label selector requirement {req!r} cannot be translated to LogQL; "
                             "only key=value, key!=value and key=~regex are supported")
    if not out:
        raise ValueError("empty label selector")
    return out


def selection_query(sel: Selection, *, workload_label: str | None = "app") -> str:
    """The LogQL stream selector for a Selection (see the module docstring for the label assumptions).

    Raises ValueError with a one-line reason when the selection cannot be expressed in LogQL."""
    if sel.logql.strip():
        return sel.logql.strip()
    matchers: list[tuple[str, str, str]]
    if sel.pods:
        namespaces: list[str] = []
        names: list[str] = []
        for key in sel.pods:
            ns, sep, name = key.partition("/")
            if not sep or not ns or not name:
                raise ValueError(f"pod {key!r} is not namespace/name")
            if ns not in namespaces:
                namespaces.append(ns)
            if name not in names:
                names.append(name)
        # LogQL cannot OR two selectors: pods from several namespaces give one (possibly wider) selector
        ns_m = ("namespace", "=", namespaces[0]) if len(namespaces) == 1 else \
            ("namespace", "=~", "|".join(regex_escape(n) for n in namespaces))
        pod_m = ("pod", "=", names[0]) if len(names) == 1 else ("pod", "=~", "|".join(regex_escape(n) for n in names))
        matchers = [ns_m, pod_m]
    elif sel.workload is not None:
        kind, key = sel.workload
        ns, sep, name = key.partition("/")
        if not sep or not ns or not name:
            raise ValueError(f"workload {key!r} is not namespace/name")
        if kind.rstrip("s") + "s" in WORKLOAD_KINDS and workload_label:
            matchers = [("namespace", "=", ns), (label_name(workload_label), "=", name)]
        else:
            matchers = [("namespace", "=", ns), ("pod", "=~", regex_escape(name) + "-.*")]
    elif sel.node:
        matchers = [("node", "=", sel.node)]
    elif sel.selector.strip():
        matchers = _parse_selector(sel.selector)
        if sel.namespace:
            matchers.insert(0, ("namespace", "=", sel.namespace))
    elif sel.namespace:
        matchers = [("namespace", "=", sel.namespace)]
    else:
        raise ValueError("nothing selected: no pods, workload, node, namespace, selector or LogQL query")
    if sel.container:
        matchers.append(("container", "=", sel.container))
    return _selector(matchers)
