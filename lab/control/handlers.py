"""The lab-control contract's handlers: status, reports, alerts and the signed commands.

Commands set persisted flags (idempotent: ``changed: false`` when already set) and
are audited; the orchestrator reads the flags every tick and at boot. Every read
is one unit of work on the store, so any process serving the API sees the LAB the
process running it wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from generated.lab_control import models
from generated.server_support import ProblemError, Replied
from lab.alerts import SEVERITY_ORDER, AlertTracker, Thresholds, evaluate
from lab.observe import LabSnapshot, measure, read_snapshot
from lab.stages.nightly import next_run_at, request_nightly
from lab.store.flags import set_flag
from lab.store.reports import BadCursorError, list_reports
from runtime.store import Database

__all__ = ["LabControl", "status_model"]

# command -> (flag, value)
_COMMANDS: dict[str, tuple[str, bool]] = {
    "pause_planner": ("planner_paused", True),
    "resume_planner": ("planner_paused", False),
    "pause_realizer": ("realizer_paused", True),
    "resume_realizer": ("realizer_paused", False),
    "pause_discovery": ("discovery_paused", True),
    "resume_discovery": ("discovery_paused", False),
    "freeze_queue": ("queue_frozen", True),
    "unfreeze_queue": ("queue_frozen", False),
    "enable_emergency": ("emergency", True),
    "disable_emergency": ("emergency", False),
}


def status_model(
    snap: LabSnapshot, *, buffer_target_minutes: float, nightly_hour: int, zone: str
) -> models.LabStatus:
    """The contract's ``LabStatus`` of a snapshot."""
    flags, progress = snap.flags, snap.in_progress

    def stage(flag: str, name: str) -> models.StageState:
        f = flags[flag]
        return models.StageState(
            paused=f.active,
            paused_since=f.since if f.active else None,
            pause_reason=f.reason if f.active else None,
            in_progress=progress.get(name, 0),
        )

    tx = snap.transmitter or {}
    state = tx.get("state", "stopped")
    last = snap.nightly_last
    return models.LabStatus(
        generated_at=snap.now,
        planner=stage("planner_paused", "planner"),
        realizer=stage("realizer_paused", "realizer"),
        discovery=stage("discovery_paused", "discovery"),
        queue=models.QueueState(
            length=snap.queue.length,
            buffer_minutes=round(snap.queue.buffer_minutes, 2),
            buffer_target_minutes=buffer_target_minutes,
            frozen=flags["queue_frozen"].active,
            frozen_since=flags["queue_frozen"].since,
        ),
        emergency=models.EmergencyState(
            active=flags["emergency"].active,
            since=flags["emergency"].since,
            reason=flags["emergency"].reason,
        ),
        transmitter=models.TransmitterState(
            state=state,
            fallback_reason=tx.get("fallback_reason") if state == "fallback" else None,
            segment_age_s=None if snap.segment_age_s is None else round(snap.segment_age_s, 2),
            current_item_id=tx.get("current_item_id") if state == "on_air" else None,
            media_sequence=tx.get("media_sequence"),
        ),
        nightly=models.NightlyState(
            running=snap.nightly_running,
            last_run_at=last["started_at"] if last else None,
            last_outcome=last["state"] if last else None,
            last_report_id=last["report_id"] if last else None,
            next_run_at=next_run_at(snap.now, hour=nightly_hour, zone=zone),
        ),
    )


