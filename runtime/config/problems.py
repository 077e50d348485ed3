"""Configuration problems: where, which rule, and what is wrong, in one plain sentence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ConfigError", "ConfigProblem", "RuleId", "json_pointer"]


class RuleId(StrEnum):
    """Stable rule ids; tooling and tests match on these, so never rename one."""

    FILE_MISSING = "file.missing"
    FILE_UNKNOWN = "file.unknown"
    YAML_SYNTAX = "yaml.syntax"
    YAML_DUPLICATE_KEY = "yaml.duplicate_key"
    SCHEMA_UNKNOWN_KEY = "schema.unknown_key"
    SCHEMA_REQUIRED = "schema.required"
    SCHEMA_TYPE = "schema.type"
    SCHEMA_ENUM = "schema.enum"
    SCHEMA_RANGE = "schema.range"
    SCHEMA_PATTERN = "schema.pattern"
    SCHEMA_UNIQUE = "schema.unique"
    SCHEMA_INVALID = "schema.invalid"
    MEDIA_THUMB_NO_AUDIO = "media.thumb_no_audio"
    MEDIA_THUMB_HARD_CAPS = "media.thumb_hard_caps"
    MEDIA_LAYERS_WITHIN_CAPS = "media.layers_within_caps"
    MEDIA_DEGRADE_LAYER = "media.degrade_layer"
    MEDIA_HLS_SETTINGS = "media.hls_settings"
    PRESENCE_TILES_WITHIN_CAPS = "presence.tiles_within_caps"
    PRESENCE_TILE_PROFILE = "presence.tile_profile"
    PRESENCE_HEARTBEAT_WITHIN_TTL = "presence.heartbeat_within_ttl"
    PRESENCE_EXPIRY_WITHIN_BOUND = "presence.expiry_within_bound"
    RANDOM_COOLDOWN_NON_DECREASING = "random.cooldown_non_decreasing"
    RANDOM_QUARANTINE_STRICTER = "random.quarantine_stricter"
    REF_MEDIA_PROFILE = "ref.media_profile"
    REF_COMPONENT = "ref.component"
    REF_TRANSITION = "ref.transition"
    REF_CHAT_SCOPE = "ref.chat_scope"
    REF_FUNNEL_EVENT = "ref.funnel_event"
    REF_TIER = "ref.tier"
    MODE_COMPONENT_REGION = "mode.component_region"
    MODE_MEDIA_PROFILES = "mode.media_profiles"
    MODE_ROUTE_UNIQUE = "mode.route_unique"
    MODE_CALL_REQUIRES_CONSENT = "mode.call_requires_consent"
    ECOSYSTEM_LIVE_PUBLIC_POLICY = "ecosystem.live_public_policy"
    ECOSYSTEM_PRESENCE_RAIL = "ecosystem.presence_rail"
    TELEMETRY_PRIVACY = "telemetry.privacy"
    TELEMETRY_SAMPLING = "telemetry.sampling"
    TIER_UNKNOWN_KEY = "tier.unknown_key"
    TIER_NOT_A_LIMIT = "tier.not_a_limit"
    TIER_RAISES_LIMIT = "tier.raises_limit"


def json_pointer(path: tuple[str | int, ...]) -> str:
    """Render a path as an RFC 6901 JSON pointer."""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join("/" + p for p in parts)


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One problem, located in a source file."""

    file: str
    line: int
    column: int
    rule: RuleId
    pointer: str
    message: str

    def render(self) -> str:
        """Format as ``file:line:column: rule: message [pointer]``."""
        where = f"{self.file}:{self.line}:{self.column}"
        pointer = self.pointer or "/"
        return f"{where}: {self.rule.value}: {self.message} [{pointer}]"

    def as_dict(self) -> dict[str, str | int]:
        """A JSON-friendly form for machine consumers."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule.value,
            "pointer": self.pointer,
            "message": self.message,
        }


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every reason."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(p.render() for p in problems)
        super().__init__(f"{len(problems)} configuration problem(s):\n{lines}")
