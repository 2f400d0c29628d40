"""Log generator: per-service log files (served by KWOK as container logs) and the same lines pushed to Loki.

    python -m testbed.loggen --state-dir DIR [--loki http://127.0.0.1:23100] [--kubeconfig PATH] [--rate 4]

Every second: ~rate lines (with jitter) into DIR/logs/<service>.log for each EcoTrack service and DIR/logs/default.log
(other pods). Each line is attributed round-robin to a Running pod of that app (listed from the Kubernetes API every
10 s) and pushed to Loki about once a second with labels namespace, app, pod, container, node. Outages of the API or
Loki never stop the files; unsent lines wait in a bounded buffer (oldest dropped and counted). SIGTERM/SIGINT stop it
cleanly after a last push attempt. DIR/incident.json (testbed/incident.py) shapes the content.

On demand (testbed/logcmd.py, `python -m testbed logs ...`):
- DIR/loggen-control.json {"seq": true}: every generated line ends with ` seq=<N>` (JSON lines: at the end of their
  "message"), N counting up by one per log file, kept across restarts in DIR/loggen-seq.json;
- DIR/loggen-cmd/*.json: {"cmd": "burst", "rate": 60000, "seconds": 20, "target": "payment-service"} (a
  high-rate run into one service's file and one pod's Loki stream) or {"cmd": "hostile", "target": ...}
  (testbed/hostile.py's lines, once). Picked up within 0.25 s, deleted once started;
- DIR/loggen-status.json, rewritten every second: mode, rates, totals, the current/last burst and hostile run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import ssl
import sys
import time
from pathlib import Path

import httpx

from . import hostile as hostile_lines
from .incident import SERVICES, IncidentReader
from .loggen_pods import KubeTarget, PodDirectory
from .loggen_push import LokiPusher
from .loggen_push import say as _say
from .loglines import LineFactory, iso_ms

NS = 1_000_000_000
CONTROL_FILE = "loggen-control.json"
SEQ_FILE = "loggen-seq.json"
STATUS_FILE = "loggen-status.json"
CMD_DIR = "loggen-cmd"
BURST_CHUNK_S = 0.1  # a burst writes and pushes in slices of this many seconds of lines
BURST_TAIL_GRACE_S = 60.0  # after a burst its file is not truncated for this long: a follower still reading the
                           # burst (it can be 280 MB, over max_file_bytes) would lose what it had not read yet
MAX_BURST_LINES = 5_000_000
OTHER_APPS_FALLBACK = ("postgres-primary", "redis", "promtail")


def burst_head(target: str, base_ns: int) -> str:
    """The part of a burst line before its number (same length at any time: iso_ms is fixed width)."""
    pkg = target.split("-")[0]
    return f"{iso_ms(base_ns)}  INFO 1 --- [{target}] [    burst-exec-1] c.e.{pkg[0]}.w.{'BurstController':<34} : " \
           "GET /api/burst/"


def burst_text(head: str, n: int) -> str:
    """Burst line number n (its seq): what `kubectl logs` prints for it, without the newline."""
    return f"{head}{n % 10000} 200 1ms seq={n}"


def with_seq(line: str, n: int) -> str:
    """`line seq=N`; a JSON line keeps being JSON: ` seq=N` goes at the end of its "message"."""
    if line.startswith("{") and line.endswith("}"):
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            obj["message"] += f" seq={n}"
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return f"{line} seq={n}"


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def cri_time(ts_ns: int) -> str:
    secs, nanos = divmod(ts_ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}Z"


class LogGen:
    def __init__(self, state_dir: str | Path, rate: float = 4.0, loki: str | None = None,
                 kube: KubeTarget | None = None, seed: int | None = None, max_file_bytes: int = 64 * 1024 * 1024):
        self.logs = Path(state_dir) / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.rng = random.Random(seed)
        self.lines = LineFactory(self.rng)
        self.incidents = IncidentReader(state_dir)
        self.pods = PodDirectory()
        self.pusher = LokiPusher(loki) if loki else None
        self.kube = kube
        self.max_file_bytes = max_file_bytes
        self._next_start: dict[str, float] = {}
        self.written = 0
        self.state = Path(state_dir)
        self.loki_url = loki.rstrip("/") if loki else None
        self.seq_on = False
        self._control_checked = float("-inf")
        self.seq: dict[str, int] = _read_json(self.state / SEQ_FILE) or {}
        self._last_ts: dict[str, int] = {}  # per file: the newest timestamp written (windows never overlap)
        self._burst_ended: dict[str, float] = {}  # file name → monotonic end of its last burst
        self.paused: set[str] = set()  # services whose steady lines stop while a burst writes their file
        self.burst: dict | None = None  # the current or last burst
        self.hostile: dict | None = None  # the last hostile run
        self._rate_mark = (time.monotonic(), 0, 0)
        self.rates = {"file_lines_per_s": 0.0, "pushed_lines_per_s": 0.0}
        self.burst_pushed = 0

    def _count(self, rate: float) -> int:
        return max(0, round(self.rng.gauss(rate, rate * 0.35)))

    def tick(self, now_ns: int | None = None) -> int:
        """Generate one second of lines ending at `now_ns`; write files, queue for Loki. Returns lines written."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        self.read_control()
        inc = self.incidents.current()
        total = 0
        for app in SERVICES:
            if app in self.paused:
                continue
            mode = inc.name if inc is not None and inc.hits(app) else "normal"
            events: list[list[str]] = []
            stamps = self._stamps(f"{app}.log", now_ns, self._count(
                self.rate * (1.5 if mode == "error-spike" else 1.0)))
            if mode == "crashloop":
                if now_ns / NS >= self._next_start.get(app, 0.0):
                    self._next_start[app] = now_ns / NS + self.rng.uniform(8, 12)
                    stamps, events = [now_ns - NS // 2], [self.lines.startup_failure(app, now_ns - NS // 2)]
                else:
                    stamps = []
            else:
                events = [self.lines.event(app, ts, mode) for ts in stamps]
            total += self._emit(app, f"{app}.log", stamps, events, lambda: self.pods.next_pod(app))
        stamps = self._stamps("default.log", now_ns, self._count(self.rate))
        pods = [self.rng.choice(self.pods.others) if self.pods.others else None for _ in stamps]
        events = [[self.lines.infra(p.app if p else self.rng.choice(OTHER_APPS_FALLBACK), ts)]
                  for p, ts in zip(pods, stamps)]
        it = iter(pods)
        total += self._emit(None, "default.log", stamps, events, lambda: next(it))
        self.written += total
        return total

    def _stamps(self, fname: str, now_ns: int, n: int) -> list[int]:
        """n sorted timestamps in the second before now_ns, after everything already written to that file."""
        lo = max(now_ns - NS, self._last_ts.get(fname, 0) + 1)
        return sorted(lo + self.rng.randrange(max(now_ns - lo, 1)) for _ in range(n))

    def read_control(self) -> None:
        """DIR/loggen-control.json ({"seq": bool}), at most once a second."""
        now = time.monotonic()
        if now - self._control_checked < 1.0:
            return
        self._control_checked = now
        ctl = _read_json(self.state / CONTROL_FILE) or {}
        self.seq_on = bool(ctl.get("seq"))

    def next_seq(self, fname: str) -> int:
        n = self.seq.get(fname, 0) + 1
        self.seq[fname] = n
        return n

    def _emit(self, app: str | None, fname: str, stamps: list[int], events: list[list[str]], pick) -> int:
        out: list[tuple[int, str]] = []
        for ts, lines in zip(stamps, events):
            pod = pick()
            for j, line in enumerate(lines):
                if self.seq_on:
                    line = with_seq(line, self.next_seq(fname))
                out.append((ts + j * 1000, line))
                if self.pusher is None or (pod is None and app is None):
                    continue
                if pod is not None:
                    labels = {"namespace": pod.namespace, "app": pod.app, "pod": pod.name,
                              "container": pod.container, "node": pod.node}
                else:  # service line before any pod is known: still queryable by app
                    labels = {"namespace": "ecotrack", "app": app, "container": app}
                self.pusher.add(labels, ts + j * 1000, line)  # continuation lines 1 µs apart, in order
        if out:
            self._last_ts[fname] = max(self._last_ts.get(fname, 0), out[-1][0])
            self._append(self.logs / fname, out)
        return len(out)

    def _append(self, path: Path, lines: list[tuple[int, str]]) -> None:
        # The fake kubelet (KWOK) serves these files through the CRI log parser, like a real
        # kubelet reads containerd's files: "<RFC3339Nano> stdout F <line>".
        data = "".join(f"{cri_time(ts)} stdout F {line}\n" for ts, line in lines).encode("utf-8", "replace")
        try:
            if path.exists() and path.stat().st_size + len(data) > self.max_file_bytes \
                    and time.monotonic() - self._burst_ended.get(path.name, float("-inf")) > BURST_TAIL_GRACE_S:
                path.write_bytes(b"")  # truncate in place (followers reopen on truncation)
            with open(path, "ab") as fh:
                fh.write(data)
        except OSError as exc:
            _say(f"cannot write {path}: {exc.strerror or exc}")

    # --- on-demand modes ---------------------------------------------------------------------------------------
    def _pod_labels(self, app: str) -> dict[str, str]:
        pods = self.pods.by_app.get(app) or [p for p in self.pods.others if p.app == app]
        if pods:
            p = pods[0]
            return {"namespace": p.namespace, "app": p.app, "pod": p.name, "container": p.container, "node": p.node}
        return {"namespace": "ecotrack", "app": app, "container": app}

    async def _post(self, client: httpx.AsyncClient, body: bytes, deadline: float) -> tuple[int, str]:
        """POST a push body, retrying while Loki is unreachable or failing (5xx/429) until `deadline`
        (re-pushing is safe: Loki drops identical entries). (status, text); status 0 = never got through."""
        assert self.loki_url is not None
        delay, last = 0.2, "not tried"
        while True:
            try:
                r = await client.post(self.loki_url + "/loki/api/v1/push", content=body,
                                      headers={"Content-Type": "application/json"})
                if r.status_code < 500 and r.status_code != 429:
                    return r.status_code, r.text
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                return 0, last
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def run_burst(self, rate: float, seconds: float, target: str = "payment-service",
                        cid: str | None = None, to: str = "both") -> dict:
        """Write `rate` lines/s for `seconds` into <target>.log and push the same lines (batched, one pod's stream)
        to Loki; steady lines for that service pause meanwhile. Lines always carry seq=N. `to`: "both", or only
        "file" / only "loki" (a benchmark of one path then does not pay for the other on a shared machine).
        Returns the result (also kept in self.burst for the status file)."""
        if to not in ("both", "file", "loki"):
            raise ValueError(f"to must be both, file or loki, not {to!r}")
        if target not in SERVICES:
            raise ValueError(f"unknown service {target!r}: one of {', '.join(SERVICES)}")
        if rate <= 0 or seconds <= 0 or rate * seconds > MAX_BURST_LINES:
            raise ValueError(f"rate and seconds must be positive and rate*seconds <= {MAX_BURST_LINES}")
        fname = f"{target}.log"
        path = self.logs / fname
        labels = self._pod_labels(target)
        info: dict = {"id": cid, "target": target, "pod": labels.get("pod", ""), "rate": rate, "seconds": seconds, "to": to,
                      "state": "running", "started": time.time(), "written": 0, "pushed": 0, "rejected": 0,
                      "first_seq": self.seq.get(fname, 0) + 1}
        self.burst = info
        self.paused.add(target)
        self.save_state()
        stream_json = json.dumps(labels)
        try:
            if to != "loki" and path.exists() and path.stat().st_size > self.max_file_bytes // 2:
                path.write_bytes(b"")  # room for the burst: no truncation while it runs
            client = httpx.AsyncClient(timeout=30.0) if self.loki_url and to != "file" else None
            to_file = to != "loki"
            push_task: tuple[asyncio.Task, int] | None = None
            t0 = time.monotonic()
            last_ts = self._last_ts.get(fname, 0)
            total = int(rate * seconds)
            done = 0
            while done < total:
                due = min(int(rate * (time.monotonic() - t0)) - done, int(rate * BURST_CHUNK_S * 2), total - done)
                if due <= 0:
                    await asyncio.sleep(min(BURST_CHUNK_S / 4, (done + 1) / rate - (time.monotonic() - t0)))
                    continue
                base = max(time.time_ns(), last_ts + 1)
                secs, nanos0 = divmod(base, NS)
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
                head = burst_head(target, base)
                # the line is head + digits: JSON-quoting it is wrapping it in quotes when the head needs no
                # escape (checked once a slice; per-line json.dumps was a third of the generator's CPU at 60k/s)
                plain = json.dumps(head) == f'"{head}"'
                seq0 = self.seq.get(fname, 0)
                file_parts, values = [], []
                add_file, add_value = file_parts.append, values.append
                for i in range(due):
                    nanos = nanos0 + i
                    if nanos >= NS:  # crossed a second inside the slice: recompute the prefix
                        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs + nanos // NS))
                        secs, nanos0, nanos = secs + nanos // NS, nanos0 - NS * (nanos // NS), nanos % NS
                    n = seq0 + i + 1
                    line = f"{head}{n % 10000} 200 1ms seq={n}"  # burst_text(head, n), inlined
                    if to_file:
                        add_file(f"{stamp}.{nanos:09d}Z stdout F {line}\n")
                    if client is not None:
                        add_value(f'["{base + i}","{line}"]' if plain else f'["{base + i}",{json.dumps(line)}]')
                self.seq[fname] = seq0 + due
                last_ts = base + due - 1
                self._last_ts[fname] = last_ts
                if to_file:
                    with open(path, "ab") as fh:
                        fh.write("".join(file_parts).encode())
                done += due
                info["written"] = done
                self.written += due
                if client is not None:
                    body = ('{"streams":[{"stream":' + stream_json + ',"values":[' + ",".join(values) + "]}]}").encode()
                    if push_task is not None:
                        await self._burst_pushed(push_task, info)  # one push in flight: Loki sets the pace
                    push_task = (asyncio.create_task(self._post(client, body, time.monotonic() + 60)), due)
            if push_task is not None:
                await self._burst_pushed(push_task, info)
            elapsed = time.monotonic() - t0
            info.update(state="done", elapsed_s=round(elapsed, 3), achieved_lines_per_s=round(done / elapsed),
                        last_seq=self.seq.get(fname, 0))
            if client is not None:
                await client.aclose()
        except Exception as exc:  # noqa: BLE001 — reported in the status, never kills the generator
            info.update(state="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self.paused.discard(target)
            self._burst_ended[fname] = time.monotonic()
        return info

    async def _burst_pushed(self, pending: tuple[asyncio.Task, int], info: dict) -> None:
        task, n = pending
        status, text = await task
        if status == 204:
            info["pushed"] += n
            self.burst_pushed += n
        else:
            info["rejected"] += n
            info["push_error"] = f"{status or 'unreachable'}: {text[:300]}"

    async def run_hostile(self, target: str = "notification-service") -> dict:
        """Write every line of testbed/hostile.py once into <target>.log (exact bytes) and push them to Loki in one
        request (as promtail would: invalid UTF-8 becomes U+FFFD). Returns what happened."""
        if target not in SERVICES:
            raise ValueError(f"unknown service {target!r}: one of {', '.join(SERVICES)}")
        fname = f"{target}.log"
        labels = self._pod_labels(target)
        base = max(time.time_ns(), self._last_ts.get(fname, 0) + 1)
        names = list(hostile_lines.LINES)
        data = b"".join(cri_time(base + i).encode() + b" stdout F " + hostile_lines.LINES[n] + b"\n"
                        for i, n in enumerate(names))
        self._last_ts[fname] = base + len(names) - 1
        with open(self.logs / fname, "ab") as fh:
            fh.write(data)
        self.written += len(names)
        info: dict = {"target": target, "pod": labels.get("pod", ""), "lines": len(names), "first_ts": base,
                      "written": len(names), "time": time.time()}
        if self.loki_url:
            body = json.dumps({"streams": [{"stream": labels, "values": [
                [str(base + i), hostile_lines.as_pushed(hostile_lines.LINES[n])] for i, n in enumerate(names)]}]})
            async with httpx.AsyncClient(timeout=30.0) as client:
                status, text = await self._post(client, body.encode(), time.monotonic() + 30)
            info["loki_status"] = status
            if status != 204:
                info["loki_answer"] = text.strip()[:500]
        self.hostile = info
        return info

    def status(self) -> dict:
        now = time.monotonic()
        t, w, p = self._rate_mark
        pushed = (self.pusher.sent if self.pusher else 0) + self.burst_pushed
        if now - t >= 0.9:
            self.rates = {"file_lines_per_s": round((self.written - w) / (now - t), 1),
                          "pushed_lines_per_s": round((pushed - p) / (now - t), 1)}
            self._rate_mark = (now, self.written, pushed)
        running = self.burst is not None and self.burst.get("state") == "running"
        return {"pid": os.getpid(), "updated": time.time(), "mode": "burst" if running else "steady",
                "seq": self.seq_on, "rate_per_service": self.rate, **self.rates,
                "written_total": self.written, "pushed_total": pushed,
                "buffered": len(self.pusher.buffer) if self.pusher else 0,
                "dropped_total": self.pusher.dropped if self.pusher else 0,
                "loki_failing": self.pusher.failing if self.pusher else None,
                "burst": self.burst, "hostile": self.hostile, "seq_last": dict(self.seq)}

    def save_state(self) -> None:
        try:
            write_json_atomic(self.state / STATUS_FILE, self.status())
            if self.seq:
                write_json_atomic(self.state / SEQ_FILE, self.seq)
        except OSError as exc:
            _say(f"cannot write status: {exc.strerror or exc}")

    async def _cmd_loop(self, stop: asyncio.Event) -> None:
        cmd_dir = self.state / CMD_DIR
        tasks: set[asyncio.Task] = set()
        while not stop.is_set():
            for f in sorted(cmd_dir.glob("*.json")) if cmd_dir.is_dir() else []:
                cmd = _read_json(f)
                f.unlink(missing_ok=True)
                if cmd is None:
                    continue
                tasks.add(asyncio.create_task(self._run_cmd(cmd)))
            tasks = {t for t in tasks if not t.done()}
            await _sleep_or_stop(stop, 0.25)
        for t in tasks:
            t.cancel()

    async def _run_cmd(self, cmd: dict) -> None:
        try:
            if cmd.get("cmd") == "burst":
                if self.burst is not None and self.burst.get("state") == "running":
                    raise ValueError("a burst is already running")
                info = await self.run_burst(float(cmd.get("rate", 60000)), float(cmd.get("seconds", 20)),
                                            cmd.get("target") or "payment-service", cmd.get("id"),
                                            to=str(cmd.get("to") or "both"))
            elif cmd.get("cmd") == "hostile":
                info = await self.run_hostile(cmd.get("target") or "notification-service")
                info["id"] = cmd.get("id")
            else:
                raise ValueError(f"unknown command {cmd.get('cmd')!r}")
        except (ValueError, TypeError) as exc:
            _say(f"command {cmd}: {exc}")
            err = {"id": cmd.get("id"), "state": "failed", "error": str(exc)}
            if cmd.get("cmd") == "hostile":
                self.hostile = err
            elif self.burst is None or self.burst.get("state") != "running":
                self.burst = {**err, "target": cmd.get("target")}
        self.save_state()

    # --- async loops ------------------------------------------------------------------------------------------
    async def _pods_loop(self, stop: asyncio.Event) -> None:
        assert self.kube is not None
        failing = False
        async with self.kube.client() as client:
            while not stop.is_set():
                try:
                    await self.pods.refresh(client)
                    if failing:
                        _say("Kubernetes API reachable again")
                    failing = False
                except Exception as exc:  # API down, odd answers: keep the last known pods  # noqa: BLE001
                    if not failing:
                        _say(f"cannot list pods ({type(exc).__name__}: {exc}); keeping the last known pods")
                    failing = True
                await _sleep_or_stop(stop, 10.0)

    async def _push_loop(self, stop: asyncio.Event) -> None:
        assert self.pusher is not None
        backoff = 1.0
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not stop.is_set():
                try:
                    ok = await self.pusher.push(client)
                except Exception as exc:  # never let the pusher die  # noqa: BLE001
                    ok = self.pusher._fail(f"push failed: {type(exc).__name__}: {exc}")
                backoff = 1.0 if ok else min(backoff * 2, 10.0)
                await _sleep_or_stop(stop, backoff)
            try:  # last attempt, short
                await asyncio.wait_for(self.pusher.push(client), timeout=2.0)
            except (asyncio.TimeoutError, httpx.HTTPError):
                pass

    async def _gen_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # a generator bug must not stop the files  # noqa: BLE001
                _say(f"tick failed: {type(exc).__name__}: {exc}")
            self.save_state()
            await _sleep_or_stop(stop, 1.0 - (time.time() % 1.0))

    async def run(self, stop: asyncio.Event, grace: float = 3.0) -> None:
        """Run until `stop` is set; then give the loops `grace` seconds (last push) before cancelling them."""
        tasks = [asyncio.create_task(self._gen_loop(stop)), asyncio.create_task(self._cmd_loop(stop))]
        if self.kube is not None:
            tasks.append(asyncio.create_task(self._pods_loop(stop)))
        if self.pusher is not None:
            tasks.append(asyncio.create_task(self._push_loop(stop)))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for t in pending:
            t.cancel()
        for t, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True)):
            if isinstance(result, Exception):
                _say(f"loop ended with {type(result).__name__}: {result}")


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except asyncio.TimeoutError:
        pass


