"""The realizer: committed plans become queue items (fetch, prep, QA), until the buffer target.

A plan that fails to fetch or prepare is marked ``failed``; one QA rejects is marked
``rejected`` with its report; either way the next plan takes its place, so a bad item
never blocks the queue. Prepared media is kept per content hash and profile, so an
item planned again is queued without being fetched and prepared again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from lab.ffmpeg import BroadcastProfile, FfmpegError
from lab.stages.fetcher import FetchError, fetch
from lab.stages.prep import PrepError, prepare
from lab.stages.qa import inspect
from lab.stages.queue import enqueue, snapshot
from lab.stages.types import Fetched, Plan, QaVerdict
from lab.store.plans import advance, pending_plans, rejected_hashes
from lab.store.reports import add_report
from lab.store.tables import lab_items
from runtime.store import Database

__all__ = ["RealizeTally", "Realizer"]

_log = structlog.get_logger(__name__)


@dataclass
class RealizeTally:
    """What one realizer run did (the cycle report's counters)."""

    fetched: int = 0
    prepared: int = 0
    qa_passed: int = 0
    qa_rejected: int = 0
    queued: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)


class Realizer:
    """Turns plans into ready queue items."""

    def __init__(
        self,
        database: Database,
        *,
        media_dir: Path,
        profile: BroadcastProfile,
        qa_min: float,
        observe: Callable[[str, float], None] = lambda _stage, _seconds: None,
        on_qa: Callable[[float], None] = lambda _score: None,
        fetch_stage: Callable[..., Awaitable[Fetched]] = fetch,
    ) -> None:
        self.database, self.profile, self.qa_min = database, profile, qa_min
        self.downloads = media_dir / "downloads"
        self.prepared = media_dir / "prepared"
        self.observe, self.on_qa, self._fetch = observe, on_qa, fetch_stage
        self.in_progress = 0

    def _cached(self, content_hash: str) -> Path:
        p = self.profile
        return self.prepared / f"{content_hash[:32]}-{p.width}x{p.height}-{p.fps}-{p.segment_s}.mp4"

    async def fill(self, *, target_minutes: float, until: datetime, max_items: int) -> RealizeTally:
        """Realize plans starting before ``until`` while the buffer is below ``target_minutes``."""
        tally = RealizeTally()
        for _ in range(max_items):
            queued = await self.database.read(snapshot)
            if queued.buffer_minutes >= target_minutes:
                break
            plans, rejected = await self.database.read(
                lambda conn: (pending_plans(conn, until=until), rejected_hashes(conn))
            )
            if not plans:
                break
            self.in_progress += 1
            try:
                await self.realize(plans[0], tally, rejected=rejected)
            finally:
                self.in_progress -= 1
        return tally

    async def realize(
        self, plan: Plan, tally: RealizeTally, *, rejected: frozenset[str] | set[str] = frozenset()
    ) -> bool:
        """Fetch, prepare, inspect and queue one plan; ``False`` when it was given up."""
        log = _log.bind(plan_id=plan.plan_id, title=plan.title)
        if plan.content_hash in rejected:
            # Planned before QA rejected the same content: replaced without another try.
            return await self._give_up(plan, "failed", "content rejected by QA before", tally)
        cached = self._cached(plan.content_hash)
        if await asyncio.to_thread(cached.is_file):
            duration = await self._duration_of(plan.content_hash)
            if duration is not None:
                await self._queue(plan, cached, duration, None)
                tally.queued += 1
                log.info("plan_queued", reused=True)
                return True
        try:
            started = time.monotonic()
            fetched = await self._fetch(plan, self.downloads)
            self.observe("fetch", time.monotonic() - started)
            tally.fetched += 1
            await self.database.write(
                lambda conn: advance(conn, plan.plan_id, "fetched", fetched_path=str(fetched.path))
            )
            started = time.monotonic()
            keyed = Fetched(cached.stem, fetched.path, fetched.sha256, fetched.size_bytes)
            prepared = await prepare(
                keyed, self.prepared, self.profile, timeout_s=_deadline(fetched)
            )
            self.observe("prep", time.monotonic() - started)
            tally.prepared += 1
        except (FetchError, PrepError, FfmpegError, OSError) as exc:
            return await self._give_up(plan, "failed", f"{type(exc).__name__}: {exc}", tally)
        await self.database.write(
            lambda conn: advance(
                conn,
                plan.plan_id,
                "prepared",
                prepared_path=str(prepared.path),
                duration_s=prepared.duration_s,
            )
        )
        started = time.monotonic()
        verdict = await inspect(
            prepared, self.profile, threshold=self.qa_min, timeout_s=60 + prepared.duration_s * 4
        )
        self.observe("qa", time.monotonic() - started)
        self.on_qa(verdict.score)
        await self.database.write(lambda conn: _qa_report(conn, plan, verdict))
        await asyncio.to_thread(_discard, fetched.path)
        if not verdict.passed:
            tally.qa_rejected += 1
            await asyncio.to_thread(_discard, prepared.path)
            failed = ", ".join(c.name for c in verdict.checks if not c.passed)
            return await self._give_up(
                plan, "rejected", f"QA score {verdict.score:.2f} ({failed})", tally
            )
        tally.qa_passed += 1
        await self._queue(plan, prepared.path, prepared.duration_s, verdict.score)
        tally.queued += 1
        log.info("plan_queued", duration_s=prepared.duration_s, qa=verdict.score)
        return True

    async def _duration_of(self, content_hash: str) -> float | None:
        def read(conn: Connection) -> Any:
            return conn.scalar(
                select(lab_items.c.duration_s).where(lab_items.c.content_hash == content_hash)
            )

        value = await self.database.read(read)
        return float(value) if value else None

    async def _queue(
        self, plan: Plan, path: Path, duration_s: float, qa_score: float | None
    ) -> None:
        def work(conn: Connection) -> None:
            enqueue(
                conn,
                item_id=plan.plan_id,
                content_hash=plan.content_hash,
                source=plan.source,
                title=plan.title,
                path=path,
                duration_s=duration_s,
                qa_score=qa_score,
            )
            advance(conn, plan.plan_id, "queued", prepared_path=str(path), duration_s=duration_s)
            # The real length, so the planner fills slots with what items really last.
            conn.execute(
                update(lab_items)
                .where(lab_items.c.content_hash == plan.content_hash)
                .values(duration_s=duration_s)
            )

        await self.database.write(work)

    async def _give_up(self, plan: Plan, state: str, error: str, tally: RealizeTally) -> bool:
        _log.warning("plan_given_up", plan_id=plan.plan_id, state=state, error=error)
        tally.failures += 1
        tally.errors.append(error)
        await self.database.write(lambda conn: advance(conn, plan.plan_id, state, error=error))
        return False


def _deadline(fetched: Fetched) -> float:
    # Generous: prep re-encodes, and a 2-core machine runs the channel at the same time.
    return 120.0 + fetched.size_bytes / 1_000_000 * 20


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _qa_report(conn: Connection, plan: Plan, verdict: QaVerdict) -> None:
    passed = verdict.passed
    failed = [c.name for c in verdict.checks if not c.passed]
    summary = (
        f"{plan.plan_id} passed (score {verdict.score:.2f})."
        if passed
        else f"{plan.plan_id} rejected (score {verdict.score:.2f} < {verdict.threshold:g}:"
        f" {', '.join(failed)}); replaced by the next plan."
    )
    add_report(
        conn,
        "qa",
        {
            "summary": summary,
            "item_id": plan.plan_id,
            "score": round(verdict.score, 4),
            "threshold": verdict.threshold,
            "passed": passed,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in verdict.checks
            ],
        },
    )
