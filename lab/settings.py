"""The LAB's settings (``VVTV_*``): control secrets, alert thresholds, folders, run modes.

Names and defaults of the alert thresholds, the webhook, the control token and
secret, ``VVTV_RUN_ONCE`` and ``VVTV_FORCE_NIGHTLY`` are the planning documents'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from lab.alerts import Thresholds

__all__ = ["DEV_CONTROL_SECRET", "DEV_CONTROL_TOKEN", "LabSettings"]

_ROOT = Path(__file__).resolve().parents[1]
# The planning documents' defaults, allowed only when VVTV_ENV=dev.
DEV_CONTROL_TOKEN = "dev-token"  # noqa: S105
DEV_CONTROL_SECRET = "dev-secret"  # noqa: S105


class LabSettings(BaseSettings):
    """Every field reads ``VVTV_<NAME>``; secrets refused at start-up outside dev."""

    model_config = SettingsConfigDict(env_prefix="VVTV_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    control_token: SecretStr | None = None
    control_secret: SecretStr | None = None
    control_skew_s: int = Field(default=300, gt=0, description="Signature clock skew (contract)")

    lab_dir: Path = Field(default=_ROOT / "var" / "lab", description="Media, segments, exports")
    owner_card: Path = _ROOT / "config" / "owner_card.yaml"
    lab_sources: Path | None = Field(
        default=None, description="YAML list of discovery sources; none: the demo library"
    )
    lab_rendition: str = Field(
        default="p360",
        description="Layer of broadcast_hls the LAB prepares (chosen: p360 fits 2 cores)",
    )
    loudness_target_lufs: float = Field(default=-16.0, description="Integrated loudness (chosen)")
    loudness_true_peak_dbtp: float = Field(default=-1.5, le=-1.0, description="chosen")
    loudness_range_lu: float = Field(default=11.0, description="chosen")
    lab_channel: bool = Field(
        default=True,
        description="vvtv up runs the 24/7 channel (off: these processes serve the API only)",
    )
    run_once: bool = False
    force_nightly: bool = False
    nightly_hour: int = Field(default=3, ge=0, le=23, description="03:00 local (planning docs)")
    discovery_interval_s: float = Field(default=3600.0, gt=0, description="hourly (planning docs)")
    tick_s: float = Field(default=5.0, gt=0, description="Orchestrator tick (chosen)")
    retention_days: int = Field(default=7, ge=1, description="Media and reports kept (chosen)")

    alert_qa_min: float = 0.85
    alert_fallback_abs: float = 0.30
    alert_fallback_growth: float = 0.15
    alert_discovery_fail_count: int = 3
    alert_queue_buffer_min_minutes: float = 30.0
    alert_segment_age_s: float = Field(
        default=10.0, description="stream_segment_age_seconds > 10 (epic O alert)"
    )
    alert_webhook_url: str | None = None
    alert_cooldown_secs: float = 900.0

    def thresholds(self) -> Thresholds:
        """The alert thresholds."""
        return Thresholds(
            qa_min=self.alert_qa_min,
            fallback_abs=self.alert_fallback_abs,
            fallback_growth=self.alert_fallback_growth,
            discovery_fail_count=self.alert_discovery_fail_count,
            queue_buffer_min_minutes=self.alert_queue_buffer_min_minutes,
            segment_age_s=self.alert_segment_age_s,
        )

    def effective_control_token(self) -> str:
        """The control token; the planning documents' default only with ``VVTV_ENV=dev``."""
        return _secret(self.control_token, DEV_CONTROL_TOKEN, "VVTV_CONTROL_TOKEN", self.env)

    def effective_control_secret(self) -> str:
        """The signing secret; the default only with ``VVTV_ENV=dev``."""
        return _secret(self.control_secret, DEV_CONTROL_SECRET, "VVTV_CONTROL_SECRET", self.env)

    def check(self) -> None:
        """Fail fast at start-up on what would fail later."""
        for value, default, name in (
            (self.control_token, DEV_CONTROL_TOKEN, "VVTV_CONTROL_TOKEN"),
            (self.control_secret, DEV_CONTROL_SECRET, "VVTV_CONTROL_SECRET"),
        ):
            _secret(value, default, name, self.env)


def _secret(value: SecretStr | None, default: str, name: str, env: str) -> str:
    if env != "dev" and (value is None or value.get_secret_value() == default):
        raise ValueError(f"{name} must be set to a non-default value when VVTV_ENV is not dev")
    return default if value is None else value.get_secret_value()
