"""The LogQL subset understood by the testbed Loki: a stream selector plus a chain of line filters.

    {app="user-service", namespace!="kube-system", pod=~"user-.*", node!~"kwok-node-1.*"} |= "error" != "debug" |~ `(?i)timeout`

Label matchers are fully anchored regexes (Prometheus semantics, `.` matches newline); line filter regexes are unanchored
searches. Python's `re` stands in for Go's RE2: the common syntax is the same, exotic constructs may differ.
Anything outside the subset (metric queries, parsers, formatters, label filters, `or` in filters) raises
UnsupportedQuery; malformed input raises LogQLError with a 1-based column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MATCH_OPS = ("=~", "!~", "!=", "=")  # longest first
FILTER_OPS = ("|=", "!=", "|~", "!~")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METRIC_WORDS = frozenset(
    "sum avg min max count stddev stdvar topk bottomk sort sort_desc rate rate_counter count_over_time bytes_rate "
    "bytes_over_time avg_over_time sum_over_time min_over_time max_over_time stddev_over_time stdvar_over_time "
    "quantile_over_time first_over_time last_over_time absent_over_time vector label_replace approx_topk".split()
)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
SUBSET = "not supported by the testbed Loki subset"


class LogQLError(ValueError):
    """A malformed query. `col` is 1-based (Loki reports `line 1, col N`)."""

    def __init__(self, message: str, col: int | None = None):
        self.col = col
        self.detail = message
        super().__init__(f"parse error at line 1, col {col}: {message}" if col else f"parse error: {message}")


class UnsupportedQuery(LogQLError):
    """Valid LogQL that this testbed deliberately does not implement."""

    def __init__(self, what: str):
        self.col = None
        self.detail = what
        ValueError.__init__(self, f"{what} {SUBSET}")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # one of MATCH_OPS
    value: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: dict[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = self.regex.fullmatch(v) is not None  # type: ignore[union-attr]
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{_quote(self.value)}"


@dataclass(frozen=True)
class LineFilter:
    op: str  # one of FILTER_OPS
    value: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, line: str) -> bool:
        if self.op == "|=":
            return self.value in line
        if self.op == "!=":
            return self.value not in line
        hit = self.regex.search(line) is not None  # type: ignore[union-attr]
        return hit if self.op == "|~" else not hit

    def __str__(self) -> str:
        return f"{self.op} {_quote(self.value)}"


@dataclass(frozen=True)
class LogQuery:
    matchers: tuple[Matcher, ...]
    filters: tuple[LineFilter, ...] = ()

    def matches_labels(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def matches_line(self, line: str) -> bool:
        if not self.filters:
            return True
        return all(f.matches(line) for f in self.filters)

    def __str__(self) -> str:
        sel = "{" + ", ".join(map(str, self.matchers)) + "}"
        return " ".join([sel, *map(str, self.filters)])


def _quote(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0

    def col(self, i: int | None = None) -> int:
        return (self.i if i is None else i) + 1

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def describe_here(self) -> str:
        if self.i >= len(self.s):
            return "end of input"
        m = _IDENT.match(self.s, self.i)
        return f"'{m.group(0)}'" if m else repr(self.s[self.i])

    def fail(self, expecting: str) -> LogQLError:
        return LogQLError(f"syntax error: unexpected {self.describe_here()}, expecting {expecting}", self.col())

    def string(self) -> str:
        start = self.i
        q = self.peek()
        if q == "`":
            end = self.s.find("`", start + 1)
            if end < 0:
                raise LogQLError("unterminated raw string (backtick)", self.col(start))
            self.i = end + 1
            return self.s[start + 1:end]
        if q != '"':
            raise self.fail("string")
        out: list[str] = []
        i = start + 1
        while True:
            if i >= len(self.s) or self.s[i] == "\n":
                raise LogQLError("unterminated string literal", self.col(start))
            c = self.s[i]
            if c == '"':
                self.i = i + 1
                return "".join(out)
            if c != "\\":
                out.append(c)
                i += 1
                continue
            i, ch = self._escape(i)
            out.append(ch)

    def _escape(self, i: int) -> tuple[int, str]:
        """Go string escapes; `i` points at the backslash."""
        e = self.s[i + 1:i + 2]
        if e in _SIMPLE_ESCAPES:
            return i + 2, _SIMPLE_ESCAPES[e]
        widths = {"x": 2, "u": 4, "U": 8}
        if e in widths:
            digits = self.s[i + 2:i + 2 + widths[e]]
            if len(digits) == widths[e] and all(c in "0123456789abcdefABCDEF" for c in digits):
                cp = int(digits, 16)
                if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
                    return i + 2 + widths[e], chr(cp)
        elif e and e in "01234567":
            digits = self.s[i + 1:i + 4]
            if len(digits) == 3 and all(c in "01234567" for c in digits) and int(digits, 8) <= 255:
                return i + 4, chr(int(digits, 8))
        shown = self.s[i:i + 2] if e else "\\"
        raise LogQLError(f"invalid escape sequence {shown!r} in string (use \\\\ for a backslash, or a `raw` string)",
                         self.col(i))

    def regex(self, value: str, col: int, anchored: bool) -> re.Pattern[str]:
        try:
            return re.compile(f"(?:{value})" if anchored else value, re.DOTALL if anchored else 0)
        except re.error as exc:
            raise LogQLError(f"invalid regex {value!r}: {exc}", col) from None

    def matcher(self) -> Matcher:
        m = _IDENT.match(self.s, self.i)
        if not m:
            raise self.fail("label name")
        self.i = m.end()
        self.ws()
        op = next((o for o in MATCH_OPS if self.s.startswith(o, self.i)), None)
        if op is None:
            raise self.fail("=, !=, =~ or !~")
        self.i += len(op)
        self.ws()
        vcol = self.col()
        value = self.string()
        rx = self.regex(value, vcol, anchored=True) if "~" in op else None
        return Matcher(m.group(0), op, value, rx)

    def selector(self) -> tuple[Matcher, ...]:
        self.ws()
        if self.peek() != "{":
            m = _IDENT.match(self.s, self.i)
            if self.peek() == "(" or (m and (m.group(0) in _METRIC_WORDS or self.s[m.end():].lstrip().startswith("("))):
                raise UnsupportedQuery("metric queries (functions, aggregations) are")
            raise self.fail("'{' (a stream selector such as {app=\"x\"})")
        self.i += 1
        matchers: list[Matcher] = []
        while True:
            self.ws()
            if self.peek() == "}" and matchers:
                self.i += 1
                return tuple(matchers)
            matchers.append(self.matcher())
            self.ws()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "}":
                raise self.fail("',' or '}'")

    def filters(self) -> tuple[LineFilter, ...]:
        out: list[LineFilter] = []
        while True:
            self.ws()
            if self.i >= len(self.s):
                return tuple(out)
            op = next((o for o in FILTER_OPS if self.s.startswith(o, self.i)), None)
            if op is None:
                self._unsupported_tail()
                raise self.fail("a line filter (|=, !=, |~, !~) or end of query")
            self.i += 2
            self.ws()
            ident = _IDENT.match(self.s, self.i)
            if ident and self.s[ident.end():].lstrip().startswith("("):
                raise UnsupportedQuery("line filter functions such as ip(...) are")
            vcol = self.col()
            value = self.string()
            rx = self.regex(value, vcol, anchored=False) if "~" in op else None
            out.append(LineFilter(op, value, rx))
            save = self.i
            self.ws()
            if self.s.startswith("or", self.i) and not _IDENT.match(self.s, self.i + 2):
                raise UnsupportedQuery("'or' between line filter values is")
            self.i = save

    def _unsupported_tail(self) -> None:
        c = self.peek()
        if c == "|":
            m = _IDENT.match(self.s[self.i + 1:].lstrip())
            stage = m.group(0) if m else "label filter"
            raise UnsupportedQuery(f"pipeline stage '| {stage}' (parsers, formatters, label filters) is")
        if c == "[":
            raise UnsupportedQuery("range vectors ([5m]) and metric queries are")


def parse_query(text: str) -> LogQuery:
    """Parse a LogQL log query in the supported subset. Raises LogQLError / UnsupportedQuery."""
    if not isinstance(text, str) or not text.strip():
        raise LogQLError("query is empty; expected a stream selector such as {app=\"x\"}")
    p = _Parser(text)
    matchers = p.selector()
    filters = p.filters()
    q = LogQuery(matchers, filters)
    validate_matchers(q.matchers)
    return q


def parse_selector(text: str) -> LogQuery:
    """Parse a bare stream selector (used by labels/series endpoints); line filters are rejected."""
    q = parse_query(text)
    if q.filters:
        raise LogQLError("only a stream selector is allowed here, without line filters")
    return q


def validate_matchers(matchers: tuple[Matcher, ...]) -> None:
    """Loki refuses selectors that could match every stream: one `=`/`=~` matcher must reject the empty value."""
    if not any(m.op in ("=", "=~") and not m.matches({}) for m in matchers):
        raise LogQLError(
            'queries require at least one regexp or equality matcher that does not have an empty-compatible value. '
            'For instance, app=~".*" does not meet this requirement, but app=~".+" will'
        )
