"""Database engines for the embedded SQLite default and for PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = [
    "WRITE_OPTION",
    "create_engine",
    "display_url",
    "normalize_url",
    "ping",
    "write_transaction",
]

WRITE_OPTION = "vvtv_write"
_WRITE_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


def normalize_url(raw: str) -> URL:
    """Map ``sqlite://`` and ``postgresql://`` URLs onto their async drivers."""
    url = make_url(raw)
    driver = _DRIVERS.get(url.drivername)
    if driver is not None:
        url = url.set(drivername=driver)
    if url.drivername not in _DRIVERS.values():
        raise ValueError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:/// or postgresql://"
        )
    return url


def display_url(raw: str) -> str:
    """The URL with any password hidden, for logs and banners."""
    return make_url(raw).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is turned off: `_sqlite_begin` decides the kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A writer takes the write lock when it starts (BEGIN IMMEDIATE), so two writers
    # never both read and then fail to upgrade their lock ("database is locked");
    # readers start deferred and run alongside under WAL.
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(raw: str) -> AsyncEngine:
    """An async engine for ``raw``; SQLite gets WAL and its folder created."""
    url = normalize_url(raw)
    if url.drivername.startswith("sqlite"):
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes: BEGIN IMMEDIATE on SQLite, a plain one on PostgreSQL.

    SQLite has one writer at a time; within a process writers queue on a lock instead
    of polling the file lock (its busy handler sleeps up to 100 ms between tries).
    Other processes still meet BEGIN IMMEDIATE and the busy timeout.
    """
    lock = _WRITE_LOCKS.get(engine) if engine.dialect.name == "sqlite" else None
    if engine.dialect.name == "sqlite" and lock is None:
        lock = _WRITE_LOCKS[engine] = asyncio.Lock()
    async with contextlib.AsyncExitStack() as stack:
        if lock is not None:
            await stack.enter_async_context(lock)
        connection = await stack.enter_async_context(engine.connect())
        writer = await connection.execution_options(**{WRITE_OPTION: True})
        async with writer.begin():
            yield writer


async def ping(engine: AsyncEngine) -> None:
    """Round-trip one trivial query; raises when the database is unreachable."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
