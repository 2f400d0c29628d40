"""The incident policy: shipped defaults equal the runbook; a team file overrides key by key; bad files → one line."""
from __future__ import annotations

from pathlib import Path

import pytest

import ecotui
from ecotui.incident.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy

# The runbook ("Incident Response and Recovery Procedures"), copied here on purpose: the test fails when the
# shipped file drifts from it.
RUNBOOK_SEVERITIES = {
    "P0": ("Critical", "Complete service outage, data loss risk", "Immediate (< 15 minutes)", 15,
           "On-call engineer + management", ("Cluster down", "database corruption", "security breach")),
    "P1": ("High", "Major functionality impaired, significant user impact", "< 1 hour", 60, "On-call engineer",
           ("Service degradation", "authentication issues", "payment failures")),
    "P2": ("Medium", "Minor functionality impaired, limited user impact", "< 4 hours", 240, "Next business day",
           ("Non-critical feature issues", "performance degradation")),
    "P3": ("Low", "Cosmetic issues, no user impact", "< 24 hours", 1440, "Planned maintenance",
           ("Documentation updates", "minor UI issues")),
}
RUNBOOK_LEVELS = {
    "L1": ("On-Call Engineer", 15, "Initial response, basic troubleshooting", "Cannot resolve within 1 hour"),
    "L2": ("Senior Engineer", 30, "Advanced troubleshooting, architecture decisions",
           "Requires architectural changes or vendor support"),
    "L3": ("Engineering Manager", 60, "Resource allocation, external communication",
           "Business impact, customer communication needed"),
    "L4": ("CTO/VP Engineering", 120, "Executive decisions, public communication",
           "Major outage, security incident, regulatory issues"),
}
RUNBOOK_TEMPLATES = {
    "initial": ("[P{severity}] {service} - {brief_description}",
                "Incident: {incident_id}\nSeverity: P{severity}\nService: {affected_service}\n"
                "Impact: {user_impact_description}\nStarted: {incident_start_time}\nStatus: Investigating\n"
                "ETA: {estimated_resolution_time}\n"),
    "update": ("[UPDATE] [P{severity}] {service} - {brief_description}",
               "Incident: {incident_id}\nUpdate: {progress_description}\nCurrent Status: {current_status}\n"
               "Next Update: {next_update_time}\nETA: {updated_eta}\n"),
    "resolution": ("[RESOLVED] [P{severity}] {service} - {brief_description}",
                   "Incident: {incident_id}\nResolution: {resolution_description}\n"
                   "Root Cause: {root_cause_summary}\nResolved: {resolution_time}\nPost-Mortem: {post_mortem_link}\n"),
}


def test_defaults_equal_the_runbook():
    p = load_policy()
    assert p.source == "defaults"
    assert [s.key for s in p.severities] == ["P0", "P1", "P2", "P3"]
    for s in p.severities:
        name, desc, response_text, minutes, escalation, examples = RUNBOOK_SEVERITIES[s.key]
        assert (s.name, s.description, s.response_text, s.response_minutes, s.escalation, s.examples) == \
            (name, desc, response_text, minutes, escalation, examples)
    # update cadence (the contract's): P0 15 / P1 30 / P2 120 / P3 1440
    assert [s.update_minutes for s in p.severities] == [15, 30, 120, 1440]
    assert [lv.key for lv in p.levels] == ["L1", "L2", "L3", "L4"]
    for lv in p.levels:
        assert (lv.name, lv.response_minutes, lv.responsibilities, lv.criteria) == RUNBOOK_LEVELS[lv.key]
    # L1's criterion "Cannot resolve within 1 hour" → L2 due after 60 minutes unresolved
    assert p.level("L2").after_minutes == 60
    assert p.severity("P1").escalate_after.get("L2", p.level("L2").after_minutes) == 60
    assert {k: (t.subject, t.body) for k, t in p.templates.items()} == RUNBOOK_TEMPLATES
    phases = {ph.name: ph for ph in p.phases}
    assert list(phases) == ["Immediate response", "Investigation", "Communication", "Resolution and recovery",
                            "Post-incident review"]
    assert (phases["Immediate response"].start_minutes, phases["Immediate response"].end_minutes) == (0, 15)
    assert (phases["Investigation"].start_minutes, phases["Investigation"].end_minutes) == (15, 60)
    assert phases["Communication"].end_minutes == 60              # "Within 1 hour"
    assert phases["Immediate response"].steps == ("Acknowledge alert", "Assess impact and severity",
                                                  "Implement immediate mitigation if available")
    assert phases["Post-incident review"].after_resolve
    assert phases["Post-incident review"].steps == ("Document root cause", "Identify improvements", "Update procedures")
    assert p.postmortem_headings == ("Root cause", "Improvements", "Procedure updates")


