"""One consistent read of the LAB's state, and the measurements alerts and metrics are made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from lab.alerts import Measurements
from lab.stages.nightly import is_running, last_finished
from lab.stages.queue import QueueSnapshot, snapshot
from lab.store.catalog import SourceHealth, source_health
from lab.store.flags import Flag, read_flags
from lab.store.state import get_state
from lab.store.tables import lab_reports
from runtime.store.clock import database_now

__all__ = ["FALLBACK_WINDOW", "LabSnapshot", "fallback_ratio", "measure", "read_snapshot"]

FALLBACK_WINDOW = timedelta(hours=1)  # chosen: the ratio is "of the last hour"
_QA_RECENT = 10  # chosen: the QA alert looks at the mean of the last ten verdicts


@dataclass(frozen=True, slots=True)
class LabSnapshot:
    """Everything the status, alerts and metrics need, read in one unit of work."""

    now: datetime
    flags: dict[str, Flag]
    queue: QueueSnapshot
    transmitter: dict[str, Any] | None
    in_progress: dict[str, int]
    nightly_running: bool
    nightly_last: dict[str, Any] | None
    sources: list[SourceHealth]
    qa_scores: list[float]
    fallback_episodes: list[tuple[datetime, datetime | None]]

    @property
    def segment_age_s(self) -> float | None:
        """Age of the newest live segment, from the transmitter's last published time."""
        if not self.transmitter or self.transmitter.get("last_segment_at") is None:
            return None
        last = datetime.fromisoformat(self.transmitter["last_segment_at"])
        return max(0.0, (self.now - last).total_seconds())


def read_snapshot(conn: Connection) -> LabSnapshot:
    """Read the LAB's state as one snapshot."""
    now = database_now(conn)
    transmitter = get_state(conn, "transmitter")
    in_progress = get_state(conn, "in_progress")
    qa_rows = conn.execute(
        select(lab_reports.c.body)
        .where(lab_reports.c.kind == "qa")
        .order_by(lab_reports.c.created_at.desc())
        .limit(_QA_RECENT)
    ).scalars()
    fallback_rows = conn.execute(
        select(lab_reports.c.body).where(
            lab_reports.c.kind == "fallback",
            lab_reports.c.created_at >= now - 2 * FALLBACK_WINDOW - timedelta(days=1),
        )
    ).scalars()
    episodes = []
    for body in fallback_rows:
        ended = body.get("ended_at")
        episodes.append(
            (
                datetime.fromisoformat(body["started_at"]),
                datetime.fromisoformat(ended) if ended else None,
            )
        )
    return LabSnapshot(
        now=now,
        flags=read_flags(conn),
        queue=snapshot(conn),
        transmitter=transmitter[0] if transmitter else None,
        in_progress={k: int(v) for k, v in (in_progress[0] if in_progress else {}).items()},
        nightly_running=is_running(conn),
        nightly_last=last_finished(conn),
        sources=source_health(conn),
        qa_scores=[float(body["score"]) for body in qa_rows],
        fallback_episodes=episodes,
    )


def fallback_ratio(
    episodes: list[tuple[datetime, datetime | None]], *, start: datetime, end: datetime
) -> float:
    """Share of ``[start, end)`` spent on the reserve loop."""
    total = (end - start).total_seconds()
    if total <= 0:
        return 0.0
    covered = 0.0
    for began, ended in episodes:
        lo, hi = max(began, start), min(ended or end, end)
        covered += max(0.0, (hi - lo).total_seconds())
    return min(1.0, covered / total)


def measure(snap: LabSnapshot) -> Measurements:
    """The alert inputs of a snapshot."""
    now = snap.now
    transmitting = snap.transmitter is not None
    return Measurements(
        qa_score=sum(snap.qa_scores) / len(snap.qa_scores) if snap.qa_scores else None,
        fallback_ratio=(
            fallback_ratio(snap.fallback_episodes, start=now - FALLBACK_WINDOW, end=now)
            if transmitting
            else None
        ),
        fallback_ratio_previous=(
            fallback_ratio(
                snap.fallback_episodes, start=now - 2 * FALLBACK_WINDOW, end=now - FALLBACK_WINDOW
            )
            if transmitting
            else None
        ),
        discovery_failures={s.name: s.consecutive_failures for s in snap.sources},
        queue_buffer_minutes=snap.queue.buffer_minutes if transmitting else None,
        segment_age_s=snap.segment_age_s,
    )
