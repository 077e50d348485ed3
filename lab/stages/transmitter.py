"""The LAB transmitter: one continuous live HLS stream across queue items, never dark.

Each queue item is cut into HLS segments by its own ffmpeg (``-re``, ``-c copy``)
in a private work folder. A pacer publishes those segments into ``live_dir`` under
global names (``seg_<n>.ts``) and rewrites ``main.m3u8`` atomically: a segment is
due when the previous one has played out. The next item's ffmpeg starts a few
segments before the current one ends, so switches cost nothing but an
``EXT-X-DISCONTINUITY``.

When there is nothing to publish (the queue is dry, an item fails, an encoder dies
or stalls, or the operator turns the emergency loop on) the pacer publishes the
reserve loop instead: a clip cut into segments once at start, so falling back
needs no process to be alive. It returns to the queue as soon as an item is ready
(and the emergency is off). Progress is reported as events so the orchestrator can
resume an item after a restart without losing or repeating anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeAlias

import structlog

from lab.ffmpeg.argv import BroadcastProfile
from lab.hls.rules import read_live_playlist
from lab.hls.writer import LivePlaylistWriter, write_text_atomic
from lab.stages.reserve import ReserveLoop, ReserveSegment, prepare_reserve, read_muxer_playlist
from lab.stages.transmitter_argv import MUXER_PLAYLIST, aligned_offset, item_segments_argv
from lab.stages.types import ReadyItem

__all__ = [
    "FallbackEnded",
    "FallbackReason",
    "FallbackStarted",
    "ItemFailed",
    "ItemFinished",
    "ItemInterrupted",
    "ItemStarted",
    "SegmentPublished",
    "Transmitter",
    "TransmitterEvent",
    "TransmitterState",
    "TransmitterStatus",
]

FallbackReason: TypeAlias = Literal["queue_dry", "item_failed", "encoder_died", "emergency"]
TransmitterState: TypeAlias = Literal["starting", "on_air", "fallback", "restarting", "stopped"]

_log = structlog.get_logger(__name__)
_STDERR_TAIL_LINES = 10
# An item with less than this left after its aligned offset has nothing to air.
_NOTHING_LEFT_S = 0.05


@dataclass(frozen=True, slots=True)
class ItemStarted:
    """The first segment of an item is on air; it starts at ``start_offset_s`` (a keyframe)."""

    item_id: str
    start_offset_s: float


@dataclass(frozen=True, slots=True)
class SegmentPublished:
    """A segment of an item is on air; the item has aired up to ``offset_s`` (resume there)."""

    item_id: str
    offset_s: float
    sequence: int
    uri: str


@dataclass(frozen=True, slots=True)
class ItemFinished:
    """The last segment of an item is on air."""

    item_id: str


@dataclass(frozen=True, slots=True)
class ItemFailed:
    """An item could not be aired to its end; it aired up to its last ``SegmentPublished``."""

    item_id: str
    error: str


@dataclass(frozen=True, slots=True)
class ItemInterrupted:
    """An item was taken off air (emergency loop); it aired up to ``offset_s``."""

    item_id: str
    offset_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class FallbackStarted:
    """The reserve loop is going on air."""

    reason: FallbackReason


@dataclass(frozen=True, slots=True)
class FallbackEnded:
    """A queue item is back on air after a fallback episode.

    ``switch_latency_ms``: from the cause (the failure, or the moment a segment was
    due and none was there) to the first reserve segment published. ``duration_s``:
    from that first reserve segment to the return.
    """

    reason: FallbackReason
    switch_latency_ms: int
    duration_s: float


TransmitterEvent: TypeAlias = (
    ItemStarted
    | SegmentPublished
    | ItemFinished
    | ItemFailed
    | ItemInterrupted
    | FallbackStarted
    | FallbackEnded
)


@dataclass(frozen=True, slots=True)
class TransmitterStatus:
    """What the transmitter is doing now (the control API's ``TransmitterState``)."""

    state: TransmitterState
    fallback_reason: FallbackReason | None
    segment_age_s: float | None
    current_item_id: str | None
    media_sequence: int | None
    restarts: int
    encoder_pid: int | None


@dataclass(slots=True)
class _Episode:
    """One stay on the reserve loop."""

    reason: FallbackReason
    cause_at: float
    first_at: float | None = None
    latency_ms: int | None = None


class _Encoder:
    """One item's ffmpeg and the segments it has listed so far."""

    def __init__(
        self,
        item: ReadyItem,
        folder: Path,
        process: asyncio.subprocess.Process,
        start_s: float,
        started_at: float,
    ) -> None:
        self.item, self.folder, self.process = item, folder, process
        self.start_s, self.started_at = start_s, started_at
        self.aired_s = 0.0
        self.consumed = 0
        self.exited_at: float | None = None
        self._segments: tuple[ReserveSegment, ...] = ()
        self._stamp: tuple[int, int] | None = None
        self._waiter = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        await self.process.wait()
        self.exited_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def failed(self) -> bool:
        return self.returncode is not None and self.returncode != 0

    @property
    def offset_s(self) -> float:
        """How far into the item it has aired."""
        return self.start_s + self.aired_s

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.item.duration_s - self.offset_s)

    def next_segment(self) -> ReserveSegment | None:
        """The next complete segment not yet aired, if the muxer has listed one."""
        self._refresh()
        return self._segments[self.consumed] if self.consumed < len(self._segments) else None

    @property
    def finished(self) -> bool:
        """Exited cleanly and every segment it cut has aired."""
        if self.returncode != 0:
            return False
        self._refresh()
        return self.consumed >= len(self._segments)

    def _refresh(self) -> None:
        # Re-parse only when the muxer rewrote its playlist (it renames a new one in).
        try:
            stat = (self.folder / MUXER_PLAYLIST).stat()
        except FileNotFoundError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            self._segments = read_muxer_playlist(self.folder)

    def stderr_tail(self) -> str:
        try:
            text = (self.folder / "ffmpeg.log").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.strip().splitlines()[-_STDERR_TAIL_LINES:])

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def close(self) -> None:
        """Kill it if alive, reap it, and drop its folder (aired files live on as links)."""
        self.kill()
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        self._waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._waiter
        shutil.rmtree(self.folder, ignore_errors=True)


