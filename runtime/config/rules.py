"""Semantic rules over a schema-valid bundle: pure functions, no I/O.

Each rule yields findings with a stable rule id and the bundle path they concern;
the pipeline turns paths into file positions. Rules assume the bundle passed its
JSON Schema, so shapes are trusted and only meaning is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from runtime.config.problems import RuleId
from runtime.presence.rules import GONE_WITHIN_MS, sweeper_lease_ms, worst_case_gone_ms

__all__ = [
    "COOLDOWN_FREE_STEPS",
    "RULES",
    "THUMB_MAX_BITRATE_KBPS",
    "THUMB_MAX_FPS",
    "THUMB_MAX_HEIGHT",
    "THUMB_MAX_WIDTH",
    "Finding",
    "run_rules",
]

Path_ = tuple[str | int, ...]
Bundle = dict[str, Any]

# The first skips are free; from this index on the cooldown schedule only grows
# (implementation plan, phase 4: "cooldown_schedule e non-decreasing apos indice 3").
COOLDOWN_FREE_STEPS = 3

# Thumbnails are held to hard caps whatever their profile says (implementation plan,
# phase 2: "Hard caps enforced: audio OFF sempre, 180p, 8fps, 180kbps max"); the
# width is 180p at 16:9. Audio is thumb_no_audio's.
THUMB_MAX_WIDTH = 320
THUMB_MAX_HEIGHT = 180
THUMB_MAX_FPS = 8
THUMB_MAX_BITRATE_KBPS = 180

# The component that shows the party's presence; ecosystems apart from the party
# never place it (implementation plan, phase 7).
PRESENCE_RAIL = "PresenceRail"
LIVE_PUBLIC = "live_public"


@dataclass(frozen=True)
class Finding:
    """A rule violation at a bundle path.

    ``related`` names the other values the rule compared ``path`` with; when a
    cost tier overrides one of them, the problem is reported at that override.
    """

    rule: RuleId
    path: Path_
    message: str
    related: tuple[Path_, ...] = ()


Rule = Callable[[Bundle], Iterator[Finding]]


def _profiles(bundle: Bundle) -> dict[str, Any]:
    profiles: dict[str, Any] = bundle["media"]["profiles"]
    return profiles


def _placements(bundle: Bundle) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    for mode_name, mode in bundle["modes"]["modes"].items():
        for region, placements in mode["shell"].items():
            for index, placement in enumerate(placements):
                yield mode_name, region, index, placement


def thumb_no_audio(bundle: Bundle) -> Iterator[Finding]:
    """Thumbnails never carry audio (global invariant 3)."""
    for name, profile in _profiles(bundle).items():
        audio = profile["caps"]["audio"]
        if profile["kind"] == "thumb" and (audio["enabled"] or audio["max_bitrate_kbps"] > 0):
            yield Finding(
                RuleId.MEDIA_THUMB_NO_AUDIO,
                ("media", "profiles", name, "caps", "audio", "enabled"),
                f"thumbnail profile {name!r} carries audio; thumbnails never do",
            )


def thumb_hard_caps(bundle: Bundle) -> Iterator[Finding]:
    """Thumbnail caps and every thumbnail layer stay within the thumbnails' hard caps."""
    hard: tuple[tuple[Path_, int], ...] = (
        (("resolution", "width"), THUMB_MAX_WIDTH),
        (("resolution", "height"), THUMB_MAX_HEIGHT),
        (("fps",), THUMB_MAX_FPS),
        (("max_bitrate_kbps",), THUMB_MAX_BITRATE_KBPS),
    )
    for name, profile in _profiles(bundle).items():
        if profile["kind"] != "thumb":
            continue
        items: list[tuple[Path_, str, dict[str, Any]]] = [
            (("media", "profiles", name, "caps"), "its caps have", profile["caps"])
        ]
        items += [
            (("media", "profiles", name, "layers", index), f"layer {layer['name']!r} has", layer)
            for index, layer in enumerate(profile["layers"])
        ]
        for base, what, item in items:
            for sub, cap in hard:
                value: Any = item
                for part in sub:
                    value = value[part]
                if value > cap:
                    key = ".".join(map(str, sub))
                    yield Finding(
                        RuleId.MEDIA_THUMB_HARD_CAPS,
                        (*base, *sub),
                        f"thumbnail profile {name!r}: {what} {key} {value}, above the "
                        f"thumbnails' hard cap of {cap}",
                    )


