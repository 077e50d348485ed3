"""Presence in the database: metas per device, the presence they make, and the lists.

Plain functions over a ``Connection`` inside the caller's unit of work; times are the
database clock's. Party and grid are one query with different filters (the seed's
invariant: one presence API, not two services). A presence past its ``expires_at`` is
out of every list at once, before the sweeper even removes it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from runtime.presence.tables import presence_labels, presence_metas, presences, user_blocks
from runtime.store.tables import sessions

__all__ = [
    "Fields",
    "ListQuery",
    "PresenceRow",
    "blocked_either_way",
    "delete_presence",
    "expire_metas",
    "get_presence",
    "list_presences",
    "metas_of",
    "renew_metas",
    "upsert_meta",
    "write_presence",
]

PresenceRow = Mapping[Any, Any]
_FIELDS = ("presence_mode", "is_camera_on", "visibility", "capabilities", "languages", "tags")


@dataclass(frozen=True)
class Fields:
    """What a device says of its user's presence."""

    presence_mode: str
    is_camera_on: bool
    visibility: str
    capabilities: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def values(self) -> dict[str, Any]:
        """As columns (lists for the JSON ones)."""
        return {
            "presence_mode": self.presence_mode,
            "is_camera_on": self.is_camera_on,
            "visibility": self.visibility,
            "capabilities": list(self.capabilities),
            "languages": list(self.languages),
            "tags": list(self.tags),
        }

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Fields:
        """The fields of a presence or meta row."""
        return cls(
            presence_mode=row["presence_mode"],
            is_camera_on=bool(row["is_camera_on"]),
            visibility=row["visibility"],
            capabilities=tuple(row["capabilities"]),
            languages=tuple(row["languages"]),
            tags=tuple(row["tags"]),
        )


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


