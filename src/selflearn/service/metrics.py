"""``/metrics``: the service's counts in Prometheus text format (prometheus-client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from selflearn.service.core import Service

__all__ = ["render_metrics"]

_COUNTERS = {
    "rewrites_applied": "Rewrites the service returned.",
    "fail_opens": "Rewrite requests answered with the original (error or over the budget).",
    "learning_runs": "Learning runs started.",
    "learning_failures": "Learning runs that failed (the served version stayed).",
    "events_accepted": "Turn events stored.",
    "events_duplicate": "Turn events already stored (same turn_id).",
    "users_forgotten": "Users forgotten on request.",
}


class _ServiceCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        counts = dict(self.service.metrics.counts)
        requests = CounterMetricFamily(
            "selflearn_requests", "HTTP requests by route and status.", labels=["route", "status"]
        )
        for key, value in sorted(counts.items()):
            if key.startswith("requests:"):
                _, route, status = key.split(":", 2)
                requests.add_metric([route, status], value)
        yield requests
        for name, help_text in _COUNTERS.items():
            yield CounterMetricFamily(f"selflearn_{name}", help_text, value=counts.get(name, 0))
        latency = SummaryMetricFamily(
            "selflearn_request_seconds", "Request latency by route.", labels=["route"]
        )
        for route, window in sorted(self.service.metrics.latencies.items()):
            latency.add_metric([route], count_value=len(window), sum_value=sum(window))
        yield latency
        yield GaugeMetricFamily(
            "selflearn_events_since_learning",
            "Events stored since the last learning run.",
            value=self.service.events_since_learn,
        )


def render_metrics(service: Service) -> tuple[bytes, str]:
    """The exposition text and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ServiceCollector(service))
    return generate_latest(registry), CONTENT_TYPE_LATEST
