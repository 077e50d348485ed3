"""The transmitter, run for real: short prepared clips in, one live HLS stream out.

One broadcast of three items (the last resumed from an offset) then a dry queue is
run once for the module and read as a client would: every playlist read keeps the
live rules against the one before it, every segment decodes and opens on a keyframe,
ffmpeg plays the live playlist, and old segments leave the disk. Two more runs kill
the encoder and pull the emergency switch, and check the reserve loop takes over
within 2 s and hands back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from lab.ffmpeg import BroadcastProfile, loudnorm_measure_argv, parse_loudnorm, prep_argv
from lab.hls.rules import LivePlaylist, check_live_playlist, read_live_playlist
from lab.stages.transmitter import (
    FallbackEnded,
    FallbackStarted,
    ItemFailed,
    ItemFinished,
    ItemInterrupted,
    ItemStarted,
    SegmentPublished,
    Transmitter,
    TransmitterEvent,
)
from lab.stages.types import ReadyItem

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
TARGET = PROFILE.segment_s
E = TypeVar("E")
WINDOW = 4
KEEP = 1


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout)


def _prepared(folder: Path, name: str, seconds: int, pattern: str, tone: int) -> Path:
    source = folder / f"{name}.src.mp4"
    _run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"{pattern}=size=320x180:rate=25",
         "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(source)]
    )  # fmt: skip
    measured = parse_loudnorm(_run(loudnorm_measure_argv(source, PROFILE)).stderr)
    clip = folder / f"{name}.mp4"
    _run(prep_argv(source, clip, PROFILE, measured))
    return clip


@dataclass(frozen=True)
class Clips:
    short: Path  # 7 s: segments 2, 2, 2, 1
    long: Path  # 10 s
    reserve: Path  # 4 s


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    folder = tmp_path_factory.mktemp("clips")
    specs = [
        ("short", 7, "testsrc2", 440),
        ("long", 10, "testsrc", 660),
        ("reserve", 4, "smptebars", 220),
    ]
    with ThreadPoolExecutor(len(specs)) as pool:
        made = list(pool.map(lambda spec: _prepared(folder, *spec), specs))
    return Clips(*made)


@dataclass
class Recorder:
    """Everything a run showed: events (with when), playlist reads, copies of segments."""

    live_dir: Path
    saved_dir: Path
    events: list[tuple[float, TransmitterEvent]] = field(default_factory=list)
    reads: list[LivePlaylist] = field(default_factory=list)
    saved: dict[int, Path] = field(default_factory=dict)

    async def on_event(self, event: TransmitterEvent) -> None:
        self.events.append((time.monotonic(), event))

    def of(self, kind: type[E]) -> list[E]:
        return [event for _, event in self.events if isinstance(event, kind)]

    def poll(self) -> None:
        """Read the playlist as a client would, and keep a copy of every new segment."""
        try:
            text = (self.live_dir / "main.m3u8").read_text()
        except FileNotFoundError:
            return
        playlist = read_live_playlist(text)
        self.reads.append(playlist)
        for segment in playlist.segments:
            if segment.sequence not in self.saved:
                copy = self.saved_dir / segment.uri
                shutil.copyfile(self.live_dir / segment.uri, copy)
                self.saved[segment.sequence] = copy

    async def watch(self, every_s: float = 0.5) -> None:
        while True:
            self.poll()
            await asyncio.sleep(every_s)

    def owners(self) -> dict[int, str]:
        """Which item each published sequence number belongs to (the rest is the reserve)."""
        return {e.sequence: e.item_id for e in self.of(SegmentPublished)}

    def violations(self) -> list[str]:
        owners = self.owners()
        found = []
        previous = None
        for playlist in self.reads:
            by_sequence = {s.sequence: s for s in playlist.segments}
            switches = frozenset(
                segment.uri
                for segment in playlist.segments
                if segment.sequence + 1 in by_sequence
                and owners.get(segment.sequence, "reserve")
                != owners.get(segment.sequence + 1, "reserve")
            )
            for v in check_live_playlist(
                playlist, target_duration=TARGET, switches_after=switches, previous=previous
            ):
                found.append(f"{v.rule}: {v.detail}")
            previous = playlist
        return found


class Queue:
    """The orchestrator's queue, as the transmitter sees it."""

    def __init__(self, *items: ReadyItem) -> None:
        self.items: deque[ReadyItem] = deque(items)
        self.asked = 0

    async def next_item(self) -> ReadyItem | None:
        self.asked += 1
        return self.items.popleft() if self.items else None


