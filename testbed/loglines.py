"""Realistic log line content for the log generator (Spring Boot services and assorted infrastructure pods).

Every function returns physical lines (no embedded newlines); one event may span several lines (stack traces,
Spring Boot's failure report). Pure: randomness comes from the `random.Random` handed in.
"""
from __future__ import annotations

import json
import random
import time

# app -> (package, controller, service class, endpoints, entity)
APPS = {
    "user-service": ("user", "UserController", "UserService",
                     [("GET", "/api/users/{n}"), ("GET", "/api/users"), ("POST", "/api/auth/login")], "user"),
    "product-service": ("product", "ProductController", "ProductService",
                        [("GET", "/api/products"), ("GET", "/api/products/{n}"), ("PUT", "/api/products/{n}")],
                        "product"),
    "order-service": ("order", "OrderController", "OrderService",
                      [("POST", "/api/orders"), ("GET", "/api/orders/{n}"), ("GET", "/api/orders")], "order"),
    "payment-service": ("payment", "PaymentController", "PaymentService",
                        [("POST", "/api/payments"), ("GET", "/api/payments/{n}")], "payment"),
    "notification-service": ("notification", "NotificationController", "EmailSender",
                             [("POST", "/api/notifications"), ("GET", "/api/notifications")], "notification"),
}
HOSTILE = (
    "Rendered subject for user {n}: \x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31mYOUR ACCOUNT IS LOCKED\x1b[0m",
    "Template preview: \x1b]8;;http://127.0.0.1/evil\x1b\\click here\x1b]8;;\x1b\\ \x1b[?1049h\x1b[5;1Hsudo rm -rf /",
    "Unsubscribe link for user {n}: \x1b[31m\x1b[1mURGENT\x1b[0m\x1b]0;pwned\x07\x08\x08\x08\r  spoofed",
)
EXCEPTIONS = (
    ("java.lang.IllegalStateException", "{entity} {n} is in state CANCELLED"),
    ("java.lang.NullPointerException", 'Cannot invoke "String.length()" because "{entity}.reference" is null'),
    ("org.springframework.dao.DataAccessResourceFailureException", "Unable to acquire JDBC Connection"),
    ("java.net.SocketTimeoutException", "Read timed out"),
)


def iso_ms(ts_ns: int) -> str:
    secs, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ns // 1_000_000:03d}Z"


def _short_logger(name: str) -> str:
    """Spring's %logger{39}: abbreviate package segments to their first letter."""
    parts = name.split(".")
    return ".".join([p[0] for p in parts[:-1]] + [parts[-1]])


