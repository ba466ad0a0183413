"""Hook implementations of the metrics plugin: count every request, serve ``/metrics``."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from rum import App, Controller, Request, Response, Setting, hookimpl
from rum.config import Config
from rum.errors import ConfigError
from rum.tally import RequestObserver
from rum_metrics.collectors import MULTIPROC_ENV, use_multiprocess_dir
from rum_metrics.metrics import CONTENT_TYPE, DEFAULT_BUCKETS, Metrics

name = "metrics"


class MetricsController(Controller):
    """Answers ``GET /metrics`` with the app's metrics in Prometheus text format."""

    async def get(self, request: Request) -> Response:
        """Collect the current values and render them in the text exposition format."""
        app = request.app
        assert app is not None
        metrics: Metrics = app.extensions["metrics"]
        app.tally.flush()  # the requests answered since the last batch count too
        await metrics.collect()
        return Response(metrics.render(), content_type=CONTENT_TYPE)


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[metrics]``: where metrics are served and the histogram buckets."""
    return {"metrics": {
        "path": Setting("/metrics", str, "path of the Prometheus scrape endpoint"),
        "buckets": Setting(list(DEFAULT_BUCKETS), list,
                           "request latency histogram buckets, in seconds"),
        "job_buckets": Setting(list(DEFAULT_BUCKETS), list,
                               "job duration histogram buckets, in seconds"),
    }}


def _buckets(config: Config, key: str) -> list[float]:
    raw = config.get_list("metrics", key)
    if not raw or not all(isinstance(b, int | float) and not isinstance(b, bool) and b > 0
                          for b in raw):
        raise ConfigError(f"{config.sources.get(('metrics', key), 'config')}: [metrics] {key} "
                          f"must be a non-empty list of positive numbers (seconds), got {raw!r}")
    return [float(b) for b in raw]


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Create the app's :class:`~rum_metrics.metrics.Metrics` in ``app.extensions``."""
    path = config.get_str("metrics", "path") or "/metrics"
    if not path.startswith("/"):
        raise ConfigError(f"{config.sources.get(('metrics', 'path'), 'config')}: [metrics] path "
                          f"must start with '/', got {path!r}")
    metrics = Metrics(app, _buckets(config, "buckets"), _buckets(config, "job_buckets"))
    app.extensions["metrics"] = metrics


@hookimpl
def rum_routes(app: App) -> list[Any]:
    """The scrape endpoint."""
    path = app.config.get_str("metrics", "path") or "/metrics"
    return [MetricsController.route(path, name="metrics")]


@hookimpl
def rum_request_observer(app: App) -> RequestObserver:
    """Count every answered request, from the kernel's request tally (a batch at least once a
    second; the scrape endpoint asks for the latest one first)."""
    metrics: Metrics = app.extensions["metrics"]
    return metrics.observe_batch


@hookimpl(optionalhook=True)  # the http plugin's hook: serving from several processes
def rum_http_workers(app: App, workers: int) -> dict[str, str]:
    """Before ``rum run --workers N`` starts: every worker process writes its metrics to one
    directory (prometheus_client's multiprocess mode) so that ``/metrics`` sums them all.
    ``PROMETHEUS_MULTIPROC_DIR``, when set, is used as is (you empty it between runs);
    otherwise a temporary directory is made, and removed when the parent process stops."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        path = tempfile.mkdtemp(prefix="rum-metrics-")
        app.extensions["metrics.own_dir"] = path
    use_multiprocess_dir(path)
    return {MULTIPROC_ENV: path}


@hookimpl
async def rum_shutdown(app: App) -> None:
    """Remove the multiprocess directory this process made (after its workers stopped)."""
    path = app.extensions.pop("metrics.own_dir", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)
