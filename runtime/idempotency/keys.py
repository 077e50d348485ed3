"""``Idempotency-Key`` as the contract has it: same key and body, the first answer again.

A first attempt claims the key by inserting its row (the primary key picks one winner
among simultaneous duplicates), runs, then records its answer in the row. A retry with
the same body gets that answer replayed; with another body, 409 ``IDEMPOTENCY_CONFLICT``;
while the first attempt still runs, 409 as well (retry later). Answers of 5xx and
failures that never answered release the key, so a retry can try again; a claim left by a
process that died is taken over once it is older than ``abandoned_after_s``. Keys are
forgotten after ``keep_s`` (the contract promises at least 24 hours).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from generated.server_support import ProblemError
from runtime.store import Database
from runtime.store.clock import database_now
from runtime.store.tables import idempotency_keys as keys

__all__ = ["Answer", "IdempotencyKeys", "request_hash"]

_KEEP_S = 24 * 3600  # the contract: at least 24 hours
_ABANDONED_AFTER_S = 60  # chosen: far longer than any request, far shorter than a day


@dataclass(frozen=True)
class Answer:
    """A status and JSON body, as first sent."""

    status: int
    body: Any


def request_hash(operation: str, *parts: Any) -> str:
    """A stable digest of what a request asks for (operation, path values, JSON body)."""
    canonical = json.dumps([operation, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _conflict(detail: str) -> ProblemError:
    return ProblemError(409, "IDEMPOTENCY_CONFLICT", "Idempotency key conflict", detail)


class IdempotencyKeys:
    """Claims, records and replays answers per (user, operation, key)."""

    def __init__(
        self,
        database: Database,
        *,
        keep_s: float = _KEEP_S,
        abandoned_after_s: float = _ABANDONED_AFTER_S,
    ) -> None:
        self.database, self.keep_s, self.abandoned_after_s = database, keep_s, abandoned_after_s

    async def run(
        self,
        user_id: uuid.UUID,
        operation: str,
        key: str | None,
        digest: str,
        produce: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        """``produce`` once per key; its answer again for every retry of the same request."""
        if key is None:
            return await produce()
        where = (user_id, operation, key)
        replay = await self.database.write(lambda conn: self._claim(conn, where, digest))
        if replay is not None:
            if isinstance(replay, ProblemError):
                raise replay
            return replay
        try:
            answer = await produce()
        except ProblemError as problem:
            if problem.status >= 500:
                await self.database.write(lambda conn: _release(conn, where))
            else:  # a refusal is an answer too: the same request is refused the same way
                refusal = _as_answer(problem)
                await self.database.write(lambda conn: _record(conn, where, refusal))
            raise
        except BaseException:
            await self.database.write(lambda conn: _release(conn, where))
            raise
        await self.database.write(lambda conn: _record(conn, where, answer))
        return answer

    def _claim(
        self, conn: Connection, where: tuple[uuid.UUID, str, str], digest: str
    ) -> Answer | ProblemError | None:
        """``None``: the key is ours to run; otherwise what to answer instead."""
        now = database_now(conn)
        row = conn.execute(select(keys).where(*_match(where))).mappings().one_or_none()
        if row is None:
            conn.execute(insert(keys).values(**_values(where), request_hash=digest, created_at=now))
            return None
        if row["request_hash"] != digest:
            return _conflict("this Idempotency-Key was used with another request")
        if row["status"] is not None:
            return _replayed(row["status"], row["body"])
        if row["created_at"] > now - timedelta(seconds=self.abandoned_after_s):
            return _conflict("the first request with this Idempotency-Key is still running")
        # Claimed by a process that died mid-way: take it over, by compare-and-set.
        taken = conn.execute(
            update(keys)
            .where(*_match(where), keys.c.status.is_(None), keys.c.created_at == row["created_at"])
            .values(created_at=now)
        )
        return None if taken.rowcount == 1 else _conflict("the request is being retried")

    def forget_expired(self, conn: Connection) -> int:
        """Delete keys past their keeping time; the number deleted."""
        cutoff = database_now(conn) - timedelta(seconds=self.keep_s)
        return conn.execute(delete(keys).where(keys.c.created_at < cutoff)).rowcount


def _match(where: tuple[uuid.UUID, str, str]) -> list[Any]:
    user_id, operation, key = where
    return [keys.c.user_id == user_id, keys.c.operation == operation, keys.c.key == key]


def _values(where: tuple[uuid.UUID, str, str]) -> dict[str, Any]:
    user_id, operation, key = where
    return {"user_id": user_id, "operation": operation, "key": key}


def _record(conn: Connection, where: tuple[uuid.UUID, str, str], answer: Answer) -> None:
    conn.execute(update(keys).where(*_match(where)).values(status=answer.status, body=answer.body))


def _release(conn: Connection, where: tuple[uuid.UUID, str, str]) -> None:
    conn.execute(delete(keys).where(*_match(where), keys.c.status.is_(None)))


def _as_answer(problem: ProblemError) -> Answer:
    return Answer(
        problem.status,
        {
            "problem": {
                "code": problem.code,
                "title": problem.title,
                "detail": problem.detail,
                "extra": problem.extra,
            }
        },
    )


def _replayed(status: int, body: Any) -> Answer | ProblemError:
    if isinstance(body, dict) and "problem" in body and status >= 400:
        p = body["problem"]
        return ProblemError(status, p["code"], p["title"], p["detail"], **(p["extra"] or {}))
    return Answer(status, body)