def layers_within_caps(bundle: Bundle) -> Iterator[Finding]:
    """Every simulcast layer or rendition stays within its profile's caps."""
    for name, profile in _profiles(bundle).items():
        caps = profile["caps"]
        for index, layer in enumerate(profile["layers"]):
            base: Path_ = ("media", "profiles", name, "layers", index)
            for dim in ("width", "height"):
                if layer["resolution"][dim] > caps["resolution"][dim]:
                    yield Finding(
                        RuleId.MEDIA_LAYERS_WITHIN_CAPS,
                        (*base, "resolution", dim),
                        f"layer {layer['name']!r} of {name!r} has {dim} "
                        f"{layer['resolution'][dim]} above the cap {caps['resolution'][dim]}",
                        (("media", "profiles", name, "caps", "resolution", dim),),
                    )
            for key in ("fps", "max_bitrate_kbps"):
                if layer[key] > caps[key]:
                    yield Finding(
                        RuleId.MEDIA_LAYERS_WITHIN_CAPS,
                        (*base, key),
                        f"layer {layer['name']!r} of {name!r} has {key} {layer[key]} "
                        f"above the cap {caps[key]}",
                        (("media", "profiles", name, "caps", key),),
                    )


def degrade_layer(bundle: Bundle) -> Iterator[Finding]:
    """The degrade step names a layer of the profile below its best one."""
    for name, profile in _profiles(bundle).items():
        names = [layer["name"] for layer in profile["layers"]]
        target = profile["degrade"]["to_layer"]
        path: Path_ = ("media", "profiles", name, "degrade", "to_layer")
        if target not in names:
            yield Finding(
                RuleId.MEDIA_DEGRADE_LAYER,
                path,
                f"degrade step of {name!r} names layer {target!r}, which the profile "
                f"does not have (layers: {', '.join(names)})",
            )
        elif len(names) > 1 and target == names[0]:
            yield Finding(
                RuleId.MEDIA_DEGRADE_LAYER,
                path,
                f"degrade step of {name!r} goes to its best layer {target!r}; it must step down",
            )


def hls_settings(bundle: Bundle) -> Iterator[Finding]:
    """HLS profiles carry segment settings and only they do."""
    for name, profile in _profiles(bundle).items():
        has = "hls" in profile
        if profile["transport"] == "hls" and not has:
            yield Finding(
                RuleId.MEDIA_HLS_SETTINGS,
                ("media", "profiles", name, "transport"),
                f"HLS profile {name!r} has no 'hls' segment settings",
            )
        elif profile["transport"] != "hls" and has:
            yield Finding(
                RuleId.MEDIA_HLS_SETTINGS,
                ("media", "profiles", name, "hls"),
                f"profile {name!r} uses {profile['transport']}, so 'hls' settings do not apply",
            )


def media_profile_refs(bundle: Bundle) -> Iterator[Finding]:
    """Every media profile a mode or a limit names exists."""
    profiles = _profiles(bundle)
    for mode_name, mode in bundle["modes"]["modes"].items():
        for index, ref in enumerate(mode["media_profiles"]):
            if ref not in profiles:
                yield Finding(
                    RuleId.REF_MEDIA_PROFILE,
                    ("modes", "modes", mode_name, "media_profiles", index),
                    f"mode {mode_name!r} uses unknown media profile {ref!r}",
                )
    for mode_name, region, index, placement in _placements(bundle):
        ref = placement.get("media_profile")
        if ref is not None and ref not in profiles:
            yield Finding(
                RuleId.REF_MEDIA_PROFILE,
                ("modes", "modes", mode_name, "shell", region, index, "media_profile"),
                f"{placement['component']} in {mode_name!r} plays unknown media profile {ref!r}",
            )
    random = bundle["limits"]["random"]
    for path, ref in (
        (("limits", "random", "media_profile"), random["media_profile"]),
        (
            ("limits", "random", "quarantine", "media_profile"),
            random["quarantine"]["media_profile"],
        ),
    ):
        if ref not in profiles:
            yield Finding(RuleId.REF_MEDIA_PROFILE, path, f"unknown media profile {ref!r}")


