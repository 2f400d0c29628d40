"""The `/` filter: text search vs kubectl label selectors."""
from __future__ import annotations

import pytest

from ecotui.kube.selector import is_selector, parse_filter

WEB = {"app": "web", "tier": "frontend", "env": "prod", "replicas": "3"}
DB = {"app": "postgres", "tier": "db", "debug": "true"}
NONE: dict[str, str] = {}


@pytest.mark.parametrize("selector,web,db,none", [
    ("app=web", True, False, False),
    ("app==web", True, False, False),
    ("app!=web", False, True, True),               # != also matches when the label is absent
    ("tier in (frontend, db)", True, True, False),
    ("tier notin (db)", True, False, True),
    ("l:debug", False, True, False),               # exists
    ("!debug", True, False, True),                 # does not exist
    ("app=web,tier=frontend", True, False, False),  # comma = AND
    ("app=web,tier=db", False, False, False),
    ("env in (prod,staging),!debug", True, False, False),
    ("replicas>2", True, False, False),
    ("replicas<3", False, False, False),
    ("app", False, False, False),                  # bare word = text search, not "exists"
])
def test_selector_matching(selector, web, db, none):
    f = parse_filter(selector)
    assert (f.matches(WEB, ""), f.matches(DB, ""), f.matches(NONE, "")) == (web, db, none)


def test_text_search_is_case_insensitive_substring():
    f = parse_filter("CrashLoop")
    assert f.kind == "text"
    assert f.matches({}, "ecotrack order-service-7d9 0/1 crashloopbackoff")
    assert not f.matches({"app": "crashloop"}, "ecotrack order-service Running")


def test_empty_and_forced_modes():
    assert parse_filter("   ").kind == "all" and parse_filter("").matches({}, "x")
    forced_text = parse_filter("t:exit=1")
    assert forced_text.kind == "text" and forced_text.matches({}, "terminated exit=1")
    forced_labels = parse_filter("l:app")
    assert forced_labels.kind == "labels" and forced_labels.matches({"app": ""}, "")


@pytest.mark.parametrize("text,selector", [
    ("app=web", True), ("!debug", True), ("env in (a,b)", True), ("env notin (a)", True),
    ("x>1", True), ("l:app", True), ("payment", False), ("t:a=b", False), ("linear", False),
    ("order service", False),
])
def test_is_selector_decision(text, selector):
    assert is_selector(text) is selector
    assert (parse_filter(text).kind == "labels") is selector


@pytest.mark.parametrize("text,fragment", [
    ("app=web,", "empty requirement"),
    ("env in (a,b", "missing ')'"),
    ("env in ()", "needs at least one value"),
    ("a b=c", "cannot parse 'a b=c'"),
    ("=x", "cannot parse '=x'"),
    ("app=we b", "cannot parse"),
    ("replicas>three", "needs an integer"),
    ("-bad=x", "invalid label key '-bad'"),
    ("app=" + "v" * 64, "invalid value"),
    ("l:", "empty"),
    ("a)=b", "')' without a matching '('"),
])
def test_bad_selectors_raise_one_clear_line(text, fragment):
    with pytest.raises(ValueError) as exc:
        parse_filter(text)
    msg = str(exc.value)
    assert fragment in msg and "\n" not in msg and msg.startswith("label selector:")


def test_prefixed_keys_and_empty_values():
    f = parse_filter("app.kubernetes.io/name=payment-service,canary=")
    assert f.matches({"app.kubernetes.io/name": "payment-service", "canary": ""}, "")
    assert not f.matches({"app.kubernetes.io/name": "payment-service"}, "")
