"""Port-forwards over the API server's WebSocket port-forward protocol (`v4.channel.k8s.io`), managed and
self-healing: `model` (specs and immutable views), `resolve` (kubectl's Service/workload → pod and port rules),
`tunnel` (a local listener, one WebSocket per accepted TCP connection), `manager` (every forward of a context:
start/stop/restart, re-resolve when the pod goes away), `presets` (the config's per-context presets, defaults
from the runbook). Never imports textual.
"""
