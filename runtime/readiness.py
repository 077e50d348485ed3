"""Liveness and readiness: ready means the config is loaded and the database answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from runtime.problem import problem_response
from runtime.store import head_revision, ping, schema_revision

if TYPE_CHECKING:
    from generated.config import ConfigBundle
    from runtime.auth import Authenticator
    from runtime.config import ConfigProblem
    from runtime.events import ChannelsEventBus
    from runtime.identity import IdentityService
    from runtime.media import MediaProvider
    from runtime.store import Database

__all__ = ["HealthController", "Runtime", "readiness"]


@dataclass
class Runtime:
    """What the app holds while it runs; set up at start-up by ``build_app``."""

    database: Database
    ready_timeout_s: float
    events: ChannelsEventBus | None = None
    config: ConfigBundle | None = None
    provider: MediaProvider | None = None
    config_problems: list[ConfigProblem] = field(default_factory=list)
    identity: IdentityService | None = None
    authenticator: Authenticator | None = None


async def readiness(runtime: Runtime) -> dict[str, Any]:
    """Each check's verdict; ``ok`` only when all pass."""
    checks: dict[str, Any] = {}
    if runtime.config is not None:
        checks["config"] = {
            "ok": True,
            "tier": runtime.config.tier,
            "config_hash": runtime.config.config_hash,
        }
    else:
        first = [p.render() for p in runtime.config_problems[:5]]
        checks["config"] = {"ok": False, "problems": len(runtime.config_problems), "first": first}
    if runtime.events is not None:
        checks["events"] = {"ok": runtime.events.ready, "transport": runtime.events.name}
    try:
        await asyncio.wait_for(ping(runtime.database.engine), timeout=runtime.ready_timeout_s)
        checks["database"] = {"ok": True}
        revision = await asyncio.wait_for(
            schema_revision(runtime.database.engine), timeout=runtime.ready_timeout_s
        )
    except Exception as exc:  # any failure of the database means not ready
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    else:
        # `vvtv up` migrates first; a database behind the code is not ready for it.
        head = head_revision()
        checks["schema"] = {"ok": revision == head, "revision": revision, "head": head}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


class HealthController(Controller):
    """``/health/live`` and ``/health/ready`` for orchestrators and load balancers."""

    path = "/health"

    @get("/live", sync_to_thread=False)
    def live(self) -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "live"}

    @get("/ready")
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        """200 when config and database are ready, 503 problem+json otherwise."""
        verdict = await readiness(state.runtime)
        if verdict["ok"]:
            return Response({"status": "ready", "checks": verdict["checks"]})
        failing = sorted(name for name, c in verdict["checks"].items() if not c["ok"])
        return problem_response(
            503,
            "NOT_READY",
            "Service not ready",
            f"failing checks: {', '.join(failing)}",
            checks=verdict["checks"],
        )
