"""Property: overrides that only tighten never loosen a limit; any loosening is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.config import RuleId, check_config, dump_bundle
from runtime.config.schemas import SchemaSet
from runtime.config.tiers import apply_clamps, check_overrides, deep_merge
from runtime.settings import Settings

Path_ = tuple[str | int, ...]

SCHEMAS = SchemaSet(Settings().schemas_dir)


def _base() -> dict[str, Any]:
    bundle = dump_bundle(check_config(tier="COST_LOW").bundles["COST_LOW"])
    return {k: v for k, v in bundle.items() if k not in ("tier", "config_hash")}


BASE = _base()


def _limit_leaves(node: Any, path: Path_ = ()) -> list[tuple[Path_, str, Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _limit_leaves(v, (*path, k))]
    direction = SCHEMAS.limit_at(path)
    return [(path, direction, node)] if direction in ("ceiling", "floor") else []


LEAVES = _limit_leaves(BASE)


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(tree: dict[str, Any], path: Path_, value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _tighter(direction: str, value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.just(False) if direction == "ceiling" else st.just(True)
    if isinstance(value, list):
        return st.tuples(*(_tighter(direction, v) for v in value)).map(list)
    if isinstance(value, float):
        lo, hi = (0.0, value) if direction == "ceiling" else (value, value * 2 + 1)
        return st.floats(lo, hi, allow_nan=False)
    lo, hi = (0, value) if direction == "ceiling" else (value, value * 2 + 10)
    return st.integers(lo, hi)


def _looser(direction: str, value: Any) -> st.SearchStrategy[Any] | None:
    if isinstance(value, bool):
        if direction == "ceiling":
            return None if value else st.just(True)
        return None if not value else st.just(False)
    if isinstance(value, list):
        # Loosen one step that can be loosened, keep the others as they are.
        steps = [i for i, v in enumerate(value) if _looser(direction, v) is not None]
        if not steps:
            return None

        def loosen(i: int) -> st.SearchStrategy[Any]:
            step = _looser(direction, value[i])
            assert step is not None
            return step.map(lambda v: [*value[:i], v, *value[i + 1 :]])

        return st.sampled_from(steps).flatmap(loosen)
    if direction == "ceiling":
        return st.integers(int(value) + 1, int(value) * 2 + 10)
    return None if value <= 0 else st.integers(0, int(value) - 1)


def _not_looser(direction: str, old: Any, new: Any) -> bool:
    if isinstance(old, list):
        return all(_not_looser(direction, o, n) for o, n in zip(old, new, strict=True))
    return new <= old if direction == "ceiling" else new >= old


@st.composite
def tightening(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(LEAVES), unique_by=lambda leaf: leaf[0], max_size=12))
    overrides: dict[str, Any] = {}
    for path, direction, value in chosen:
        _set(overrides, path, draw(_tighter(direction, value)))
    return overrides


LOOSENABLE = [leaf for leaf in LEAVES if _looser(leaf[1], leaf[2]) is not None]


@st.composite
def loosening(draw: st.DrawFn) -> tuple[dict[str, Any], Path_]:
    overrides = draw(tightening())
    path, direction, value = draw(st.sampled_from(LOOSENABLE))
    strategy = _looser(direction, value)
    assert strategy is not None
    _set(overrides, path, draw(strategy))
    return overrides, path


def test_there_are_many_limits() -> None:
    assert len(LEAVES) > 60
    assert {d for _, d, _ in LEAVES} == {"ceiling", "floor"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tightening())
def test_tightening_overrides_are_accepted_and_never_loosen(overrides: dict[str, Any]) -> None:
    assert check_overrides("T", BASE, overrides, SCHEMAS.limit_at) == []
    merged = apply_clamps(deep_merge(BASE, overrides))
    for path, direction, value in LEAVES:
        assert _not_looser(direction, value, _get(merged, path)), path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loosening())
def test_any_loosening_override_is_rejected(case: tuple[dict[str, Any], Path_]) -> None:
    overrides, path = case
    findings = check_overrides("T", BASE, overrides, SCHEMAS.limit_at)
    assert findings, "a loosening override was accepted"
    assert {f.rule for f in findings} == {RuleId.TIER_RAISES_LIMIT}
    assert any(f.path[: len(path)] == path for f in findings)
    message = next(f.message for f in findings if f.path[: len(path)] == path)
    # The message names the key and both values.
    assert ".".join(map(str, path)) in message


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"limits": {"random": {"media_profile": "meeting"}}}, RuleId.TIER_NOT_A_LIMIT),
        ({"media": {"profiles": {"nope": {"caps": {"fps": 1}}}}}, RuleId.TIER_UNKNOWN_KEY),
        ({"kill_switches": {"max_skips_per_minute": 13}}, RuleId.TIER_RAISES_LIMIT),
    ],
)
def test_tier_rules_by_example(overrides: dict[str, Any], rule: RuleId) -> None:
    findings = check_overrides("T", BASE, overrides, SCHEMAS.limit_at)
    assert [f.rule for f in findings] == [rule]


def test_raise_message_names_key_and_both_values() -> None:
    (finding,) = check_overrides(
        "COST_X", BASE, {"limits": {"random": {"max_matches_per_hour": 80}}}, SCHEMAS.limit_at
    )
    assert finding.message.startswith("tier COST_X raises limits.random.max_matches_per_hour")
    assert "from 60 to 80" in finding.message


def test_clamps_bring_dependent_values_down_with_a_tier() -> None:
    overrides = {
        "limits": {"random": {"max_matches_per_hour": 10}},
        "media": {"profiles": {"call_random_fast": {"caps": {"fps": 12}}}},
    }
    assert check_overrides("T", BASE, overrides, SCHEMAS.limit_at) == []
    merged = apply_clamps(deep_merge(BASE, overrides))
    random = merged["limits"]["random"]
    assert random["quarantine"]["max_matches_per_hour"] == 10
    assert random["quarantine"]["caps"]["fps"] == 12
    layers = merged["media"]["profiles"]["call_random_fast"]["layers"]
    assert [layer["fps"] for layer in layers] == [12, 12]
    # The base itself is never modified.
    assert BASE["limits"]["random"]["quarantine"]["max_matches_per_hour"] == 20