def mode_media_profiles(bundle: Bundle) -> Iterator[Finding]:
    """A mode lists exactly the media profiles its components play."""
    known = _profiles(bundle)
    for mode_name, mode in bundle["modes"]["modes"].items():
        listed = set(mode["media_profiles"])
        played: set[str] = set()
        for region, placements in mode["shell"].items():
            for index, placement in enumerate(placements):
                ref = placement.get("media_profile")
                if ref is None or ref not in known:
                    continue  # unknown profiles are reported by media_profile_refs
                played.add(ref)
                if ref not in listed:
                    yield Finding(
                        RuleId.MODE_MEDIA_PROFILES,
                        ("modes", "modes", mode_name, "shell", region, index, "media_profile"),
                        f"{placement['component']} in {mode_name!r} plays {ref!r}, "
                        "which the mode's media_profiles do not list",
                    )
        for index, ref in enumerate(mode["media_profiles"]):
            if ref in known and ref not in played:
                yield Finding(
                    RuleId.MODE_MEDIA_PROFILES,
                    ("modes", "modes", mode_name, "media_profiles", index),
                    f"mode {mode_name!r} lists media profile {ref!r} but no component plays it",
                )


def component_refs(bundle: Bundle) -> Iterator[Finding]:
    """Every placed component exists and is placed in a region it allows."""
    components = bundle["modes"]["components"]
    for mode_name, region, index, placement in _placements(bundle):
        name = placement["component"]
        path: Path_ = ("modes", "modes", mode_name, "shell", region, index, "component")
        if name not in components:
            yield Finding(
                RuleId.REF_COMPONENT, path, f"mode {mode_name!r} places unknown component {name!r}"
            )
        elif region not in components[name]["regions"]:
            allowed = ", ".join(components[name]["regions"])
            yield Finding(
                RuleId.MODE_COMPONENT_REGION,
                path,
                f"{name} cannot be placed in {region} (allowed: {allowed})",
            )


def transition_refs(bundle: Bundle) -> Iterator[Finding]:
    """Every transition leads to a mode that exists, other than the mode itself."""
    modes = bundle["modes"]["modes"]
    for mode_name, mode in modes.items():
        for index, transition in enumerate(mode["transitions"]):
            target = transition["to"]
            path: Path_ = ("modes", "modes", mode_name, "transitions", index, "to")
            if target not in modes:
                yield Finding(
                    RuleId.REF_TRANSITION,
                    path,
                    f"{mode_name!r} transitions to unknown mode {target!r}",
                )
            elif target == mode_name:
                yield Finding(RuleId.REF_TRANSITION, path, f"{mode_name!r} transitions to itself")


def unique_routes(bundle: Bundle) -> Iterator[Finding]:
    """No two modes share a route."""
    seen: dict[str, str] = {}
    for mode_name, mode in bundle["modes"]["modes"].items():
        route = mode["route"]
        if route in seen:
            yield Finding(
                RuleId.MODE_ROUTE_UNIQUE,
                ("modes", "modes", mode_name, "route"),
                f"route {route!r} of {mode_name!r} is already the route of {seen[route]!r}",
            )
        else:
            seen[route] = mode_name


def calls_require_consent(bundle: Bundle) -> Iterator[Finding]:
    """A mode carrying a call requires consent (global invariant 2)."""
    components = bundle["modes"]["components"]
    for mode_name, mode in bundle["modes"]["modes"].items():
        calls = [
            p["component"]
            for placements in mode["shell"].values()
            for p in placements
            if components.get(p["component"], {}).get("call", False)
        ]
        if calls and not mode["policies"]["consent_required"]:
            yield Finding(
                RuleId.MODE_CALL_REQUIRES_CONSENT,
                ("modes", "modes", mode_name, "policies", "consent_required"),
                f"mode {mode_name!r} carries a call ({calls[0]}) without requiring consent",
            )


def ecosystem_separation(bundle: Bundle) -> Iterator[Finding]:
    """live_public stays apart from the party, and no separated mode shows party presence."""
    modes = bundle["modes"]["modes"]
    live = modes.get(LIVE_PUBLIC)
    if live is not None and not live["policies"]["separate_ecosystem_from_party"]:
        yield Finding(
            RuleId.ECOSYSTEM_LIVE_PUBLIC_POLICY,
            ("modes", "modes", LIVE_PUBLIC, "policies", "separate_ecosystem_from_party"),
            "live_public must keep separate_ecosystem_from_party true",
        )
    for mode_name, mode in modes.items():
        if not mode["policies"]["separate_ecosystem_from_party"]:
            continue
        for index, placement in enumerate(mode["shell"]["rail"]):
            if placement["component"] == PRESENCE_RAIL:
                yield Finding(
                    RuleId.ECOSYSTEM_PRESENCE_RAIL,
                    ("modes", "modes", mode_name, "shell", "rail", index, "component"),
                    f"{mode_name!r} is separate from the party, so its rail cannot be "
                    f"the presence rail",
                )


