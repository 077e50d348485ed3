"""One schema node seen flat: ``allOf`` merged, nullable unions folded, views applied."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from codegen.breaking.refs import ORIGINS, RECURSIVE

__all__ = ["LOWER_BOUNDS", "MISSING", "UPPER_BOUNDS", "Shape", "View", "flatten", "shape"]

View = Literal["request", "response", "all"]
"""Which properties exist: requests hide ``readOnly`` ones, responses ``writeOnly`` ones."""

LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf", "uniqueItems")
MISSING: Any = object()
"""Stand-in for an absent ``default``."""


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    raw = schema.get("type")
    if isinstance(raw, str):
        found = {raw}
    elif isinstance(raw, list):
        found = {str(t) for t in raw}
    elif "properties" in schema:
        found = {"object"}
    else:
        return None
    if schema.get("nullable") is True:
        found.add("null")
    return frozenset(found)


def _merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[key] = props
        elif key == "required":
            out[key] = [*out[key], *(n for n in value if n not in out[key])]
        elif key == ORIGINS:
            out[key] = (*out[key], *value)
        elif key == "type":
            mine, theirs = _types({"type": out[key]}), _types({"type": value})
            out[key] = sorted((mine or frozenset()) & (theirs or frozenset()))
        elif key == "enum":
            out[key] = [v for v in out[key] if v in value]
        elif key in ("additionalProperties", "unevaluatedProperties"):
            out[key] = False if False in (out[key], value) else value
        elif key in LOWER_BOUNDS and isinstance(value, int | float):
            out[key] = max(out[key], value)
        elif key in UPPER_BOUNDS and isinstance(value, int | float):
            out[key] = min(out[key], value)
        else:
            out[key] = value
    return out


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and _types(schema) == frozenset({"null"})


def flatten(schema: Any) -> dict[str, Any]:
    """The schema with ``allOf`` merged in and ``anyOf``/``oneOf`` ``[T, null]`` as nullable T."""
    if not isinstance(schema, dict):
        return {} if schema is True or schema is None else {"not": {}}
    out = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf", ()):
        out = _merge(out, flatten(part))
    for key in ("anyOf", "oneOf"):
        alts = out.get(key)
        if not isinstance(alts, list) or not any(_is_null(a) for a in alts):
            continue
        rest = [a for a in alts if not _is_null(a)]
        if len(rest) == 1:
            del out[key]
            out = _merge(out, flatten(rest[0]))
            out["nullable"] = True
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _visible(prop: Any, view: View) -> bool:
    flat = flatten(prop)
    if view == "request":
        return flat.get("readOnly") is not True
    if view == "response":
        return flat.get("writeOnly") is not True
    return True


def _variant_key(alt: Any, index: int, discriminator: Mapping[str, Any]) -> str:
    flat = flatten(alt)
    name = discriminator.get("propertyName")
    if isinstance(name, str):
        prop = flatten(flat.get("properties", {}).get(name, {}))
        if "const" in prop:
            return str(prop["const"])
        if isinstance(prop.get("enum"), list) and len(prop["enum"]) == 1:
            return str(prop["enum"][0])
        for value, target in dict(discriminator.get("mapping") or {}).items():
            if any(str(o).endswith(str(target).lstrip(".")) for o in flat.get(ORIGINS, ())):
                return str(value)
    if isinstance(flat.get("title"), str):
        return str(flat["title"])
    types = _types(flat)
    return "|".join(sorted(types)) if types else f"#{index}"


@dataclass(frozen=True)
class Shape:
    """The comparable facts of one schema node; children stay unflattened."""

    types: frozenset[str] | None
    enum: frozenset[str] | None
    properties: Mapping[str, Any]
    required: frozenset[str]
    closed: bool
    additional: Mapping[str, Any] | None
    items: Any
    variants: Mapping[str, Any] | None
    union: str = "oneOf"
    constraints: Mapping[str, Any] = field(default_factory=dict)
    default: Any = MISSING
    recursive: str | None = None
    origins: tuple[str, ...] = ()


def shape(schema: Any, view: View) -> Shape:
    """The flat, comparable form of ``schema`` as seen in ``view``."""
    flat = flatten(schema)
    values: list[Any] | None = None
    if "const" in flat:
        values = [flat["const"]]
    elif isinstance(flat.get("enum"), list):
        values = list(flat["enum"])
    types = _types(flat)
    if types is None and values is not None:
        types = frozenset(_json_type(v) for v in values)
    props = {k: v for k, v in dict(flat.get("properties") or {}).items() if _visible(v, view)}
    variants: dict[str, Any] | None = None
    union = "oneOf"
    for key in ("oneOf", "anyOf"):
        if isinstance(flat.get(key), list):
            union = key
            disc = flat.get("discriminator") or {}
            variants = {}
            for i, alt in enumerate(flat[key]):
                name = _variant_key(alt, i, disc)
                variants[name if name not in variants else f"{name}#{i}"] = alt
    extra = flat.get("additionalProperties")
    return Shape(
        types=types,
        enum=None if values is None else frozenset(_canonical(v) for v in values if v is not None),
        properties=props,
        required=frozenset(n for n in flat.get("required", ()) if n in props),
        closed=extra is False or flat.get("unevaluatedProperties") is False,
        additional=extra if isinstance(extra, dict) else None,
        items=flat.get("items"),
        variants=variants,
        union=union,
        constraints={
            k: flat[k]
            for k in (*LOWER_BOUNDS, *UPPER_BOUNDS, *_EXACT)
            if k in flat and flat[k] is not False  # ``uniqueItems: false`` constrains nothing
        },
        default=flat.get("default", MISSING),
        recursive=flat.get(RECURSIVE) if isinstance(flat.get(RECURSIVE), str) else None,
        origins=tuple(flat.get(ORIGINS, ())),
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
