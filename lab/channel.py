"""The running LAB in one process: orchestrator, transmitter, and their ties to the store.

One process per database runs the channel (a named lease); the others stand by and
take over when the lease runs out. The transmitter's events become queue progress,
fallback reports and the snapshot every process reads for the status and alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
import yaml
from sqlalchemy.engine import Connection

from lab.demo import ensure_demo_library, ensure_slate
from lab.ffmpeg import BroadcastProfile
from lab.metrics import LabMetrics
from lab.orchestrator import Orchestrator
from lab.policy import OwnerCard
from lab.realizer import Realizer
from lab.settings import LabSettings
from lab.sources import Source
from lab.sources.factory import build_sources
from lab.stages.prep import prepare
from lab.stages.queue import fail, finish, progress, take_next
from lab.stages.transmitter import (
    FallbackEnded,
    FallbackStarted,
    ItemFailed,
    ItemFinished,
    ItemInterrupted,
    SegmentPublished,
    Transmitter,
    TransmitterEvent,
)
from lab.stages.types import Fetched, ReadyItem
from lab.store.reports import add_report, update_report
from lab.store.state import put_state
from lab.webhook import AlertWebhook
from runtime.store import Database
from runtime.store.leases import lease_holder, release_lease, take_lease, take_over_lease

__all__ = ["Channel", "LabPaths", "configured_sources", "prepared_slate"]

_log = structlog.get_logger(__name__)
_LEASE_S = 30.0  # chosen: a dead channel process is replaced within half a minute
_RENEW_S = 5.0
_MAX_RESUMES = 2  # chosen: an item whose encoder keeps dying is given up after that
_KILLED = re.compile(r"exited with status -\d+")  # asyncio: a negative status is a signal


class LabPaths:
    """Where the LAB keeps its files, under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.media = root / "media"
        self.live = root / "live"
        self.work = root / "work"
        self.demo = root / "demo"
        self.reserve = root / "reserve"


async def configured_sources(settings: LabSettings, paths: LabPaths) -> list[Source]:
    """The sources of ``VVTV_LAB_SOURCES``; the demo library (made now if missing) when unset."""
    if settings.lab_sources is not None:
        configs = yaml.safe_load(settings.lab_sources.read_text(encoding="utf-8")) or []
        if not isinstance(configs, list):
            raise ValueError(f"{settings.lab_sources}: expected a YAML list of sources")
        return build_sources(configs)
    await ensure_demo_library(paths.demo)
    return build_sources([{"name": "demo", "kind": "folder", "path": str(paths.demo)}])


async def prepared_slate(paths: LabPaths, profile: BroadcastProfile) -> Path:
    """The reserve slate in the broadcast shape (made and prepared once per profile)."""
    p = profile
    target = paths.reserve / f"slate-{p.width}x{p.height}-{p.fps}-{p.segment_s}.mp4"
    if await asyncio.to_thread(target.is_file):
        return target
    raw = await ensure_slate(paths.reserve / "slate-source.mp4")
    keyed = Fetched(target.stem, raw, "", raw.stat().st_size)
    prepared = await prepare(keyed, paths.reserve, profile, timeout_s=600)
    return prepared.path