def test_policy_file_ships_inside_the_package():
    pkg = Path(ecotui.__file__).parent
    assert DEFAULT_POLICY_PATH == pkg / "incident" / "policy.yaml" and DEFAULT_POLICY_PATH.is_file()


def test_override_changes_one_cadence_and_keeps_the_rest(tmp_path):
    f = tmp_path / "team.yaml"
    f.write_text("severities:\n  P1:\n    update_minutes: 20\n")
    base, team = load_policy(), load_policy(str(f))
    assert team.source == str(f)
    assert team.severity("P1").update_minutes == 20
    assert team.severity("P1").response_minutes == 60 and team.severity("P1").name == "High"
    assert team.severity("P1").escalate_after == base.severity("P1").escalate_after
    for key in ("P0", "P2", "P3"):
        assert team.severity(key) == base.severity(key)
    assert (team.levels, team.phases, team.templates) == (base.levels, base.phases, base.templates)


def test_override_merges_nested_maps_and_null_removes_a_countdown(tmp_path):
    f = tmp_path / "team.yaml"
    f.write_text("severities:\n  P0:\n    escalate_after: {L4: null, L2: 10}\n"
                 "phases:\n  Investigation: {end_minutes: 45}\n"
                 "templates:\n  initial: {subject: 'SEV{severity} {service}'}\n"
                 "postmortem_headings: [Root cause, Timeline review]\n")
    p = load_policy(str(f))
    assert dict(p.severity("P0").escalate_after) == {"L2": 10, "L3": 30}
    inv = next(ph for ph in p.phases if ph.name == "Investigation")
    assert (inv.start_minutes, inv.end_minutes) == (15, 45)
    assert p.templates["initial"].subject == "SEV{severity} {service}"
    assert p.templates["initial"].body == RUNBOOK_TEMPLATES["initial"][1]      # the body kept
    assert p.postmortem_headings == ("Root cause", "Timeline review")


def test_a_team_can_add_a_severity(tmp_path):
    f = tmp_path / "team.yaml"
    f.write_text("severities:\n  P4:\n    name: Info\n    description: FYI\n    response_minutes: 2880\n"
                 "    escalation: none\n")
    p = load_policy(str(f))
    assert [s.key for s in p.severities] == ["P0", "P1", "P2", "P3", "P4"]
    assert p.severity("P4").update_minutes == 30        # the model's default cadence


@pytest.mark.parametrize("text, field", [
    ("severities:\n  P1:\n    update_minutes: soon\n", "severities.P1.update_minutes"),
    ("severities:\n  P1:\n    update_minutes: 0\n", "severities.P1.update_minutes"),
    ("severities:\n  P1:\n    colour: red\n", "severities.P1: unknown key 'colour'"),
    ("severities:\n  P1:\n    escalate_after: {L9: 5}\n", "unknown level 'L9'"),
    ("severities:\n  P9:\n    name: x\n", "severities.P9.description is missing"),
    ("levels:\n  L2:\n    after_minutes: -1\n", "levels.L2.after_minutes"),
    ("phases:\n  Investigation: {start_minutes: 50, end_minutes: 20}\n", "phases.Investigation.end_minutes"),
    ("templates:\n  update: {subject: ''}\n", "templates.update.subject"),
    ("templates: [a, b]\n", "templates must be a mapping"),
    ("severity: {}\n", "unknown key 'severity'"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    ("severities: {P1: [unclosed\n", "not valid YAML at line"),
])
def test_bad_files_give_one_line_naming_file_and_field(tmp_path, text, field):
    f = tmp_path / "team.yaml"
    f.write_text(text)
    with pytest.raises(PolicyError) as exc:
        load_policy(str(f))
    msg = exc.value.message
    assert "\n" not in msg and str(f) in msg and field in msg, msg


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(PolicyError) as exc:
        load_policy(str(tmp_path / "nope.yaml"))
    assert exc.value.message == f"incident policy {tmp_path / 'nope.yaml'}: file not found"


def test_empty_team_file_means_defaults(tmp_path):
    f = tmp_path / "team.yaml"
    f.write_text("# nothing yet\n")
    p = load_policy(str(f))
    assert p.severities == load_policy().severities
