"""The LAB's scheduling loop: hourly discovery, the commit window, realizing, nightly, alerts.

Every tick it reads the operator's flags (so a command applies within a tick, and
after a restart), then does what is due: discovery every ``discovery_interval_s``;
planning of the commit window (T-4h) every ``commit_interval_minutes`` of the
OwnerCard, or at once when the plans run out; realizing while the queue is below
its buffer target; the nightly routine at 03:00 local time or when queued; the
curator after each planning; alerts to the webhook. ``run_cycle`` does one of
everything (``VVTV_RUN_ONCE``). At boot nothing is re-planned or re-queued: the
queue, the plans in flight and the flags are the store's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import Connection

from lab.alerts import AlertTracker, Thresholds, evaluate
from lab.observe import measure, read_snapshot
from lab.policy import AiredOrPlanned, OwnerCard
from lab.realizer import Realizer, RealizeTally
from lab.sources import Source
from lab.stages.curator import UpcomingItem, curate
from lab.stages.discovery import discover
from lab.stages.nightly import claim_queued, next_run_at, request_nightly, run_nightly
from lab.stages.planner import plan
from lab.stages.queue import reorder, upcoming
from lab.store.catalog import (
    catalog,
    known_hashes,
    record_discovered,
    record_source_failure,
    record_source_success,
)
from lab.store.flags import read_flags
from lab.store.plans import (
    history,
    insert_plans,
    pending_plans,
    projected_end,
    rejected_hashes,
)
from lab.store.reports import add_report
from lab.store.state import put_state
from lab.webhook import AlertWebhook
from runtime.store import Database

__all__ = ["CycleOutcome", "Orchestrator", "TransmitterControl"]

_log = structlog.get_logger(__name__)
_HISTORY = timedelta(hours=48)  # longer than any variety rule of the OwnerCard
_REALIZE_PER_TICK = 4  # chosen: the loop returns to flags and nightly between items
_STARVED_RETRY_S = 60.0  # chosen


class TransmitterControl(Protocol):
    """What the orchestrator needs of the transmitter."""

    def set_emergency(self, active: bool) -> None:
        """Keep the reserve loop on air while ``active``."""


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """One cycle's counters (also stored as a ``cycle`` report)."""

    discovered: int
    planned: int
    realized: RealizeTally
    discovery_failures: int


