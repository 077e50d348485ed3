"""``vvtv tiles``: what the thumbnail tiles cost, per mode and hour."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import click

__all__ = ["tiles"]


@click.group()
def tiles() -> None:
    """Thumbnail tiles: their cost log."""


@tiles.command("costs")
@click.option("--hours", type=click.IntRange(1, 24 * 31), default=24, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def tiles_costs(hours: int, fmt: str) -> None:
    """Tile time and estimated egress (GB = 0.439 x Mbps x h) per mode per hour."""
    from runtime.settings import Settings  # noqa: PLC0415
    from runtime.store import open_database  # noqa: PLC0415
    from runtime.tiles.rules import hourly_costs  # noqa: PLC0415
    from runtime.tiles.store import usage_rows  # noqa: PLC0415

    until = datetime.now(UTC)
    since = until - timedelta(hours=hours)

    async def read() -> list[dict[str, object]]:
        database = open_database(Settings().database_url)
        try:
            rows = await database.read(lambda conn: usage_rows(conn, since=since, until=until))
        finally:
            await database.close()
        return [
            {
                "hour": cost.hour.isoformat(),
                "mode": cost.mode,
                "viewers": cost.viewers,
                "tile_seconds": round(cost.tile_seconds, 1),
                "mbps_hours": round(cost.mbps_hours, 6),
                "estimated_egress_gb": round(cost.estimated_egress_gb, 6),
            }
            for cost in hourly_costs(rows, since=since, until=until)
        ]

    costs = asyncio.run(read())
    if fmt == "json":
        click.echo(json.dumps(costs, indent=2))
        return
    click.echo(f"{'hour (UTC)':26} {'mode':12} {'viewers':>7} {'tile s':>10} {'egress GB':>10}")
    for row in costs:
        click.echo(
            f"{row['hour']!s:26} {row['mode']!s:12} {row['viewers']!s:>7}"
            f" {row['tile_seconds']!s:>10} {row['estimated_egress_gb']!s:>10}"
        )
