"""Log streams (data side, never imports textual): one LogLine shape for every source, the sources
(Loki: query_range backfill + live tail; Kubernetes: follow streams of every container of the selected
pods), a bounded ring buffer, filters/presets/search, and the sanitiser that makes any log text inert.

The UI (`ecotui/ui/screens/logs.py`, `ecotui/ui/widgets/log_view.py`) renders from `LogBuffer` snapshots.
"""
