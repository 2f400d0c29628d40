"""Incident mode (issue 11): policy, incident state, clock, store, timeline, templates, export. No textual."""
