"""Spring Boot actuator look-alikes: the targets of the testbed's ClusterPortForward.

    python -m testbed.healthserver --host 127.0.0.1 --port 28080 \
        --service user-service=28081 --service order-service=28083 ... --state-dir DIR

One process, one listener per EcoTrack service (KWOK forwards each service's container port to its own listener,
see kwokcfg.py: the listener is the only way to know which service a forwarded connection is for) plus a generic
one (`--port`, grafana/tempo's ports) that is never DOWN.

GET /actuator/health is UP (200), or DOWN with db DOWN (503, like Spring) while DIR/incident.json names an active
"health-down", "crashloop" or "error-spike" incident that hits this listener's service (its target, or every
service when the target is null). Also /actuator, /actuator/info, /actuator/metrics,
/actuator/metrics/hikaricp.connections.{active,max} and / (plain text).
"""
from __future__ import annotations

import argparse
import random
import sys

from aiohttp import web

from .incident import IncidentReader
from .serve import serve_loopback_many

ACTUATOR_JSON = "application/vnd.spring-boot.actuator.v3+json"
DOWN_INCIDENTS = ("health-down", "crashloop", "error-spike")
READER = web.AppKey("reader", IncidentReader)
SERVICE = web.AppKey("service", str)  # "" = the generic listener (never DOWN)
POOL_MAX = 10


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, content_type=ACTUATOR_JSON)


def _down(request: web.Request) -> bool:
    service = request.app[SERVICE]
    inc = request.app[READER].current()
    return bool(service) and inc is not None and inc.name in DOWN_INCIDENTS and inc.hits(service)


async def health(request: web.Request) -> web.Response:
    if _down(request):
        db = {"status": "DOWN", "details": {"database": "PostgreSQL", "error":
              "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection; "
              "Connection refused: postgres-primary:5432"}}
        status = "DOWN"
    else:
        db = {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}}
        status = "UP"
    body = {"status": status, "components": {
        "db": db,
        "diskSpace": {"status": "UP", "details": {"total": 21474836480, "free": 15032385536, "threshold": 10485760,
                                                   "path": "/app/.", "exists": True}},
        "ping": {"status": "UP"},
        "redis": {"status": "UP", "details": {"version": "7.2.4"}}}}
    return _json(body, 200 if status == "UP" else 503)


async def info(request: web.Request) -> web.Response:
    service = request.app[SERVICE] or "ecotrack"
    return _json({"app": {"name": "ecotrack", "service": service, "description": "EcoTrack service (testbed)",
                          "version": "1.4.2"},
                  "build": {"artifact": service, "group": "com.ecotrack", "version": "1.4.2"},
                  "java": {"version": "21.0.5"}})


async def index(request: web.Request) -> web.Response:
    base = f"http://{request.host}/actuator"
    links = {n: {"href": f"{base}/{n}" if n != "self" else base, "templated": False}
             for n in ("self", "health", "info", "metrics")}
    links["metrics-requiredMetricName"] = {"href": f"{base}/metrics/{{requiredMetricName}}", "templated": True}
    return _json({"_links": links})


async def metric_names(request: web.Request) -> web.Response:
    return _json({"names": ["hikaricp.connections.active", "hikaricp.connections.max"]})


async def metric(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == "hikaricp.connections.active":
        value = float(POOL_MAX if _down(request) else random.randint(0, 4))
        desc = "Active connections"
    elif name == "hikaricp.connections.max":
        value, desc = float(POOL_MAX), "Max connections"
    else:
        return _json({"timestamp": "", "status": 404, "error": "Not Found", "path": request.path}, 404)
    return _json({"name": name, "description": desc, "baseUnit": None,
                  "measurements": [{"statistic": "VALUE", "value": value}],
                  "availableTags": [{"tag": "pool", "values": ["HikariPool-1"]}]})


async def root(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    what = f"EcoTrack {service} (testbed)" if service else "testbed actuator-like server"
    return web.Response(text=f"{what}: see /actuator/health\n")


def make_app(state_dir: str, service: str = "") -> web.Application:
    """The actuator of one EcoTrack `service` ("" = the generic listener, always UP)."""
    app = web.Application()
    app[READER] = IncidentReader(state_dir)
    app[SERVICE] = service
    r = app.router
    r.add_get("/", root)
    r.add_get("/actuator", index)
    r.add_get("/actuator/health", health)
    r.add_get("/actuator/info", info)
    r.add_get("/actuator/metrics", metric_names)
    r.add_get("/actuator/metrics/{name}", metric)
    return app


def _service_port(text: str) -> tuple[str, int]:
    name, sep, port = text.partition("=")
    if not sep or not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected SERVICE=PORT, got {text!r}")
    return name, int(port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.healthserver", description="actuator look-alikes")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=28080, help="the generic listener (never DOWN)")
    ap.add_argument("--service", type=_service_port, action="append", default=[], metavar="NAME=PORT",
                    help="one listener answering for this EcoTrack service (repeatable)")
    ap.add_argument("--state-dir", required=True, help="directory holding incident.json")
    a = ap.parse_args(argv)
    listeners = [(make_app(a.state_dir), a.port)] + [(make_app(a.state_dir, name), port) for name, port in a.service]
    return serve_loopback_many("testbed.healthserver", listeners, a.host)


if __name__ == "__main__":
    sys.exit(main())
