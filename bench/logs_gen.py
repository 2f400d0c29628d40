"""A bounded high-rate log burst for bench/logs.py (used only when the testbed has no `logs burst` of its own).

    python3 -m bench.logs_gen --pod NS/POD --service SVC --rate 60000 --seconds 20 [--loki URL] [--state-dir DIR]

Appends CRI lines (`<RFC3339Nano> stdout F <line>`) to DIR/logs/<SVC>.log — the file KWOK serves as the logs of
every <SVC> container, so `kubectl logs -f` of the pod streams them — and pushes the same lines to the testbed
Loki (JSON push, string timestamps) with the pod's labels. Each line carries `seq=N` (0, 1, 2, … per burst).
Paced in 20 ms steps; stops after `--seconds` whatever happens; the Loki pusher is a thread with a bounded
queue (it reports what it could not send). Prints one JSON line of counters at the end. 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from pathlib import Path

import httpx
import msgspec

NS = 1_000_000_000
STEP = 0.02
PUSH_MAX = 20_000         # lines per push request
QUEUE_MAX = 400           # batches waiting for Loki (bounded: dropped and counted beyond)


_SECS: dict[int, str] = {}
_encode = msgspec.json.Encoder().encode  # the push body (the stdlib's json= cost the pusher most of its time)


def _sec(secs: int) -> str:
    s = _SECS.get(secs)
    if s is None:
        if len(_SECS) > 1000:
            _SECS.clear()
        s = _SECS[secs] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return s


def cri_time(ts_ns: int) -> str:
    secs, nanos = divmod(ts_ns, NS)
    return f"{_sec(secs)}.{nanos:09d}Z"


def line_text(svc: str, ts_ns: int, seq: int) -> str:
    secs, nanos = divmod(ts_ns, NS)
    return (f"{_sec(secs)}.{nanos // 1_000_000:03d}Z  INFO 1 --- [{svc}] [nio-8080-exec-{seq % 10 + 1}] "
            f"c.e.b.BurstController : seq={seq} GET /api/users/{seq % 9973} 200 {seq % 97}ms")


class Pusher(threading.Thread):
    def __init__(self, url: str, labels: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url = url.rstrip("/") + "/loki/api/v1/push"
        self.labels = labels
        self.q: queue.Queue[list[list[str]] | None] = queue.Queue(QUEUE_MAX)
        self.sent = self.failed = self.dropped = 0
        self.errors: list[str] = []

    def add(self, values: list[list[str]]) -> None:
        try:
            self.q.put_nowait(values)
        except queue.Full:
            self.dropped += len(values)

    def run(self) -> None:
        with httpx.Client(timeout=30.0) as c:
            for _ in range(10_000_000):
                v = self.q.get()
                if v is None:
                    return
                for i in range(0, len(v), PUSH_MAX):
                    part = v[i:i + PUSH_MAX]
                    try:
                        body = _encode({"streams": [{"stream": self.labels, "values": part}]})
                        r = c.post(self.url, content=body, headers={"Content-Type": "application/json"})
                        ok = r.status_code < 300
                        if not ok and len(self.errors) < 5:
                            self.errors.append(f"{r.status_code} {r.text[:200]}")
                    except httpx.HTTPError as e:
                        ok = False
                        if len(self.errors) < 5:
                            self.errors.append(f"{type(e).__name__}: {e}")
                    if ok:
                        self.sent += len(part)
                    else:
                        self.failed += len(part)


def burst(log_file: Path, svc: str, rate: float, seconds: float, pusher: Pusher | None) -> dict:
    t0 = time.monotonic()
    seq = 0
    written = 0
    with open(log_file, "ab", buffering=0) as fh:
        for _ in range(int(seconds / STEP) + 1000):
            now = time.monotonic()
            el = now - t0
            if el >= seconds:
                break
            n = int(rate * min(el + STEP, seconds)) - seq
            if n > 0:
                base = time.time_ns()
                vals = []
                out = []
                for k in range(n):
                    ts = base + k * 1000
                    text = line_text(svc, ts, seq + k)
                    out.append(f"{cri_time(ts)} stdout F {text}\n")
                    vals.append([str(ts), text])
                fh.write("".join(out).encode())
                written += n
                seq += n
                if pusher is not None:
                    pusher.add(vals)
            left = t0 + el + STEP - time.monotonic()
            if left > 0:
                time.sleep(left)
    return {"lines": written, "seconds": time.monotonic() - t0, "last_seq": seq - 1}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pod", required=True, help="NAMESPACE/POD whose labels the Loki lines get")
    ap.add_argument("--service", required=True)
    ap.add_argument("--node", default="")
    ap.add_argument("--rate", type=float, default=60_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--loki", default="")
    ap.add_argument("--state-dir", required=True)
    a = ap.parse_args(argv)
    rate, seconds = max(1.0, min(a.rate, 500_000)), max(0.1, min(a.seconds, 300))
    if a.loki and not a.loki.startswith(("http://127.", "http://localhost")):
        print("bench.logs_gen: Loki must be on 127.0.0.1", file=sys.stderr)
        return 2
    ns, pod = a.pod.split("/", 1)
    pusher = None
    if a.loki:
        pusher = Pusher(a.loki, {k: v for k, v in {"namespace": ns, "app": a.service, "pod": pod,
                                                   "container": a.service, "node": a.node}.items() if v})
        pusher.start()
    res = burst(Path(a.state_dir) / "logs" / f"{a.service}.log", a.service, rate, seconds, pusher)
    if pusher is not None:
        pusher.q.put(None)
        pusher.join(timeout=60)
        res.update(pushed=pusher.sent, push_failed=pusher.failed, push_dropped=pusher.dropped,
                   push_errors=pusher.errors, push_done_s=time.monotonic())
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