def tiles_within_caps(bundle: Bundle) -> Iterator[Finding]:
    """Tiles play thumbnail profiles, and the tile budget fits those profiles' caps."""
    components = bundle["modes"]["components"]
    profiles = _profiles(bundle)
    tiles = bundle["limits"]["presence"]["tiles_active"]
    seen: set[str] = set()
    for mode_name, region, index, placement in _placements(bundle):
        if not components.get(placement["component"], {}).get("shows_tiles", False):
            continue
        ref = placement.get("media_profile")
        path: Path_ = ("modes", "modes", mode_name, "shell", region, index, "media_profile")
        profile = profiles.get(ref) if ref is not None else None
        if ref is not None and profile is None:
            continue  # reported by media_profile_refs
        if profile is None or profile["kind"] != "thumb":
            got = f"{ref!r} of kind {profile['kind']}" if profile else "no media profile"
            yield Finding(
                RuleId.PRESENCE_TILE_PROFILE,
                path if ref is not None else path[:-1],
                f"{placement['component']} in {mode_name!r} shows tiles, so it must play a "
                f"thumbnail profile (got {got})",
            )
            continue
        if ref is None or ref in seen:
            continue
        seen.add(ref)
        cap = profile["caps"]["max_per_viewer"]
        for device in ("desktop", "mobile"):
            if tiles[device] > cap:
                yield Finding(
                    RuleId.PRESENCE_TILES_WITHIN_CAPS,
                    ("limits", "presence", "tiles_active", device),
                    f"{tiles[device]} active tiles on {device} exceed the {cap} streams "
                    f"per viewer that profile {ref!r} allows",
                    (("media", "profiles", ref, "caps", "max_per_viewer"),),
                )


def heartbeat_within_ttl(bundle: Bundle) -> Iterator[Finding]:
    """Presence heartbeats come more often than the anti-ghost TTL removes people."""
    presence = bundle["limits"]["presence"]
    if presence["heartbeat_interval_s"] >= presence["anti_ghost_ttl_s"]:
        yield Finding(
            RuleId.PRESENCE_HEARTBEAT_WITHIN_TTL,
            ("limits", "presence", "heartbeat_interval_s"),
            f"heartbeat every {presence['heartbeat_interval_s']} s is not shorter than the "
            f"anti-ghost TTL of {presence['anti_ghost_ttl_s']} s",
            (("limits", "presence", "anti_ghost_ttl_s"),),
        )


def expiry_within_bound(bundle: Bundle) -> Iterator[Finding]:
    """A presence whose heartbeats stopped is gone within the bound, sweeps and lease included."""
    presence = bundle["limits"]["presence"]
    ttl_s, interval_ms = presence["anti_ghost_ttl_s"], presence["sweep_interval_ms"]
    worst = worst_case_gone_ms(ttl_s, interval_ms)
    if worst >= GONE_WITHIN_MS:
        yield Finding(
            RuleId.PRESENCE_EXPIRY_WITHIN_BOUND,
            ("limits", "presence", "sweep_interval_ms"),
            f"a presence can stay up to {worst} ms after its last heartbeat (anti-ghost TTL "
            f"{ttl_s} s + a sweep every {interval_ms} ms + the sweeper's lease of "
            f"{sweeper_lease_ms(interval_ms)} ms); it must be gone in under {GONE_WITHIN_MS} ms",
            (("limits", "presence", "anti_ghost_ttl_s"),),
        )


def cooldown_non_decreasing(bundle: Bundle) -> Iterator[Finding]:
    """From index 3 on, the random cooldown schedule never goes down."""
    schedule = bundle["limits"]["random"]["cooldown_schedule_s"]
    for index in range(max(COOLDOWN_FREE_STEPS, 1), len(schedule)):
        if schedule[index] < schedule[index - 1]:
            yield Finding(
                RuleId.RANDOM_COOLDOWN_NON_DECREASING,
                ("limits", "random", "cooldown_schedule_s", index),
                f"cooldown step {index} is {schedule[index]} s, below step {index - 1} "
                f"({schedule[index - 1]} s); from step {COOLDOWN_FREE_STEPS} it must not decrease",
            )


