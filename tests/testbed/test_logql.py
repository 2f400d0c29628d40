"""LogQL subset: parsing, matching semantics and error reporting of the testbed Loki."""
import pytest

from testbed.loki.logql import LogQLError, UnsupportedQuery, parse_query, parse_selector


def test_all_matcher_ops():
    q = parse_query('{app="web", env!="prod", pod=~"web-[0-9]+", node!~"bad.*"}')
    assert [(m.name, m.op, m.value) for m in q.matchers] == [
        ("app", "=", "web"), ("env", "!=", "prod"), ("pod", "=~", "web-[0-9]+"), ("node", "!~", "bad.*")]
    assert q.matches_labels({"app": "web", "env": "dev", "pod": "web-12", "node": "good-1"})
    assert q.matches_labels({"app": "web", "pod": "web-1"})  # absent labels are "" (env != prod, node !~ bad)
    assert not q.matches_labels({"app": "web", "env": "prod", "pod": "web-1"})
    assert not q.matches_labels({"app": "web", "pod": "web-1", "node": "bad-node"})
    assert not q.matches_labels({"app": "webx", "pod": "web-1"})


def test_label_regex_is_fully_anchored():
    q = parse_query('{pod=~"web"}')
    assert q.matches_labels({"pod": "web"})
    assert not q.matches_labels({"pod": "web-1"})
    assert not q.matches_labels({"pod": "my-web"})
    assert parse_query('{pod=~"a.b"}').matches_labels({"pod": "a\nb"})  # (?s) like Prometheus


def test_line_filter_chain_all_ops():
    q = parse_query('{app="x"} |= "error" != "debug" |~ "code=5\\\\d\\\\d" !~ `(?i)healthz`')
    assert [(f.op, f.value) for f in q.filters] == [
        ("|=", "error"), ("!=", "debug"), ("|~", "code=5\\d\\d"), ("!~", "(?i)healthz")]
    assert q.matches_line("an error with code=503")
    assert not q.matches_line("an error with code=404")
    assert not q.matches_line("debug error code=500")
    assert not q.matches_line("error code=500 GET /HEALTHZ")
    assert not q.matches_line("all fine code=500")


def test_line_regex_is_unanchored_search():
    q = parse_query('{app="x"} |~ "time.ut"')
    assert q.matches_line("request timeout after 3s")
    assert not q.matches_line("nothing here")


def test_string_escapes_and_raw_strings():
    q = parse_query('{app="a\\"b\\\\c\\td\\u00e9\\x41"} |= `raw\\n`')
    assert q.matchers[0].value == 'a"b\\c\td\u00e9A'
    assert q.filters[0].value == "raw\\n"  # backticks: no escapes


def test_whitespace_and_trailing_comma():
    q = parse_query('  {  app = "a" ,  }   |=   "x"  ')
    assert q.matchers[0].value == "a" and q.filters[0].value == "x"


@pytest.mark.parametrize("text,col,fragment", [
    ('{app="a"', 9, "expecting ',' or '}'"),
    ('{app="a}', 6, "unterminated string"),
    ('{app=`a}', 6, "unterminated raw string"),
    ('{="a"}', 2, "expecting label name"),
    ('{app~"a"}', 5, "expecting =, !=, =~ or !~"),
    ('{app=a}', 6, "expecting string"),
    ('{app="a"} |= x', 14, "expecting string"),
    ('{app="a"} foo', 11, "line filter"),
    ('{}', 2, "expecting label name"),
    ('app="a"', 1, "expecting '{'"),
    ('{app="a\\q"}', 8, "invalid escape"),
    ('{app=~"(unclosed"}', 7, "invalid regex"),
    ('{app="a"} |~ "[z-a]"', 14, "invalid regex"),
])
def test_parse_errors_carry_position(text, col, fragment):
    with pytest.raises(LogQLError) as ei:
        parse_query(text)
    assert not isinstance(ei.value, UnsupportedQuery)
    assert ei.value.col == col, str(ei.value)
    assert fragment in str(ei.value)
    assert str(ei.value).startswith(f"parse error at line 1, col {col}:")


@pytest.mark.parametrize("text", ['{app=""}', '{app=~".*"}', '{app!="x"}', '{app!~"x", b=~"y*"}'])
def test_selector_must_have_a_non_empty_matcher(text):
    with pytest.raises(LogQLError, match="at least one regexp or equality matcher"):
        parse_query(text)


def test_non_empty_matcher_alongside_negative_ones_is_fine():
    assert parse_query('{app=~".+", env!="prod"}').matches_labels({"app": "x"})


@pytest.mark.parametrize("text,what", [
    ('rate({app="a"}[5m])', "metric queries"),
    ('sum by (app) (count_over_time({app="a"}[1m]))', "metric queries"),
    ('count_over_time({app="a"}[1m])', "metric queries"),
    ('{app="a"} | json', "'| json'"),
    ('{app="a"} |= "x" | logfmt | level="error"', "'| logfmt'"),
    ('{app="a"} | line_format "{{.msg}}"', "'| line_format'"),
    ('{app="a"}[5m]', "range vectors"),
    ('{app="a"} |= "x" or "y"', "'or'"),
    ('{app="a"} |= ip("10.0.0.1")', "ip(...)"),
])
def test_unsupported_features_say_so(text, what):
    with pytest.raises(UnsupportedQuery) as ei:
        parse_query(text)
    assert what in str(ei.value)
    assert str(ei.value).endswith("not supported by the testbed Loki subset")


def test_empty_query_is_an_error():
    with pytest.raises(LogQLError, match="empty"):
        parse_query("   ")


def test_selector_only_rejects_filters():
    assert parse_selector('{app="a"}').matchers[0].name == "app"
    with pytest.raises(LogQLError, match="only a stream selector"):
        parse_selector('{app="a"} |= "x"')


def test_str_roundtrip():
    q = parse_query('{app="a\\"q", pod=~"p.*"} |= "x" !~ "y"')
    assert parse_query(str(q)) == q