class Orchestrator:
    """Drives the stages on their schedule; the transmitter runs beside it."""

    def __init__(
        self,
        database: Database,
        *,
        policy: OwnerCard,
        sources: Sequence[Source],
        realizer: Realizer,
        lab_dir: Path,
        thresholds: Thresholds,
        segment_dirs: Sequence[Path] = (),
        nightly_hour: int = 3,
        discovery_interval_s: float = 3600.0,
        retention_days: int = 7,
        discovery_base_delay_s: float = 2.0,
        transmitter: TransmitterControl | None = None,
        webhook: AlertWebhook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observe: Callable[[str, float], None] = lambda _stage, _seconds: None,
    ) -> None:
        self.database, self.policy, self.sources = database, policy, list(sources)
        self.realizer, self.lab_dir, self.thresholds = realizer, lab_dir, thresholds
        self.segment_dirs = list(segment_dirs)
        self.nightly_hour, self.retention_days = nightly_hour, retention_days
        self.discovery_interval_s = discovery_interval_s
        self.discovery_base_delay_s = discovery_base_delay_s
        self.transmitter, self.webhook, self.clock, self.observe = (
            transmitter,
            webhook,
            clock,
            observe,
        )
        self._tracker = AlertTracker()
        self._last_discovery: float | None = None
        self._last_commit: float | None = None
        self._next_nightly: datetime | None = None
        self._discovering = 0
        self._planning = 0
        self._starved = False
        self._wake = asyncio.Event()
        self._nightly_task: asyncio.Task[None] | None = None

    # -- boot and the loop --------------------------------------------------------

    async def boot(self) -> None:
        """Recover what the store holds and apply the flags before any new work."""
        for sub in ("media", "exports"):
            (self.lab_dir / sub).mkdir(parents=True, exist_ok=True)
        queued = await self.database.read(upcoming)
        pending = await self.database.read(pending_plans)
        _log.info("lab_boot", queued=len(queued), pending_plans=len(pending))
        self._next_nightly = next_run_at(
            self.clock(), hour=self.nightly_hour, zone=self.policy.timezone
        )
        await self.apply_flags()
        await self._publish_progress()

    async def run_forever(self, tick_s: float) -> None:
        """Tick until cancelled; a failing tick is logged and the next one goes on."""
        await self.boot()
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the channel must go on whatever one tick hit
                _log.exception("lab_tick_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=tick_s)

    def wake(self) -> None:
        """Run the next tick now (an operator command arrived)."""
        self._wake.set()

    async def on_command(self, _command: str) -> None:
        """Apply a command given in this process at once."""
        await self.apply_flags()
        self.wake()

    async def tick(self) -> None:
        """Do whatever is due now."""
        flags = await self.apply_flags()
        now_s = time.monotonic()
        await self._maybe_nightly()
        if not flags["discovery_paused"] and (
            self._last_discovery is None
            or now_s - self._last_discovery >= self.discovery_interval_s
        ):
            await self.discover_once()
        interval = self.policy.schedule.commit_interval_minutes * 60
        out_of_plans = not await self.database.read(
            lambda conn: pending_plans(conn, until=self._commit_until())
        )
        # Out of plans, plan at once; but after a window that could not be filled, wait a
        # while (new discoveries, or items leaving the variety rules' reach, change that).
        starved_wait = self._starved and now_s - (self._last_commit or 0) < _STARVED_RETRY_S
        if not flags["planner_paused"] and (
            self._last_commit is None
            or now_s - self._last_commit >= interval
            or (out_of_plans and not starved_wait)
        ):
            await self.plan_once()
            await self.curate_once(frozen=flags["queue_frozen"])
        if not flags["realizer_paused"]:
            await self.realize_once(max_items=_REALIZE_PER_TICK)
        await self.check_alerts()

    async def run_cycle(
        self, *, trigger: str = "run_once", force_nightly: bool = False
    ) -> CycleOutcome:
        """One full cycle (discovery, planning, realizing), reported; then the nightly if forced."""
        started, t0 = self.clock(), time.monotonic()
        await self.boot()
        flags = await self.database.read(read_flags)
        discovered, failures = (0, 0)
        if not flags["discovery_paused"].active:
            discovered, failures = await self.discover_once()
        planned = 0
        if not flags["planner_paused"].active:
            planned = await self.plan_once()
            await self.curate_once(frozen=flags["queue_frozen"].active)
        tally = RealizeTally()
        if not flags["realizer_paused"].active:
            tally = await self.realize_once(max_items=10_000)
        outcome = CycleOutcome(discovered, planned, tally, failures)
        await self._cycle_report(outcome, started, trigger, time.monotonic() - t0)
        if force_nightly:
            run = await self.database.write(
                lambda conn: request_nightly(conn, forced=True, reason="VVTV_FORCE_NIGHTLY")
            )
            _log.info("nightly_forced", run_id=str(run.run_id), coalesced=run.coalesced)
            await self._run_claimed()
        await self.check_alerts()
        return outcome

    # -- flags ------------------------------------------------------------------

    async def apply_flags(self) -> dict[str, bool]:
        """Read the flags and hand the emergency flag to the transmitter."""
        flags = await self.database.read(read_flags)
        active = {name: flag.active for name, flag in flags.items()}
        if self.transmitter is not None:
            self.transmitter.set_emergency(active["emergency"])
        return active

    # -- stages -----------------------------------------------------------------

    async def discover_once(self) -> tuple[int, int]:
        """Ask every source; record new items once and each source's health."""
        self._last_discovery = time.monotonic()
        self._discovering += 1
        await self._publish_progress()
        started = time.monotonic()
        try:
            known = await self.database.read(known_hashes)
            result = await discover(
                self.sources, known=known, base_delay_s=self.discovery_base_delay_s
            )

            def record(conn: Connection) -> tuple[int, list[tuple[str, int]]]:
                new = record_discovered(conn, result.new_items)
                counts = []
                for source in self.sources:
                    outcome = result.outcome(source.name)
                    if outcome.ok:
                        record_source_success(conn, source.name)
                    else:
                        error = getattr(outcome, "error", "failed")
                        counts.append(
                            (source.name, record_source_failure(conn, source.name, error))
                        )
                return new, counts

            new, failed = await self.database.write(record)
        finally:
            self._discovering -= 1
            self.observe("discovery", time.monotonic() - started)
        for name, count in failed:
            _log.warning("discovery_source_failed", source=name, failures_in_a_row=count)
        _log.info("discovery_done", new=new, failed_sources=len(failed))
        await self._publish_progress()
        return new, len(failed)

    def _commit_until(self) -> datetime:
        return self.clock() + self.policy.schedule.commit_window

    async def plan_once(self) -> int:
        """Plan the commit window from where the queue and plans end; returns plans added."""
        self._last_commit = time.monotonic()
        now = self.clock()
        window_end = self._commit_until()
        window_start = await self.database.read(lambda conn: projected_end(conn, now=now))
        if window_start >= window_end:
            return 0
        self._planning += 1
        started = time.monotonic()
        try:
            rejected = await self.database.read(rejected_hashes)
            items = [i for i in await self.database.read(catalog) if i.content_hash not in rejected]
            past = await self.database.read(lambda conn: history(conn, since=now - _HISTORY))
            seen = [AiredOrPlanned(h, s, at) for h, s, at in past]
            result = plan(
                items,
                seen,
                self.policy,
                window_start=window_start,
                window_end=window_end,
                seed=f"{self.policy.version}:{window_start.isoformat()}",
            )
            slots = [(slot.plan, slot.slot_end) for slot in result.slots]
            added = await self.database.write(lambda conn: insert_plans(conn, slots))
        finally:
            self._planning -= 1
            self.observe("planner", time.monotonic() - started)
        for slot in result.slots:
            _log.info(
                "planned", plan_id=slot.plan.plan_id, title=slot.plan.title, reason=slot.plan.reason
            )
        self._starved = result.starved
        if result.starved:
            rules: dict[str, int] = {}
            for rejection in result.rejected:
                rules[rejection.rule] = rules.get(rejection.rule, 0) + 1
            _log.warning(
                "planner_starved",
                filled_until=result.filled_until.isoformat(),
                candidates=len(items),
                rejected_by=rules,
            )
        return added

    async def curate_once(self, *, frozen: bool) -> None:
        """Score and, in apply mode, reorder the ready items; advice mode only logs."""
        entries = await self.database.read(upcoming)
        if len(entries) < 2:
            return
        items = [
            UpcomingItem(e.item_id, e.content_hash, e.source, e.duration_s, e.title)
            for e in entries
        ]
        decision = curate(items, self.policy, self.clock(), frozen=frozen)
        if decision.changed:
            _log.info(
                "curator",
                mode=decision.mode,
                moves=[
                    f"{m.item_id} {m.from_index}->{m.to_index}: {m.reason}" for m in decision.moves
                ],
                note=decision.note,
            )
        if decision.applied and decision.changed and not frozen:
            await self.database.write(lambda conn: reorder(conn, decision.order))

    async def realize_once(self, *, max_items: int) -> RealizeTally:
        """Realize committed plans while the buffer is below the OwnerCard's target."""
        try:
            return await self.realizer.fill(
                target_minutes=self.policy.schedule.queue_buffer_target_minutes,
                until=self._commit_until(),
                max_items=max_items,
            )
        finally:
            await self._publish_progress()

    # -- nightly, alerts, reports ------------------------------------------------

    async def _maybe_nightly(self) -> None:
        now = self.clock()
        if self._next_nightly is not None and now >= self._next_nightly:
            self._next_nightly = next_run_at(now, hour=self.nightly_hour, zone=self.policy.timezone)
            await self.database.write(lambda conn: request_nightly(conn, forced=False, reason=None))
        if self._nightly_task is None or self._nightly_task.done():
            self._nightly_task = asyncio.create_task(self._run_claimed())

    async def _run_claimed(self) -> None:
        claimed = await self.database.write(claim_queued)
        if claimed is None:
            return
        run_id, forced = claimed
        started = time.monotonic()
        await run_nightly(
            self.database,
            run_id,
            forced=forced,
            lab_dir=self.lab_dir,
            media_dirs=[self.realizer.prepared, self.realizer.downloads],
            segment_dirs=self.segment_dirs,
            retention_days=self.retention_days,
        )
        self.observe("nightly", time.monotonic() - started)

    async def check_alerts(self) -> list[Any]:
        """Evaluate the alerts and tell the webhook what changed."""
        snap = await self.database.read(read_snapshot)
        alerts = self._tracker.track(evaluate(measure(snap), self.thresholds, now=snap.now))
        if self.webhook is not None:
            await self.webhook.notify(alerts)
        return alerts

    async def _cycle_report(
        self, outcome: CycleOutcome, started: datetime, trigger: str, seconds: float
    ) -> None:
        t = outcome.realized
        body = {
            "summary": (
                f"Cycle done; {outcome.discovered} discovered, {outcome.planned} planned,"
                f" {t.queued} queued, {t.qa_rejected} QA rejection(s)."
            ),
            "started_at": started.isoformat(),
            "trigger": trigger,
            "discovered": outcome.discovered,
            "planned": outcome.planned,
            "fetched": t.fetched,
            "prepared": t.prepared,
            "qa_passed": t.qa_passed,
            "qa_rejected": t.qa_rejected,
            "queued": t.queued,
            "failures": t.failures + outcome.discovery_failures,
            "duration_ms": int(seconds * 1000),
        }
        await self.database.write(lambda conn: add_report(conn, "cycle", body))

    async def _publish_progress(self) -> None:
        value = {
            "planner": self._planning,
            "realizer": self.realizer.in_progress,
            "discovery": self._discovering,
        }
        await self.database.write(lambda conn: put_state(conn, "in_progress", value))
