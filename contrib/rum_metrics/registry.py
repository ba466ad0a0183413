"""Counters, gauges and histograms with labels, rendered in Prometheus' text format (0.0.4).

A :class:`Registry` belongs to one App (``app.extensions["metrics"].registry``); nothing here
is module-level state, so two apps in one process keep separate numbers. Everything runs on
the app's trio thread, so no locks are needed.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

#: Default latency buckets, in seconds (Prometheus client libraries use the same shape).
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                                      5.0, 10.0)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LabelValues = tuple[str, ...]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as the text format writes it (``+Inf``, ``NaN``, shortest float)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: Sequence[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class Metric:
    """Base of the three kinds: a name, help text and label names."""

    kind = "untyped"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help
        self.label_names = tuple(labels)

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(f"metric {self.name} takes labels {list(self.label_names)}, "
                             f"got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        """The ``# HELP`` and ``# TYPE`` lines."""
        return [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:  # pragma: no cover - overridden
        """The sample lines of this metric (one per label set; buckets for histograms)."""
        raise NotImplementedError

    def render(self) -> list[str]:
        """Every line of this metric in the text format."""
        return [*self.header(), *self.samples()]


class Counter(Metric):
    """A value that only goes up (requests served, jobs run). Name it ``..._total``."""

    kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self.values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` (default 1) to the series named by ``labels``."""
        if amount < 0:
            raise ValueError(f"counter {self.name} cannot decrease (got {amount})")
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def inc_key(self, key: LabelValues, amount: float = 1.0) -> None:
        """Fast path of :meth:`inc`: ``key`` is the label values in declaration order."""
        values = self.values
        values[key] = values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        """The current value of one series (0 if never incremented)."""
        return self.values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        """One line per label set, sorted by label values."""
        return [f"{self.name}{_labels(self.label_names, k)} {format_value(v)}"
                for k, v in sorted(self.values.items())]


class Gauge(Metric):
    """A value that goes up and down; ``callback`` (if given) is read at every scrape."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labels: Sequence[str] = (),
                 callback: Callable[[], dict[LabelValues, float] | float | None] | None = None
                 ) -> None:
        super().__init__(name, help, labels)
        self.values: dict[LabelValues, float] = {}
        self.callback = callback

    def set(self, value: float, **labels: str) -> None:
        """Set one series to ``value``."""
        self.values[self._key(labels)] = float(value)

    def samples(self) -> list[str]:
        """One line per label set, the callback's values merged over the set ones."""
        values = dict(self.values)
        if self.callback is not None:
            got = self.callback()
            if isinstance(got, dict):
                values.update(got)
            elif got is not None:
                values[()] = float(got)
        return [f"{self.name}{_labels(self.label_names, k)} {format_value(v)}"
                for k, v in sorted(values.items())]


class Histogram(Metric):
    """Observations counted into cumulative ``le`` buckets, with their sum and count."""

    kind = "histogram"

    def __init__(self, name: str, help: str, labels: Sequence[str] = (),
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help, labels)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds:
            raise ValueError(f"histogram {self.name} needs at least one finite bucket")
        self.bounds = tuple(bounds)
        # per series: [count per bucket (non-cumulative) ..., +Inf bucket], sum
        self.series: dict[LabelValues, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation (e.g. a duration in seconds)."""
        self.observe_key(self._key(labels), value)

    def observe_key(self, key: LabelValues, value: float) -> None:
        """Fast path of :meth:`observe`: ``key`` is the label values in declaration order."""
        entry = self.series.get(key)
        if entry is None:
            entry = self.series[key] = ([0] * (len(self.bounds) + 1), [0.0])
        entry[0][bisect_left(self.bounds, value)] += 1
        entry[1][0] += value

    def count(self, **labels: str) -> int:
        """How many observations one series has."""
        entry = self.series.get(self._key(labels))
        return sum(entry[0]) if entry else 0

    def samples(self) -> list[str]:
        """Cumulative ``_bucket`` lines, then ``_sum`` and ``_count``, per label set."""
        lines = []
        for key, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
                running += n
                le = f'le="{format_value(bound) if math.isinf(bound) else repr(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} "
                         f"{format_value(total[0])}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {running}")
        return lines


class Registry:
    """The metrics of one app, rendered together by :meth:`render`."""

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}

    def register(self, metric: Metric) -> Metric:
        """Add ``metric``; a second metric with the same name is an error."""
        if metric.name in self.metrics:
            raise ValueError(f"a metric named {metric.name!r} is already registered")
        self.metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        """Register and return a :class:`Counter`."""
        return self.register(Counter(name, help, labels))  # type: ignore[return-value]

    def gauge(self, name: str, help: str, labels: Sequence[str] = (),
              callback: Callable[[], dict[LabelValues, float] | float | None] | None = None
              ) -> Gauge:
        """Register and return a :class:`Gauge`."""
        return self.register(Gauge(name, help, labels, callback))  # type: ignore[return-value]

    def histogram(self, name: str, help: str, labels: Sequence[str] = (),
                  buckets: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        """Register and return a :class:`Histogram`."""
        return self.register(Histogram(name, help, labels, buckets))  # type: ignore[return-value]

    def render(self) -> str:
        """Every metric in Prometheus' text exposition format."""
        lines: list[str] = []
        for metric in self.metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
