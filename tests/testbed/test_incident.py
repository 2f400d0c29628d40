"""incident.json contract shared by exporter, loggen and healthserver."""
import json

import pytest

from testbed.incident import IncidentReader, parse_incident


class Clock:
    t = 1000.0

    def __call__(self):
        return self.t


def test_reader_rereads_at_most_once_a_second(tmp_path):
    clock = Clock()
    r = IncidentReader(tmp_path, clock=clock)
    assert r.current() is None
    inc = {"name": "error-spike", "target": "payment-service", "since": 0}
    (tmp_path / "incident.json").write_text(json.dumps(inc))
    clock.t += 0.5
    assert r.current() is None  # cached
    clock.t += 0.6
    inc = r.current()
    assert inc.name == "error-spike" and inc.hits("payment-service") and not inc.hits("user-service")
    (tmp_path / "incident.json").unlink()
    clock.t += 1.0
    assert r.current() is None


def test_null_target_hits_all_and_since_gates(tmp_path):
    clock = Clock()
    (tmp_path / "incident.json").write_text(json.dumps({"name": "latency-spike", "target": None, "since": 1010}))
    r = IncidentReader(tmp_path, clock=clock)
    assert r.current() is None
    clock.t = 1010
    assert r.current().hits("order-service")


def test_malformed_file_is_ignored_with_one_message(tmp_path, capsys):
    clock = Clock()
    (tmp_path / "incident.json").write_text("{half")
    r = IncidentReader(tmp_path, clock=clock)
    for _ in range(3):
        assert r.current() is None
        clock.t += 2
    assert capsys.readouterr().err.count("ignoring") == 1


@pytest.mark.parametrize("data", [[], {"target": None}, {"name": ""}, {"name": "x", "target": 3},
                                  {"name": "x", "since": "soon"}])
def test_parse_rejects_bad_shapes(data):
    with pytest.raises(ValueError):
        parse_incident(data)