async def _amain(gen: LogGen) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await gen.run(stop)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.loggen", description="EcoTrack log generator")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--loki", default=None, help="Loki base URL, e.g. http://127.0.0.1:23100 (omit: files only)")
    ap.add_argument("--kubeconfig", default=None, help="kubeconfig used to list pods (omit: no pod labels)")
    ap.add_argument("--rate", type=float, default=4.0, help="lines per second per service (jittered)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-file-mb", type=float, default=64.0, help="truncate a log file beyond this size")
    a = ap.parse_args(argv)
    if a.rate < 0 or a.max_file_mb <= 0:
        print("testbed.loggen: --rate must be >= 0 and --max-file-mb > 0", file=sys.stderr)
        return 2
    try:
        kube = KubeTarget(a.kubeconfig) if a.kubeconfig else None
    except (ValueError, OSError, ssl.SSLError) as exc:
        print(f"testbed.loggen: {exc}", file=sys.stderr)
        return 2
    gen = LogGen(a.state_dir, rate=a.rate, loki=a.loki, kube=kube, seed=a.seed,
                 max_file_bytes=int(a.max_file_mb * 1024 * 1024))
    print(f"testbed.loggen writing {gen.logs}" + (f", pushing to {a.loki}" if a.loki else ""), flush=True)
    asyncio.run(_amain(gen))
    if gen.pusher:
        print(f"testbed.loggen stopped: {gen.written} lines written, {gen.pusher.sent} pushed, "
              f"{gen.pusher.dropped} dropped, {len(gen.pusher.buffer)} unsent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
