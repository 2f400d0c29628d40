"""The previous (crashed) container's log that KWOK serves for `kubectl logs --previous`: a Spring Boot start-up
failure, in the CRI log format of the current logs. One file per service (and one for other pods), written
once by `testbed up`; the crash-loop incident's pods show it as their previous container's log."""
from __future__ import annotations

import time
from pathlib import Path

FAILURE = (
    ("stdout", "  .   ____          _            __ _ _"),
    ("stdout", "{ts}  INFO 1 --- [{app}] [           main] c.e.Application                          : Starting {app} "
               "v2.3.1 using Java 21.0.5 with PID 1"),
    ("stdout", "{ts}  INFO 1 --- [{app}] [           main] com.zaxxer.hikari.HikariDataSource       : HikariPool-1 - "
               "Starting..."),
    ("stderr", "{ts} ERROR 1 --- [{app}] [           main] com.zaxxer.hikari.pool.HikariPool        : HikariPool-1 - "
               "Exception during pool initialization."),
    ("stderr", "org.postgresql.util.PSQLException: Connection to postgres-primary.ecotrack-data:5432 refused. "
               "Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections."),
    ("stderr", "\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:342)"),
    ("stderr", "{ts} ERROR 1 --- [{app}] [           main] o.s.boot.SpringApplication               : Application run "
               "failed"),
    ("stderr", "***************************"),
    ("stderr", "APPLICATION FAILED TO START"),
    ("stderr", "***************************"),
    ("stderr", "Description: Failed to configure a DataSource: the database postgres-primary is not reachable."),
)


def previous_log(app: str, end: float | None = None) -> str:
    """The CRI-format text of one crashed start of `app`, ending at `end` (epoch seconds; default now)."""
    end = time.time() if end is None else end
    start = end - 0.05 * len(FAILURE)
    out = []
    for i, (stream, text) in enumerate(FAILURE):
        t = start + 0.05 * i
        cri = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"
        spring = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e3):03d}Z"
        out.append(f"{cri} {stream} F {text.format(ts=spring, app=app)}")
    return "\n".join(out) + "\n"


def path(logs_dir: Path, app: str) -> Path:
    return logs_dir / f"{app}.previous.log"


def ensure(logs_dir: Path, apps: list[str]) -> None:
    """Write each app's previous log once (kept across `up`s: KWOK serves it as it is)."""
    for app in apps:
        f = path(logs_dir, app)
        if not f.exists():
            f.write_text(previous_log(app))