def _transmitter(root: Path, clips: Clips, queue: Queue, recorder: Recorder) -> Transmitter:
    return Transmitter(
        live_dir=root / "live",
        work_dir=root / "work",
        profile=PROFILE,
        reserve_clip=clips.reserve,
        next_item=queue.next_item,
        on_event=recorder.on_event,
        window_segments=WINDOW,
        keep_after_window=KEEP,
    )


async def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Wait for ``condition``; returns when it became true (monotonic)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic()


@contextlib.asynccontextmanager
async def _on_air(transmitter: Transmitter, recorder: Recorder) -> AsyncIterator[None]:
    task = asyncio.create_task(transmitter.run())
    watcher = asyncio.create_task(recorder.watch())
    try:
        yield
    finally:
        watcher.cancel()
        task.cancel()
        for t in (watcher, task):
            with contextlib.suppress(asyncio.CancelledError):
                await t
    assert transmitter.status().state == "stopped"
    assert transmitter.status().encoder_pid is None


def _last_sequence(live_dir: Path) -> int:
    playlist = read_live_playlist((live_dir / "main.m3u8").read_text())
    return playlist.segments[-1].sequence


@dataclass
class Broadcast:
    recorder: Recorder
    client: subprocess.CompletedProcess[str]
    root: Path


@pytest.fixture(scope="module")
def broadcast(clips: Clips, tmp_path_factory: pytest.TempPathFactory) -> Broadcast:
    """Items a, b (7 s each) and c (10 s, resumed at 6 s), then the queue runs dry."""
    root = tmp_path_factory.mktemp("broadcast")
    (root / "saved").mkdir()
    recorder = Recorder(root / "live", root / "saved")
    queue = Queue(
        ReadyItem("a", clips.short, 7.0),
        ReadyItem("b", clips.short, 7.0),
        ReadyItem("c", clips.long, 10.0, start_offset_s=6.0),
    )
    transmitter = _transmitter(root, clips, queue, recorder)

    async def scenario() -> subprocess.CompletedProcess[str]:
        async with _on_air(transmitter, recorder):
            await _until(lambda: bool(recorder.of(ItemFinished)), 20, "item a to finish")
            # A client reads the live playlist while items keep switching.
            client = await asyncio.to_thread(
                subprocess.run,
                ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
                 "-i", str(root / "live" / "main.m3u8"), "-t", "4", "-f", "null", "-"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            await _until(lambda: len(recorder.of(ItemFinished)) == 3, 25, "items b and c")
            await _until(lambda: bool(recorder.of(FallbackStarted)), 5, "the reserve loop")
            await asyncio.sleep(2 * TARGET + 0.5)
            recorder.poll()
        return client

    client = asyncio.run(scenario())
    return Broadcast(recorder, client, root)


def test_playlist_keeps_the_live_rules_across_switches(broadcast: Broadcast) -> None:
    recorder = broadcast.recorder
    assert len(recorder.reads) >= 20
    assert recorder.violations() == []
    started = [e.item_id for e in recorder.of(ItemStarted)]
    assert started == ["a", "b", "c"]
    assert [e.reason for e in recorder.of(FallbackStarted)] == ["queue_dry"]
    # Every switch was seen in some read with its marker (a->b, b->c, c->reserve).
    owners = recorder.owners()
    marked = {
        s.sequence for playlist in recorder.reads for s in playlist.segments if s.discontinuity
    }
    firsts = sorted(
        min(seq for seq, owner in owners.items() if owner == item) for item in ("b", "c")
    )
    after_c = max(seq for seq, owner in owners.items() if owner == "c") + 1
    assert {*firsts, after_c} <= marked


def test_every_segment_decodes_and_opens_on_a_keyframe(broadcast: Broadcast) -> None:
    saved = broadcast.recorder.saved
    assert sorted(saved) == list(range(min(saved), max(saved) + 1))  # none missed

    def check(path: Path) -> None:
        decoded = _run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                        "-f", "null", "-"])  # fmt: skip
        assert decoded.stderr == "", f"{path.name}: {decoded.stderr}"
        probe = _run(["ffprobe", "-v", "error", "-select_streams", "v:0",
                      "-show_entries", "packet=flags", "-read_intervals", "%+#1",
                      "-of", "json", str(path)])  # fmt: skip
        packets = json.loads(probe.stdout)["packets"]
        assert packets, f"{path.name}: no video"
        assert packets[0]["flags"].startswith("K"), f"{path.name}: {packets[0]}"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(check, saved.values()))


