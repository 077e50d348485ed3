"""Cost tiers: checking that overrides only tighten, merging them, and clamping.

Pure functions: the schema lookup that says whether a path is a ceiling or a
floor is passed in, so these rules are tested without files.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, Literal

from runtime.config.problems import RuleId
from runtime.config.rules import Finding

__all__ = ["LimitLookup", "apply_clamps", "check_overrides", "deep_merge"]

Path_ = tuple[str | int, ...]
LimitLookup = Callable[[Path_], Literal["ceiling", "floor"] | None]


def deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` onto ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def _fmt(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _comparable(a: Any, b: Any) -> bool:
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return isinstance(a, number) and isinstance(b, number)


def _looser(direction: str, old: Any, new: Any) -> bool:
    return bool(new > old) if direction == "ceiling" else bool(new < old)


def check_overrides(
    tier: str, base: dict[str, Any], overrides: dict[str, Any], limit_at: LimitLookup
) -> list[Finding]:
    """Findings for override keys that do not exist, are not limits, or loosen a limit."""
    return list(_walk(tier, base, overrides, (), limit_at))


def _walk(
    tier: str, base: Any, override: Any, path: Path_, limit_at: LimitLookup
) -> Iterator[Finding]:
    if isinstance(override, dict) and (isinstance(base, dict) or not path):
        for key, value in override.items():
            child = (*path, key)
            if not isinstance(base, dict) or key not in base:
                yield Finding(
                    RuleId.TIER_UNKNOWN_KEY,
                    child,
                    f"tier {tier} overrides {_fmt(child)}, which the base configuration "
                    "does not have",
                )
                continue
            yield from _walk(tier, base[key], value, child, limit_at)
        return
    direction = limit_at(path)
    if direction is None:
        yield Finding(
            RuleId.TIER_NOT_A_LIMIT,
            path,
            f"tier {tier} overrides {_fmt(path)}, which is not a limit; tiers may only "
            "tighten limits",
        )
        return
    if isinstance(base, list) and isinstance(override, list):
        yield from _walk_list(tier, base, override, path, direction)
        return
    if _comparable(base, override) and _looser(direction, base, override):
        verb = "raises" if direction == "ceiling" else "lowers"
        yield Finding(
            RuleId.TIER_RAISES_LIMIT,
            path,
            f"tier {tier} {verb} {_fmt(path)} from {base!r} to {override!r}; a {direction} "
            f"may only go {'down' if direction == 'ceiling' else 'up'}",
        )


def _walk_list(
    tier: str, base: list[Any], override: list[Any], path: Path_, direction: str
) -> Iterator[Finding]:
    # A schedule holds its last value past its end, so compare the effective
    # value at every step either list reaches.
    if not base or not override:
        return
    for index in range(max(len(base), len(override))):
        old = base[min(index, len(base) - 1)]
        new = override[min(index, len(override) - 1)]
        if _comparable(old, new) and _looser(direction, old, new):
            at = (*path, min(index, len(override) - 1))
            yield Finding(
                RuleId.TIER_RAISES_LIMIT,
                at,
                f"tier {tier} loosens {_fmt(path)} at step {index} from {old!r} to {new!r}; "
                f"each step is a {direction}",
            )
            return


def apply_clamps(bundle: dict[str, Any]) -> dict[str, Any]:
    """Bring what depends on a lowered limit down with it; clamps only reduce.

    Layers follow their profile's caps, and quarantine follows both its profile's
    caps and the general match rate, so a tier that tightens one value never has
    to repeat it everywhere it bounds.
    """
    out = copy.deepcopy(bundle)
    profiles = out["media"]["profiles"]
    for profile in profiles.values():
        _clamp_video(profile["layers"], profile["caps"])
    random = out["limits"]["random"]
    quarantine = random["quarantine"]
    quarantine["max_matches_per_hour"] = min(
        quarantine["max_matches_per_hour"], random["max_matches_per_hour"]
    )
    profile = profiles.get(quarantine["media_profile"])
    if profile is not None:
        _clamp_video([quarantine["caps"]], profile["caps"])
    return out


def _clamp_video(items: list[dict[str, Any]], caps: dict[str, Any]) -> None:
    for item in items:
        for dim in ("width", "height"):
            item["resolution"][dim] = min(item["resolution"][dim], caps["resolution"][dim])
        item["fps"] = min(item["fps"], caps["fps"])
        item["max_bitrate_kbps"] = min(item["max_bitrate_kbps"], caps["max_bitrate_kbps"])