def quarantine_stricter(bundle: Bundle) -> Iterator[Finding]:
    """Quarantined accounts get no more than everyone else."""
    random = bundle["limits"]["random"]
    quarantine = random["quarantine"]
    if quarantine["max_matches_per_hour"] > random["max_matches_per_hour"]:
        yield Finding(
            RuleId.RANDOM_QUARANTINE_STRICTER,
            ("limits", "random", "quarantine", "max_matches_per_hour"),
            f"quarantine allows {quarantine['max_matches_per_hour']} matches per hour, more "
            f"than the {random['max_matches_per_hour']} everyone else gets",
            (("limits", "random", "max_matches_per_hour"),),
        )
    profile = _profiles(bundle).get(quarantine["media_profile"])
    if profile is None:
        return  # reported by media_profile_refs
    caps, limit = quarantine["caps"], profile["caps"]
    base: Path_ = ("limits", "random", "quarantine", "caps")
    checks: list[tuple[Path_, Any, Any]] = [
        (("resolution", "width"), caps["resolution"]["width"], limit["resolution"]["width"]),
        (("resolution", "height"), caps["resolution"]["height"], limit["resolution"]["height"]),
        (("fps",), caps["fps"], limit["fps"]),
        (("max_bitrate_kbps",), caps["max_bitrate_kbps"], limit["max_bitrate_kbps"]),
    ]
    for sub, value, cap in checks:
        if value > cap:
            key = ".".join(map(str, sub))
            yield Finding(
                RuleId.RANDOM_QUARANTINE_STRICTER,
                (*base, *sub),
                f"quarantine {key} {value} is above the {cap} of profile "
                f"{quarantine['media_profile']!r}",
                (("media", "profiles", quarantine["media_profile"], "caps", *sub),),
            )


def chat_scope_refs(bundle: Bundle) -> Iterator[Finding]:
    """Every mode's chat scope has rate limits."""
    scopes = bundle["limits"]["chat"]["rate_limits"]
    for mode_name, mode in bundle["modes"]["modes"].items():
        scope = mode["chat_scope"]
        if scope is not None and scope not in scopes:
            yield Finding(
                RuleId.REF_CHAT_SCOPE,
                ("modes", "modes", mode_name, "chat_scope"),
                f"chat scope {scope!r} of {mode_name!r} has no rate limits "
                f"(known: {', '.join(sorted(scopes))})",
            )


def telemetry_rules(bundle: Bundle) -> Iterator[Finding]:
    """Funnel steps are events, no event carries a forbidden field, incidents sample more."""
    telemetry = bundle["telemetry"]
    events = telemetry["events"]
    for index, step in enumerate(telemetry["funnel"]):
        if step not in events:
            yield Finding(
                RuleId.REF_FUNNEL_EVENT,
                ("telemetry", "funnel", index),
                f"funnel step {step!r} is not a defined event",
            )
    forbidden = set(telemetry["privacy"]["forbidden_fields"])
    for name, event in events.items():
        for field_name in event["fields"]:
            if field_name in forbidden:
                yield Finding(
                    RuleId.TELEMETRY_PRIVACY,
                    ("telemetry", "events", name, "fields", field_name),
                    f"event {name!r} carries {field_name!r}, which the privacy rule forbids",
                )
    sampling = telemetry["sampling"]
    if sampling["qos_incident_rate"] < sampling["qos_default_rate"]:
        yield Finding(
            RuleId.TELEMETRY_SAMPLING,
            ("telemetry", "sampling", "qos_incident_rate"),
            f"incident sampling {sampling['qos_incident_rate']} is below the default "
            f"{sampling['qos_default_rate']}",
            (("telemetry", "sampling", "qos_default_rate"),),
        )


RULES: tuple[Rule, ...] = (
    thumb_no_audio,
    thumb_hard_caps,
    layers_within_caps,
    degrade_layer,
    hls_settings,
    media_profile_refs,
    mode_media_profiles,
    component_refs,
    transition_refs,
    unique_routes,
    calls_require_consent,
    ecosystem_separation,
    tiles_within_caps,
    heartbeat_within_ttl,
    expiry_within_bound,
    cooldown_non_decreasing,
    quarantine_stricter,
    chat_scope_refs,
    telemetry_rules,
)


def run_rules(bundle: Bundle) -> list[Finding]:
    """Every finding of every rule on ``bundle``."""
    return [finding for rule in RULES for finding in rule(bundle)]