def test_a_client_plays_the_live_playlist(broadcast: Broadcast) -> None:
    assert broadcast.client.returncode == 0, broadcast.client.stderr
    assert broadcast.client.stderr == ""


def test_resumed_item_airs_from_its_offset(broadcast: Broadcast) -> None:
    recorder = broadcast.recorder
    started = [e for e in recorder.of(ItemStarted) if e.item_id == "c"]
    assert [e.start_offset_s for e in started] == [6.0]
    offsets = [e.offset_s for e in recorder.of(SegmentPublished) if e.item_id == "c"]
    assert offsets == pytest.approx([8.0, 10.0], abs=0.05)
    aired = sum(
        s.duration
        for s in {s.sequence: s for p in recorder.reads for s in p.segments}.values()
        if recorder.owners().get(s.sequence) == "c"
    )
    assert aired == pytest.approx(10.0 - 6.0, abs=0.1)
    # Items a and b aired whole, 2 + 2 + 2 + 1 s.
    a_offsets = [e.offset_s for e in recorder.of(SegmentPublished) if e.item_id == "a"]
    assert a_offsets == pytest.approx([2.0, 4.0, 6.0, 7.0], abs=0.05)


def test_old_segments_leave_the_disk(broadcast: Broadcast) -> None:
    live = broadcast.root / "live"
    on_disk = sorted(int(p.stem.split("_")[1]) for p in live.glob("seg_*.ts"))
    last = read_live_playlist((live / "main.m3u8").read_text())
    listed = [s.sequence for s in last.segments]
    assert max(broadcast.recorder.saved) > WINDOW + KEEP + 5
    # What is listed, plus KEEP beyond the window for clients with an older playlist.
    assert on_disk == list(range(listed[0] - KEEP, listed[-1] + 1))
    assert not (live / "seg_0.ts").exists()
    assert [p.name for p in live.iterdir() if not p.name.startswith("seg_")] == ["main.m3u8"]
    # Nothing is left behind in the work folder but the reserve.
    assert [p.name for p in (broadcast.root / "work" / "items").iterdir()] == []


async def test_dead_encoder_falls_back_within_2s_and_returns(clips: Clips, tmp_path: Path) -> None:
    (tmp_path / "saved").mkdir()
    recorder = Recorder(tmp_path / "live", tmp_path / "saved")
    queue = Queue(ReadyItem("k", clips.long, 10.0))
    transmitter = _transmitter(tmp_path, clips, queue, recorder)
    async with _on_air(transmitter, recorder):
        await _until((tmp_path / "live" / "main.m3u8").exists, 15, "the playlist")
        status = transmitter.status()
        assert status.state == "on_air"
        assert status.current_item_id == "k"
        assert status.encoder_pid is not None
        before = _last_sequence(tmp_path / "live")
        killed_at = time.monotonic()
        os.kill(status.encoder_pid, signal.SIGKILL)

        advanced_at = await _until(
            lambda: _last_sequence(tmp_path / "live") > before, 2 + TARGET, "the reserve loop"
        )
        assert advanced_at - killed_at <= 2.0
        assert [e.reason for e in recorder.of(FallbackStarted)] == ["encoder_died"]
        assert [e.item_id for e in recorder.of(ItemFailed)] == ["k"]
        assert transmitter.status().state in ("fallback", "restarting")
        assert transmitter.status().current_item_id is None
        # The reserve keeps the stream going while the queue is dry.
        await asyncio.sleep(TARGET + 0.5)
        assert _last_sequence(tmp_path / "live") >= before + 2
        status = transmitter.status()
        assert status.state == "fallback"
        assert status.fallback_reason == "encoder_died"
        assert status.segment_age_s is not None and status.segment_age_s <= TARGET + 0.5

        queue.items.append(ReadyItem("r", clips.short, 7.0))
        await _until(
            lambda: transmitter.status().current_item_id == "r", 4 * TARGET + 1, "item r on air"
        )
        status = transmitter.status()
        assert status.state == "on_air"
        assert status.restarts == 1
        assert status.encoder_pid is not None
        (ended,) = recorder.of(FallbackEnded)
        assert ended.reason == "encoder_died"
        assert 0 <= ended.switch_latency_ms <= 2000
        assert ended.duration_s > 0
        recorder.poll()
    assert recorder.violations() == []
    with pytest.raises(ProcessLookupError):  # cancelling the transmitter killed its ffmpeg
        os.kill(status.encoder_pid, 0)

    # A restarted transmitter continues the same playlist: numbers only go forward.
    last_before = recorder.reads[-1]
    restarted = _transmitter(tmp_path, clips, Queue(), recorder)
    async with _on_air(restarted, recorder):
        await _until(
            lambda: _last_sequence(tmp_path / "live") > last_before.segments[-1].sequence + 1,
            2 * TARGET + 1,
            "the restarted stream",
        )
        recorder.poll()
    assert recorder.violations() == []
    assert recorder.reads[-1].media_sequence >= last_before.media_sequence


