"""The sweeper: expires sessions whose lease ran out and carries out their revokes.

One process sweeps at a time (a lease row in the database, taken by compare-and-set).
Expiry is fenced on the session's version, so a heartbeat that lands first wins.
Revokes come from the outbox and are called with no transaction open; a revoke that
keeps failing marks its session ``failed`` and raises exactly one alert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from runtime.events import EventBus
from runtime.media import MediaProvider
from runtime.sessions.events import channel_of, ended_data
from runtime.sessions.store import end_active
from runtime.store import write_transaction
from runtime.store.clock import database_now
from runtime.store.tables import audit_events, session_outbox, sessions, sweeper_leases

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
        engine: AsyncEngine,
        provider: MediaProvider,
        events: EventBus,
        *,
        holder: str,
        lease_s: float = 30,
        max_attempts: int = 5,
        backoff_s: float = 2,
        batch: int = 100,
    ) -> None:
        self.engine, self.provider, self.events, self.holder = engine, provider, events, holder
        self.lease_s, self.max_attempts, self.backoff_s, self.batch = (
            lease_s,
            max_attempts,
            backoff_s,
            batch,
        )

    async def run_once(self) -> SweepReport:
        """One sweep: skipped when another process holds the sweep lease."""
        report = SweepReport()
        async with write_transaction(self.engine) as conn:
            now = await database_now(conn)
            if not await self._take_lease(conn, now):
                return report
        report.ran = True
        report.expired = await self._expire()
        await self._revoke(report)
        return report

    async def _take_lease(self, conn: AsyncConnection, now: datetime) -> bool:
        expires = now + timedelta(seconds=self.lease_s)
        taken = await conn.execute(
            update(sweeper_leases)
            .where(
                sweeper_leases.c.name == "sessions",
                or_(sweeper_leases.c.expires_at < now, sweeper_leases.c.holder == self.holder),
            )
            .values(holder=self.holder, expires_at=expires)
        )
        if taken.rowcount == 1:
            return True
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        created = await conn.execute(
            dialect_insert(sweeper_leases)
            .values(name="sessions", holder=self.holder, expires_at=expires)
            .on_conflict_do_nothing()
        )
        return created.rowcount == 1

    async def _expire(self) -> list[uuid.UUID]:
        expired: list[uuid.UUID] = []
        async with write_transaction(self.engine) as conn:
            now = await database_now(conn)
            due = (
                (
                    await conn.execute(
                        select(sessions)
                        .where(sessions.c.state == "active", sessions.c.lease_expires_at < now)
                        .limit(self.batch)
                    )
                )
                .mappings()
                .all()
            )
            for row in due:
                if await self._expire_one(conn, row, now):
                    expired.append(row["id"])
        return expired

    async def _expire_one(self, conn: AsyncConnection, row: Any, now: datetime) -> bool:
        ended = await end_active(conn, row, reason="heartbeat_timeout", now=now, fenced=True)
        if ended is None:
            return False
        await _audit(conn, now, "session.expired", row["id"], {"version": row["version"]})
        return True

    async def _revoke(self, report: SweepReport) -> None:
        async with self.engine.connect() as conn:
            now = await database_now(conn)
            pending = (
                (
                    await conn.execute(
                        select(session_outbox)
                        .where(
                            session_outbox.c.done_at.is_(None),
                            session_outbox.c.failed_at.is_(None),
                            session_outbox.c.next_attempt_at <= now,
                        )
                        .order_by(session_outbox.c.next_attempt_at)
                        .limit(self.batch)
                    )
                )
                .mappings()
                .all()
            )
        for item in pending:
            try:
                # No transaction is open while the provider works.
                await self.provider.revoke_endpoints(item["session_id"])
            except Exception as exc:  # any provider failure is retried, then given up
                await self._revoke_failed(item, exc, report)
            else:
                await self._revoke_done(item, report)

    async def _revoke_done(self, item: Any, report: SweepReport) -> None:
        async with write_transaction(self.engine) as conn:
            now = await database_now(conn)
            marked = await conn.execute(
                update(session_outbox)
                .where(session_outbox.c.id == item["id"], session_outbox.c.done_at.is_(None))
                .values(done_at=now, attempts=session_outbox.c.attempts + 1)
            )
            if marked.rowcount != 1:
                return
            final = await _finish(conn, item["session_id"], "ended")
        report.revoked.append(item["session_id"])
        await self._announce_end(final)

    async def _revoke_failed(self, item: Any, exc: Exception, report: SweepReport) -> None:
        attempts = item["attempts"] + 1
        async with write_transaction(self.engine) as conn:
            now = await database_now(conn)
            if attempts < self.max_attempts:
                await conn.execute(
                    update(session_outbox)
                    .where(session_outbox.c.id == item["id"], session_outbox.c.done_at.is_(None))
                    .values(
                        attempts=attempts,
                        last_error=str(exc)[:500],
                        next_attempt_at=now
                        + timedelta(seconds=self.backoff_s * 2 ** (attempts - 1)),
                    )
                )
                return
            given_up = await conn.execute(
                update(session_outbox)
                .where(
                    session_outbox.c.id == item["id"],
                    and_(session_outbox.c.done_at.is_(None), session_outbox.c.failed_at.is_(None)),
                )
                .values(attempts=attempts, last_error=str(exc)[:500], failed_at=now)
            )
            if given_up.rowcount != 1:
                return  # someone else gave up already: one alert only
            final = await _finish(conn, item["session_id"], "failed")
            await _audit(
                conn,
                now,
                "alert.revoke_failed",
                item["session_id"],
                {"attempts": attempts, "error": str(exc)[:200]},
            )
        _log.error("revoke failed for good", session_id=str(item["session_id"]), attempts=attempts)
        report.failed.append(item["session_id"])
        await self._announce_end(final)

    async def _announce_end(self, row: Any) -> None:
        if row is None:
            return
        async with self.engine.connect() as conn:
            child = await conn.scalar(
                select(sessions.c.id).where(sessions.c.parent_session_id == row["id"])
            )
        await self.events.publish(
            channel_of(row["user_id"]), "session.ended", ended_data(row, child)
        )


async def _finish(conn: AsyncConnection, session_id: uuid.UUID, state: str) -> Any:
    """``ending -> ended | failed`` by compare-and-set; the row, or None if it had moved."""
    result = await conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.state == "ending")
        .values(state=state, version=sessions.c.version + 1)
        .returning(*sessions.c)
    )
    return result.mappings().one_or_none()


async def _audit(
    conn: AsyncConnection, now: datetime, kind: str, subject: uuid.UUID, payload: dict[str, Any]
) -> None:
    await conn.execute(
        insert(audit_events).values(at=now, kind=kind, subject=str(subject), payload=payload)
    )
