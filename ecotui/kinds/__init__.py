"""The kinds registry: one module per resource kind, listed in `registry.py`."""
