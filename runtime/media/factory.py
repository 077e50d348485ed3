"""The media provider the settings ask for, and what it must release at shutdown."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AsyncExitStack

import httpx
from pydantic import SecretStr

from generated.config.media_profiles_schema import MediaProfile
from runtime.media.cloudflare import CloudflareRealtimeProvider
from runtime.media.local import LocalMediaProvider
from runtime.media.provider import MediaProvider
from runtime.media.turn import TurnSecrets
from runtime.settings import Settings

__all__ = ["build_provider"]


def _required(value: str | SecretStr | None, name: str) -> str:
    if value is None:
        raise ValueError(f"VVTV_{name} must be set when VVTV_MEDIA_PROVIDER=cloudflare")
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def build_provider(
    settings: Settings, profiles: Mapping[str, MediaProfile], stack: AsyncExitStack
) -> MediaProvider:
    """The configured provider; whatever it holds is closed when ``stack`` closes."""
    if settings.media_provider == "cloudflare":
        client = httpx.AsyncClient(timeout=10.0)
        stack.push_async_callback(client.aclose)
        return CloudflareRealtimeProvider(
            client,
            app_id=_required(settings.cloudflare_app_id, "CLOUDFLARE_APP_ID"),
            app_secret=_required(settings.cloudflare_app_secret, "CLOUDFLARE_APP_SECRET"),
            turn_key_id=_required(settings.cloudflare_turn_key_id, "CLOUDFLARE_TURN_KEY_ID"),
            turn_api_token=_required(
                settings.cloudflare_turn_api_token, "CLOUDFLARE_TURN_API_TOKEN"
            ),
            api_base=settings.cloudflare_api_base,
            turn_ttl_s=settings.turn_ttl_s,
            profiles=list(profiles),
        )
    turn = TurnSecrets(
        settings.effective_turn_secrets(), settings.turn_urls, ttl_s=settings.turn_ttl_s
    )
    local = LocalMediaProvider(profiles, turn, clock=time.time)
    stack.push_async_callback(local.close)  # every room's connections, at shutdown
    return local
