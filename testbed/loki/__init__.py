"""A small Loki-HTTP-API-compatible server for the testbed (our own code; Grafana Loki itself is not used).

See testbed/LOKI_API.md for the exact subset. Entry points: `python -m testbed.loki`, `make_app()`.
"""
from .logql import LogQLError, LogQuery, UnsupportedQuery, parse_query
from .server import make_app
from .store import Store

__all__ = ["LogQLError", "LogQuery", "Store", "UnsupportedQuery", "make_app", "parse_query"]
