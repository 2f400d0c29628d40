"""The one registry of key actions.

Each action has a stable id (used as the Textual ``Binding`` id, as the key in ``keymaps.yaml``
and on the help screen), a description and a group. Groups say where a binding lives:

* ``global`` – bound on the App/screen, active everywhere (a key here must not be reused anywhere);
* ``table``  – bound on the resource tables (pods, nodes, events);
* ``describe`` – bound on the describe/detail view;
* ``dialog`` – bound on the confirmation dialogs;
* ``logs`` – bound on the log viewer (it also uses the table's cursor ids to move its cursor line);
* ``incident`` – bound on the incident view (key 9: clock, timeline, status updates; it also uses the table's
  cursor ids).

Two actions clash when they share a key and are in the same group, or one of them is global.
The default keys live in ``keymaps.yaml`` (repo root), not here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str
    description: str
    group: str          # one of GROUPS


GROUPS: tuple[str, ...] = ("global", "table", "describe", "dialog", "logs", "incident")

_SPECS: tuple[ActionSpec, ...] = (
    # global
    ActionSpec("quit", "Quit ecotui", "global"),
    ActionSpec("help", "Show keys and help", "global"),
    ActionSpec("command", "Open the command prompt (:pods, :ns NAME, :ctx NAME …)", "global"),
    ActionSpec("filter", "Filter rows: text, or a label selector like app=x,tier!=db", "global"),
    ActionSpec("clear_filter", "Clear the current filter", "global"),
    ActionSpec("switch_context", "Switch cluster context", "global"),
    ActionSpec("switch_namespace", "Switch namespace", "global"),
    ActionSpec("all_namespaces", "Show all namespaces", "global"),
    ActionSpec("focus_nodes", "Go to the nodes pane", "global"),
    ActionSpec("focus_pods", "Go to the pods pane", "global"),
    ActionSpec("focus_events", "Go to the events pane", "global"),
    ActionSpec("next_pane", "Focus the next pane", "global"),
    ActionSpec("prev_pane", "Focus the previous pane", "global"),
    ActionSpec("theme", "Cycle the colour theme", "global"),
    ActionSpec("refresh", "Re-list and re-watch every kind (drops the caches)", "global"),
    ActionSpec("back", "Back: close the dialog or view, or clear the filter", "global"),
    ActionSpec("journal", "Show the action journal (every action taken or refused)", "global"),
    ActionSpec("cancel_drain", "Cancel the running drain (or close its finished panel)", "global"),
    ActionSpec("logs_query", "Logs of a LogQL query or a label selector you type", "global"),
    ActionSpec("top", "Top: node and pod CPU/memory against allocatable, requests and limits, with history",
               "global"),
    ActionSpec("hpa", "HPAs explained: metrics against targets, conditions, scaling events", "global"),
    ActionSpec("metrics", "Key metrics: the services' golden signals from Prometheus", "global"),
    ActionSpec("promql", "Run a PromQL query you type (table or sparkline)", "global"),
    ActionSpec("port_forwards", "Port-forwards: every forward, its pod, state, connections and bytes; stop/restart",
               "global"),
    ActionSpec("health", "Health checks: /actuator/health of every service through port-forwards", "global"),
    ActionSpec("run_check", "Run the configured one-shot checks (psql SELECT 1, redis-cli ping) and show the output",
               "global"),
    # incident mode (issue 11): start, the incident view (clock, timeline), a note from anywhere
    ActionSpec("incident_start", "Start an incident: title, services (from the selected workload), severity, impact",
               "global"),
    ActionSpec("incident_timeline", "Incident view: the clock, the timeline that writes itself, status updates",
               "global"),
    ActionSpec("incident_note", "Add a note to the open incident's timeline", "global"),
    # AWS / EKS (issue 12)
    ActionSpec("clusters", "EKS clusters of the configured AWS profiles and regions: connect without kubeconfig",
               "global"),
    ActionSpec("eks_info", "EKS cluster: version and upgrade, node groups, add-ons, updates in progress", "global"),
    # table
    ActionSpec("open", "Open the selected row: a node's pods, a pod's description", "table"),
    ActionSpec("describe", "Describe the selected object", "table"),
    ActionSpec("sort", "Sort by the next column", "table"),
    ActionSpec("sort_reverse", "Reverse the sort order", "table"),
    ActionSpec("cursor_down", "Move down", "table"),
    ActionSpec("cursor_up", "Move up", "table"),
    ActionSpec("cursor_top", "Go to the first row", "table"),
    ActionSpec("cursor_bottom", "Go to the last row", "table"),
    ActionSpec("page_down", "Page down", "table"),
    ActionSpec("page_up", "Page up", "table"),
    # table: selection and remediation (act on the marked rows, else the row under the cursor)
    ActionSpec("mark", "Mark / unmark the row under the cursor", "table"),
    ActionSpec("mark_all", "Mark every row shown", "table"),
    ActionSpec("clear_marks", "Clear the marks", "table"),
    ActionSpec("cordon", "Cordon the selected nodes (spec.unschedulable)", "table"),
    ActionSpec("uncordon", "Uncordon the selected nodes", "table"),
    ActionSpec("drain", "Drain the selected nodes: plan, confirm, evict with live progress", "table"),
    ActionSpec("rollout_status", "Rollout status of the selected workload", "table"),
    ActionSpec("rollout_history", "Rollout history: revisions, change-cause, images", "table"),
    ActionSpec("rollout_undo", "Undo a rollout (to the previous or a chosen revision), diff first", "table"),
    ActionSpec("rollout_restart", "Restart a rollout (restartedAt annotation, as kubectl)", "table"),
    ActionSpec("rollout_pause", "Pause a Deployment's rollout", "table"),
    ActionSpec("rollout_resume", "Resume a Deployment's rollout", "table"),
    ActionSpec("scale", "Scale replicas of a Deployment or StatefulSet", "table"),
    ActionSpec("delete", "Delete the selected objects (grace period, confirmation)", "table"),
    ActionSpec("logs", "Logs of the selected pods / workload / node / namespace (Loki, else the API server)", "table"),
    ActionSpec("logs_previous", "Logs of the previous (crashed) container of the selected pods / workload", "table"),
    ActionSpec("port_forward", "Port-forward the selected pod / Service / Deployment / StatefulSet (pick ports)",
               "table"),
    ActionSpec("shell", "Shell into the selected pod's container (pick one; bash, else /bin/sh)", "table"),
    ActionSpec("hpa_target", "HPA pane: go to the HPA's target workload (its view, cursor on it)", "table"),
    ActionSpec("forward_start", "Port-forwards pane: start the selected preset (or start a stopped forward again)",
               "table"),
    ActionSpec("forward_stop", "Port-forwards pane: stop the selected forward (its local port is released)", "table"),
    ActionSpec("forward_restart", "Port-forwards pane: restart the selected forward (re-resolve, same local port)",
               "table"),
    ActionSpec("forward_remove", "Port-forwards pane: stop the selected forward and drop it from the list", "table"),
    ActionSpec("health_rerun", "Health grid: check every service again now", "table"),
    ActionSpec("snapshot_volume", "EBS snapshot of the selected PVC / PV (confirm, progress, journal)", "table"),
    ActionSpec("top_sort_cpu", "Top: sort pods by CPU usage (highest first)", "table"),
    ActionSpec("top_sort_memory", "Top: sort pods by memory usage (highest first)", "table"),
    # describe view
    ActionSpec("scroll_down", "Scroll down", "describe"),
    ActionSpec("scroll_up", "Scroll up", "describe"),
    ActionSpec("scroll_top", "Scroll to the top", "describe"),
    ActionSpec("scroll_bottom", "Scroll to the bottom", "describe"),
    # confirmation dialogs
    ActionSpec("confirm", "Confirm the action shown (critical contexts: type the name, then enter)", "dialog"),
    # log viewer
    ActionSpec("logs_pause", "Pause / resume following (lines keep arriving and are counted)", "logs"),
    ActionSpec("logs_follow", "Follow: jump to the newest line and keep following", "logs"),
    ActionSpec("logs_search", "Search (regex, smart case): highlight matches", "logs"),
    ActionSpec("logs_search_next", "Next search match", "logs"),
    ActionSpec("logs_search_prev", "Previous search match", "logs"),
    ActionSpec("logs_filter_include", "Show only lines matching a regex (old and new lines)", "logs"),
    ActionSpec("logs_filter_exclude", "Hide lines matching a regex", "logs"),
    ActionSpec("logs_clear_filters", "Clear the include/exclude filters, preset and search", "logs"),
    ActionSpec("logs_errors", "Preset: errors (runbook: grep -i error); again to turn off", "logs"),
    ActionSpec("logs_perf", 'Preset: performance (runbook: grep -E "(slow|timeout|latency)")', "logs"),
    ActionSpec("logs_security", 'Preset: security (runbook: grep -E "(unauthorized|forbidden|authentication)")',
               "logs"),
    ActionSpec("logs_wrap", "Wrap long lines on / off", "logs"),
    ActionSpec("logs_timestamps", "Show timestamps on / off", "logs"),
    ActionSpec("logs_json", "JSON lines: key=value / pretty-printed", "logs"),
    ActionSpec("logs_save", "Save the lines shown (filtered, raw and whole) to a file", "logs"),
    ActionSpec("logs_source", "Switch the log source (Loki / Kubernetes)", "logs"),
    ActionSpec("logs_scroll_left", "Scroll left (long lines, wrap off)", "logs"),
    ActionSpec("logs_scroll_right", "Scroll right (long lines, wrap off)", "logs"),
    ActionSpec("copy", "Copy the cursor line (raw, whole) to the clipboard (OSC 52)", "logs"),
    # incident view
    ActionSpec("incident_severity", "Change the incident's severity (P0-P3, the runbook matrix shown)", "incident"),
    ActionSpec("incident_ack", "Acknowledge the incident (meets the response-time SLA)", "incident"),
    ActionSpec("incident_escalate", "Escalate to the next level (L1-L4) with a reason", "incident"),
    ActionSpec("incident_resolve", "Resolve: resolution and root cause; the clock stops", "incident"),
    ActionSpec("incident_update", "Status update: Initial / Update / Resolution filled in; edit, copy (OSC 52), save",
               "incident"),
    ActionSpec("incident_export", "Export the incident (evidence + post-mortem) as one markdown file", "incident"),
    ActionSpec("incident_snapshot", "Save the affected namespaces as YAML (kubectl get all; secret values never)",
               "incident"),
)

# actions that change the cluster (read-only mode refuses them before any request)
MUTATING_ACTIONS = frozenset({"cordon", "uncordon", "drain", "rollout_undo", "rollout_restart", "rollout_pause",
                              "rollout_resume", "scale", "delete", "snapshot_volume"})
REMEDY_ACTIONS = ("cordon", "uncordon", "drain", "rollout_status", "rollout_history", "rollout_undo",
                  "rollout_restart", "rollout_pause", "rollout_resume", "scale", "delete",
                  "snapshot_volume")   # snapshot_volume: the App hands it to ui/snapshot_flow.py (EBS, not the API)

ACTIONS: dict[str, ActionSpec] = {spec.id: spec for spec in _SPECS}


def actions_in(group: str) -> list[ActionSpec]:
    """Actions of one group, in registry order (for building Bindings and the help screen)."""
    return [a for a in _SPECS if a.group == group]
