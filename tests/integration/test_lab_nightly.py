"""The nightly routine: audit export, retention of old media and segments, a metadata backup."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from lab.stages.nightly import claim_queued, next_run_at, request_nightly, run_nightly
from lab.stages.queue import enqueue
from lab.store.reports import list_reports
from lab.store.tables import lab_nightly_runs
from runtime.store import Database, open_database, upgrade
from runtime.store.tables import audit_events

ROOT = Path(__file__).resolve().parents[2]
OLD = time.time() - 30 * 86400


@pytest.fixture
async def database(store_url: str) -> AsyncIterator[Database]:
    await upgrade(store_url)
    db = open_database(store_url)
    try:
        yield db
    finally:
        await db.close()


def _file(path: Path, size: int, *, old: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    if old:
        os.utime(path, (OLD, OLD))
    return path


async def test_a_nightly_run_exports_prunes_and_backs_up(
    database: Database, tmp_path: Path
) -> None:
    lab = tmp_path / "lab"
    media, live = lab / "media", lab / "live"
    stale = _file(media / "prepared" / "stale.mp4", 1000, old=True)
    queued = _file(media / "prepared" / "queued.mp4", 2000, old=True)  # old, but still queued
    fresh = _file(media / "prepared" / "fresh.mp4", 3000, old=False)
    orphan = _file(live / "seg_1.ts", 500, old=True)
    current = _file(live / "seg_2.ts", 500, old=False)
    await database.write(
        lambda conn: enqueue(
            conn,
            item_id="q",
            content_hash="h",
            source="s",
            title="t",
            path=queued,
            duration_s=10,
            qa_score=1,
        )
    )
    now = datetime.now(UTC)
    for n in range(3):
        await database.write(
            lambda conn, n=n: conn.execute(
                insert(audit_events).values(at=now, kind="test", subject=str(n), payload={"n": n})
            )
        )
    run = await database.write(lambda conn: request_nightly(conn, forced=True, reason="test"))
    claimed = await database.write(claim_queued)
    assert claimed == (run.run_id, True)
    result = await run_nightly(
        database,
        run.run_id,
        forced=True,
        lab_dir=lab,
        media_dirs=[media],
        segment_dirs=[live],
        retention_days=7,
    )
    assert result.outcome == "succeeded", result.error
    assert result.audit_events_exported == 3
    assert result.media_files_deleted == 1 and result.segments_deleted == 1
    assert result.bytes_freed == 1500 and result.backup_created
    assert not stale.exists() and not orphan.exists()
    assert queued.exists() and fresh.exists() and current.exists()
    export = next((lab / "exports").glob("audit-*.jsonl.gz"))
    lines = gzip.decompress(export.read_bytes()).decode().splitlines()
    assert [json.loads(line)["subject"] for line in lines] == ["0", "1", "2"]
    backup = json.loads(
        gzip.decompress(next((lab / "exports").glob("backup-*.json.gz")).read_bytes())
    )
    assert [row["item_id"] for row in backup["lab_queue"]] == ["q"]
    page = await database.read(lambda conn: list_reports(conn, limit=5, kind="nightly"))
    report = page.items[0]
    assert report["run_id"] == str(run.run_id) and report["outcome"] == "succeeded"
    assert report["bytes_freed"] == 1500
    state = await database.read(
        lambda conn: conn.scalar(
            select(lab_nightly_runs.c.state).where(lab_nightly_runs.c.run_id == run.run_id)
        )
    )
    assert state == "succeeded"


def test_the_next_run_is_at_three_local_time() -> None:
    at = next_run_at(datetime(2026, 1, 1, 5, 59, tzinfo=UTC), hour=3, zone="America/Sao_Paulo")
    assert at == datetime(2026, 1, 1, 6, 0, tzinfo=UTC)  # 03:00 at UTC-3
    after = next_run_at(datetime(2026, 1, 1, 6, 0, tzinfo=UTC), hour=3, zone="America/Sao_Paulo")
    assert after == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)


def test_lab_run_once_with_forced_nightly(tmp_path: Path) -> None:
    """`VVTV_RUN_ONCE=1 VVTV_FORCE_NIGHTLY=1 vvtv lab run`: one cycle, the nightly, exit 0."""
    library = tmp_path / "library"
    library.mkdir()
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
         str(library / "clip.mp4")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"- name: library\n  kind: folder\n  path: {library}\n")
    env = {
        **os.environ,
        "VVTV_DATABASE_URL": f"sqlite:///{tmp_path / 'vvtv.db'}",
        "VVTV_LAB_DIR": str(tmp_path / "lab"),
        "VVTV_LAB_SOURCES": str(sources),
        "VVTV_RUN_ONCE": "1",
        "VVTV_FORCE_NIGHTLY": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "vvtv", "lab", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cycle: 1 discovered" in done.stdout
    assert "nightly_done" in done.stdout + done.stderr
    assert list((tmp_path / "lab" / "exports").glob("backup-*.json.gz"))
    refused = subprocess.run(
        [sys.executable, "-m", "vvtv", "lab", "run"],
        cwd=ROOT,
        env={**env, "VVTV_ENV": "prod"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "VVTV_CONTROL_TOKEN" in refused.stderr
