"""Typed ``ConfigBundle`` models from the manifest JSON Schemas."""

from __future__ import annotations

from pathlib import Path

from codegen.jsonschema_models import render_jsonschema_models

__all__ = ["SCHEMA_DIR", "TARGET_DIR", "render_config_models"]

SCHEMA_DIR = Path("contracts/manifests")
TARGET_DIR = Path("generated/config")

_INIT = '''{header}
"""Typed configuration: the effective ``ConfigBundle`` and the manifest models it holds."""

from generated.config.config_bundle_schema import ConfigBundle
from generated.config.cost_tiers_schema import CostTiersManifest, KillSwitches, Limits
from generated.config.media_profiles_schema import MediaProfile, MediaProfilesManifest
from generated.config.mode_manifests_schema import Mode, ModeManifests
from generated.config.telemetry_events_schema import TelemetryManifest

__all__ = [
    "ConfigBundle",
    "CostTiersManifest",
    "KillSwitches",
    "Limits",
    "MediaProfile",
    "MediaProfilesManifest",
    "Mode",
    "ModeManifests",
    "TelemetryManifest",
]
'''


def render_config_models(root: Path) -> dict[Path, str]:
    """The generated ``generated/config`` files, keyed by path relative to ``root``."""
    files, header = render_jsonschema_models(root, SCHEMA_DIR, TARGET_DIR)
    files[TARGET_DIR / "__init__.py"] = _INIT.format(header=header)
    return files
