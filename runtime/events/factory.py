"""The event bus a URL names: ``memory://``, ``postgresql://...`` or ``redis://...``."""

from __future__ import annotations

from typing import Any

from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy.engine import make_url

from runtime.events.channels import ChannelsEventBus
from runtime.store import Database

__all__ = ["build_event_bus", "describe_bus_url", "memory_bus"]


def memory_bus(database: Database) -> ChannelsEventBus:
    """The one-process bus (``memory://``) over ``database``; ``start`` it before use."""
    return ChannelsEventBus(database, MemoryChannelsBackend(), name="memory")


def _same_database(bus_url: str, database_url: str) -> bool:
    def key(raw: str) -> tuple[Any, ...]:
        url = make_url(raw)
        return (url.host or "localhost", url.port or 5432, url.database, url.username)

    return key(bus_url) == key(database_url)


def build_event_bus(url: str, database: Database, database_url: str) -> ChannelsEventBus:
    """The bus for ``url`` over ``database`` (which numbers the events)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "memory":
        return memory_bus(database)
    if scheme.startswith("postgres"):
        if database.dialect != "postgresql" or not _same_database(url, database_url):
            # Events are NOTIFYed inside the transaction that changes the state, so the
            # listeners must be on that very database.
            raise ValueError("a postgresql:// event bus must name the database itself")
        return _postgres_bus(url, database)
    if scheme in ("redis", "rediss", "unix"):
        return _redis_bus(url, database)
    raise ValueError(f"unsupported event bus URL scheme {scheme!r}: memory, postgresql, redis")


def _postgres_bus(url: str, database: Database) -> ChannelsEventBus:
    import asyncpg  # noqa: PLC0415

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    bus: ChannelsEventBus | None = None

    async def connect() -> asyncpg.Connection:
        connection = await asyncpg.connect(dsn)
        # A dropped listening connection says nothing on its own: reconnect when it ends.
        connection.add_termination_listener(lambda _c: bus.lost() if bus else None)
        return connection

    backend = AsyncPgChannelsBackend(make_connection=connect)
    bus = ChannelsEventBus(database, backend, notify_in_transaction=True, name="postgresql")
    return bus


def _redis_bus(url: str, database: Database) -> ChannelsEventBus:
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend  # noqa: PLC0415
    from redis.asyncio import Redis  # noqa: PLC0415

    backend = RedisChannelsPubSubBackend(redis=Redis.from_url(url))
    return ChannelsEventBus(database, backend, name="redis")


def describe_bus_url(url: str) -> str:
    """The bus URL with any password hidden, for banners and logs."""
    if url.startswith("memory"):
        return url
    return make_url(url).render_as_string(hide_password=True)