@cache
def _upsert(table: Table, keys: tuple[str, ...], dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` of every other column, built once.

    Presence is written on every set and heartbeat: building (and cache-keying) the
    statement anew each time cost more than running it.
    """
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    changed = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)


_PRESENCE_OF = select(presences).where(presences.c.user_id == bindparam("user_id"))
_LIVE_METAS_OF = (
    select(presence_metas)
    .where(
        presence_metas.c.user_id == bindparam("user_id"),
        presence_metas.c.expires_at >= bindparam("now"),
    )
    .order_by(presence_metas.c.set_at.desc())
)


def upsert_meta(
    conn: Connection,
    user_id: uuid.UUID,
    device_id: str,
    fields: Fields,
    *,
    now: datetime,
    ttl_s: float,
) -> None:
    """Set one device's meta: its fields, seen now, expiring after the TTL."""
    values = {
        "user_id": user_id,
        "device_id": device_id,
        **fields.values(),
        "set_at": now,
        "last_seen_at": now,
        "expires_at": now + timedelta(seconds=ttl_s),
    }
    conn.execute(_upsert(presence_metas, ("user_id", "device_id"), conn.dialect.name), values)


def get_presence(conn: Connection, user_id: uuid.UUID) -> PresenceRow | None:
    """The user's presence row (expired or not)."""
    return conn.execute(_PRESENCE_OF, {"user_id": user_id}).mappings().one_or_none()


def metas_of(
    conn: Connection, user_ids: Sequence[uuid.UUID], *, now: datetime | None = None
) -> dict[uuid.UUID, list[PresenceRow]]:
    """Each user's metas, the one set last first (only live ones when ``now`` is given)."""
    if not user_ids:
        return {}
    if len(user_ids) == 1 and now is not None:  # one user's set or heartbeat: the hot path
        rows = conn.execute(_LIVE_METAS_OF, {"user_id": user_ids[0], "now": now}).mappings()
        live: list[PresenceRow] = list(rows)
        return {user_ids[0]: live} if live else {}
    query = select(presence_metas).where(presence_metas.c.user_id.in_(list(user_ids)))
    if now is not None:
        query = query.where(presence_metas.c.expires_at >= now)
    query = query.order_by(presence_metas.c.user_id, presence_metas.c.set_at.desc())
    found: dict[uuid.UUID, list[PresenceRow]] = defaultdict(list)
    for row in conn.execute(query).mappings():
        found[row["user_id"]].append(row)
    return dict(found)


def write_presence(
    conn: Connection,
    user_id: uuid.UUID,
    metas: Sequence[PresenceRow],
    *,
    previous: PresenceRow | None,
    now: datetime,
) -> PresenceRow:
    """Make the presence from the user's live metas (the one set last gives the fields)."""
    lead = metas[0]
    values = {
        "user_id": user_id,
        "presence_id": previous["presence_id"] if previous is not None else uuid.uuid4(),
        "device_id": lead["device_id"],
        **{name: lead[name] for name in _FIELDS},
        "last_seen_at": max(m["last_seen_at"] for m in metas),
        "expires_at": max(m["expires_at"] for m in metas),
        "created_at": previous["created_at"] if previous is not None else now,
    }
    conn.execute(_upsert(presences, ("user_id",), conn.dialect.name), values)
    labels = (list(lead["languages"]), list(lead["tags"]))
    if previous is None or (list(previous["languages"]), list(previous["tags"])) != labels:
        _replace_labels(conn, user_id, *labels)
    return values


def _replace_labels(
    conn: Connection, user_id: uuid.UUID, languages: Iterable[str], tags: Iterable[str]
) -> None:
    conn.execute(delete(presence_labels).where(presence_labels.c.user_id == user_id))
    rows = [{"user_id": user_id, "kind": "language", "value": v} for v in languages]
    rows += [{"user_id": user_id, "kind": "tag", "value": v} for v in tags]
    if rows:
        conn.execute(insert(presence_labels), rows)


def delete_presence(conn: Connection, user_id: uuid.UUID) -> None:
    """Remove a presence with nothing left of it (its metas are gone)."""
    conn.execute(delete(presence_labels).where(presence_labels.c.user_id == user_id))
    conn.execute(delete(presences).where(presences.c.user_id == user_id))


def renew_metas(
    conn: Connection,
    pairs: Sequence[tuple[uuid.UUID, str]],
    *,
    now: datetime,
    ttl_s: float,
) -> list[tuple[uuid.UUID, str]]:
    """Heartbeat live metas (one past its TTL stays expired); the pairs renewed."""
    if not pairs:
        return []
    expires = now + timedelta(seconds=ttl_s)
    key = tuple_(presence_metas.c.user_id, presence_metas.c.device_id)
    renewed = [
        (row.user_id, row.device_id)
        for row in conn.execute(
            update(presence_metas)
            .where(key.in_(list(pairs)), presence_metas.c.expires_at >= now)
            .values(last_seen_at=now, expires_at=expires)
            .returning(presence_metas.c.user_id, presence_metas.c.device_id)
        )
    ]
    users = sorted({user for user, _ in renewed})
    if users:
        conn.execute(
            update(presences)
            .where(presences.c.user_id.in_(users))
            .values(last_seen_at=now, expires_at=expires)
        )
    return renewed


def expire_metas(conn: Connection, *, now: datetime, limit: int) -> list[uuid.UUID]:
    """Delete up to ``limit`` metas past their TTL; the users they belonged to."""
    due = (
        select(presence_metas.c.user_id, presence_metas.c.device_id)
        .where(presence_metas.c.expires_at < now)
        .order_by(presence_metas.c.expires_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    pairs = [(row.user_id, row.device_id) for row in conn.execute(due)]
    if not pairs:
        return []
    key = tuple_(presence_metas.c.user_id, presence_metas.c.device_id)
    conn.execute(delete(presence_metas).where(key.in_(pairs), presence_metas.c.expires_at < now))
    return sorted({user for user, _ in pairs})


def blocked_either_way(conn: Connection, user_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone ``user_id`` blocked or was blocked by."""
    blocked = select(user_blocks.c.blocked_id).where(user_blocks.c.blocker_id == user_id)
    blockers = select(user_blocks.c.blocker_id).where(user_blocks.c.blocked_id == user_id)
    return {row[0] for row in conn.execute(blocked.union(blockers))}


@dataclass(frozen=True)
class ListQuery:
    """One page of a presence list, as the viewer may see it."""

    viewer: uuid.UUID
    visibilities: tuple[str, ...]
    separated_modes: tuple[str, ...]  # modes whose users stay out (separate ecosystems)
    limit: int
    after: tuple[datetime, uuid.UUID] | None = None  # (last_seen_at, user_id) of the page's end
    is_camera_on: bool | None = None
    language: str | None = None
    tag: str | None = None
    include_viewer: bool = False
    user_ids: tuple[uuid.UUID, ...] | None = None  # only these users


def _label(kind: str, value: str) -> ColumnElement[bool]:
    return exists().where(
        presence_labels.c.user_id == presences.c.user_id,
        presence_labels.c.kind == kind,
        presence_labels.c.value == value,
    )


def list_presences(conn: Connection, query: ListQuery, *, now: datetime) -> list[PresenceRow]:
    """Live presences the viewer may see, most recently seen first."""
    viewer = query.viewer
    conditions: list[ColumnElement[bool]] = [
        presences.c.expires_at >= now,
        presences.c.visibility.in_(query.visibilities),
        ~exists().where(
            or_(
                and_(
                    user_blocks.c.blocker_id == viewer,
                    user_blocks.c.blocked_id == presences.c.user_id,
                ),
                and_(
                    user_blocks.c.blocked_id == viewer,
                    user_blocks.c.blocker_id == presences.c.user_id,
                ),
            )
        ),
    ]
    if not query.include_viewer:
        conditions.append(presences.c.user_id != viewer)
    if query.separated_modes:
        # Ecosystem separation, in the query: someone in a live or random session is not
        # in the party or the grid, whatever their presence says.
        conditions.append(
            ~exists().where(
                sessions.c.user_id == presences.c.user_id,
                sessions.c.state.in_(("creating", "active")),
                sessions.c.mode.in_(query.separated_modes),
            )
        )
    if query.user_ids is not None:
        conditions.append(presences.c.user_id.in_(list(query.user_ids)))
    if query.is_camera_on is not None:
        conditions.append(presences.c.is_camera_on == query.is_camera_on)
    if query.language is not None:
        conditions.append(_label("language", query.language))
    if query.tag is not None:
        conditions.append(_label("tag", query.tag))
    if query.after is not None:
        seen, user = query.after
        conditions.append(
            or_(
                presences.c.last_seen_at < seen,
                and_(presences.c.last_seen_at == seen, presences.c.user_id > user),
            )
        )
    statement = (
        select(presences)
        .where(*conditions)
        .order_by(presences.c.last_seen_at.desc(), presences.c.user_id)
        .limit(query.limit)
    )
    return list(conn.execute(statement).mappings())