class Transmitter:
    """Publishes queue items, or the reserve loop, as one live HLS stream in ``live_dir``."""

    def __init__(
        self,
        *,
        live_dir: Path,
        work_dir: Path,
        profile: BroadcastProfile,
        reserve_clip: Path,
        next_item: Callable[[], Awaitable[ReadyItem | None]],
        on_event: Callable[[TransmitterEvent], Awaitable[None]],
        window_segments: int = 6,
        keep_after_window: int = 3,
        switch_grace_s: float = 1.0,
        poll_s: float = 0.1,
        queue_poll_s: float = 0.5,
        lookahead_s: float | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        startup_timeout_s: float | None = None,
        clock: Callable[[], float] = time.time,
        ffmpeg_binary: str = "ffmpeg",
        playlist_name: str = "main.m3u8",
    ) -> None:
        if switch_grace_s <= 0 or poll_s <= 0 or queue_poll_s <= 0:
            raise ValueError("grace and poll intervals must be positive")
        self._live_dir, self._work_dir = live_dir, work_dir
        self._profile = profile
        self._reserve_clip = reserve_clip
        self._next_item, self._on_event = next_item, on_event
        self._window_segments, self._keep_after_window = window_segments, keep_after_window
        self._grace_s, self._poll_s, self._queue_poll_s = switch_grace_s, poll_s, queue_poll_s
        # Start the next item's ffmpeg this long before the current one ends: it needs
        # one segment's time to cut its first segment, plus a margin.
        self._lookahead_s = 3.0 * profile.segment_s if lookahead_s is None else lookahead_s
        self._backoff_initial_s, self._backoff_max_s = backoff_initial_s, backoff_max_s
        self._startup_timeout_s = (
            2.0 * profile.segment_s + 5.0 if startup_timeout_s is None else startup_timeout_s
        )
        self._clock = clock
        self._binary = ffmpeg_binary
        self._playlist_path = live_dir / playlist_name
        self._writer = LivePlaylistWriter(
            target_duration=profile.segment_s,
            window_segments=window_segments,
            keep_after_window=keep_after_window,
        )
        self._reserve: ReserveLoop | None = None
        self._current: _Encoder | None = None
        self._pending: _Encoder | None = None
        self._episode: _Episode | None = None
        self._due: float | None = None
        self._published_any = False
        self._last_published_wall: float | None = None
        self._emergency = False
        self._emergency_at = 0.0
        self._failures = 0
        self._restarts = 0
        self._next_fetch_at = 0.0
        self._backoff_until = 0.0
        self._recent_failure: FallbackReason | None = None
        self._folders = itertools.count()
        self._running = False
        self._stopped = False

    def set_emergency(self, active: bool) -> None:
        """Hold the reserve loop on air (now) until called with False."""
        if active and not self._emergency:
            self._emergency_at = time.monotonic()
        self._emergency = active

    def status(self) -> TransmitterStatus:
        """A snapshot for the control API."""
        episode = self._episode
        state: TransmitterState
        if self._stopped:
            state = "stopped"
        elif episode is not None:
            recovering = self._pending is not None or time.monotonic() < self._backoff_until
            failed = episode.reason in ("encoder_died", "item_failed")
            state = "restarting" if failed and recovering and not self._emergency else "fallback"
        elif not self._published_any:
            state = "starting"
        else:
            state = "on_air"
        reason: FallbackReason | None = None
        if state == "fallback" and episode is not None:
            reason = "emergency" if self._emergency else episode.reason
        encoder = self._current or self._pending
        age = (
            None
            if self._last_published_wall is None
            else max(0.0, self._clock() - self._last_published_wall)
        )
        return TransmitterStatus(
            state=state,
            fallback_reason=reason,
            segment_age_s=age,
            current_item_id=self._current.item.item_id if self._current else None,
            media_sequence=self._writer.media_sequence,
            restarts=self._restarts,
            encoder_pid=encoder.pid if encoder else None,
        )

    async def run(self) -> None:
        """Broadcast until cancelled; cancelling kills every ffmpeg it started."""
        if self._running:
            raise RuntimeError("the transmitter is already running")
        self._running, self._stopped = True, False
        try:
            await self._start()
            while True:
                await self._tick(time.monotonic())
                await asyncio.sleep(self._poll_s)
        finally:
            for encoder in (self._current, self._pending):
                if encoder is not None:
                    await encoder.close()
            self._current = self._pending = None
            self._running, self._stopped = False, True

    async def _start(self) -> None:
        self._live_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self._work_dir / "items", ignore_errors=True)
        (self._work_dir / "items").mkdir(parents=True)
        self._writer = self._restore_writer()
        if self._writer.segments:
            self._published_any = True  # the next segment follows an earlier run: a switch
        self._reserve = await prepare_reserve(
            self._reserve_clip, self._work_dir / "reserve", self._profile, binary=self._binary
        )
        _log.info("transmitter_started", reserve_s=round(self._reserve.duration_s, 3))

    def _restore_writer(self) -> LivePlaylistWriter:
        """Continue the playlist a previous run left, so media sequence never goes back."""
        writer = LivePlaylistWriter(
            target_duration=self._profile.segment_s,
            window_segments=self._window_segments,
            keep_after_window=self._keep_after_window,
        )
        try:
            text = self._playlist_path.read_text(encoding="utf-8")
            previous = read_live_playlist(text)
            if previous.target_duration == self._profile.segment_s:
                writer = LivePlaylistWriter.resume(
                    text,
                    target_duration=self._profile.segment_s,
                    window_segments=self._window_segments,
                    keep_after_window=self._keep_after_window,
                )
            else:
                # A new target makes clients reload; the numbers still only go forward.
                writer = LivePlaylistWriter(
                    target_duration=self._profile.segment_s,
                    window_segments=self._window_segments,
                    keep_after_window=self._keep_after_window,
                    first_sequence=previous.media_sequence + len(previous.segments),
                    discontinuity_sequence=previous.discontinuity_sequence
                    + sum(1 for segment in previous.segments if segment.discontinuity),
                )
        except FileNotFoundError:
            pass
        except ValueError as exc:
            _log.warning("live_playlist_not_restored", error=str(exc))
        listed = {segment.uri for segment in writer.segments}
        for stale in self._live_dir.glob("seg_*.ts"):
            if stale.name not in listed:
                stale.unlink(missing_ok=True)
        return writer

    async def _tick(self, now: float) -> None:
        await self._watch_encoders(now)
        await self._fetch(now)
        if self._due is None or now >= self._due:
            await self._publish_due(now)

    async def _watch_encoders(self, now: float) -> None:
        if self._emergency:
            await self._cut_for_emergency(now)
        current = self._current
        if current is not None and current.failed:
            self._current = None
            died = (current.returncode or 0) < 0
            reason: FallbackReason = "encoder_died" if died else "item_failed"
            await self._fail(
                current, f"ffmpeg exited with status {current.returncode}", now, reason
            )
            await self._enter_fallback(reason, current.exited_at or now, now)
        pending = self._pending
        if pending is None:
            return
        error: str | None = None
        cause: FallbackReason = "item_failed"
        if pending.failed:
            error = f"ffmpeg exited with status {pending.returncode}"
            cause = "encoder_died" if (pending.returncode or 0) < 0 else "item_failed"
        elif pending.returncode == 0 and pending.next_segment() is None:
            error = "ffmpeg cut no segment"
        elif now - pending.started_at > self._startup_timeout_s and pending.next_segment() is None:
            error, cause = f"no segment within {self._startup_timeout_s:g} s", "encoder_died"
        if error is not None:
            self._pending = None
            await self._fail(pending, error, now, cause)

    async def _cut_for_emergency(self, now: float) -> None:
        """Take every item off air now; the queue keeps them (they resume at their offset)."""
        for encoder, offset in (
            (self._current, self._current.offset_s if self._current else 0.0),
            (self._pending, self._pending.item.start_offset_s if self._pending else 0.0),
        ):
            if encoder is None:
                continue
            await encoder.close()
            _log.info("item_interrupted", item_id=encoder.item.item_id, offset_s=offset)
            await self._emit(ItemInterrupted(encoder.item.item_id, offset, "emergency"))
        self._current = self._pending = None
        await self._enter_fallback("emergency", self._emergency_at, now)

    async def _fetch(self, now: float) -> None:
        """Ask the queue for the next item when one should be getting ready."""
        if self._emergency or self._pending is not None or now < self._next_fetch_at:
            return
        current = self._current
        if (
            current is not None
            and current.returncode is None
            and current.remaining_s > self._lookahead_s
        ):
            return
        try:
            item = await self._next_item()
        except Exception as exc:  # the queue's trouble must not take the broadcast down
            _log.warning("next_item_failed", error=repr(exc))
            item = None
        if item is None:
            self._next_fetch_at = now + self._queue_poll_s
            return
        start_s = aligned_offset(item.start_offset_s, self._profile)
        if item.duration_s - start_s < _NOTHING_LEFT_S:
            _log.info("item_already_aired", item_id=item.item_id, offset_s=start_s)
            await self._emit(ItemFinished(item.item_id))
            return
        folder = self._work_dir / "items" / f"item_{next(self._folders):06d}"
        folder.mkdir(parents=True)
        argv = item_segments_argv(
            item.path, folder, self._profile, start_offset_s=start_s, binary=self._binary
        )
        if self._failures:
            self._restarts += 1
        try:
            with (folder / "ffmpeg.log").open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=log,
                )
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            _log.error("encoder_not_started", item_id=item.item_id, error=str(exc))
            await self._emit(ItemFailed(item.item_id, f"ffmpeg could not start: {exc}"))
            self._note_failure(now, "encoder_died")
            return
        self._pending = _Encoder(item, folder, process, start_s, now)
        _log.info("encoder_started", item_id=item.item_id, pid=process.pid, offset_s=start_s)

    async def _publish_due(self, now: float) -> None:
        current = self._current
        if current is not None:
            segment = current.next_segment()
            if segment is not None:
                await self._publish_item(current, segment, now)
                return
            if current.finished:
                await self._finish(current)
            elif self._due is not None and now < self._due + self._grace_s:
                return  # it may still make it
            else:
                # Alive but silent past its due time: as good as dead for the viewers.
                self._current = None
                await self._fail(
                    current, "stalled: no segment when one was due", now, "encoder_died"
                )
                await self._enter_fallback("encoder_died", self._due or now, now)
        pending = self._pending
        if pending is not None and not self._emergency:
            segment = pending.next_segment()
            if segment is not None:
                self._current, self._pending = pending, None
                await self._end_fallback(now)
                await self._publish_item(pending, segment, now)
                return
        if self._episode is None:
            if pending is not None and (self._due is None or now < self._due + self._grace_s):
                return  # the next item is on its way
            # Nothing to air: the queue had nothing, unless an item just failed to start.
            await self._enter_fallback(self._recent_failure or "queue_dry", self._due or now, now)
        await self._publish_reserve(now)

    async def _publish_item(self, encoder: _Encoder, segment: ReserveSegment, now: float) -> None:
        item_id = encoder.item.item_id
        if round(segment.duration) > self._profile.segment_s:
            self._current = None
            error = f"a {segment.duration:.3f} s segment is over the target"
            await self._fail(encoder, error, now, "item_failed")
            await self._enter_fallback("item_failed", now, now)
            await self._publish_reserve(now)
            return
        first = encoder.consumed == 0
        sequence, uri = self._publish(segment, discontinuity=first, now=now)
        encoder.consumed += 1
        encoder.aired_s += segment.duration
        self._failures, self._recent_failure = 0, None
        if first:
            _log.info("item_on_air", item_id=item_id, offset_s=encoder.start_s, sequence=sequence)
            await self._emit(ItemStarted(item_id, encoder.start_s))
        await self._emit(SegmentPublished(item_id, round(encoder.offset_s, 3), sequence, uri))
        if encoder.finished:
            await self._finish(encoder)

    async def _publish_reserve(self, now: float) -> None:
        assert self._reserve is not None  # prepared by _start before the first tick
        segment, wrapped = self._reserve.next()
        self._publish(segment, discontinuity=wrapped, now=now)
        episode = self._episode
        if episode is not None and episode.first_at is None:
            episode.first_at = now
            episode.latency_ms = max(0, round((now - episode.cause_at) * 1000))
            _log.info("reserve_on_air", reason=episode.reason, switch_latency_ms=episode.latency_ms)

    def _publish(
        self, segment: ReserveSegment, *, discontinuity: bool, now: float
    ) -> tuple[int, str]:
        """Put one segment on air: file under its global name, then the playlist, then cleanup."""
        sequence, uri = self._writer.next_sequence, self._writer.next_uri
        target = self._live_dir / uri
        target.unlink(missing_ok=True)
        try:
            target.hardlink_to(segment.path)
        except OSError:
            # Another filesystem: copy under a hidden name, then rename into place.
            temp = self._live_dir / f".{uri}.tmp"
            shutil.copyfile(segment.path, temp)
            temp.replace(target)
        wall = self._clock()
        expired = self._writer.append(
            segment.duration,
            datetime.fromtimestamp(wall, UTC),
            discontinuity=discontinuity and self._published_any,
        )
        if self._writer.ready:
            write_text_atomic(self._playlist_path, self._writer.render())
        for name in expired:
            (self._live_dir / name).unlink(missing_ok=True)
        self._published_any = True
        self._last_published_wall = wall
        # Tick jitter is not carried into the schedule; a real delay (a late
        # segment) moves the schedule, since that time has passed for the viewers.
        base = now if self._due is None else max(self._due, now - self._poll_s)
        self._due = base + segment.duration
        return sequence, uri

    async def _finish(self, encoder: _Encoder) -> None:
        if self._current is encoder:
            self._current = None
        await encoder.close()
        _log.info("item_finished", item_id=encoder.item.item_id)
        await self._emit(ItemFinished(encoder.item.item_id))

    async def _fail(
        self, encoder: _Encoder, error: str, now: float, reason: FallbackReason
    ) -> None:
        tail = encoder.stderr_tail()
        await encoder.close()
        detail = f"{error}: {tail}" if tail else error
        _log.error(
            "item_failed", item_id=encoder.item.item_id, offset_s=encoder.offset_s, error=detail
        )
        await self._emit(ItemFailed(encoder.item.item_id, detail))
        self._note_failure(now, reason)

    def _note_failure(self, now: float, reason: FallbackReason) -> None:
        self._failures += 1
        self._recent_failure = reason
        delay = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (self._failures - 1))
        self._backoff_until = now + delay
        self._next_fetch_at = max(self._next_fetch_at, self._backoff_until)

    async def _enter_fallback(self, reason: FallbackReason, cause_at: float, now: float) -> None:
        if self._episode is not None:
            return  # already on the reserve loop; the episode keeps its first reason
        pending = self._pending
        if not self._emergency and pending is not None and pending.next_segment() is not None:
            # The next item is already cut: switch to it now, no reserve needed.
            self._due = now if self._due is None else min(self._due, now)
            return
        assert self._reserve is not None
        self._episode = _Episode(reason, cause_at)
        self._reserve.rewind()
        # A failure is covered now, not when the lost segment would have been due.
        self._due = now if self._due is None else min(self._due, now)
        _log.warning("fallback_started", reason=reason)
        await self._emit(FallbackStarted(reason))

    async def _end_fallback(self, now: float) -> None:
        episode, self._episode = self._episode, None
        if episode is None:
            return
        first_at = episode.first_at if episode.first_at is not None else now
        duration_s = round(now - first_at, 3)
        latency_ms = episode.latency_ms or 0
        _log.info(
            "fallback_ended",
            reason=episode.reason,
            switch_latency_ms=latency_ms,
            duration_s=duration_s,
        )
        await self._emit(FallbackEnded(episode.reason, latency_ms, duration_s))

    async def _emit(self, event: TransmitterEvent) -> None:
        try:
            await self._on_event(event)
        except Exception as exc:  # a listener's failure must not stop the broadcast
            _log.error("transmitter_event_not_delivered", event=repr(event), error=repr(exc))
