"""The nightly routine: audit export, retention of old media and segments, a metadata backup.

At most one run exists at a time: a request while one is queued or running joins it.
The outcome is a ``nightly`` report carrying the run id.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from lab.store.reports import add_report
from lab.store.tables import (
    lab_flags,
    lab_items,
    lab_nightly_runs,
    lab_plans,
    lab_queue,
    lab_reports,
    lab_sources,
)
from runtime.store import Database
from runtime.store.clock import database_now
from runtime.store.tables import audit_events

__all__ = [
    "NightlyRequest",
    "NightlyResult",
    "claim_queued",
    "is_running",
    "last_finished",
    "next_run_at",
    "prune_reports",
    "request_nightly",
    "run_nightly",
]

_log = structlog.get_logger(__name__)
_BACKED_UP = (lab_items, lab_sources, lab_plans, lab_queue, lab_flags, lab_nightly_runs)


@dataclass(frozen=True, slots=True)
class NightlyRequest:
    """The run a request created or joined."""

    run_id: uuid.UUID
    state: str
    forced: bool
    coalesced: bool
    requested_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class NightlyResult:
    """What one run did."""

    run_id: uuid.UUID
    outcome: str
    audit_events_exported: int
    media_files_deleted: int
    segments_deleted: int
    bytes_freed: int
    backup_created: bool
    error: str | None
    report_id: uuid.UUID


def next_run_at(now: datetime, *, hour: int, zone: str) -> datetime:
    """The next ``hour``:00 local time after ``now``, in UTC."""
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour)
    return candidate.astimezone(UTC)


def request_nightly(conn: Connection, *, forced: bool, reason: str | None) -> NightlyRequest:
    """Queue a run, or join the one queued or running."""
    row = (
        conn.execute(
            select(lab_nightly_runs).where(lab_nightly_runs.c.state.in_(("queued", "running")))
        )
        .mappings()
        .first()
    )
    if row is not None:
        return NightlyRequest(
            row["run_id"], row["state"], row["forced"], True, row["requested_at"], row["reason"]
        )
    run_id, now = uuid.uuid4(), database_now(conn)
    conn.execute(
        insert(lab_nightly_runs).values(
            run_id=run_id, forced=forced, state="queued", reason=reason, requested_at=now
        )
    )
    return NightlyRequest(run_id, "queued", forced, False, now, reason)


def claim_queued(conn: Connection) -> tuple[uuid.UUID, bool] | None:
    """Take the queued run, if any, for this process (compare-and-set)."""
    row = conn.execute(
        select(lab_nightly_runs.c.run_id, lab_nightly_runs.c.forced).where(
            lab_nightly_runs.c.state == "queued"
        )
    ).first()
    if row is None:
        return None
    taken = conn.execute(
        update(lab_nightly_runs)
        .where(lab_nightly_runs.c.run_id == row[0], lab_nightly_runs.c.state == "queued")
        .values(state="running", started_at=database_now(conn))
    )
    return (row[0], bool(row[1])) if taken.rowcount == 1 else None


def last_finished(conn: Connection) -> dict[str, Any] | None:
    """The last finished run (for the status), if any."""
    row = (
        conn.execute(
            select(lab_nightly_runs)
            .where(lab_nightly_runs.c.state.in_(("succeeded", "failed")))
            .order_by(lab_nightly_runs.c.finished_at.desc())
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def is_running(conn: Connection) -> bool:
    """True while a run is queued or running."""
    return (
        conn.execute(
            select(lab_nightly_runs.c.run_id).where(
                lab_nightly_runs.c.state.in_(("queued", "running"))
            )
        ).first()
        is not None
    )


def _export_audit(conn: Connection, since: datetime | None, target: Path) -> int:
    query = select(audit_events).order_by(audit_events.c.id)
    if since is not None:
        query = query.where(audit_events.c.at >= since)
    count = 0
    with gzip.open(target, "wt", encoding="utf-8") as out:
        for row in conn.execute(query).mappings():
            out.write(json.dumps(dict(row), default=str, sort_keys=True) + "\n")
            count += 1
    return count


def _backup(conn: Connection, target: Path) -> None:
    dump = {
        table.name: [dict(row) for row in conn.execute(select(table)).mappings()]
        for table in _BACKED_UP
    }
    with gzip.open(target, "wt", encoding="utf-8") as out:
        json.dump(dump, out, default=str, sort_keys=True)


def _in_use(conn: Connection) -> set[str]:
    paths = set(
        conn.scalars(select(lab_queue.c.path).where(lab_queue.c.state.in_(("ready", "playing"))))
    )
    for fetched, prepared in conn.execute(
        select(lab_plans.c.fetched_path, lab_plans.c.prepared_path).where(
            lab_plans.c.state.in_(("planned", "fetched", "prepared", "queued"))
        )
    ):
        paths.update(p for p in (fetched, prepared) if p)
    return {str(Path(p).resolve()) for p in paths}


def _sweep(files: Iterable[Path], *, older_than: float, keep: set[str]) -> tuple[int, int]:
    deleted = freed = 0
    for path in files:
        try:
            stat = path.stat()
            if stat.st_mtime >= older_than or str(path.resolve()) in keep:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
        freed += stat.st_size
    return deleted, freed


async def run_nightly(
    database: Database,
    run_id: uuid.UUID,
    *,
    forced: bool,
    lab_dir: Path,
    media_dirs: Iterable[Path],
    segment_dirs: Iterable[Path],
    retention_days: int,
) -> NightlyResult:
    """Run the claimed ``run_id`` to its end and publish its report; never raises for its work."""
    started = datetime.now(UTC)
    exports = lab_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    exported = media_deleted = segments_deleted = freed = 0
    backup_created, error = False, None
    try:
        previous = await database.read(last_finished)
        since = previous["started_at"] if previous else None
        exported = await database.read(
            lambda conn: _export_audit(conn, since, exports / f"audit-{stamp}.jsonl.gz")
        )
        keep = await database.read(_in_use)
        cutoff = time.time() - retention_days * 86400
        media_files = [p for d in media_dirs if d.exists() for p in d.rglob("*") if p.is_file()]
        media_deleted, media_freed = _sweep(media_files, older_than=cutoff, keep=keep)
        # Segments are live for seconds; anything an hour old is an orphan of a crash.
        segment_files = [p for d in segment_dirs if d.exists() for p in d.rglob("*.ts")]
        segments_deleted, segment_freed = _sweep(
            segment_files, older_than=time.time() - 3600, keep=set()
        )
        freed = media_freed + segment_freed
        await database.read(lambda conn: _backup(conn, exports / f"backup-{stamp}.json.gz"))
        backup_created = True
        before = started - timedelta(days=retention_days)
        await database.write(lambda conn: prune_reports(conn, before=before))
    except Exception as exc:  # the run fails and says why; the LAB goes on
        error = f"{type(exc).__name__}: {exc}"
        _log.exception("nightly_failed", run_id=str(run_id))
    outcome = "failed" if error else "succeeded"
    finished = datetime.now(UTC)
    body = {
        "summary": (
            f"Nightly {outcome}; {exported} audit events exported, {freed // 1_000_000} MB freed"
            + (", backup written." if backup_created else ", no backup.")
        ),
        "run_id": str(run_id),
        "forced": forced,
        "outcome": outcome,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "audit_events_exported": exported,
        "media_files_deleted": media_deleted,
        "segments_deleted": segments_deleted,
        "bytes_freed": freed,
        "backup_created": backup_created,
        "error": error,
    }

    def finish(conn: Connection) -> uuid.UUID:
        report_id = add_report(conn, "nightly", body)
        conn.execute(
            update(lab_nightly_runs)
            .where(lab_nightly_runs.c.run_id == run_id)
            .values(state=outcome, finished_at=database_now(conn), report_id=report_id)
        )
        return report_id

    report_id = await database.write(finish)
    _log.info("nightly_done", run_id=str(run_id), outcome=outcome, exported=exported)
    return NightlyResult(
        run_id,
        outcome,
        exported,
        media_deleted,
        segments_deleted,
        freed,
        backup_created,
        error,
        report_id,
    )


def prune_reports(conn: Connection, *, before: datetime) -> int:
    """Forget reports older than ``before`` (retention of the LAB's metadata)."""
    return int(conn.execute(delete(lab_reports).where(lab_reports.c.created_at < before)).rowcount)
