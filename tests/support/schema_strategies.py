"""Hypothesis strategies that build instances of a JSON Schema (the subset our contracts use).

Written for the tests because hypothesis-jsonschema no longer works with current
Hypothesis; it covers what the contracts use and refuses anything else loudly.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

Resolver = Callable[[str], dict[str, Any]]

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " _-.", max_size=12)
_ANY = st.none() | st.booleans() | st.integers(-5, 5) | _TEXT
# Names of additional properties: never a declared property, never a Python identifier
# (so never a field name or an alias of a generated model).
_EXTRA_KEYS = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6).map(
    lambda s: f"x-{s}"
)
# Keywords that do not constrain an instance: a schema made only of these allows anything.
_ANNOTATIONS = frozenset(
    {
        "$comment", "title", "description", "default", "examples", "example",
        "readOnly", "writeOnly", "deprecated", "discriminator", "externalDocs", "xml",
    }
)  # fmt: skip
# Keywords these strategies do not implement: refused, so no invalid instance is drawn.
_UNSUPPORTED = frozenset(
    {
        "not", "if", "then", "else", "multipleOf", "patternProperties", "prefixItems",
        "dependentRequired", "dependentSchemas", "minProperties", "maxProperties",
        "contains", "minContains", "maxContains", "unevaluatedProperties",
        "unevaluatedItems", "propertyNames", "$dynamicRef",
    }
)  # fmt: skip
_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "date-time": st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    "date": st.dates().map(lambda d: d.isoformat()),
    "email": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(com|tv)", fullmatch=True),
    "uri": st.from_regex(r"https://[a-z]{1,8}\.tv/[a-z]{0,8}", fullmatch=True),
}


def instances(schema: Any, resolve: Resolver, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid against ``schema``; ``resolve`` turns a ``$ref`` into its schema."""
    if schema is True or schema == {}:
        return _ANY
    if not isinstance(schema, dict):
        raise ValueError(f"cannot build instances of {schema!r}")
    unsupported = sorted(_UNSUPPORTED & schema.keys())
    if unsupported:
        raise ValueError(f"cannot build instances of a schema using {unsupported}: {schema!r}")
    if all(key in _ANNOTATIONS or key.startswith("x-") for key in schema):
        return _ANY
    if "$ref" in schema:
        merged = {**resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
        return instances(merged, resolve, depth)
    if "allOf" in schema:
        return _all_of(schema, resolve, depth)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            rest = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
            options = [instances({**rest, **opt}, resolve, depth + 1) for opt in schema[key]]
            return st.one_of(options)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type")
    if isinstance(types, list):
        return st.one_of([instances({**schema, "type": t}, resolve, depth) for t in types])
    if types is None and ("properties" in schema or "required" in schema):
        types = "object"
    return _typed(schema, types, resolve, depth)


def _all_of(schema: dict[str, Any], resolve: Resolver, depth: int) -> st.SearchStrategy[Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for raw in schema["allOf"]:
        part = resolve(raw["$ref"]) if "$ref" in raw else raw
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**value, **merged.get("properties", {})}
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key not in merged:
                merged[key] = value
    return instances(merged, resolve, depth)


def _typed(
    schema: dict[str, Any], kind: Any, resolve: Resolver, depth: int
) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1000))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 1000))
        if "exclusiveMinimum" in schema:
            low += 1
        if "exclusiveMaximum" in schema:
            high -= 1
        if kind == "integer":
            return st.integers(int(low), int(high))
        return st.floats(float(low), float(high), allow_nan=False, allow_infinity=False)
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = instances(schema.get("items", True), resolve, depth + 1)
        return st.lists(
            items,
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 3), 3 if depth > 2 else 4),
            unique_by=repr if schema.get("uniqueItems") else None,
        )
    if kind == "object":
        return _object(schema, resolve, depth)
    raise ValueError(f"cannot build instances of type {kind!r} in {schema!r}")


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if "pattern" in schema:
        strategy = st.from_regex(schema["pattern"], fullmatch=True)
    else:
        strategy = st.text(
            alphabet=string.ascii_letters + string.digits + " _-.:/",
            min_size=schema.get("minLength", 0),
            max_size=max(schema.get("minLength", 0), min(schema.get("maxLength", 24), 24)),
        )
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10**9)
    return strategy.filter(lambda s: low <= len(s) <= high)


def _object(schema: dict[str, Any], resolve: Resolver, depth: int) -> st.SearchStrategy[Any]:
    props: dict[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in props]
    fixed = {name: instances(props[name], resolve, depth + 1) for name in required}
    optional = {
        name: instances(sub, resolve, depth + 1)
        for name, sub in props.items()
        if name not in fixed and not (isinstance(sub, dict) and sub.get("readOnly") and depth > 8)
    }
    declared = st.fixed_dictionaries(fixed, optional=optional)
    extra = schema.get("additionalProperties", True)
    if extra is False or depth > 4:
        return declared
    # Additional properties are allowed (explicitly, or by omission): draw a few.
    values = _ANY if extra is True else instances(extra, resolve, depth + 1)
    extras = st.dictionaries(_EXTRA_KEYS.filter(lambda k: k not in props), values, max_size=2)
    return st.tuples(declared, extras).map(lambda pair: {**pair[1], **pair[0]})
