"""The LAB end to end on real stages: a cycle, QA rejections, discovery alerts, fallback, restart.

Media is made by ffmpeg here; sources are folders; the store is SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lab.channel import Channel
from lab.ffmpeg import BroadcastProfile
from lab.hls.rules import LivePlaylist, check_live_playlist, read_live_playlist
from lab.metrics import LabMetrics
from lab.policy import load_owner_card
from lab.settings import LabSettings
from lab.sources import FolderSource, build_sources
from lab.stages.queue import enqueue, fail
from lab.store.reports import list_reports
from lab.store.tables import lab_plans, lab_queue
from runtime.store import Database, open_database, upgrade

PROFILE = BroadcastProfile(
    width=320,
    height=180,
    fps=25,
    video_kbps=400,
    audio_kbps=64,
    audio_rate=48000,
    segment_s=2,
    loudness_i=-16.0,
    loudness_tp=-1.5,
    loudness_lra=11.0,
)
WINDOW = 4


def _clip(path: Path, seconds: int, video: str, tone: int | None) -> Path:
    sep = "" if video.endswith(":") else "="
    audio = (
        ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000"]
        if tone
        else ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]
    )
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"{video}{sep}size=320x180:rate=25", *audio,
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
         "-shortest", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    _clip(folder / "alpha.mp4", 6, "testsrc2", 440)
    _clip(folder / "bravo.mp4", 6, "testsrc", 550)
    # Prepares fine, fails QA: black from start to end.
    _clip(folder / "charlie-black.mp4", 6, "color=c=black:", 660)
    # Not a media file at all: prep fails.
    (folder / "delta-corrupt.mp4").write_bytes(os.urandom(40_000))
    return folder


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough to be killed mid-air after the playlist has filled its window."""
    return _clip(tmp_path_factory.mktemp("long") / "long.mp4", 24, "testsrc2", 330)


@pytest.fixture
async def database(store_url: str) -> AsyncIterator[Database]:
    await upgrade(store_url)
    db = open_database(store_url)
    try:
        yield db
    finally:
        await db.close()


def _channel(database: Database, tmp_path: Path, sources: list[Any]) -> Channel:
    settings = LabSettings(
        env="test", control_token="t" * 20, control_secret="s" * 20, lab_dir=tmp_path / "lab"
    )
    return Channel(
        database,
        settings,
        policy=load_owner_card(),
        profile=PROFILE,
        window_segments=WINDOW,
        metrics=LabMetrics(),
        sources=sources,
    )


@pytest.mark.timeout(300)
async def test_a_cycle_queues_the_good_items_and_replaces_the_bad_ones(
    database: Database, library: Path, tmp_path: Path
) -> None:
    channel = _channel(database, tmp_path, [FolderSource("library", library)])
    orchestrator = await channel.build(with_transmitter=False)
    outcome = await orchestrator.run_cycle(trigger="run_once")
    assert outcome.discovered == 4 and outcome.planned >= 4
    tally = outcome.realized
    assert tally.qa_rejected == 1, tally
    assert tally.failures >= 2  # the corrupt file failed prep; the black one was rejected
    queued = await database.read(
        lambda conn: conn.execute(select(lab_queue.c.title, lab_queue.c.qa_score)).all()
    )
    titles = {row[0] for row in queued}
    assert titles == {"alpha", "bravo"}, titles
    states = await database.read(
        lambda conn: conn.execute(select(lab_plans.c.title, lab_plans.c.state)).all()
    )
    by_title: dict[str, set[str]] = {}
    for title, state in states:
        by_title.setdefault(title, set()).add(state)
    assert (
        by_title["charlie-black"] <= {"rejected", "failed"}
        and "rejected" in by_title["charlie-black"]
    )
    assert by_title["delta-corrupt"] == {"failed"}
    qa = await database.read(lambda conn: list_reports(conn, limit=50, kind="qa"))
    rejected = [r for r in qa.items if not r["passed"]]
    assert len(rejected) == 1 and rejected[0]["score"] < 0.85
    assert any(c["name"] == "black" and not c["passed"] for c in rejected[0]["checks"])
    cycles = await database.read(lambda conn: list_reports(conn, limit=5, kind="cycle"))
    assert cycles.items[0]["qa_rejected"] == 1 and cycles.items[0]["trigger"] == "run_once"
    # A second cycle plans on: the rejected content is never planned again.
    await orchestrator.run_cycle(trigger="run_once")
    again = await database.read(lambda conn: list_reports(conn, limit=50, kind="qa"))
    assert len([r for r in again.items if not r["passed"]]) == 1


async def test_a_source_failing_three_times_raises_the_discovery_alert(
    database: Database, tmp_path: Path
) -> None:
    broken = build_sources(
        [{"name": "archive-feed", "kind": "http_index", "url": "http://127.0.0.1:9/"}]
    )
    channel = _channel(database, tmp_path, broken)
    orchestrator = await channel.build(with_transmitter=False)
    orchestrator.discovery_base_delay_s = 0.0
    await orchestrator.boot()
    for attempt in range(3):
        alerts = await orchestrator.check_alerts()
        assert not any(a.code == "discovery_failures" for a in alerts), attempt
        new, failed = await orchestrator.discover_once()
        assert (new, failed) == (0, 1)
    alerts = await orchestrator.check_alerts()
    found = [a for a in alerts if a.code == "discovery_failures"]
    assert len(found) == 1 and found[0].subject == "archive-feed" and found[0].value == 3