class LineFactory:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def _n(self) -> int:
        return self.rng.randint(1, 9999)

    def _trace(self) -> str:
        return "%032x" % self.rng.getrandbits(128)

    def spring(self, app: str, ts_ns: int, level: str, logger: str, msg: str, thread: str | None = None) -> str:
        thread = thread or f"nio-8080-exec-{self.rng.randint(1, 10)}"
        return (f"{iso_ms(ts_ns)} {level:>5} 1 --- [{app}] [{thread[-15:]:>15}] "
                f"{_short_logger(logger)[:40]:<40} : {msg}")

    def json_line(self, app: str, ts_ns: int, level: str, logger: str, msg: str) -> str:
        return json.dumps({"@timestamp": iso_ms(ts_ns), "level": level, "logger": logger, "message": msg,
                           "service": app, "traceId": self._trace(), "spanId": "%016x" % self.rng.getrandbits(64)},
                          ensure_ascii=False, separators=(",", ":"))

    def event(self, app: str, ts_ns: int, mode: str = "normal") -> list[str]:
        """One log event for a service. mode: normal | error-spike | latency-spike."""
        pkg, ctrl, svc, endpoints, entity = APPS[app]
        r = self.rng.random()
        method, path = self.rng.choice(endpoints)
        path = path.replace("{n}", str(self._n()))
        if app == "notification-service" and self.rng.random() < 1 / 500:
            msg = self.rng.choice(HOSTILE).format(n=self._n())
            return [self.spring(app, ts_ns, "INFO", f"com.ecotrack.{pkg}.{svc}", msg)]
        if mode == "error-spike" and r < 0.6:
            return self._error(app, ts_ns, method, path, force_500=True)
        if mode == "latency-spike" and r < 0.5:
            return [self._slow(app, ts_ns, method, path, self.rng.randint(2000, 5000))]
        if r < 0.05:
            return self._error(app, ts_ns, method, path)
        if r < 0.11:
            return [self._slow(app, ts_ns, method, path, self.rng.randint(500, 1500))]
        if r < 0.18:
            return [self._auth(app, ts_ns, method, path)]
        ms = self.rng.randint(2000, 5000) if mode == "latency-spike" else max(1, int(self.rng.lognormvariate(3, 0.6)))
        logger = f"com.ecotrack.{pkg}.web.{ctrl}"
        if r < 0.28:
            msg = self.rng.choice([
                f"{entity.capitalize()} {self._n()} updated by user {self._n()}",
                f"HikariPool-1 - Pool stats (total=10, active={self.rng.randint(0, 4)}, idle=6, waiting=0)",
                f"Cache hit ratio for {entity}s: 0.{self.rng.randint(80, 99)}",
            ])
            logger = f"com.ecotrack.{pkg}.service.{svc}"
        else:
            msg = f"{method} {path} {200 if method == 'GET' else 201} {ms}ms"
        if self.rng.random() < 0.10:
            return [self.json_line(app, ts_ns, "INFO", logger, msg)]
        return [self.spring(app, ts_ns, "INFO", logger, msg)]

    def _slow(self, app: str, ts_ns: int, method: str, path: str, ms: int) -> str:
        pkg, _, svc, _, entity = APPS[app]
        msg = self.rng.choice([
            f"Slow request: {method} {path} took {ms}ms (threshold 500ms)",
            f"Slow query detected: {ms}ms SELECT * FROM {entity}s WHERE id = ?",
            f"Request timeout after {ms}ms calling postgres-primary:5432, retrying (1/3)",
            f"High latency on {method} {path}: p95={ms}ms",
        ])
        logger = f"com.ecotrack.{pkg}.service.{svc}"
        if self.rng.random() < 0.10:
            return self.json_line(app, ts_ns, "WARN", logger, msg)
        return self.spring(app, ts_ns, "WARN", logger, msg)

    def _auth(self, app: str, ts_ns: int, method: str, path: str) -> str:
        msg = self.rng.choice([
            f"Authentication failed for user 'user{self._n()}': bad credentials",
            f"401 Unauthorized: JWT expired for {method} {path}",
            f"403 Forbidden: access denied for user {self._n()} on {method} {path} (missing role ADMIN)",
        ])
        logger = "org.springframework.security.web.access.ExceptionTranslationFilter"
        return self.spring(app, ts_ns, "WARN", logger, msg)

    def _error(self, app: str, ts_ns: int, method: str, path: str, force_500: bool = False) -> list[str]:
        pkg, ctrl, svc, _, entity = APPS[app]
        exc, text = self.rng.choice(EXCEPTIONS)
        text = text.format(entity=entity, n=self._n())
        trace = self._trace()
        if force_500 or self.rng.random() < 0.5:
            head = f"HTTP 500 Internal Server Error on {method} {path} traceId={trace}: {exc}: {text}"
        else:
            head = f"Request processing failed: {exc}: {text}"
        logger = f"com.ecotrack.{pkg}.web.{ctrl}"
        if self.rng.random() < 0.10:
            return [self.json_line(app, ts_ns, "ERROR", logger, head)]
        lines = [self.spring(app, ts_ns, "ERROR", logger, head)]
        if self.rng.random() < 0.6:
            lines += [f"{exc}: {text}",
                      f"\tat com.ecotrack.{pkg}.service.{svc}.process({svc}.java:{self.rng.randint(40, 300)})",
                      f"\tat com.ecotrack.{pkg}.web.{ctrl}.handle({ctrl}.java:{self.rng.randint(30, 120)})",
                      "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
                      f"\t... {self.rng.randint(40, 90)} common frames omitted"]
        return lines

    def startup_failure(self, app: str, ts_ns: int) -> list[str]:
        """One failed start (crashloop): Spring Boot boot log ending in APPLICATION FAILED TO START."""
        pkg = APPS[app][0]
        main = f"com.ecotrack.{pkg}.{pkg.capitalize()}ServiceApplication"
        s = lambda level, logger, msg: self.spring(app, ts_ns, level, logger, msg, thread="main")  # noqa: E731
        return [
            s("INFO", main, f"Starting {pkg.capitalize()}ServiceApplication v1.4.2 using Java 21.0.5 with PID 1"),
            s("INFO", main, 'The following 1 profile is active: "prod"'),
            s("INFO", "org.springframework.boot.web.embedded.tomcat.TomcatWebServer",
              "Tomcat initialized with port 8080 (http)"),
            s("INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting..."),
            s("ERROR", "com.zaxxer.hikari.pool.HikariPool", "HikariPool-1 - Exception during pool initialization."),
            "org.postgresql.util.PSQLException: Connection to postgres-primary:5432 refused. Check that the hostname "
            "and port are correct and that the postmaster is accepting TCP/IP connections.",
            "\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)",
            "\tat com.zaxxer.hikari.pool.HikariPool.checkFailFast(HikariPool.java:562)",
            f"\tat com.ecotrack.{pkg}.config.DataSourceConfig.dataSource(DataSourceConfig.java:41)",
            "Caused by: java.net.ConnectException: Connection refused: postgres-primary:5432",
            "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
            s("WARN", "org.springframework.boot.web.servlet.context.ServletWebServerApplicationContext",
              "Exception encountered during context initialization - cancelling refresh attempt"),
            s("ERROR", "org.springframework.boot.diagnostics.LoggingFailureAnalysisReporter", "Application run failed"),
            "***************************",
            "APPLICATION FAILED TO START",
            "***************************",
            "Description: Failed to initialize the DataSource: Connection refused: postgres-primary:5432",
            "Action: Check that postgres-primary:5432 is running and reachable from the pod.",
        ]

    def infra(self, app: str, ts_ns: int) -> str:
        """A generic line for a non-EcoTrack pod, styled after its app label."""
        iso = iso_ms(ts_ns)
        a = app.lower()
        if "postgres" in a:
            return f"{iso.replace('T', ' ')[:-1]} UTC [{self.rng.randint(60, 999)}] LOG:  " + self.rng.choice([
                "checkpoint starting: time", "checkpoint complete: wrote 42 buffers (0.3%)",
                "connection received: host=10.0.3.17 port=51234", "duration: 1.204 ms  statement: SELECT 1"])
        if "redis" in a:
            stamp = time.strftime("%d %b %Y %H:%M:%S", time.gmtime(ts_ns // 10**9))
            return f"1:M {stamp}.{ts_ns // 10**6 % 1000:03d} " + self.rng.choice([
                "* 100 changes in 300 seconds. Saving...", "* Background saving started by pid 42",
                "* DB saved on disk", "* Background saving terminated with success"])
        level = "warn" if self.rng.random() < 0.08 else "info"
        msg = self.rng.choice(['msg="request completed" status=200 duration=3ms', 'msg="config reloaded"',
                               'msg="Seeked /var/log/pods" position=18234', 'msg="sync complete" items=12',
                               'msg="slow response from upstream" latency=1.2s'])
        return f"level={level} ts={iso} caller=main.go:{self.rng.randint(50, 400)} component={app} {msg}"