class LabControl:
    """Implements every tag of the lab-control contract over the LAB store."""

    def __init__(
        self,
        database: Database,
        *,
        thresholds: Thresholds,
        buffer_target_minutes: float,
        nightly_hour: int,
        zone: str,
        on_command: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.database = database
        self.thresholds = thresholds
        self.buffer_target_minutes = buffer_target_minutes
        self.nightly_hour, self.zone = nightly_hour, zone
        self.on_command = on_command
        self._tracker = AlertTracker()

    async def _status(self) -> models.LabStatus:
        snap = await self.database.read(read_snapshot)
        return self._model(snap)

    def _model(self, snap: LabSnapshot) -> models.LabStatus:
        return status_model(
            snap,
            buffer_target_minutes=self.buffer_target_minutes,
            nightly_hour=self.nightly_hour,
            zone=self.zone,
        )

    async def get_status(self, *, caller: Any) -> models.LabStatus:
        """The LAB status."""
        return await self._status()

    async def list_reports(
        self,
        *,
        caller: Any,
        cursor: str | None = None,
        limit: int | None = 50,
        kind: Literal["cycle", "nightly", "qa", "fallback"] | None = None,
    ) -> models.ReportPage:
        """One page of reports, newest first."""
        size = 50 if limit is None else limit
        try:
            page = await self.database.read(
                lambda conn: list_reports(conn, limit=size, kind=kind, cursor=cursor)
            )
        except BadCursorError:
            raise ProblemError(
                422,
                "SCHEMA_INVALID",
                "Request does not match the schema",
                "1 field is invalid.",
                errors=[{"pointer": "query.cursor", "message": "not a cursor from this server"}],
            ) from None
        return models.ReportPage.model_validate(
            {"items": page.items, "next_cursor": page.next_cursor}
        )

    async def get_alerts(
        self,
        *,
        caller: Any,
        min_severity: Literal["low", "medium", "high", "critical"] | None = None,
    ) -> models.AlertSnapshot:
        """The alerts active now (``min_severity`` and above)."""
        snap = await self.database.read(read_snapshot)
        active = self._tracker.track(evaluate(measure(snap), self.thresholds, now=snap.now))
        floor = SEVERITY_ORDER[min_severity] if min_severity else 0
        shown = [a for a in active if SEVERITY_ORDER[a.severity] >= floor]
        highest = max((a.severity for a in shown), key=SEVERITY_ORDER.__getitem__, default=None)
        return models.AlertSnapshot(
            evaluated_at=snap.now,
            highest_severity=highest,
            alerts=[
                models.Alert(
                    code=a.code,
                    severity=a.severity,
                    message=a.message,
                    value=a.value,
                    threshold=a.threshold,
                    unit=a.unit,
                    direction=a.direction,
                    subject=a.subject,
                    since=a.since,
                    runbook_url=a.runbook_url,
                )
                for a in shown
            ],
        )

    async def _command(
        self, command: str, caller: Any, body: models.ControlCommand | None
    ) -> models.ControlResult:
        flag, value = _COMMANDS[command]
        reason = body.reason if body else None
        change = await self.database.write(
            lambda conn: set_flag(conn, flag, value, reason=reason, actor=str(caller or "operator"))
        )
        if change.changed and self.on_command is not None:
            await self.on_command(command)  # the orchestrator in this process applies it now
        return models.ControlResult(
            command=command,
            changed=change.changed,
            applied_at=change.applied_at,
            reason=reason,
            status=await self._status(),
        )

    async def pause_planner(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Pause the planner."""
        return await self._command("pause_planner", caller, body)

    async def resume_planner(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Resume the planner."""
        return await self._command("resume_planner", caller, body)

    async def pause_realizer(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Pause the realizer."""
        return await self._command("pause_realizer", caller, body)

    async def resume_realizer(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Resume the realizer."""
        return await self._command("resume_realizer", caller, body)

    async def pause_discovery(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Pause discovery."""
        return await self._command("pause_discovery", caller, body)

    async def resume_discovery(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Resume discovery."""
        return await self._command("resume_discovery", caller, body)

    async def freeze_queue(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Freeze the queue order."""
        return await self._command("freeze_queue", caller, body)

    async def unfreeze_queue(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Let the curator reorder the queue again."""
        return await self._command("unfreeze_queue", caller, body)

    async def enable_emergency(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Put the reserve loop on air."""
        return await self._command("enable_emergency", caller, body)

    async def disable_emergency(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> models.ControlResult:
        """Return to the queue."""
        return await self._command("disable_emergency", caller, body)

    async def force_nightly(
        self, *, caller: Any, body: models.ControlCommand | None = None
    ) -> Replied[models.NightlyRun]:
        """Queue the nightly routine now (or join the run queued or running)."""
        reason = body.reason if body else None
        run = await self.database.write(
            lambda conn: request_nightly(conn, forced=True, reason=reason)
        )
        if not run.coalesced and self.on_command is not None:
            await self.on_command("force_nightly")
        return Replied(
            models.NightlyRun(
                run_id=run.run_id,
                state=run.state,
                forced=run.forced,
                coalesced=run.coalesced,
                requested_at=run.requested_at,
                reason=run.reason,
            ),
            202,
        )
