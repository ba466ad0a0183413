"""Prometheus metrics for Rum apps, on prometheus_client: request counts and latency by route
and status, job counts and durations, database pool stats at ``/metrics``; summed over every
worker process under ``rum run --workers N``.

Enable with ``[plugins] enabled = [..., "metrics"]``; see ``docs/metrics.md``.
"""

from rum_metrics.collectors import multiprocess_dir, use_multiprocess_dir
from rum_metrics.metrics import Metrics

__all__ = ["Metrics", "multiprocess_dir", "use_multiprocess_dir"]
