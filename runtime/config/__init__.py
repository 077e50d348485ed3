"""Manifests -> validated, merged, typed ``ConfigBundle``."""

from runtime.config.pipeline import (
    MANIFESTS,
    CheckResult,
    ManifestSet,
    bundle_hash,
    check_config,
    dump_bundle,
    load_config,
)
from runtime.config.problems import ConfigError, ConfigProblem, RuleId

__all__ = [
    "CheckResult",
    "ConfigError",
    "ConfigProblem",
    "MANIFESTS",
    "ManifestSet",
    "RuleId",
    "bundle_hash",
    "check_config",
    "dump_bundle",
    "load_config",
]
