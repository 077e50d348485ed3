"""Operational alerts: measured values against the thresholds from settings.

``evaluate`` is pure: measurements and thresholds in, active alerts out, each with
the time its condition started to hold (kept by ``AlertTracker`` between calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

__all__ = [
    "SEVERITY_ORDER",
    "ActiveAlert",
    "AlertTracker",
    "Measurements",
    "Thresholds",
    "evaluate",
]

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_RUNBOOK = "https://voulezvous.tv/runbooks/streaming#"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The configured limits (``VVTV_ALERT_*``)."""

    qa_min: float = 0.85
    fallback_abs: float = 0.30
    fallback_growth: float = 0.15
    discovery_fail_count: int = 3
    queue_buffer_min_minutes: float = 30.0
    segment_age_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Measurements:
    """What the LAB measured; ``None`` where there is nothing to measure yet."""

    qa_score: float | None = None
    fallback_ratio: float | None = None
    fallback_ratio_previous: float | None = None
    discovery_failures: Mapping[str, int] = field(default_factory=dict)
    queue_buffer_minutes: float | None = None
    segment_age_s: float | None = None


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """One alert whose condition holds now."""

    code: str
    severity: str
    message: str
    value: float
    threshold: float
    unit: str
    direction: str
    subject: str | None
    since: datetime
    runbook_url: str | None


# code -> (severity, unit, direction)
_KINDS = {
    "segment_age_high": ("critical", "seconds", "above"),
    "queue_buffer_low": ("high", "minutes", "below"),
    "fallback_ratio_high": ("high", "ratio", "above"),
    "fallback_ratio_growth": ("medium", "ratio", "above"),
    "discovery_failures": ("medium", "count", "above"),
    "qa_score_low": ("medium", "score", "below"),
}


def evaluate(measured: Measurements, limits: Thresholds, *, now: datetime) -> list[ActiveAlert]:
    """Alerts whose condition holds, most severe first (``since`` is ``now``; see the tracker)."""
    found: list[ActiveAlert] = []

    def add(
        code: str, message: str, value: float, threshold: float, *, subject: str | None = None
    ) -> None:
        severity, unit, direction = _KINDS[code]
        runbook = _RUNBOOK + code.replace("_", "-")
        found.append(
            ActiveAlert(
                code,
                severity,
                message,
                round(value, 3),
                threshold,
                unit,
                direction,
                subject,
                now,
                runbook,
            )
        )

    m, t = measured, limits
    if m.segment_age_s is not None and m.segment_age_s > t.segment_age_s:
        add(
            "segment_age_high",
            f"Newest live segment is {m.segment_age_s:.1f} s old, above {t.segment_age_s:g}.",
            m.segment_age_s,
            t.segment_age_s,
        )
    if m.queue_buffer_minutes is not None and m.queue_buffer_minutes < t.queue_buffer_min_minutes:
        add(
            "queue_buffer_low",
            f"Queue buffer is {m.queue_buffer_minutes:.0f} minutes, below"
            f" {t.queue_buffer_min_minutes:g}.",
            m.queue_buffer_minutes,
            t.queue_buffer_min_minutes,
        )
    if m.fallback_ratio is not None and m.fallback_ratio > t.fallback_abs:
        add(
            "fallback_ratio_high",
            f"The reserve loop was on air {m.fallback_ratio:.0%} of the last hour, above"
            f" {t.fallback_abs:.0%}.",
            m.fallback_ratio,
            t.fallback_abs,
        )
    if m.fallback_ratio is not None and m.fallback_ratio_previous is not None:
        growth = m.fallback_ratio - m.fallback_ratio_previous
        if growth > t.fallback_growth:
            add(
                "fallback_ratio_growth",
                f"Fallback ratio grew by {growth:.0%} over the previous hour, above"
                f" {t.fallback_growth:.0%}.",
                growth,
                t.fallback_growth,
            )
    for source, count in sorted(m.discovery_failures.items()):
        if count >= t.discovery_fail_count:
            add(
                "discovery_failures",
                f"Source {source} failed {count} times in a row.",
                count,
                t.discovery_fail_count,
                subject=source,
            )
    if m.qa_score is not None and m.qa_score < t.qa_min:
        add(
            "qa_score_low",
            f"Recent QA scores average {m.qa_score:.2f}, below {t.qa_min:g}.",
            m.qa_score,
            t.qa_min,
        )
    found.sort(key=lambda a: -SEVERITY_ORDER[a.severity])
    return found


class AlertTracker:
    """Keeps when each alert (code and subject) started, while it stays active."""

    def __init__(self) -> None:
        self._since: dict[tuple[str, str | None], datetime] = {}

    def track(self, alerts: list[ActiveAlert]) -> list[ActiveAlert]:
        """The same alerts with their original ``since``; cleared ones are forgotten."""
        kept: dict[tuple[str, str | None], datetime] = {}
        out = []
        for alert in alerts:
            key = (alert.code, alert.subject)
            since = self._since.get(key, alert.since)
            kept[key] = since
            out.append(replace(alert, since=since))
        self._since = kept
        out.sort(key=lambda a: (-SEVERITY_ORDER[a.severity], a.since))
        return out
