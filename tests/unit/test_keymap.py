"""Default keymap, user overrides, key-name validation and clash detection."""
from __future__ import annotations

import pytest
import yaml

from ecotui.actions import ACTIONS, GROUPS
from ecotui.keymap import display_key, help_rows, load_keymap, normalize_key
from ecotui.resources import data_path

REQUIRED = ("quit", "help", "command", "filter", "switch_context", "switch_namespace", "focus_nodes",
            "focus_pods", "focus_events", "describe", "theme", "sort", "back",
            # issue 7: selection and remediation ids (interfaces other issues rely on)
            "mark", "mark_all", "clear_marks", "cordon", "uncordon", "drain", "rollout_status", "rollout_history",
            "rollout_undo", "rollout_restart", "rollout_pause", "rollout_resume", "scale", "delete", "journal",
            # live log tailing: ids the issue fixes (logs/logs_query/logs_previous are the App's) + the viewer's
            "logs_source", "logs_errors", "logs_perf", "logs_security", "logs_save", "copy",
            "logs_pause", "logs_follow", "logs_search", "logs_search_next", "logs_search_prev",
            "logs_filter_include", "logs_filter_exclude", "logs_clear_filters", "logs_wrap", "logs_timestamps",
            "logs_json",
            # incident mode (issue 11) and AWS/EKS (issue 12)
            "incident_start", "incident_severity", "incident_ack", "incident_escalate", "incident_note",
            "incident_resolve", "incident_timeline", "incident_update", "incident_export", "incident_snapshot",
            "clusters", "eks_info", "snapshot_volume")


def test_registry_has_required_actions_with_descriptions():
    for aid in REQUIRED:
        assert aid in ACTIONS
    for aid, spec in ACTIONS.items():
        assert spec.id == aid and spec.description and spec.group in GROUPS


def test_default_keymap_is_clean_and_complete():
    km, problems = load_keymap()
    assert problems == []
    raw = yaml.safe_load(data_path("keymaps.yaml").read_text())
    assert set(raw) == set(ACTIONS)                  # every action documented in the default file
    assert km.keys_for("quit") == ("q",)
    assert km.keys_for("help") == ("question_mark", "f1")
    assert km.keys_for("command") == ("colon",)
    assert km.keys_for("filter") == ("slash",)
    assert km.keys_for("describe") == ("d",)
    assert km.keys_for("open") == ("enter",)
    assert km.keys_for("theme") == ("T",)
    assert km.keys_for("focus_pods") == ("2",)
    assert km.keys_for("back") == ("escape",)
    assert km.keys_for("no_such_action") == ()
    assert km.textual_keymap()["describe"] == "d"


def test_defaults_avoid_keys_tmux_and_flow_control_steal():
    km, _ = load_keymap()
    used = {k for keys in km.bindings.values() for k in keys}
    assert not used & {"ctrl+b", "ctrl+s", "ctrl+q", "ctrl+z", "ctrl+c"}


def write(tmp_path, text):
    p = tmp_path / "mykeys.yaml"
    p.write_text(text)
    return str(p)


def test_unknown_id_bad_key_and_clash_are_exactly_three_problems(tmp_path):
    path = write(tmp_path, "frobnicate: x\nsort: ctrl+hyper+q\ndescribe: c\nquit: Q\n")
    km, problems = load_keymap(path)
    assert len(problems) == 3, problems
    unknown, bad, clash = problems
    assert unknown.startswith(f"{path}: frobnicate:") and "unknown action id" in unknown
    assert bad.startswith(f"{path}: sort:") and "'ctrl+hyper+q'" in bad
    assert clash.startswith(f"{path}: describe:") and "switch_context" in clash
    assert km.keys_for("sort") == ("s",)             # broken entry keeps its default
    assert km.keys_for("describe") == ("d",)  # clashing override reverted
    assert km.keys_for("switch_context") == ("c",)
    assert km.keys_for("quit") == ("Q",)             # the good override applies


def test_literal_characters_lists_and_comma_strings(tmp_path):
    path = write(tmp_path, 'help: "?"\nfilter: [/, f]\nsort: "o,Q"\nfocus_pods: 9\nincident_timeline: f9\nrefresh: []\n')
    km, problems = load_keymap(path)
    assert problems == []
    assert km.keys_for("help") == ("question_mark",)
    assert km.keys_for("filter") == ("slash", "f")
    assert km.keys_for("sort") == ("o", "Q")
    assert km.keys_for("focus_pods") == ("9",)
    assert km.keys_for("refresh") == ()              # [] unbinds
    assert "refresh" not in km.textual_keymap()


