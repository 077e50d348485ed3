"""``build_app(settings)``: the one place where handlers meet routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin

from generated.config import ConfigBundle
from generated.control_plane.server import Handlers as ControlPlaneHandlers
from generated.control_plane.server import build_routers as control_plane_routers
from generated.events.channels import build_socket_routes
from generated.lab_control.server import Handlers as LabControlHandlers
from generated.lab_control.server import build_routers as lab_control_routers
from generated.public_api.server import Handlers as PublicApiHandlers
from generated.public_api.server import build_routers as public_api_routers
from generated.server_support import ContractModels
from runtime.auth import Authenticator, TokenService
from runtime.auth.client import remember_client
from runtime.config import ConfigError, load_config
from runtime.contract_docs import ContractDocsController, contract_files
from runtime.events import ChannelsEventBus, build_event_bus
from runtime.events.journal import forget_payloads
from runtime.extension import Extension, ExtensionFactory
from runtime.idempotency import IdempotencyKeys
from runtime.identity import IdentityHandlers, IdentityPolicy, IdentityService, Passwords
from runtime.identity.store import forget_expired_credentials
from runtime.media.factory import build_provider
from runtime.observability import configure_logging
from runtime.presence.handlers import PresenceHandlers
from runtime.presence.realtime import PresenceChannel
from runtime.presence.service import PresencePolicy, PresenceService
from runtime.presence.sweeper import ExpirySweeper
from runtime.problem import exception_handlers
from runtime.readiness import HealthController, Runtime
from runtime.realtime import ChannelHandler, SocketAuthenticator, SocketHub
from runtime.sessions.handlers import SessionHandlers
from runtime.sessions.realtime import SessionsChannel
from runtime.sessions.service import SessionService
from runtime.sessions.sweeper import Sweeper
from runtime.settings import PROJECT_ROOT, Settings
from runtime.store import Database, open_database
from runtime.tiles.handlers import TilesHandlers
from runtime.tiles.service import TilesPolicy, TilesService
from runtime.tiles.store import forget_closed

__all__ = ["build_app", "identity_service"]


def build_app(
    settings: Settings | None = None, *, extension: ExtensionFactory | None = None
) -> Litestar:
    """The ASGI app for ``settings`` (read from the environment when omitted).

    ``extension`` is how the LAB joins: its control handlers, routes and background work.
    """
    settings = settings or Settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    runtime = Runtime(
        database=open_database(settings.database_url),
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
    resources = AsyncExitStack()
    if runtime.config is not None:
        runtime.provider = build_provider(settings, runtime.config.media.profiles, resources)
    parts = _assemble(settings, runtime)
    extra = extension(runtime, settings) if extension is not None else Extension()
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        # What start-up built lives as long as the process: out of the collector's scans,
        # a full collection takes milliseconds instead of ~100 ms pauses under load.
        gc.collect()
        gc.freeze()
        async with resources:
            resources.push_async_callback(runtime.database.close)
            await parts.bus.start()
            resources.push_async_callback(parts.bus.stop)
            await parts.hub.start()
            resources.push_async_callback(parts.hub.close)
            for work in _background(settings, runtime, parts, holder):
                task = asyncio.create_task(work)
                resources.push_async_callback(_cancel, task)
            if extra.start is not None:
                await extra.start(resources)
            yield

    return Litestar(
        route_handlers=[
            HealthController,
            ContractDocsController,
            *_routers(parts, extra),
            *build_socket_routes(parts.hub.serve),
            *extra.route_handlers,
        ],
        state=State(
            {
                "runtime": runtime,
                "settings": settings,
                "contract_files": contract_files(PROJECT_ROOT / "contracts"),
            }
        ),
        exception_handlers=exception_handlers,
        middleware=[remember_client],
        plugins=[ContractModels()],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Voulezvous platform",
            version="1.0.0",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin(), ScalarRenderPlugin()],
        ),
        logging_config=None,  # structlog is configured above; keep one renderer
    )


@dataclass
class _Parts:
    """The services and handlers one process runs."""

    bus: ChannelsEventBus
    identity: IdentityService
    authenticator: Authenticator
    hub: SocketHub
    handlers: ControlPlaneHandlers
    presence: PresenceService | None = None
    sessions: SessionService | None = None
    tiles: TilesService | None = None


def _assemble(settings: Settings, runtime: Runtime) -> _Parts:
    """Build every service on the runtime's store, bus and provider (no I/O yet)."""
    bus = build_event_bus(
        settings.effective_event_bus_url(), runtime.database, settings.database_url
    )
    identity = identity_service(settings, runtime.database, runtime.config)
    authenticator = Authenticator(
        identity.tokens, identity.status, cache_s=settings.account_cache_s
    )
    runtime.events, runtime.identity, runtime.authenticator = bus, identity, authenticator
    channels: dict[str, ChannelHandler] = {"sessions": SessionsChannel(runtime.database)}
    handlers = ControlPlaneHandlers(identity=IdentityHandlers(identity))
    parts_presence = parts_sessions = parts_tiles = None
    tick_s = 5.0
    if runtime.config is not None:
        policy = PresencePolicy.from_config(runtime.config)
        parts_presence = PresenceService(runtime.database, bus, policy)
        handlers.presence = PresenceHandlers(parts_presence)
        channels["presence"] = PresenceChannel(parts_presence)
        tick_s = float(policy.heartbeat_interval_s)
        if runtime.provider is not None:
            parts_sessions = SessionService(
                runtime.database,
                runtime.config,
                bus,
                runtime.provider,
                lease_s=settings.session_lease_s,
            )
            handlers.sessions = SessionHandlers(parts_sessions, IdempotencyKeys(runtime.database))
            parts_tiles = TilesService(
                runtime.database,
                runtime.provider,
                parts_presence,
                TilesPolicy.from_config(runtime.config),
            )
            handlers.tiles = TilesHandlers(parts_tiles)
    hub = SocketHub(
        bus,
        SocketAuthenticator(authenticator, identity.redeem_ticket),
        channels,
        identity.statuses,
        tick_s=tick_s,
    )
    return _Parts(
        bus, identity, authenticator, hub, handlers, parts_presence, parts_sessions, parts_tiles
    )


