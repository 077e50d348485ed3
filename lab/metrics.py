"""Prometheus metrics of the LAB: gauges read from the store per scrape, stage timings live."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lab.observe import LabSnapshot, measure

__all__ = ["LabMetrics"]

_STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_QA_BUCKETS = (0.25, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)


class _SnapshotCollector(Collector):
    """Families made from the last snapshot read for this scrape."""

    def __init__(self) -> None:
        self.snapshot: LabSnapshot | None = None

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        if snap is None:
            return
        measured = measure(snap)
        age = GaugeMetricFamily(
            "stream_segment_age_seconds", "Age of the newest live HLS segment (epic O SLO: <= 6 s)."
        )
        if measured.segment_age_s is not None:
            age.add_metric([], measured.segment_age_s)
        yield age
        yield GaugeMetricFamily(
            "vvtv_lab_queue_buffer_minutes",
            "Playing time of the ready queue items, in minutes.",
            value=snap.queue.buffer_minutes,
        )
        yield GaugeMetricFamily(
            "vvtv_lab_queue_length", "Ready items in the queue.", value=snap.queue.length
        )
        ratio = GaugeMetricFamily(
            "vvtv_lab_fallback_ratio", "Share of the last hour on the reserve loop."
        )
        if measured.fallback_ratio is not None:
            ratio.add_metric([], measured.fallback_ratio)
        yield ratio
        qa = GaugeMetricFamily("vvtv_lab_qa_score_recent", "Mean of the last ten QA scores.")
        if measured.qa_score is not None:
            qa.add_metric([], measured.qa_score)
        yield qa
        failures = GaugeMetricFamily(
            "vvtv_lab_discovery_failures",
            "Failures in a row of each discovery source.",
            labels=["source"],
        )
        totals = CounterMetricFamily(
            "vvtv_lab_discovery_failures", "Failures of each discovery source.", labels=["source"]
        )
        for source in snap.sources:
            failures.add_metric([source.name], source.consecutive_failures)
            totals.add_metric([source.name], source.total_failures)
        yield failures
        yield totals
        tx = snap.transmitter or {}
        yield CounterMetricFamily(
            "vvtv_lab_transmitter_restarts",
            "Encoder restarts of the transmitter.",
            value=int(tx.get("restarts", 0)),
        )
        yield CounterMetricFamily(
            "vvtv_lab_fallbacks", "Switches to the reserve loop.", value=int(tx.get("fallbacks", 0))
        )
        on_air = GaugeMetricFamily(
            "vvtv_lab_transmitter_state", "1 for the transmitter's current state.", labels=["state"]
        )
        on_air.add_metric([str(tx.get("state", "stopped"))], 1)
        yield on_air


class LabMetrics:
    """One registry: stage durations and QA scores observed live, the rest from the store."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._snapshot = _SnapshotCollector()
        self.registry.register(self._snapshot)
        self.stage_seconds = Histogram(
            "vvtv_lab_stage_duration_seconds",
            "Time each stage took per run.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.qa_scores = Histogram(
            "vvtv_lab_qa_score",
            "QA scores of prepared items.",
            buckets=_QA_BUCKETS,
            registry=self.registry,
        )

    def update(self, snapshot: LabSnapshot) -> None:
        """Use ``snapshot`` for the next scrape."""
        self._snapshot.snapshot = snapshot
