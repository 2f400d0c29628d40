"""Load and key metrics (data side, never imports textual): the Prometheus client (`prom`), value history and
sparklines (`history`), the non-overlapping refresher every panel uses (`refresh`), levels of a reading
(`levels`); top (`usage`/`top`, metrics.k8s.io with a Prometheus fallback), HPAs explained (`hpa`), and the
runbook's PromQL key metrics (`panels`, `grid`)."""
