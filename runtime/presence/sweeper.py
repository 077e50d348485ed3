"""What expires by the database clock, swept by one process at a time across all of them.

A named lease decides which process sweeps; it is short (``sweeper_lease_ms``), so when
the holder dies another takes over within moments, and expiry never waits on the
process that held a socket. Steps are the contexts' expiry functions (presence, tiles).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog

from runtime.presence.rules import sweeper_lease_ms
from runtime.store import Database
from runtime.store.leases import release_lease, take_lease

__all__ = ["ExpirySweeper"]

_log = structlog.get_logger(__name__)

Step = Callable[[], Awaitable[int]]


class ExpirySweeper:
    """Runs the expiry steps every ``interval_ms`` while it holds the lease."""

    def __init__(
        self,
        database: Database,
        steps: Sequence[Step],
        *,
        holder: str,
        interval_ms: int,
        name: str = "expiry-sweeper",
    ) -> None:
        self.database, self.steps, self.holder, self.name = database, tuple(steps), holder, name
        self.interval_s = interval_ms / 1000
        self.lease_s = sweeper_lease_ms(interval_ms) / 1000

    async def run_once(self) -> int | None:
        """One sweep: what the steps removed, or ``None`` when another process holds the lease."""
        taken = await self.database.write(
            lambda conn: take_lease(conn, self.name, self.holder, self.lease_s)
        )
        if not taken:
            return None
        removed = 0
        for step in self.steps:
            # A step that removed something may have more: again, up to a bound per sweep.
            for _ in range(20):
                done = await step()
                removed += done
                if done == 0:
                    break
        return removed

    async def run_forever(self) -> None:
        """Sweep until cancelled; a failed sweep is logged and the next one comes."""
        try:
            while True:
                try:
                    await self.run_once()
                except Exception as exc:  # a bad sweep must not stop the next
                    _log.warning("expiry sweep failed", sweeper=self.name, error=str(exc))
                await asyncio.sleep(self.interval_s)
        finally:
            with contextlib.suppress(Exception):
                await self.database.write(lambda conn: release_lease(conn, self.name, self.holder))
