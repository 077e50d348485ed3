"""Versioned migrations (alembic) applied programmatically: `vvtv db upgrade` and `vvtv up`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.store.engine import create_engine

__all__ = [
    "MIGRATIONS",
    "current_revision",
    "downgrade",
    "head_revision",
    "schema_revision",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest migration (read once: readiness asks on every probe)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migration scripts"
    return head


async def _migrate(database_url: str, step: Callable[[Config], None]) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: step(_config(sync)))
        return await _current(engine)
    finally:
        await engine.dispose()


async def upgrade(database_url: str, revision: str = "head") -> str:
    """Migrate the database at ``database_url`` to ``revision``; return where it is now."""
    return await _migrate(database_url, lambda config: command.upgrade(config, revision))


async def downgrade(database_url: str, revision: str) -> str:
    """Migrate down to ``revision`` (``base`` removes everything)."""
    return await _migrate(database_url, lambda config: command.downgrade(config, revision))


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None before the first migration)."""
    engine = create_engine(database_url)
    try:
        return await _current(engine)
    finally:
        await engine.dispose()


async def schema_revision(engine: AsyncEngine) -> str:
    """The revision of the database behind ``engine`` (``base`` before any migration)."""
    return await _current(engine)


async def _current(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        revision = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return str(revision) if revision else "base"