def test_same_key_in_table_and_describe_groups_is_not_a_clash(tmp_path):
    km, problems = load_keymap(write(tmp_path, "scroll_down: s\n"))   # sort is s, but in the table group
    assert problems == [] and km.keys_for("scroll_down") == ("s",)


def test_swapping_two_keys_is_allowed(tmp_path):
    km, problems = load_keymap(write(tmp_path, "switch_context: ctrl+y\nswitch_namespace: c\n"))
    assert problems == []
    assert km.keys_for("switch_namespace") == ("c",)


def test_clash_between_two_user_entries_reverts_one(tmp_path):
    path = write(tmp_path, "quit: ctrl+y\nhelp: ctrl+y\n")
    km, problems = load_keymap(path)
    assert len(problems) == 1 and "clashes" in problems[0] and path in problems[0]
    assert {km.keys_for("quit"), km.keys_for("help")} == {("ctrl+y",), ("question_mark", "f1")}


@pytest.mark.parametrize("text,fragment", [
    ("quit: [q\n", "not valid YAML at line"),
    ("- q\n- w\n", "must be a mapping"),
])
def test_broken_user_file_keeps_defaults(tmp_path, text, fragment):
    km, problems = load_keymap(write(tmp_path, text))
    assert len(problems) == 1 and fragment in problems[0]
    assert km.keys_for("quit") == ("q",)


def test_missing_user_file_is_one_problem(tmp_path):
    km, problems = load_keymap(str(tmp_path / "nope.yaml"))
    assert problems == [f"{tmp_path / 'nope.yaml'}: file not found"]
    assert km.keys_for("quit") == ("q",)


def test_non_string_values_reported(tmp_path):
    km, problems = load_keymap(write(tmp_path, "quit: true\nhelp: {a: b}\n"))
    assert len(problems) == 2 and "quit" in problems[0] and "help" in problems[1]
    assert km.keys_for("quit") == ("q",)


@pytest.mark.parametrize("raw,norm", [
    ("?", "question_mark"), ("question_mark", "question_mark"), ("/", "slash"), (":", "colon"),
    ("!", "exclamation_mark"), (".", "full_stop"), ("[", "left_square_bracket"), ("-", "minus"),
    ("+", "plus"), ("=", "equals_sign"), ("<", "less_than_sign"), (" ", "space"),
    ("q", "q"), ("T", "T"), ("7", "7"), ("Enter", "enter"), ("esc", "escape"), ("pgdn", "pagedown"),
    ("F5", "f5"), ("f24", "f24"), ("ctrl+c", "ctrl+c"), ("Ctrl+C", "ctrl+c"), ("shift+t", "T"),
    ("shift+ctrl+left", "ctrl+shift+left"), ("alt+x", "alt+x"), ("ctrl++", "ctrl+plus"),
    ("ctrl+?", "ctrl+question_mark"), ("shift+tab", "shift+tab"),
    ("f25", None), ("hyper+x", None), ("ctrl+ctrl+x", None), ("ctrl+", None), ("é", None), ("", None),
    ("qq", None), ("ctrl+shift", None), (" q", None),
])
def test_normalize_key(raw, norm):
    assert normalize_key(raw) == norm


@pytest.mark.parametrize("key,shown", [
    ("ctrl+c", "^c"), ("question_mark", "?"), ("slash", "/"), ("escape", "esc"), ("enter", "enter"),
    ("T", "T"), ("pagedown", "pgdn"), ("shift+tab", "shift+tab"), ("ctrl+plus", "^+"),
])
def test_display_key(key, shown):
    assert display_key(key) == shown


def test_help_rows_cover_every_action():
    km, _ = load_keymap()
    rows = help_rows(km)
    assert [r[1] for r in rows] == list(ACTIONS)
    assert ("table", "describe", "d", ACTIONS["describe"].description) in rows
    assert ("table", "open", "enter", ACTIONS["open"].description) in rows


def test_every_remediation_action_has_a_default_key_that_clashes_with_nothing():
    keymap, problems = load_keymap()
    assert problems == []
    for aid in REQUIRED:
        assert keymap.keys_for(aid), f"{aid} has no default key"
