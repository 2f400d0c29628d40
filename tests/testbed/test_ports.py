"""The testbed's ports sit below Linux's ephemeral range (32768–60999 by default): a port inside it can be taken
by any outgoing connection's local end (seen: kube-apiserver → etcd from local port 39090, so Prometheus could
not bind) and `testbed up` then fails at random."""
from pathlib import Path

from testbed import ports


def _all_ports() -> dict[str, int]:
    out = {k: v for k, v in vars(ports).items() if k.isupper() and isinstance(v, int)}
    out.update({f"HEALTH_SERVICES[{k}]": v for k, v in ports.HEALTH_SERVICES.items()})
    return out


def test_ports_are_outside_the_ephemeral_range():
    low, high = 32768, 60999
    rng = Path("/proc/sys/net/ipv4/ip_local_port_range")
    if rng.exists():
        a, b = (int(x) for x in rng.read_text().split())
        low, high = min(low, a), max(high, b)
    inside = {k: v for k, v in _all_ports().items() if low <= v <= high}
    assert not inside, f"testbed ports inside the ephemeral range {low}-{high}: {inside}"


def test_ports_are_distinct():
    values = list(_all_ports().values())
    assert len(values) == len(set(values))