def _background(settings: Settings, runtime: Runtime, parts: _Parts, holder: str) -> list[Any]:
    """The loops every process runs; each sweeps only while it holds its lease."""
    loops: list[Any] = []
    if runtime.provider is not None:
        # Session lease expiry and revokes; idempotency keys and spent credentials.
        sweeper = Sweeper(
            runtime.database,
            runtime.provider,
            parts.bus,
            holder=holder,
            housekeeping=[
                IdempotencyKeys(runtime.database).forget_expired,
                forget_expired_credentials,
                forget_payloads,
                forget_closed,
            ],
        )
        loops.append(sweeper.run_forever(settings.sweep_interval_s))
    if runtime.config is not None and parts.presence is not None:
        steps = [parts.presence.expire]
        if parts.tiles is not None:
            steps.append(parts.tiles.expire)
        expiry = ExpirySweeper(
            runtime.database,
            steps,
            holder=holder,
            interval_ms=runtime.config.limits.presence.sweep_interval_ms,
        )
        loops.append(expiry.run_forever())
    return loops


def _routers(parts: _Parts, extra: Extension) -> list[Router]:
    """Every generated router, wired to the handlers that exist (the others answer 501)."""
    guards = {"bearerAuth": parts.authenticator.http_verifier()}
    return [
        *control_plane_routers(parts.handlers, guards=guards),
        *public_api_routers(PublicApiHandlers()),
        *lab_control_routers(extra.lab_control or LabControlHandlers(), guards=extra.guards),
    ]


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def identity_service(
    settings: Settings, database: Database, config: ConfigBundle | None = None
) -> IdentityService:
    """Accounts and sign-in over ``database``, with the settings' numbers."""
    tokens = TokenService(
        settings.effective_token_secret(), ttl=timedelta(seconds=settings.token_ttl_s)
    )
    quarantine_days = 3  # cost-tiers.yaml's value, used only while the config is broken
    if config is not None:
        quarantine_days = config.limits.random.quarantine.account_age_below_days
    policy = IdentityPolicy(
        refresh_ttl_s=settings.refresh_token_ttl_s,
        magic_link_ttl_s=settings.magic_link_ttl_s,
        failure_limit=settings.auth_failure_limit,
        failure_window_s=settings.auth_failure_window_s,
        ticket_ttl_s=settings.socket_ticket_ttl_s,
        new_account_days=quarantine_days,
    )
    passwords = Passwords(settings.effective_hash_profile())
    return IdentityService(database, passwords, tokens, policy)
