"""How the LAB joins the app: control handlers and guard, ``/live/``, ``/metrics``, the channel."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack

import structlog
from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from generated.config import ConfigBundle
from generated.lab_control.server import Handlers
from lab.channel import Channel, LabPaths
from lab.control.auth import lab_signature_verifier
from lab.control.handlers import LabControl
from lab.ffmpeg import BroadcastProfile
from lab.metrics import LabMetrics
from lab.observe import read_snapshot
from lab.policy import load_owner_card
from lab.serving import live_routes
from lab.settings import LabSettings
from runtime.extension import Extension, ExtensionFactory
from runtime.readiness import Runtime
from runtime.settings import Settings

__all__ = ["broadcast_profile", "lab_extension"]

_log = structlog.get_logger(__name__)
_BROADCAST = "broadcast_hls"
_AUDIO_RATE = 48000  # AAC at 48 kHz, the broadcast norm
_RESTART_S = 5.0  # chosen


def broadcast_profile(config: ConfigBundle, lab: LabSettings) -> tuple[BroadcastProfile, int]:
    """The prep profile (one layer of ``broadcast_hls``) and the playlist window in segments."""
    media = config.media.profiles[_BROADCAST]
    layers = {layer.name: layer for layer in media.layers}
    if lab.lab_rendition not in layers:
        raise ValueError(f"VVTV_LAB_RENDITION {lab.lab_rendition!r} is not one of {sorted(layers)}")
    layer = layers[lab.lab_rendition]
    if media.hls is None:
        raise ValueError(f"{_BROADCAST} has no hls settings")
    profile = BroadcastProfile(
        width=layer.resolution.width,
        height=layer.resolution.height,
        fps=layer.fps,
        video_kbps=layer.max_bitrate_kbps,
        audio_kbps=media.caps.audio.max_bitrate_kbps,
        audio_rate=_AUDIO_RATE,
        segment_s=media.hls.segment_seconds,
        loudness_i=lab.loudness_target_lufs,
        loudness_tp=lab.loudness_true_peak_dbtp,
        loudness_lra=lab.loudness_range_lu,
    )
    return profile, media.hls.playlist_segments


def lab_extension(lab: LabSettings | None = None, *, run_channel: bool = True) -> ExtensionFactory:
    """The factory ``runtime.app.build_app`` calls; refuses default secrets outside dev now."""
    settings = lab or LabSettings()
    settings.check()
    policy = load_owner_card(settings.owner_card)

    def factory(runtime: Runtime, _platform: Settings) -> Extension:
        metrics = LabMetrics()
        paths = LabPaths(settings.lab_dir)
        channel: Channel | None = None
        if run_channel and settings.lab_channel and runtime.config is not None:
            profile, window = broadcast_profile(runtime.config, settings)
            channel = Channel(
                runtime.database,
                settings,
                policy=policy,
                profile=profile,
                window_segments=window,
                metrics=metrics,
            )

        async def on_command(command: str) -> None:
            if channel is not None and channel.orchestrator is not None:
                await channel.orchestrator.on_command(command)

        control = LabControl(
            runtime.database,
            thresholds=settings.thresholds(),
            buffer_target_minutes=policy.schedule.queue_buffer_target_minutes,
            nightly_hour=settings.nightly_hour,
            zone=policy.timezone,
            on_command=on_command,
        )

        @get("/metrics", include_in_schema=False)
        async def metrics_route() -> Response[bytes]:
            metrics.update(await runtime.database.read(read_snapshot))
            return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

        async def start(stack: AsyncExitStack) -> None:
            if channel is None:
                return
            task = asyncio.create_task(_guarded(channel), name="lab-channel")
            stack.push_async_callback(_cancel, task)

        return Extension(
            lab_control=Handlers(status=control, reports=control, alerts=control, control=control),
            guards={
                "labSignature": lab_signature_verifier(
                    settings.effective_control_token(),
                    settings.effective_control_secret(),
                    skew_s=settings.control_skew_s,
                    database=runtime.database,
                )
            },
            route_handlers=[*live_routes(paths.live), metrics_route],
            start=start,
        )

    return factory


async def _guarded(channel: Channel) -> None:
    # The API keeps serving if the channel fails; the status and alerts say so, and the
    # channel is started again (the reserve loop needs nothing but files on disk).
    while True:
        try:
            await channel.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("lab_channel_failed")
        await asyncio.sleep(_RESTART_S)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
