"""The provider the settings ask for, and the settings it refuses to start without."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from runtime.config import load_config
from runtime.media import CloudflareRealtimeProvider, LocalMediaProvider
from runtime.media.factory import build_provider
from runtime.settings import Settings

PROFILES = load_config().media.profiles


async def test_local_by_default_and_closed_with_the_stack() -> None:
    async with AsyncExitStack() as stack:
        provider = build_provider(Settings(), PROFILES, stack)
        assert isinstance(provider, LocalMediaProvider)


async def test_cloudflare_needs_its_four_keys() -> None:
    async with AsyncExitStack() as stack:
        with pytest.raises(ValueError, match="VVTV_CLOUDFLARE_APP_ID must be set"):
            build_provider(Settings(media_provider="cloudflare"), PROFILES, stack)
        keys = {
            "cloudflare_app_id": "app",
            "cloudflare_app_secret": "secret",
            "cloudflare_turn_key_id": "key",
            "cloudflare_turn_api_token": "token",
        }
        provider = build_provider(
            Settings(media_provider="cloudflare", **keys),
            PROFILES,
            stack,  # type: ignore[arg-type]
        )
        assert isinstance(provider, CloudflareRealtimeProvider)


async def test_turn_secrets_have_no_default_outside_dev() -> None:
    async with AsyncExitStack() as stack:
        with pytest.raises(ValueError, match="VVTV_TURN_SECRETS must be set"):
            build_provider(Settings(env="prod"), PROFILES, stack)
        assert build_provider(Settings(env="prod", turn_secrets=["s1"]), PROFILES, stack)