class Channel:
    """Runs the orchestrator and the transmitter while this process holds the LAB lease."""

    def __init__(
        self,
        database: Database,
        settings: LabSettings,
        *,
        policy: OwnerCard,
        profile: BroadcastProfile,
        window_segments: int,
        metrics: LabMetrics,
        sources: Sequence[Source] | None = None,
    ) -> None:
        self.database, self.settings, self.policy = database, settings, policy
        self.profile, self.window_segments, self.metrics = profile, window_segments, metrics
        self.paths = LabPaths(settings.lab_dir)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._sources = sources
        self.orchestrator: Orchestrator | None = None
        self.transmitter: Transmitter | None = None
        self._held: set[str] = set()
        self._episode: tuple[uuid.UUID, dict[str, Any]] | None = None
        self._fallbacks = 0
        self._resumed: dict[str, int] = {}

    async def build(self, *, with_transmitter: bool) -> Orchestrator:
        """Make the orchestrator (and the transmitter) for this process."""
        sources = self._sources
        if sources is None:
            sources = await configured_sources(self.settings, self.paths)
        realizer = Realizer(
            self.database,
            media_dir=self.paths.media,
            profile=self.profile,
            qa_min=self.settings.alert_qa_min,
            observe=self._observe,
            on_qa=self.metrics.qa_scores.observe,
        )
        if with_transmitter:
            self.transmitter = Transmitter(
                live_dir=self.paths.live,
                work_dir=self.paths.work,
                profile=self.profile,
                reserve_clip=await prepared_slate(self.paths, self.profile),
                next_item=self.next_item,
                on_event=self.on_event,
                window_segments=self.window_segments,
            )
        url = self.settings.alert_webhook_url
        self.orchestrator = Orchestrator(
            self.database,
            policy=self.policy,
            sources=sources,
            realizer=realizer,
            lab_dir=self.paths.root,
            thresholds=self.settings.thresholds(),
            segment_dirs=[self.paths.live, self.paths.work],
            nightly_hour=self.settings.nightly_hour,
            discovery_interval_s=self.settings.discovery_interval_s,
            retention_days=self.settings.retention_days,
            transmitter=self.transmitter,
            webhook=AlertWebhook(url, cooldown_s=self.settings.alert_cooldown_secs)
            if url
            else None,
            observe=self._observe,
        )
        return self.orchestrator

    def _observe(self, stage: str, seconds: float) -> None:
        self.metrics.stage_seconds.labels(stage).observe(seconds)

    # -- the transmitter's side ----------------------------------------------------

    async def next_item(self) -> ReadyItem | None:
        """The queue's next item for the transmitter (an interrupted one first)."""
        held = frozenset(self._held)
        item = await self.database.write(lambda conn: take_next(conn, on_air=held))
        if item is not None:
            self._held.add(item.item_id)
        return item

    async def on_event(self, event: TransmitterEvent) -> None:
        """Record what the transmitter did."""
        if isinstance(event, SegmentPublished):
            await self.database.write(lambda conn: progress(conn, event.item_id, event.offset_s))
        elif isinstance(event, ItemFinished):
            self._held.discard(event.item_id)
            await self.database.write(lambda conn: finish(conn, event.item_id))
        elif isinstance(event, ItemFailed):
            self._held.discard(event.item_id)
            if self._resumable(event):
                # Its encoder was killed, not the item broken: it airs on from its offset.
                _log.warning("item_resumes", item_id=event.item_id, error=event.error)
            else:
                await self.database.write(lambda conn: fail(conn, event.item_id, event.error))
        elif isinstance(event, ItemInterrupted):
            self._held.discard(event.item_id)  # still playing, at its offset: resumed later
        elif isinstance(event, FallbackStarted):
            await self._fallback_started(event)
        elif isinstance(event, FallbackEnded):
            await self._fallback_ended(event)
        await self.publish_status()

    def _resumable(self, event: ItemFailed) -> bool:
        """An encoder killed by a signal (not an error in the item) gets its item back, twice."""
        if _KILLED.search(event.error) is None:
            return False
        tries = self._resumed.get(event.item_id, 0)
        self._resumed[event.item_id] = tries + 1
        return tries < _MAX_RESUMES

    async def _fallback_started(self, event: FallbackStarted) -> None:
        self._fallbacks += 1
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "summary": f"Reserve loop on air ({event.reason}).",
            "reason": event.reason,
            "started_at": now.isoformat(),
            "ended_at": None,
            "switch_latency_ms": None,
            "duration_s": None,
        }
        report_id = await self.database.write(lambda conn: add_report(conn, "fallback", body))
        self._episode = (report_id, body)
        _log.warning("fallback_started", reason=event.reason)

    async def _fallback_ended(self, event: FallbackEnded) -> None:
        if self._episode is None:
            return
        report_id, body = self._episode
        self._episode = None
        ended = datetime.now(UTC)
        body = {
            **body,
            "summary": (
                f"Reserve loop for {event.duration_s:.0f} s after {event.reason};"
                f" switched in {event.switch_latency_ms} ms."
            ),
            "ended_at": ended.isoformat(),
            "switch_latency_ms": event.switch_latency_ms,
            "duration_s": round(event.duration_s, 3),
        }
        await self.database.write(lambda conn: update_report(conn, report_id, body))
        _log.info("fallback_ended", reason=event.reason, latency_ms=event.switch_latency_ms)

    async def publish_status(self) -> None:
        """Write the transmitter's snapshot for every process."""
        if self.transmitter is None:
            return
        status = self.transmitter.status()
        last = (
            None
            if status.segment_age_s is None
            else (datetime.now(UTC) - timedelta(seconds=status.segment_age_s)).isoformat()
        )
        value = {
            "state": status.state,
            "fallback_reason": status.fallback_reason,
            "current_item_id": status.current_item_id,
            "media_sequence": status.media_sequence,
            "last_segment_at": last,
            "restarts": status.restarts,
            "fallbacks": self._fallbacks,
            "holder": self.holder,
        }
        await self.database.write(lambda conn: put_state(conn, "transmitter", value))

    # -- the process's side ------------------------------------------------------

    async def _lease(self) -> bool:
        def work(conn: Connection) -> bool:
            if take_lease(conn, "lab", self.holder, _LEASE_S):
                return True
            # A holder on this host whose process is gone (killed, crashed) need not be
            # waited for: the channel is back in seconds, not after the lease runs out.
            holder = lease_holder(conn, "lab")
            if holder is not None and _exited(holder):
                return take_over_lease(conn, "lab", self.holder, holder, _LEASE_S)
            return False

        return await self.database.write(work)

    async def run(self) -> None:
        """Stand by until this process holds the LAB lease, then run the channel until cancelled."""
        while not await self._lease():
            _log.info("lab_standby", holder=self.holder)
            await asyncio.sleep(_RENEW_S * 2)
        _log.info("lab_leader", holder=self.holder)
        orchestrator = await self.build(with_transmitter=True)
        assert self.transmitter is not None
        tasks = [
            asyncio.create_task(self.transmitter.run(), name="lab-transmitter"),
            asyncio.create_task(orchestrator.run_forever(self.settings.tick_s), name="lab-loop"),
            asyncio.create_task(self._keep(), name="lab-lease"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a task that ended by itself ended on an error: raise it
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._stopped()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(_RENEW_S)
            if not await self._lease():
                raise RuntimeError("the LAB lease was lost to another process")
            await self.publish_status()

    async def _stopped(self) -> None:
        def work(conn: Connection) -> None:
            put_state(conn, "transmitter", {"state": "stopped", "holder": self.holder})
            release_lease(conn, "lab", self.holder)

        with contextlib.suppress(Exception):
            await self.database.write(work)


def _exited(holder: str) -> bool:
    """True when ``holder`` (``host:pid:nonce``) names a process of this host that is gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
