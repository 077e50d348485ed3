"""Units of work on either backend, run without blocking the event loop.

Store code is written once, as plain functions over a SQLAlchemy ``Connection``, and
handed to ``Database.write`` or ``Database.read``:

- PostgreSQL runs them on the async engine (``run_sync``: each statement awaits asyncpg);
  writes waiting at the same moment share one transaction and one commit.
- SQLite runs them on threads of its own with the standard driver. A trip to a worker
  thread costs far more than an indexed SQLite statement, so a unit of work makes one
  trip, not one per statement; and writes waiting at the same moment are committed
  together by the one writer thread (group commit); when one unit fails, the batch is
  undone and each unit runs again alone, so a failure reaches only its own caller.
  Readers use a small pool and run alongside the writer under WAL. Every caller gets
  its answer only after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.store.engine import (
    WRITE_OPTION,
    create_engine,
    normalize_url,
    sqlite_begin,
    sqlite_pragmas,
)

__all__ = ["Database", "Work", "before_commit", "commit_batch", "open_database"]

T = TypeVar("T")
Work = Callable[[Connection], T]

# Enough to amortise one commit over a burst, small enough to keep a batch's
# latency near one unit's when the queue is long.
_MAX_BATCH = 64
_READERS = 2


class Database(ABC):
    """Where store code runs: ``write`` in a write transaction, ``read`` in a read one.

    ``engine`` (async) stays available for what is not a unit of work: migrations and
    the readiness ping.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @abstractmethod
    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a transaction that writes; its result once committed."""

    @abstractmethod
    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read-only view of the committed data."""

    async def close(self) -> None:
        """Release connections and threads."""
        await self.engine.dispose()


@dataclass(frozen=True)
class _Job:
    work: Work[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller gave up waiting; the work ran regardless
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _settle_many(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        _settle(future, ok, value)


def _settle_all(batch: list[_Job], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand each caller its outcome: one wake-up per event loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for job, (ok, value) in zip(batch, outcomes, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, ok, value))
    for loop, settled in by_loop.items():
        loop.call_soon_threadsafe(_settle_many, settled)


class _SqliteDatabase(Database):
    """SQLite: one writer thread with group commit, a small pool of reader threads."""

    def __init__(self, engine: AsyncEngine, sync_engine: Engine) -> None:
        super().__init__(engine)
        self._sync = sync_engine
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._readers = ThreadPoolExecutor(_READERS, thread_name_prefix="vvtv-sqlite-read")

    async def write(self, work: Work[T]) -> T:
        """Queue ``work`` for the writer thread; its result once its batch committed."""
        self._ensure_writer()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, future, loop))
        return await future

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, work)

    async def close(self) -> None:
        """Stop the writer after the queued work, then release everything."""
        writer = self._writer
        if writer is not None:
            self._jobs.put(None)
            await asyncio.get_running_loop().run_in_executor(None, writer.join)
            self._writer = None
        self._readers.shutdown(wait=True)
        self._sync.dispose()
        await super().close()

    def _ensure_writer(self) -> None:
        if self._writer is not None:
            return
        with self._start:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="vvtv-sqlite-write", daemon=True
                )
                self._writer.start()

    def _read(self, work: Work[T]) -> T:
        with self._sync.connect() as conn, conn.begin():
            return work(conn)

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            _settle_all(batch, self._commit(batch))

    def _commit(self, batch: list[_Job]) -> list[tuple[bool, Any]]:
        with self._sync.connect().execution_options(**{WRITE_OPTION: True}) as conn:
            return commit_batch(conn, [job.work for job in batch])


class _PostgresDatabase(Database):
    """PostgreSQL: writes waiting at the same moment share a transaction and a commit.

    One writer task per process; other processes are other writers, and PostgreSQL's
    row locks order them (a deadlock between two batches fails both, and each unit is
    then retried alone).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def write(self, work: Work[T]) -> T:
        """Queue ``work`` for this process's writer; its result once its batch committed."""
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_loop())
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put_nowait(_Job(work, future, loop))
        return await future

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` on a pooled connection."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(work)

    async def close(self) -> None:
        """Stop the writer (queued work is refused), then release the connections."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        while not self._jobs.empty():
            self._jobs.get_nowait().future.cancel()
        await super().close()

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._jobs.get()]
            while len(batch) < _MAX_BATCH and not self._jobs.empty():
                batch.append(self._jobs.get_nowait())
            works = [job.work for job in batch]
            try:
                async with self.engine.connect() as conn:
                    outcomes = await conn.run_sync(commit_batch, works)
            except Exception as exc:  # no connection at all: every caller learns why
                outcomes = [(False, exc)] * len(batch)
            for job, (ok, value) in zip(batch, outcomes, strict=True):
                _settle(job.future, ok, value)


_BEFORE_COMMIT = "vvtv_before_commit"


def before_commit(conn: Connection, callback: Callable[[Connection], None]) -> None:
    """Run ``callback`` just before the current write transaction commits.

    For what must come last in a transaction: numbering the events of a whole batch at
    its end holds their channel's counter row for one statement, not for the batch, and
    taking that lock after every other one keeps two batches from deadlocking.
    """
    transaction = conn.get_transaction()
    pending = conn.info.get(_BEFORE_COMMIT)
    if pending is None or pending[0] is not transaction:
        callbacks: list[Callable[[Connection], None]] = []
        pending = (transaction, callbacks)
        conn.info[_BEFORE_COMMIT] = pending
    pending[1].append(callback)


def _run_before_commit(conn: Connection) -> None:
    pending = conn.info.pop(_BEFORE_COMMIT, None)
    if pending is not None and pending[0] is conn.get_transaction():
        for callback in pending[1]:
            callback(conn)


def commit_batch(conn: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
    """All of ``works`` in one transaction; on any failure, each unit alone.

    Units fail rarely (a lost race is a result, not an exception), so a batch is
    tried whole, without a savepoint per unit; when one raises, the batch is rolled
    back and every unit runs again in a transaction of its own, so each caller gets
    exactly its own outcome. What the units registered with ``before_commit`` runs
    after the last of them.
    """
    try:
        with conn.begin():
            outcomes = [(True, work(conn)) for work in works]
            _run_before_commit(conn)
            return outcomes
    except Exception as exc:  # undone as a whole; retried one by one below
        if len(works) == 1:
            return [(False, exc)]
    alone: list[tuple[bool, Any]] = []
    for work in works:
        try:
            with conn.begin():
                outcome = (True, work(conn))
                _run_before_commit(conn)
            alone.append(outcome)
        except Exception as exc:  # this unit's own failure, reported to its caller
            alone.append((False, exc))
    return alone


def open_database(raw: str) -> Database:
    """The ``Database`` for a ``sqlite:///`` or ``postgresql://`` URL."""
    engine = create_engine(raw)
    if engine.dialect.name != "sqlite":
        return _PostgresDatabase(engine)
    url = normalize_url(raw).set(drivername="sqlite+pysqlite")
    sync_engine = create_sync_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=_READERS + 2
    )
    event.listen(sync_engine, "connect", sqlite_pragmas)
    event.listen(sync_engine, "begin", sqlite_begin)
    return _SqliteDatabase(engine, sync_engine)