class Watcher:
    """Reads the live playlist as a client every 0.25 s and checks every read against the last."""

    def __init__(self, live: Path) -> None:
        self.live, self.reads, self.violations = live, [], []  # type: ignore[var-annotated]
        self.previous: LivePlaylist | None = None

    async def run(self) -> None:
        while True:
            with contextlib.suppress(FileNotFoundError):
                playlist = read_live_playlist((self.live / "main.m3u8").read_text())
                self.violations += check_live_playlist(
                    playlist, target_duration=PROFILE.segment_s, previous=self.previous
                )
                self.previous = playlist
                self.reads.append((time.monotonic(), playlist))
            await asyncio.sleep(0.25)

    def newest(self) -> int:
        if self.previous is None or not self.previous.segments:
            return -1
        return self.previous.segments[-1].sequence


async def _until(predicate: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _queue_clip(database: Database, channel: Channel, source: Path, item_id: str) -> None:
    """Prepare ``source`` through the realizer's prep and put it at the end of the queue."""
    from lab.stages.prep import prepare  # noqa: PLC0415
    from lab.stages.types import Fetched  # noqa: PLC0415

    size = (await asyncio.to_thread(source.stat)).st_size
    prepared = await prepare(
        Fetched(item_id, source, "", size),
        channel.paths.media,
        PROFILE,
        timeout_s=120,
    )
    await database.write(
        lambda conn: enqueue(
            conn,
            item_id=item_id,
            content_hash=item_id,
            source="test",
            title=item_id,
            path=prepared.path,
            duration_s=prepared.duration_s,
            qa_score=1.0,
        )
    )


@pytest.mark.timeout(300)
async def test_fallback_on_a_killed_encoder_and_an_empty_queue_then_back_to_the_queue(
    database: Database, library: Path, long_clip: Path, tmp_path: Path
) -> None:
    channel = _channel(database, tmp_path, [])
    await _queue_clip(database, channel, long_clip, "item-1")
    orchestrator = await channel.build(with_transmitter=True)
    transmitter = channel.transmitter
    assert transmitter is not None
    watcher = Watcher(channel.paths.live)
    tasks = [asyncio.create_task(transmitter.run()), asyncio.create_task(watcher.run())]
    try:

        async def on_air() -> bool:
            s = transmitter.status()
            return s.state == "on_air" and s.encoder_pid is not None and watcher.newest() >= 0

        await _until(on_air, 60, "item-1 on air")
        # The queue is emptied (item-1 is taken out of it while it airs), then its encoder
        # is killed: nothing is left to air but the reserve loop.
        await database.write(lambda conn: fail(conn, "item-1", "taken out by the test"))
        before = watcher.newest()
        killed_at = time.monotonic()
        pid = transmitter.status().encoder_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        async def advanced() -> bool:
            return watcher.newest() > before

        await _until(advanced, 2 + PROFILE.segment_s, "the playlist to advance")
        assert transmitter.status().state in ("fallback", "restarting")

        # The fallback episode is reported, with its switch latency.
        async def reported() -> bool:
            page = await database.read(lambda conn: list_reports(conn, limit=5, kind="fallback"))
            return bool(page.items)

        await _until(reported, 5, "the fallback report")
        page = await database.read(lambda conn: list_reports(conn, limit=5, kind="fallback"))
        assert page.items[0]["reason"] in ("encoder_died", "item_failed")
        alerts = await orchestrator.check_alerts()
        assert any(a.code == "queue_buffer_low" for a in alerts)
        # It keeps advancing on the reserve loop, then returns when an item is ready.
        await asyncio.sleep(2 * PROFILE.segment_s)
        assert watcher.newest() >= before + 2
        await _queue_clip(database, channel, library / "bravo.mp4", "item-2")

        async def back() -> bool:
            s = transmitter.status()
            return s.state == "on_air" and s.current_item_id == "item-2"

        await _until(back, 30, "item-2 on air")
        ended = await database.read(lambda conn: list_reports(conn, limit=5, kind="fallback"))
        assert ended.items[0]["ended_at"] is not None
        assert 0 <= ended.items[0]["switch_latency_ms"] <= 2000
        assert time.monotonic() - killed_at < 60
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert watcher.violations == []


@pytest.mark.timeout(300)
async def test_a_restart_mid_item_loses_nothing_and_airs_nothing_twice(
    database: Database, library: Path, tmp_path: Path
) -> None:
    first = _channel(database, tmp_path, [])
    for n, name in enumerate(["alpha", "bravo", "alpha"]):
        await _queue_clip(database, first, library / f"{name}.mp4", f"item-{n}")
    await first.build(with_transmitter=True)
    assert first.transmitter is not None
    watcher = Watcher(first.paths.live)
    watch = asyncio.create_task(watcher.run())
    run = asyncio.create_task(first.transmitter.run())

    async def mid_item() -> bool:
        row = await database.read(
            lambda conn: conn.execute(
                select(lab_queue.c.item_id, lab_queue.c.offset_s).where(
                    lab_queue.c.item_id == "item-1", lab_queue.c.offset_s >= 2
                )
            ).first()
        )
        return row is not None

    try:
        await _until(mid_item, 60, "item-1 half aired")
    finally:
        run.cancel()  # the process goes away mid-item
        with contextlib.suppress(asyncio.CancelledError):
            await run
    interrupted = await database.read(
        lambda conn: conn.execute(
            select(lab_queue.c.item_id, lab_queue.c.state, lab_queue.c.offset_s)
        ).all()
    )
    states = {row[0]: (row[1], row[2]) for row in interrupted}
    assert states["item-0"][0] == "played" and states["item-1"][0] == "playing"
    resume_at = states["item-1"][1]

    second = _channel(database, tmp_path, [])
    await second.build(with_transmitter=True)
    assert second.transmitter is not None
    run = asyncio.create_task(second.transmitter.run())
    try:

        async def all_played() -> bool:
            rows = await database.read(
                lambda conn: conn.execute(select(lab_queue.c.state)).scalars().all()
            )
            return all(state == "played" for state in rows)

        await _until(all_played, 90, "every item played")
    finally:
        for task in (run, watch):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    rows = await database.read(
        lambda conn: conn.execute(select(lab_queue.c.item_id, lab_queue.c.state)).all()
    )
    assert sorted(rows) == [("item-0", "played"), ("item-1", "played"), ("item-2", "played")]
    # The resumed item started where it stopped (a keyframe at or before its offset).
    assert resume_at >= 2
    # The media sequence went on across the restart: no gap, no step back.
    assert watcher.violations == []


@pytest.mark.timeout(300)
async def test_a_restart_mid_cycle_recovers_the_queue_and_queues_each_plan_once(
    database: Database, library: Path, tmp_path: Path
) -> None:
    first = _channel(database, tmp_path, [FolderSource("library", library)])
    orchestrator = await first.build(with_transmitter=False)
    cycle = asyncio.create_task(orchestrator.run_cycle(trigger="run_once"))

    async def one_queued() -> bool:
        rows = await database.read(lambda conn: conn.execute(select(lab_queue.c.item_id)).all())
        return len(rows) >= 1

    try:
        await _until(one_queued, 120, "a first item queued")
    finally:
        cycle.cancel()  # the process stops in the middle of realizing the next plan
        with contextlib.suppress(asyncio.CancelledError):
            await cycle
    before = await database.read(lambda conn: conn.execute(select(lab_queue.c.item_id)).all())

    second = _channel(database, tmp_path, [FolderSource("library", library)])
    outcome = await (await second.build(with_transmitter=False)).run_cycle(trigger="run_once")
    assert outcome.discovered == 0  # recorded once, before the restart
    queue = await database.read(
        lambda conn: conn.execute(select(lab_queue.c.item_id, lab_queue.c.title)).all()
    )
    plans = await database.read(
        lambda conn: conn.execute(select(lab_plans.c.plan_id, lab_plans.c.state)).all()
    )
    queued_plans = {plan_id for plan_id, state in plans if state == "queued"}
    # Everything queued before the restart is still there; every plan is queued at most
    # once, and every queued plan is in the queue.
    assert {row[0] for row in before} <= {row[0] for row in queue}
    assert queued_plans == {row[0] for row in queue}
    assert not [p for p, state in plans if state in ("planned", "fetched", "prepared")]
    # The prep that was cut short left no scratch file behind.
    assert not list((second.paths.media / "prepared").glob(".*.part.mp4"))


@pytest.mark.timeout(300)
async def test_an_item_whose_encoder_was_killed_airs_on_from_its_offset(
    database: Database, long_clip: Path, tmp_path: Path
) -> None:
    channel = _channel(database, tmp_path, [])
    await _queue_clip(database, channel, long_clip, "item-1")
    await channel.build(with_transmitter=True)
    transmitter = channel.transmitter
    assert transmitter is not None
    run = asyncio.create_task(transmitter.run())
    try:

        async def aired_some() -> bool:
            offset = await database.read(
                lambda conn: conn.scalar(
                    select(lab_queue.c.offset_s).where(lab_queue.c.item_id == "item-1")
                )
            )
            pid = transmitter.status().encoder_pid
            return bool(offset and offset >= 4 and pid is not None)

        await _until(aired_some, 60, "item-1 four seconds in")
        pid = transmitter.status().encoder_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        async def resumed() -> bool:
            s = transmitter.status()
            return s.state == "on_air" and s.current_item_id == "item-1" and s.encoder_pid != pid

        await _until(resumed, 30, "item-1 back on air")

        async def played() -> bool:
            state = await database.read(
                lambda conn: conn.scalar(
                    select(lab_queue.c.state).where(lab_queue.c.item_id == "item-1")
                )
            )
            return state == "played"

        await _until(played, 60, "item-1 played to its end")
    finally:
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
