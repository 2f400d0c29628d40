"""The timeline's pure rules: journal records, events and metric levels → entries; merge and filter."""
from __future__ import annotations

import time

from ecotui.incident.model import Incident, TimelineEntry
from ecotui.incident.timeline import (event_entries, filter_entries, journal_entries, merge, metric_entries,
                                      metric_levels)
from ecotui.kube.models import Event, EventSeries, ObjectMeta, ObjectReference

START = 1_796_000_000.0     # 2026-12-01-ish


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def incident(**kw) -> Incident:
    base = dict(id="INC-1", title="payments failing", services=("payment-service",), namespaces=("ecotrack",),
                severity="P1", impact="checkout fails", context="prod", user="me", started=START)
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


def rec(event: str, action: str, t: float, *, context: str = "prod", targets=("deployments/ecotrack/payment-service",),
        **extra) -> dict:
    return {"time": iso(t), "event": event, "action": action, "user": "alice", "context": context,
            "namespace": "ecotrack", "targets": list(targets), "params": extra.pop("params", {}), **extra}


# ---- journal -------------------------------------------------------------------------------------------------

def test_every_journal_event_kind_becomes_an_entry_with_its_outcome():
    records = [
        rec("requested", "rollout_undo", START + 10, params={"revision": 3}),
        rec("done", "rollout_undo", START + 11, ok=True, message="rolled back to revision 3"),
        rec("failed", "scale", START + 20, ok=False, message="not allowed for alice: patch deployments/scale"),
        rec("refused", "drain", START + 30, targets=("nodes/ip-10-0-1-5",), reason="read-only"),
        rec("cancelled", "delete", START + 40, targets=("pods/ecotrack/payment-service-abc",)),
        rec("progress", "drain", START + 41, targets=("nodes/ip-10-0-1-5",)),
    ]
    got = journal_entries(records, incident())
    assert [(e.source, e.kind, e.data["event"]) for e in got] == [
        ("journal", "rollout_undo", "requested"), ("journal", "rollout_undo", "done"), ("journal", "scale", "failed"),
        ("journal", "drain", "refused"), ("journal", "delete", "cancelled")]
    assert got[0].text == "requested rollout_undo deployments/ecotrack/payment-service (revision=3) (by alice)"
    assert got[1].text == ("done rollout_undo deployments/ecotrack/payment-service → rolled back to revision 3"
                           " (by alice)")
    assert "not allowed for alice" in got[2].text and got[2].data["ok"] is False
    assert got[3].text.startswith("refused drain nodes/ip-10-0-1-5 — read-only")
    assert abs(got[1].time - (START + 11)) < 0.01
    assert len({e.key for e in got}) == 5


def test_journal_keeps_the_incidents_context_and_window_only():
    records = [rec("done", "cordon", START - 60, ok=True),           # before the start
               rec("done", "cordon", START - 0.5, ok=True),          # within the 1 s slack
               rec("done", "cordon", START + 5, context="staging"),  # another context
               rec("done", "cordon", START + 6, ok=True),
               rec("done", "cordon", START + 500, ok=True),          # after it was resolved
               {"time": "garbage", "event": "done", "action": "x", "context": "prod"}, "not a dict"]
    got = journal_entries(records, incident(resolved_at=START + 100, status="resolved"))  # type: ignore[arg-type]
    assert [round(e.time - START, 1) for e in got] == [-0.5, 6.0]


def test_port_forward_records_are_on_the_timeline():
    records = [rec("requested", "port_forward", START + 1, targets=("services/ecotrack/payment-service",),
                   params={"port": 8080, "local_port": 0, "address": "127.0.0.1"}),
               rec("done", "port_forward", START + 2, targets=("services/ecotrack/payment-service",),
                   local="127.0.0.1:41234", pod="payment-service-7d9f-x2k")]
    got = journal_entries(records, incident())
    assert [e.kind for e in got] == ["port_forward", "port_forward"]
    assert "127.0.0.1:41234 via pod payment-service-7d9f-x2k" in got[1].text


def test_hostile_journal_text_is_inert():
    got = journal_entries([rec("done", "scale", START + 1, message="ok\x1b[2J\u202eevil\nnext")], incident())
    assert "\x1b" not in got[0].text and "\u202e" not in got[0].text and "\n" not in got[0].text
    assert "\\x1b[2J" in got[0].text


