"""The manifest JSON Schemas: loading, validation into located problems, and limit lookup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from runtime.config.problems import RuleId

__all__ = ["BUNDLE_SCHEMA", "LIMIT_KEYWORD", "SchemaSet", "SchemaViolation"]

BUNDLE_SCHEMA = "config-bundle.schema.json"
LIMIT_KEYWORD = "x-vvtv-limit"

_RULE_BY_KEYWORD: dict[str, RuleId] = {
    "additionalProperties": RuleId.SCHEMA_UNKNOWN_KEY,
    "unevaluatedProperties": RuleId.SCHEMA_UNKNOWN_KEY,
    "required": RuleId.SCHEMA_REQUIRED,
    "type": RuleId.SCHEMA_TYPE,
    "enum": RuleId.SCHEMA_ENUM,
    "const": RuleId.SCHEMA_ENUM,
    "minimum": RuleId.SCHEMA_RANGE,
    "maximum": RuleId.SCHEMA_RANGE,
    "exclusiveMinimum": RuleId.SCHEMA_RANGE,
    "exclusiveMaximum": RuleId.SCHEMA_RANGE,
    "minItems": RuleId.SCHEMA_RANGE,
    "maxItems": RuleId.SCHEMA_RANGE,
    "minLength": RuleId.SCHEMA_RANGE,
    "maxLength": RuleId.SCHEMA_RANGE,
    "minProperties": RuleId.SCHEMA_RANGE,
    "maxProperties": RuleId.SCHEMA_RANGE,
    "pattern": RuleId.SCHEMA_PATTERN,
    "propertyNames": RuleId.SCHEMA_PATTERN,
    "uniqueItems": RuleId.SCHEMA_UNIQUE,
}


@dataclass(frozen=True)
class SchemaViolation:
    """A schema error with the data path it concerns and whether it is about a key."""

    rule: RuleId
    path: tuple[str | int, ...]
    message: str
    about_key: bool


class SchemaSet:
    """All manifest schemas from one folder, cross-references resolved locally."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.documents: dict[str, dict[str, Any]] = {}
        for file in sorted(folder.glob("*.schema.json")):
            self.documents[file.name] = json.loads(file.read_text(encoding="utf-8"))
        resources = []
        for name, contents in self.documents.items():
            resource = DRAFT202012.create_resource(contents)
            resources.append((contents.get("$id", name), resource))
        self.registry: Registry[Any] = Registry().with_resources(resources)
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, name: str) -> Draft202012Validator:
        """A validator for the schema file ``name`` (for example ``cost-tiers.schema.json``)."""
        if name not in self._validators:
            schema = self.documents[name]
            # Meta-schema checks of our own schemas run in the test suite, not on every load.
            self._validators[name] = Draft202012Validator(schema, registry=self.registry)
        return self._validators[name]

    def check_schemas(self) -> None:
        """Raise if any schema in the folder is not valid JSON Schema 2020-12."""
        for schema in self.documents.values():
            Draft202012Validator.check_schema(schema)

    def violations(self, name: str, data: Any) -> list[SchemaViolation]:
        """Every schema violation of ``data``, most specific errors first."""
        found = [v for e in _leaves(self.validator(name).iter_errors(data)) for v in _violations(e)]
        return sorted(set(found), key=lambda v: (tuple(map(str, v.path)), v.rule.value, v.message))

    @cached_property
    def _bundle_root(self) -> Any:
        return self.registry.resolver(base_uri=self.documents[BUNDLE_SCHEMA]["$id"])

    def limit_at(self, path: tuple[str | int, ...]) -> Literal["ceiling", "floor"] | None:
        """The tightening direction of a bundle path (``ceiling`` or ``floor``).

        ``None`` when the value is not a limit or the schema has no such path.
        """
        schema: Any = self.documents[BUNDLE_SCHEMA]
        resolver = self._bundle_root
        for part in path:
            schema, resolver = _deref(schema, resolver)
            if isinstance(part, int):
                schema = schema.get("items")
            elif part in schema.get("properties", {}):
                schema = schema["properties"][part]
            elif isinstance(schema.get("additionalProperties"), dict):
                schema = schema["additionalProperties"]
            else:
                return None
            if schema is None:
                return None
        schema, _ = _deref(schema, resolver)
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            schema, _ = _deref(schema["items"], resolver)
        value = schema.get(LIMIT_KEYWORD)
        if value == "ceiling":
            return "ceiling"
        return "floor" if value == "floor" else None


def _violations(error: ValidationError) -> list[SchemaViolation]:
    keyword = str(error.validator)
    rule = _RULE_BY_KEYWORD.get(keyword, RuleId.SCHEMA_INVALID)
    path = tuple(error.absolute_path)
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        extra = _unexpected_keys(error)
        if extra:
            # One violation per unknown key, located at the key itself.
            return [SchemaViolation(rule, (*path, k), f"unknown key {k!r}", True) for k in extra]
    if "propertyNames" in error.absolute_schema_path:
        # The error is about a key's name; point at that key.
        name = str(error.instance)
        return [
            SchemaViolation(RuleId.SCHEMA_PATTERN, (*path, name), f"invalid name {name!r}", True)
        ]
    return [SchemaViolation(rule, path, error.message, False)]


def _deref(schema: Any, resolver: Any) -> tuple[Any, Any]:
    # Sibling keywords next to a $ref (such as x-vvtv-limit) win over the target's.
    while isinstance(schema, dict) and "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema, resolver = {**resolved.contents, **siblings}, resolved.resolver
    return schema, resolver


def _leaves(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    # For oneOf/anyOf keep the best sub-error; otherwise the error itself.
    for error in errors:
        if error.context:
            best = min(error.context, key=lambda e: (-len(e.absolute_path), str(e.validator)))
            yield best
        else:
            yield error


def _unexpected_keys(error: ValidationError) -> list[str]:
    instance = error.instance
    if not isinstance(instance, dict):
        return []
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    patterns = schema.get("patternProperties", {})
    if patterns:
        return []
    return sorted(k for k in instance if k not in known)
