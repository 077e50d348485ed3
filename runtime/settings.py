"""Environment to typed settings (``VVTV_*`` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_TOKEN_SECRET", "DEV_TURN_SECRET", "PROJECT_ROOT", "Settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Allowed only when VVTV_ENV=dev; any other environment must set VVTV_TOKEN_SECRET.
DEV_TOKEN_SECRET = "dev-only-token-secret-never-in-production"  # noqa: S105
DEV_TURN_SECRET = "dev-only-turn-secret-never-in-production"  # noqa: S105


class Settings(BaseSettings):
    """Process settings; every field reads ``VVTV_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="VVTV_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    database_url: str = Field(
        default=f"sqlite:///{(PROJECT_ROOT / 'var' / 'vvtv.db').as_posix()}",
        description="sqlite:///path (embedded default) or postgresql://user@host/db",
    )
    manifests_dir: Path = PROJECT_ROOT / "manifests"
    schemas_dir: Path = PROJECT_ROOT / "contracts" / "manifests"
    cost_tier: str | None = Field(
        default=None, description="Cost tier to run under; the manifests' default_tier if unset"
    )
    ready_timeout_s: float = Field(default=2.0, gt=0, description="Database ping budget")
    log_format: Literal["json", "console"] | None = Field(
        default=None, description="json in prod, console elsewhere, unless set"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    token_secret: SecretStr | None = Field(
        default=None, description="HS256 key of the bearer tokens (VVTV_TOKEN_SECRET)"
    )
    token_ttl_s: int = Field(default=900, gt=0, le=900, description="15 min at most (epic N)")
    refresh_token_ttl_s: int = Field(
        default=30 * 86400, gt=0, description="Refresh token lifetime (the contract's example)"
    )
    magic_link_ttl_s: int = Field(
        default=900, gt=0, le=900, description="Sign-in link lifetime: 15 min, single use"
    )
    auth_failure_limit: int = Field(
        default=10, ge=1, description="Failed sign-ins per key and window before 429"
    )
    auth_failure_window_s: int = Field(
        default=900, gt=0, description="The failed sign-in window, seconds (chosen: 15 min)"
    )
    socket_ticket_ttl_s: int = Field(
        default=30, gt=0, le=300, description="WebSocket ticket lifetime, seconds (chosen)"
    )
    account_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a process trusts what it read of an account (ban, role); chosen",
    )
    password_hash_profile: Literal["rfc9106_low_memory", "cheapest"] = Field(
        default="rfc9106_low_memory",
        description="argon2id parameters: RFC 9106 (low memory); `cheapest` for tests only",
    )
    dev_seed: bool = Field(
        default=True, description="vvtv up in dev creates the demo accounts it prints"
    )
    event_bus_url: str | None = Field(
        default=None,
        description="memory://, postgresql://... or redis://...; by default the database's"
        " own (PostgreSQL LISTEN/NOTIFY) or memory (SQLite: one process)",
    )
    session_lease_s: int = Field(
        default=30, ge=3, description="Session lease without a heartbeat, seconds (chosen)"
    )
    sweep_interval_s: float = Field(
        default=5.0, gt=0, description="Seconds between two sweeps of expired sessions (chosen)"
    )
    media_provider: Literal["local", "cloudflare"] = Field(
        default="local", description="local (aiortc on this host) or cloudflare (Realtime SFU)"
    )
    turn_secrets: list[str] = Field(
        default_factory=list,
        description="coturn use-auth-secret secrets, newest first (two while rotating); JSON list",
    )
    turn_urls: list[str] = Field(
        default_factory=lambda: ["turn:127.0.0.1:3478?transport=udp"],
        description="TURN URLs handed to clients with their credentials; JSON list",
    )
    turn_ttl_s: int = Field(
        default=86400, gt=0, le=172800, description="TURN credential lifetime (chosen: a day)"
    )
    cloudflare_api_base: str = "https://rtc.live.cloudflare.com/v1"
    cloudflare_app_id: str | None = None
    cloudflare_app_secret: SecretStr | None = None
    cloudflare_turn_key_id: str | None = None
    cloudflare_turn_api_token: SecretStr | None = None

    def effective_token_secret(self) -> str:
        """The token key; the development default is refused outside ``VVTV_ENV=dev``."""
        if self.token_secret is not None:
            return self.token_secret.get_secret_value()
        if self.env != "dev":
            raise ValueError("VVTV_TOKEN_SECRET must be set when VVTV_ENV is not dev")
        return DEV_TOKEN_SECRET

    def effective_hash_profile(self) -> Literal["rfc9106_low_memory", "cheapest"]:
        """The argon2 parameters; the test-only cheap profile is refused in production."""
        if self.password_hash_profile == "cheapest" and self.env == "prod":  # noqa: S105
            raise ValueError("VVTV_PASSWORD_HASH_PROFILE=cheapest is for tests, not prod")
        return self.password_hash_profile

    def effective_event_bus_url(self) -> str:
        """Where events fan out: the bus URL, else the database's own LISTEN/NOTIFY."""
        if self.event_bus_url:
            return self.event_bus_url
        if self.database_url.startswith(("postgresql", "postgres")):
            return self.database_url
        return "memory://"

    def effective_turn_secrets(self) -> list[str]:
        """The TURN secrets; a development default only with ``VVTV_ENV=dev``."""
        if self.turn_secrets:
            return self.turn_secrets
        if self.env != "dev":
            raise ValueError("VVTV_TURN_SECRETS must be set when VVTV_ENV is not dev")
        return [DEV_TURN_SECRET]

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        """JSON logs in production unless told otherwise."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.env == "prod" else "console"
