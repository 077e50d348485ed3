"""Migrations on SQLite and PostgreSQL: they apply, match the tables, and hold the invariants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

import lab.store.tables  # noqa: F401  (the LAB's tables join the one schema)
import runtime.events.tables
import runtime.identity.tables
import runtime.presence.tables
import runtime.tiles.tables  # noqa: F401
from runtime.store import create_engine, current_revision, downgrade, head_revision, upgrade
from runtime.store.tables import metadata, sessions

TABLES = {
    "sessions",
    "session_outbox",
    "audit_events",
    "sweeper_leases",
    "idempotency_keys",
    "lab_items",
    "lab_sources",
    "lab_plans",
    "lab_queue",
    "lab_flags",
    "lab_reports",
    "lab_nightly_runs",
    "lab_state",
    "lab_signatures",
    "accounts",
    "refresh_tokens",
    "magic_links",
    "auth_throttle",
    "socket_tickets",
    "event_channels",
    "event_payloads",
    "presences",
    "presence_metas",
    "presence_labels",
    "user_blocks",
    "tiles",
    "tile_budgets",
    "tile_totals",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        return names - {"alembic_version"}
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_and_upgrade_again(store_url: str) -> None:
    assert await current_revision(store_url) == "base"
    assert await upgrade(store_url) == head_revision()
    assert await _tables(store_url) == TABLES
    assert await upgrade(store_url) == head_revision()  # idempotent
    assert await downgrade(store_url, "base") == "base"
    assert await _tables(store_url) == set()
    assert await upgrade(store_url) == head_revision()


async def test_migrations_match_the_tables(store_url: str) -> None:
    await upgrade(store_url)
    engine = create_engine(store_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


def _session(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {
        "id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "state": "active",
        "mode": "party",
        "audience_type": "members",
        "stream_transport": "hls",
        "media_profile": "broadcast_hls",
        "config_hash": "sha256:" + "0" * 64,
        "lease_expires_at": now,
        "created_at": now,
        "received_mbps": 5.0,
        "parent_session_id": None,  # every row names every column: executemany uses the first's
    }
    return {**row, **overrides}


async def test_the_schema_holds_the_session_invariants(store_url: str) -> None:
    await upgrade(store_url)
    engine = create_engine(store_url)
    parent = _session()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(sessions), [parent, _session(parent_session_id=parent["id"])]
            )
        # Never two successors of one session.
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    insert(sessions), [_session(parent_session_id=parent["id"])]
                )
        # Only the states of the state machine.
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(insert(sessions), [_session(state="paused")])
    finally:
        await engine.dispose()
