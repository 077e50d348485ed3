"""Events: examples, typed models, and the compiled validators' verdicts against jsonschema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from generated.events import EVENT_TYPES, EventValidationError, parse_event, validate_event
from tests.support.schema_strategies import instances

EVENTS = Path(__file__).resolve().parents[2] / "contracts" / "events"
SCHEMAS = {s["$id"]: s for s in (json.loads(p.read_text()) for p in sorted(EVENTS.glob("*.json")))}
REGISTRY: Registry[Any] = Registry().with_resources(
    (uri, DRAFT202012.create_resource(s)) for uri, s in SCHEMAS.items()
)


def _type_of(schema: dict[str, Any]) -> str | None:
    for node in (schema, *schema.get("allOf", [])):
        const = ((node.get("properties") or {}).get("type") or {}).get("const")
        if const:
            return str(const)
    return None


BY_TYPE = {t: s for s in SCHEMAS.values() if (t := _type_of(s))}
VALIDATORS = {
    t: Draft202012Validator(s, registry=REGISTRY, format_checker=FormatChecker())
    for t, s in BY_TYPE.items()
}
EXAMPLES = [(t, e) for t, s in BY_TYPE.items() for e in s.get("examples", [])]


BASE_URI = "https://voulezvous.tv/contracts/events/"


def _resolve(ref: str) -> dict[str, Any]:
    return dict(REGISTRY.resolver(base_uri=BASE_URI).lookup(ref).contents)


def _generated_verdict(event: Any) -> bool:
    try:
        validate_event(event)
    except EventValidationError:
        return False
    return True


def _reference_verdict(event: Any) -> bool:
    kind = event.get("type") if isinstance(event, dict) else None
    if kind not in VALIDATORS:
        return False
    return VALIDATORS[kind].is_valid(event)


def test_every_event_type_has_a_validator_and_examples() -> None:
    assert set(EVENT_TYPES) == set(BY_TYPE) and len(BY_TYPE) == 9
    assert all(s.get("examples") for s in BY_TYPE.values())


@pytest.mark.parametrize(
    ("kind", "example"), EXAMPLES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(EXAMPLES)]
)
def test_examples_round_trip_through_the_models(kind: str, example: dict[str, Any]) -> None:
    assert VALIDATORS[kind].is_valid(example)
    event = parse_event(copy.deepcopy(example))
    assert event.type == kind
    dumped = json.loads(event.model_dump_json(by_alias=True, exclude_unset=True))
    assert VALIDATORS[kind].is_valid(dumped)
    assert _generated_verdict(dumped)


def _mutations(event: dict[str, Any]) -> list[Any]:
    """Invalid (mostly) variants: missing keys, wrong types, extras, bad formats."""
    out: list[Any] = [None, [], "x", {**event, "extra": 1}, {**event, "type": "nope.nope"}]
    for key in event:
        out.append({k: v for k, v in event.items() if k != key})
    data = event["data"]
    out.append({**event, "data": {**data, "unknown_field": True}})
    for key, value in data.items():
        out.append({**event, "data": {k: v for k, v in data.items() if k != key}})
        for wrong in (None, 1, 1.5, True, "", "x", [], {}, value):
            out.append({**event, "data": {**data, key: wrong}})
    for ts in (
        "2024-02-30T00:00:00Z",
        "2024-01-01t00:00:00z",
        "0000-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z\n",
        "2024-01-01 00:00:00Z",
        "2024-12-31T23:59:60Z",
    ):
        out.append({**event, "ts": ts})
    for ident in ("{" + event["id"] + "}", event["id"].upper(), event["id"].replace("-", ""), "x"):
        out.append({**event, "id": ident})
    for seq in (-1, 1.0, 2.5, True, "1"):
        out.append({**event, "seq": seq})
    return out


CORPUS = [m for _, e in EXAMPLES for m in _mutations(e)]


def test_verdicts_match_jsonschema_on_the_mutation_corpus() -> None:
    assert len(CORPUS) > 500
    disagreements = [m for m in CORPUS if _generated_verdict(m) != _reference_verdict(m)]
    assert disagreements == []
    assert any(_generated_verdict(m) for m in CORPUS) and not all(
        _generated_verdict(m) for m in CORPUS
    )


@pytest.mark.parametrize("kind", sorted(BY_TYPE))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_instances_get_the_same_verdict_and_parse(kind: str, data: st.DataObject) -> None:
    event = data.draw(instances(BY_TYPE[kind], _resolve))
    assert _reference_verdict(event), event
    assert _generated_verdict(event), event
    parsed = parse_event(event)
    dumped = json.loads(parsed.model_dump_json(by_alias=True, exclude_unset=True))
    assert _reference_verdict(dumped) and _generated_verdict(dumped)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(BY_TYPE)), field=st.text(max_size=12), value=JSON)
def test_arbitrary_field_values_get_the_same_verdict(kind: str, field: str, value: Any) -> None:
    example = next(e for t, e in EXAMPLES if t == kind)
    for variant in (
        {**example, "data": {**example["data"], field: value}},
        {**example, field: value},
    ):
        assert _generated_verdict(variant) == _reference_verdict(variant), variant


def test_a_rejection_names_the_pointer() -> None:
    _, example = EXAMPLES[0]
    broken = copy.deepcopy(example)
    first = next(iter(broken["data"]))
    broken["data"][first] = {"not": "valid"}
    with pytest.raises(EventValidationError) as caught:
        validate_event(broken)
    assert caught.value.pointer == f"/data/{first}"
