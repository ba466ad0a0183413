"""Prometheus metrics for Rum apps: request counts and latency by route and status, job
counts and durations, database pool stats at ``/metrics``.

Enable with ``[plugins] enabled = [..., "metrics"]``; see ``docs/metrics.md``.
"""

from rum_metrics.metrics import Metrics
from rum_metrics.registry import Counter, Gauge, Histogram, Registry

__all__ = ["Counter", "Gauge", "Histogram", "Metrics", "Registry"]