# ---- events --------------------------------------------------------------------------------------------------

def ev(name: str, reason: str, kind: str, obj: str, *, type_: str = "Normal", ns: str = "ecotrack",
       first: float = START + 10, last: float | None = None, count: int = 1, message: str = "msg") -> dict:
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"}, "type": type_, "reason": reason,
            "message": message, "count": count, "firstTimestamp": iso(first)[:19] + "Z",
            "lastTimestamp": iso(last if last is not None else first)[:19] + "Z",
            "involvedObject": {"kind": kind, "name": obj, "namespace": ns}}


def test_warning_events_of_the_affected_namespaces_only():
    events = [ev("a.1", "BackOff", "Pod", "payment-service-x", type_="Warning", message="Back-off restarting"),
              ev("b.1", "FailedMount", "Pod", "other-x", type_="Warning"),                 # same ns, other workload
              ev("c.1", "BackOff", "Pod", "payment-service-y", type_="Warning", ns="kube-system"),
              ev("d.1", "Pulled", "Pod", "payment-service-x")]                              # Normal, not a rollout
    got = event_entries(events, incident())
    assert [(e.source, e.kind, e.data["namespace"], e.data["name"]) for e in got] == [
        ("event", "BackOff", "ecotrack", "a.1"), ("event", "FailedMount", "ecotrack", "b.1")]
    assert got[0].text == "ecotrack: Warning BackOff pod/payment-service-x: Back-off restarting"
    assert got[0].data["service"] == "payment-service" and got[1].data["service"] == ""


def test_scaling_replicaset_of_an_affected_deployment_is_a_rollout():
    events = [ev("p.1", "ScalingReplicaSet", "Deployment", "payment-service",
                 message="Scaled up replica set payment-service-5d8f to 3 from 2"),
              ev("o.1", "ScalingReplicaSet", "Deployment", "order-service", message="Scaled down")]
    got = event_entries(events, incident())
    assert [(e.source, e.kind) for e in got] == [("rollout", "rollout")]
    assert "payment-service-5d8f to 3" in got[0].text


def test_successful_rescale_of_an_hpa_targeting_an_affected_service():
    events = [ev("h.1", "SuccessfulRescale", "HorizontalPodAutoscaler", "pay-autoscaler",
                 message="New size: 5; reason: cpu resource utilization above target"),
              ev("h.2", "SuccessfulRescale", "HorizontalPodAutoscaler", "order-hpa", message="New size: 2")]
    targets = {("ecotrack", "pay-autoscaler"): "payment-service", ("ecotrack", "order-hpa"): "order-service"}
    got = event_entries(events, incident(), targets)
    assert [(e.source, e.kind, e.data["name"]) for e in got] == [("hpa", "rescale", "h.1")]
    assert "pay-autoscaler → payment-service: New size: 5" in got[0].text
    # without the HPA list, an HPA named after the service counts
    named = ev("h.3", "SuccessfulRescale", "HorizontalPodAutoscaler", "payment-service-hpa")
    assert [e.source for e in event_entries([named], incident())] == ["hpa"]


def test_a_repeated_event_is_one_entry_not_five():
    inc = incident()
    seen: dict[str, TimelineEntry] = {}
    for count in range(1, 6):   # the same event object, count 1 → 5, last seen later each time
        got = event_entries([ev("a.1", "BackOff", "Pod", "payment-service-x", type_="Warning", count=count,
                                first=START + 10, last=START + 10 + count * 30)], inc)
        for e in got:
            seen.setdefault(e.key, e)
    assert len(seen) == 1
    only = next(iter(seen.values()))
    assert only.time == START + 10            # the first occurrence, not the last
    five = event_entries([ev("a.1", "BackOff", "Pod", "payment-service-x", type_="Warning", count=5,
                             first=START + 10, last=START + 160)], inc)[0]
    assert (five.key, five.time) == (only.key, only.time)      # the store replaces the entry in place
    assert five.text.endswith("(×5)") and five.data["count"] == 5
    assert merge(*[event_entries([ev("a.1", "BackOff", "Pod", "p", type_="Warning", count=c)], inc)
                   for c in range(1, 6)]).__len__() == 1


