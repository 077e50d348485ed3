"""Benchmark: event validation throughput, compiled validators against jsonschema.

Both validate the same corpus in one run: every golden example, a mutation corpus
(missing keys, wrong types, extra keys, bad formats) and Hypothesis-generated events.
The script first checks that the verdicts are identical, then times each validator
over several rounds and prints events per second and the ratio.
Usage: python ci/bench/events.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402
from referencing import Registry  # noqa: E402
from referencing.jsonschema import DRAFT202012  # noqa: E402

from generated.events import EventValidationError, validate_event  # noqa: E402
from tests.support.schema_strategies import instances  # noqa: E402

EVENTS = ROOT / "contracts" / "events"
BASE = "https://voulezvous.tv/contracts/events/"


def _schemas() -> dict[str, dict[str, Any]]:
    loaded = (json.loads(p.read_text()) for p in sorted(EVENTS.glob("*.schema.json")))
    return {s["$id"]: s for s in loaded}


def _type_of(schema: dict[str, Any]) -> str | None:
    for node in (schema, *schema.get("allOf", [])):
        const = ((node.get("properties") or {}).get("type") or {}).get("const")
        if const:
            return str(const)
    return None


def _mutations(event: dict[str, Any]) -> list[Any]:
    out: list[Any] = [
        {**event, "extra": 1},
        {**event, "seq": -1},
        {**event, "ts": "2024-02-30T00:00:00Z"},
    ]
    data = event["data"]
    out.append({**event, "data": {**data, "unknown_field": True}})
    for key in data:
        out.append({**event, "data": {k: v for k, v in data.items() if k != key}})
        out.append({**event, "data": {**data, key: 12345}})
    return out


def _generated(
    by_type: dict[str, dict[str, Any]], registry: Registry[Any], per_type: int
) -> list[Any]:
    resolver = registry.resolver(base_uri=BASE)
    found: list[Any] = []
    for schema in by_type.values():
        strategy = instances(schema, lambda ref: dict(resolver.lookup(ref).contents))

        @seed(20261122)
        @settings(
            max_examples=per_type,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def collect(value: Any) -> None:
            found.append(value)

        collect()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)  # best-of rounds per validator
    parser.add_argument("--per-type", type=int, default=60)
    args = parser.parse_args()

    schemas = _schemas()
    registry: Registry[Any] = Registry().with_resources(
        (uri, DRAFT202012.create_resource(s)) for uri, s in schemas.items()
    )
    by_type = {t: s for s in schemas.values() if (t := _type_of(s))}
    checker = FormatChecker()
    reference = {
        t: Draft202012Validator(s, registry=registry, format_checker=checker)
        for t, s in by_type.items()
    }
    golden = [e for s in by_type.values() for e in s.get("examples", [])]
    corpus = (
        golden
        + [m for e in golden for m in _mutations(e)]
        + _generated(by_type, registry, args.per_type)
    )

    def ours(event: Any) -> bool:
        try:
            validate_event(event)
        except EventValidationError:
            return False
        return True

    def theirs(event: Any) -> bool:
        kind = event.get("type") if isinstance(event, dict) else None
        return kind in reference and reference[kind].is_valid(event)

    differing = [e for e in corpus if ours(e) != theirs(e)]
    valid = sum(ours(e) for e in corpus)
    invalid = len(corpus) - valid
    print(f"corpus: {len(corpus)} events ({len(golden)} golden, {valid} valid, {invalid} invalid)")
    print(f"verdicts identical: {not differing} ({len(differing)} differing)")
    if differing:
        sys.exit(1)

    def rate(check: Any, passes: int) -> float:
        """Best of several rounds; each round validates the corpus `passes` times."""
        best = 0.0
        for _ in range(args.rounds):
            start = time.perf_counter()
            for _ in range(passes):
                for event in corpus:
                    check(event)
            best = max(best, passes * len(corpus) / (time.perf_counter() - start))
        return best

    # Comparable round lengths (about a second each) for a slow and a fast validator.
    fast, slow = rate(ours, passes=40), rate(theirs, passes=2)
    print(f"compiled validators: {fast:12,.0f} events/s")
    print(f"jsonschema:          {slow:12,.0f} events/s")
    print(f"ratio:               {fast / slow:12.1f}x (target: at least 20x)")


if __name__ == "__main__":
    main()
