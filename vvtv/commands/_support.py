"""What the command modules share: running a coroutine with the store and identity."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from runtime.identity import IdentityService
    from runtime.settings import Settings

__all__ = ["with_identity"]

T = TypeVar("T")


def with_identity(
    settings: Settings, work: Callable[[IdentityService], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run ``work`` against the identity service of the configured database."""
    from runtime.app import identity_service  # noqa: PLC0415
    from runtime.config import ConfigError, load_config  # noqa: PLC0415
    from runtime.store import open_database, upgrade  # noqa: PLC0415

    async def run() -> T:
        if migrate:
            await upgrade(settings.database_url)
        try:
            config = load_config(
                settings.cost_tier,
                manifests_dir=settings.manifests_dir,
                schemas_dir=settings.schemas_dir,
            )
        except ConfigError:
            config = None
        database = open_database(settings.database_url)
        try:
            return await work(identity_service(settings, database, config))
        finally:
            await database.close()

    return asyncio.run(run())