def test_events_before_the_start_are_excluded_and_ongoing_ones_kept_at_the_start():
    inc = incident()
    old = ev("old.1", "BackOff", "Pod", "payment-service-x", type_="Warning", first=START - 3600, last=START - 60)
    ongoing = ev("on.1", "BackOff", "Pod", "payment-service-x", type_="Warning", first=START - 3600,
                 last=START + 42, count=80)
    got = event_entries([old, ongoing], inc)
    assert [e.data["name"] for e in got] == ["on.1"]
    assert got[0].time == START                # shown at the start, stable while it keeps repeating


def test_event_structs_from_the_cache_work_too():
    struct = Event(metadata=ObjectMeta(name="s.1", namespace="ecotrack"),
                   involvedObject=ObjectReference(kind="Pod", name="payment-service-q", namespace="ecotrack"),
                   reason="Unhealthy", message="Readiness probe failed", type="Warning",
                   firstTimestamp=iso(START + 3)[:19] + "Z", series=EventSeries(count=4))
    got = event_entries([struct], incident())
    assert [(e.kind, e.key, e.data["count"]) for e in got] == [("Unhealthy", "event:ecotrack/s.1", 4)]


def test_hostile_event_messages_are_inert():
    hostile = ev("x.1", "Evil\x1b]0;title\x07", "Pod", "payment-service-\u202ex", type_="Warning",
                 message="\x1b[31mred\x1b[0m\r\nfake line\x9b2J")
    got = event_entries([hostile], incident())
    text = got[0].text
    for bad in ("\x1b", "\x07", "\r", "\n", "\x9b", "\u202e"):
        assert bad not in text
    assert "\\x1b[31mred" in text and "\\u202e" in text


# ---- metrics -------------------------------------------------------------------------------------------------

def test_metric_breach_and_recovery_follow_level_changes():
    readings = [("payment-service", "err", "5xx", "crit", "31.0%"), ("payment-service", "p95", "p95", "ok", "0.1s"),
                ("payment-service", "heap", "heap", "nodata", "no data")]
    first = metric_entries(readings, {}, START + 60)
    assert [(e.kind, e.data["panel"], e.data["level"]) for e in first] == [("breach", "err", "crit")]
    assert first[0].text == "payment-service 5xx critical: 31.0%" and first[0].source == "metric"
    levels = metric_levels(first)
    assert metric_entries(readings, levels, START + 65) == []           # still critical: nothing new
    back = metric_entries([("payment-service", "err", "5xx", "ok", "0.2%")], levels, START + 120)
    assert [(e.kind, e.text) for e in back] == [("recovered", "payment-service 5xx recovered: 0.2%")]
    warn = metric_entries([("payment-service", "err", "5xx", "warn", "2.0%")], levels, START + 70)
    assert [e.kind for e in warn] == ["breach"] and "warning" in warn[0].text
    # errors do not count as a change
    assert metric_entries([("payment-service", "err", "5xx", "unreachable", "")], levels, START + 71) == []


# ---- merge / filter ------------------------------------------------------------------------------------------

def entry(t: float, source: str, key: str, text: str = "x", kind: str = "k") -> TimelineEntry:
    return TimelineEntry(time=t, source=source, kind=kind, text=text, key=key)


def test_merge_dedups_by_key_and_orders_by_time_stably():
    a = [entry(3, "journal", "j1", "first"), entry(1, "event", "e1"), entry(2, "note", "n1")]
    b = [entry(3, "journal", "j1", "duplicate"), entry(2, "hpa", "h1"), entry(0, "incident", "s")]
    got = merge(a, b)
    assert [e.key for e in got] == ["s", "e1", "n1", "h1", "j1"]
    assert got[-1].text == "first"
    assert isinstance(got, tuple)


def test_filter_by_sources_and_text():
    es = [entry(1, "journal", "a", "done rollout_undo payment"), entry(2, "event", "b", "Warning BackOff payment"),
          entry(3, "note", "c", "Called the DBA", kind="note"), entry(4, "metric", "d", "order 5xx critical")]
    assert [e.key for e in filter_entries(es, None, "")] == ["a", "b", "c", "d"]
    assert [e.key for e in filter_entries(es, {"journal", "note"}, "")] == ["a", "c"]
    assert [e.key for e in filter_entries(es, None, "PAYMENT")] == ["a", "b"]
    assert [e.key for e in filter_entries(es, {"event"}, "payment")] == ["b"]
    assert filter_entries(es, set(), "") == []
