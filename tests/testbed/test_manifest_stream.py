"""`kubectl apply -f -` input: strings that YAML 1.2 reads as numbers or booleans stay strings."""
import json

from testbed.kube import manifest_stream


def test_number_like_strings_stay_strings():
    tricky = ["1e234", "012", "0x1F", "true", "null", "1_000", ".5"]
    objs = [{"kind": "ConfigMap", "metadata": {"name": f"c{i}", "labels": {"rid": v}}} for i, v in enumerate(tricky)]
    docs = [json.loads(d) for d in manifest_stream(objs).split("\n---\n")]
    assert [d["metadata"]["labels"]["rid"] for d in docs] == tricky
    assert all(isinstance(d["metadata"]["labels"]["rid"], str) for d in docs)
