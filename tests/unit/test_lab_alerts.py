"""Alert rules against their thresholds, the tracker's `since`, the webhook's dedupe and clears."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lab.alerts import AlertTracker, Measurements, Thresholds, evaluate
from lab.observe import fallback_ratio
from lab.webhook import AlertWebhook

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
LIMITS = Thresholds()


def _codes(measured: Measurements) -> list[str]:
    return [a.code for a in evaluate(measured, LIMITS, now=NOW)]


def test_quiet_measurements_raise_nothing() -> None:
    quiet = Measurements(
        qa_score=0.95,
        fallback_ratio=0.1,
        fallback_ratio_previous=0.05,
        discovery_failures={"a": 2},
        queue_buffer_minutes=45,
        segment_age_s=3.0,
    )
    assert _codes(quiet) == []
    assert _codes(Measurements()) == []


@pytest.mark.parametrize(
    ("measured", "code", "severity"),
    [
        (Measurements(qa_score=0.84), "qa_score_low", "medium"),
        (
            Measurements(fallback_ratio=0.31, fallback_ratio_previous=0.2),
            "fallback_ratio_high",
            "high",
        ),
        (
            Measurements(fallback_ratio=0.2, fallback_ratio_previous=0.04),
            "fallback_ratio_growth",
            "medium",
        ),
        (Measurements(discovery_failures={"feed": 3}), "discovery_failures", "medium"),
        (Measurements(queue_buffer_minutes=29.9), "queue_buffer_low", "high"),
        (Measurements(segment_age_s=10.5), "segment_age_high", "critical"),
    ],
)
def test_each_threshold_fires_its_alert(measured: Measurements, code: str, severity: str) -> None:
    alerts = evaluate(measured, LIMITS, now=NOW)
    assert [(a.code, a.severity) for a in alerts] == [(code, severity)]


def test_thresholds_are_the_boundaries() -> None:
    assert _codes(Measurements(qa_score=0.85, queue_buffer_minutes=30, segment_age_s=10)) == []
    assert _codes(Measurements(discovery_failures={"feed": 2})) == []
    assert _codes(Measurements(fallback_ratio=0.30, fallback_ratio_previous=0.15)) == []


def test_most_severe_first_and_since_kept_while_active() -> None:
    tracker = AlertTracker()
    both = Measurements(queue_buffer_minutes=5, segment_age_s=30, discovery_failures={"f": 4})
    first = tracker.track(evaluate(both, LIMITS, now=NOW))
    assert [a.code for a in first] == ["segment_age_high", "queue_buffer_low", "discovery_failures"]
    later = tracker.track(evaluate(both, LIMITS, now=NOW + timedelta(minutes=5)))
    assert all(a.since == NOW for a in later)
    cleared = tracker.track(
        evaluate(Measurements(segment_age_s=30), LIMITS, now=NOW + timedelta(minutes=6))
    )
    back = tracker.track(evaluate(both, LIMITS, now=NOW + timedelta(minutes=7)))
    assert [a.since for a in cleared] == [NOW]
    assert {a.code: a.since for a in back}["queue_buffer_low"] == NOW + timedelta(minutes=7)


def test_fallback_ratio_counts_overlap_with_the_window_only() -> None:
    start, end = NOW - timedelta(hours=1), NOW
    episodes = [
        (NOW - timedelta(hours=2), NOW - timedelta(minutes=45)),  # 15 min inside
        (NOW - timedelta(minutes=10), None),  # still on: 10 min
    ]
    assert fallback_ratio(episodes, start=start, end=end) == pytest.approx(25 / 60)


class _Hook:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail:
            return httpx.Response(503)
        self.sent.append(json.loads(request.content))
        return httpx.Response(204)


async def test_the_webhook_sends_high_alerts_once_per_cooldown_and_clears() -> None:
    hook, clock = _Hook(), [0.0]
    webhook = AlertWebhook(
        "http://hooks.invalid/x",
        cooldown_s=900,
        client=httpx.AsyncClient(transport=httpx.MockTransport(hook)),
        clock=lambda: clock[0],
    )
    alerts = evaluate(
        Measurements(queue_buffer_minutes=5, discovery_failures={"f": 3}), LIMITS, now=NOW
    )
    await webhook.notify(alerts)
    # Only the high one went out (discovery failures are medium).
    assert [(p["type"], p["code"]) for p in hook.sent] == [("alert", "queue_buffer_low")]
    clock[0] = 899
    await webhook.notify(alerts)
    assert len(hook.sent) == 1  # within the cooldown: not again
    clock[0] = 900
    await webhook.notify(alerts)
    assert len(hook.sent) == 2  # still active after the cooldown: reminded
    await webhook.notify([])
    assert hook.sent[-1] == {"type": "alert_clear", "code": "queue_buffer_low"}
    await webhook.notify([])
    assert len(hook.sent) == 3  # cleared once
    await webhook.close()


async def test_a_failed_post_is_retried_on_the_next_evaluation() -> None:
    hook = _Hook(fail=True)
    webhook = AlertWebhook(
        "http://hooks.invalid/x", client=httpx.AsyncClient(transport=httpx.MockTransport(hook))
    )
    alerts = evaluate(Measurements(segment_age_s=60), LIMITS, now=NOW)
    assert await webhook.notify(alerts) == []
    hook.fail = False
    sent = await webhook.notify(alerts)
    assert [p["code"] for p in sent] == ["segment_age_high"]
    await webhook.close()
