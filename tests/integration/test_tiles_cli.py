"""`vvtv tiles costs`: the cost log per mode and hour, read from the store."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from runtime.store import open_database, upgrade
from runtime.tiles.tables import tiles
from vvtv.cli import cli


def test_costs_per_mode_and_hour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'vvtv.db'}"
    monkeypatch.setenv("VVTV_DATABASE_URL", url)
    now = datetime.now(UTC)
    hour = (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)

    async def seed() -> None:
        await upgrade(url)
        database = open_database(url)
        viewer = uuid.uuid4()
        base = {
            "viewer_id": viewer,
            "device_id": "default",
            "user_id": uuid.uuid4(),
            "media_profile": "thumb_low",
            "device_class": "desktop",
            "bitrate_kbps": 180,
            "in_view_until": now,
        }
        rows = [
            # 30 minutes of one tile in the party rail, within one hour two hours ago
            {**base, "id": uuid.uuid4(), "mode": "party", "state": "closed",
             "opened_at": hour, "closed_at": hour + timedelta(minutes=30)},
            # a sniffers tile 10 minutes long
            {**base, "id": uuid.uuid4(), "mode": "sniffers", "state": "closed",
             "opened_at": hour, "closed_at": hour + timedelta(minutes=10)},
        ]  # fmt: skip
        try:
            await database.write(lambda conn: conn.execute(insert(tiles), rows))
        finally:
            await database.close()

    asyncio.run(seed())
    done = CliRunner().invoke(cli, ["tiles", "costs", "--hours", "4", "--format", "json"])
    assert done.exit_code == 0, done.output
    by_mode = {row["mode"]: row for row in json.loads(done.output)}
    party = by_mode["party"]
    assert party["tile_seconds"] == 1800 and party["viewers"] == 1
    # 0.18 Mbps for half an hour: 0.09 Mbps-hours, x 0.439 GB
    assert party["estimated_egress_gb"] == pytest.approx(0.439 * 0.09, rel=1e-3)
    assert by_mode["sniffers"]["tile_seconds"] == 600