async def test_emergency_holds_the_reserve_then_hands_back(clips: Clips, tmp_path: Path) -> None:
    (tmp_path / "saved").mkdir()
    recorder = Recorder(tmp_path / "live", tmp_path / "saved")
    queue = Queue(ReadyItem("e", clips.long, 10.0))
    transmitter = _transmitter(tmp_path, clips, queue, recorder)
    async with _on_air(transmitter, recorder):
        await _until((tmp_path / "live" / "main.m3u8").exists, 15, "the playlist")
        before = _last_sequence(tmp_path / "live")
        pulled_at = time.monotonic()
        transmitter.set_emergency(True)
        advanced_at = await _until(
            lambda: _last_sequence(tmp_path / "live") > before, 2 + TARGET, "the reserve loop"
        )
        assert advanced_at - pulled_at <= 2.0
        status = transmitter.status()
        assert (status.state, status.fallback_reason, status.current_item_id) == (
            "fallback",
            "emergency",
            None,
        )
        (interrupted,) = recorder.of(ItemInterrupted)
        assert interrupted.item_id == "e"
        resume_at = interrupted.offset_s
        assert resume_at >= 2.0
        # The queue offers the interrupted item again; nothing airs while the flag is on.
        queue.items.append(ReadyItem("e", clips.long, 10.0, start_offset_s=resume_at))
        await asyncio.sleep(2 * TARGET)
        assert _last_sequence(tmp_path / "live") >= before + 2
        assert len(queue.items) == 1
        assert [e.item_id for e in recorder.of(ItemStarted)] == ["e"]

        transmitter.set_emergency(False)
        await _until(
            lambda: transmitter.status().current_item_id == "e", 4 * TARGET + 1, "item e back"
        )
        (ended,) = recorder.of(FallbackEnded)
        assert ended.reason == "emergency"
        assert ended.switch_latency_ms <= 2000
        resumed = [e for e in recorder.of(ItemStarted) if e.item_id == "e"][-1]
        assert resumed.start_offset_s == resume_at
        recorder.poll()
    assert recorder.violations() == []


async def test_failed_item_is_covered_by_the_reserve_and_the_next_one_airs(
    clips: Clips, tmp_path: Path
) -> None:
    (tmp_path / "saved").mkdir()
    recorder = Recorder(tmp_path / "live", tmp_path / "saved")
    queue = Queue(
        ReadyItem("missing", tmp_path / "missing.mp4", 7.0),
        ReadyItem("good", clips.short, 7.0),
    )
    transmitter = _transmitter(tmp_path, clips, queue, recorder)
    async with _on_air(transmitter, recorder):
        await _until(
            lambda: transmitter.status().current_item_id == "good", 4 * TARGET + 2, "item good"
        )
        recorder.poll()
    (failed,) = recorder.of(ItemFailed)
    assert failed.item_id == "missing"
    assert "status 1" in failed.error
    assert [e.reason for e in recorder.of(FallbackStarted)] == ["item_failed"]
    (ended,) = recorder.of(FallbackEnded)
    assert ended.switch_latency_ms <= 2000
    assert transmitter.status().restarts == 1
