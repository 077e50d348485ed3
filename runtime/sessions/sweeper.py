"""The sweeper: expires sessions whose lease ran out and carries out their revokes.

One process sweeps at a time (a lease row in the database, taken by compare-and-set).
Expiry is fenced on the session's version, so a heartbeat that lands first wins.
Revokes come from the outbox and are called with no transaction open; a revoke that
keeps failing marks its session ``failed`` and raises exactly one alert.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from runtime.events import EventBus
from runtime.media import MediaProvider
from runtime.sessions.events import channel_of, ended_data
from runtime.sessions.store import end_active, fail_creating
from runtime.store import Database, Work
from runtime.store.clock import database_now
from runtime.store.leases import take_lease
from runtime.store.tables import audit_events, session_outbox, sessions

__all__ = ["SweepReport", "Sweeper"]

_log = structlog.get_logger(__name__)


@dataclass
class SweepReport:
    """What one sweep did."""

    ran: bool = False
    expired: list[uuid.UUID] = field(default_factory=list)
    revoked: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


class Sweeper:
    """Expiry and revokes, one sweep at a time across processes."""

    def __init__(
        self,
        database: Database,
        provider: MediaProvider,
        events: EventBus,
        *,
        holder: str,
        lease_s: float = 30,
        max_attempts: int = 5,
        backoff_s: float = 2,
        batch: int = 100,
        max_batches: int = 20,
        housekeeping: Sequence[Work[Any]] = (),
    ) -> None:
        self.database, self.provider, self.events = database, provider, events
        self.holder = holder
        self.max_batches = max_batches  # chosen: 2,000 sessions per sweep at most
        self.housekeeping = tuple(housekeeping)  # other bounded clean-ups, once per sweep
        self.lease_s, self.max_attempts, self.backoff_s, self.batch = (
            lease_s,
            max_attempts,
            backoff_s,
            batch,
        )

    async def run_once(self) -> SweepReport:
        """One sweep: skipped when another process holds the sweep lease."""
        report = SweepReport()
        if not await self.database.write(self._take_lease):
            return report
        report.ran = True
        report.expired = await self._expire()
        await self._revoke(report)
        for work in self.housekeeping:
            await self.database.write(work)
        return report

    async def run_forever(self, interval_s: float) -> None:
        """Sweep every ``interval_s`` until cancelled; a failed sweep is logged, not fatal."""
        while True:
            try:
                await self.run_once()
            except Exception:  # the database or provider may be down for a while
                _log.exception("sweep failed")
            await asyncio.sleep(interval_s)

    def _take_lease(self, conn: Connection) -> bool:
        return take_lease(conn, "sessions", self.holder, self.lease_s)

    async def _expire(self) -> list[uuid.UUID]:
        expired: list[uuid.UUID] = []
        for _ in range(self.max_batches):  # bounded: one sweep never runs unbounded
            ended, due = await self.database.write(self._expire_due)
            expired += ended
            if due < self.batch:
                break
        return expired

    def _expire_due(self, conn: Connection) -> tuple[list[uuid.UUID], int]:
        now = database_now(conn)
        due = (
            conn.execute(
                select(sessions)
                .where(
                    sessions.c.state.in_(("creating", "active")),
                    sessions.c.lease_expires_at < now,
                )
                .limit(self.batch)
            )
            .mappings()
            .all()
        )
        return [row["id"] for row in due if _expire_one(conn, row, now)], len(due)

    async def _revoke(self, report: SweepReport) -> None:
        attempted: set[uuid.UUID] = set()  # one try per revoke and sweep, even with no backoff
        for _ in range(self.max_batches):
            pending = [
                item
                for item in await self.database.read(self._due_revokes)
                if item["id"] not in attempted
            ]
            attempted.update(item["id"] for item in pending)
            for item in pending:
                try:
                    # No transaction is open while the provider works.
                    await self.provider.revoke_endpoints(item["session_id"], item["media"])
                except Exception as exc:  # any provider failure is retried, then given up
                    await self._revoke_failed(item, exc, report)
                else:
                    await self._revoke_done(item, report)
            if len(pending) < self.batch:
                break

    def _due_revokes(self, conn: Connection) -> Any:
        now = database_now(conn)
        return (
            conn.execute(
                # The endpoints' recorded details go with the revoke: the provider
                # that made them may have restarted since.
                select(session_outbox, sessions.c.media)
                .join(sessions, sessions.c.id == session_outbox.c.session_id)
                .where(
                    session_outbox.c.done_at.is_(None),
                    session_outbox.c.failed_at.is_(None),
                    session_outbox.c.next_attempt_at <= now,
                )
                .order_by(session_outbox.c.next_attempt_at)
                .limit(self.batch)
            )
            .mappings()
            .all()
        )

    async def _revoke_done(self, item: Any, report: SweepReport) -> None:
        def work(conn: Connection) -> tuple[bool, Any]:
            now = database_now(conn)
            marked = conn.execute(
                update(session_outbox)
                .where(session_outbox.c.id == item["id"], session_outbox.c.done_at.is_(None))
                .values(done_at=now, attempts=session_outbox.c.attempts + 1)
            )
            if marked.rowcount != 1:
                return False, None
            return True, _finish(conn, item["session_id"], "ended")

        marked, final = await self.database.write(work)
        if not marked:
            return
        report.revoked.append(item["session_id"])
        await self._announce_end(final)

    async def _revoke_failed(self, item: Any, exc: Exception, report: SweepReport) -> None:
        attempts = item["attempts"] + 1
        gave_up, final = await self.database.write(
            lambda conn: self._record_failure(conn, item, exc, attempts)
        )
        if not gave_up:
            return
        _log.error("revoke failed for good", session_id=str(item["session_id"]), attempts=attempts)
        report.failed.append(item["session_id"])
        await self._announce_end(final)

    def _record_failure(
        self, conn: Connection, item: Any, exc: Exception, attempts: int
    ) -> tuple[bool, Any]:
        """Schedule the next try, or give up once: ``(gave_up, final row)``."""
        now = database_now(conn)
        if attempts < self.max_attempts:
            conn.execute(
                update(session_outbox)
                .where(session_outbox.c.id == item["id"], session_outbox.c.done_at.is_(None))
                .values(
                    attempts=attempts,
                    last_error=str(exc)[:500],
                    next_attempt_at=now + timedelta(seconds=self.backoff_s * 2 ** (attempts - 1)),
                )
            )
            return False, None
        given_up = conn.execute(
            update(session_outbox)
            .where(
                session_outbox.c.id == item["id"],
                and_(session_outbox.c.done_at.is_(None), session_outbox.c.failed_at.is_(None)),
            )
            .values(attempts=attempts, last_error=str(exc)[:500], failed_at=now)
        )
        if given_up.rowcount != 1:
            return False, None  # someone else gave up already: one alert only
        final = _finish(conn, item["session_id"], "failed")
        _audit(
            conn,
            now,
            "alert.revoke_failed",
            item["session_id"],
            {"attempts": attempts, "error": str(exc)[:200]},
        )
        return True, final

    async def _announce_end(self, row: Any) -> None:
        if row is None:
            return
        child = await self.database.read(
            lambda conn: conn.scalar(
                select(sessions.c.id).where(sessions.c.parent_session_id == row["id"])
            )
        )
        await self.events.publish(
            channel_of(row["user_id"]), "session.ended", ended_data(row, child)
        )


def _expire_one(conn: Connection, row: Any, now: datetime) -> bool:
    """End a session past its lease; one still ``creating`` (its creator died) fails."""
    if row["state"] == "creating":
        gone = fail_creating(conn, row, now=now, fenced=True)
        kind = "session.creation_abandoned"
    else:
        gone = end_active(conn, row, reason="heartbeat_timeout", now=now, fenced=True)
        kind = "session.expired"
    if gone is None:
        return False
    _audit(conn, now, kind, row["id"], {"version": row["version"]})
    return True


def _finish(conn: Connection, session_id: uuid.UUID, state: str) -> Any:
    """``ending -> ended | failed`` by compare-and-set; the row, or None if it had moved."""
    result = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.state == "ending")
        .values(state=state, version=sessions.c.version + 1)
        .returning(*sessions.c)
    )
    return result.mappings().one_or_none()


def _audit(
    conn: Connection, now: datetime, kind: str, subject: uuid.UUID, payload: dict[str, Any]
) -> None:
    conn.execute(
        insert(audit_events).values(at=now, kind=kind, subject=str(subject), payload=payload)
    )
