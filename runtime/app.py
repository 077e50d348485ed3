"""``build_app(settings)``: the one place where handlers meet routers."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State

from runtime.config import ConfigError, load_config
from runtime.observability import configure_logging
from runtime.problem import exception_handlers
from runtime.readiness import HealthController, Runtime
from runtime.settings import Settings
from runtime.store import create_engine

__all__ = ["build_app"]


def build_app(settings: Settings | None = None) -> Litestar:
    """The ASGI app for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    runtime = Runtime(
        engine=create_engine(settings.database_url),
        ready_timeout_s=settings.ready_timeout_s,
    )
    try:
        runtime.config = load_config(
            settings.cost_tier,
            manifests_dir=settings.manifests_dir,
            schemas_dir=settings.schemas_dir,
        )
    except ConfigError as exc:
        # The app still serves so that /health/ready can say why it is not ready.
        runtime.config_problems = exc.problems

    async def _dispose() -> None:
        await runtime.engine.dispose()

    return Litestar(
        route_handlers=[HealthController],
        state=State({"runtime": runtime, "settings": settings}),
        exception_handlers=exception_handlers,
        on_shutdown=[_dispose],
        openapi_config=None,
        logging_config=None,  # structlog is configured above; keep one renderer
    )
