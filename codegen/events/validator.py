"""A JSON Schema validator compiled to plain Python, for the subset the events use.

Each schema becomes a function of straight-line checks, so validating an event costs
a few dictionary look-ups instead of a walk over the schema. Semantics follow JSON
Schema 2020-12 (``integer`` accepts 1.0, booleans are not numbers, ``true != 1`` in
enums); a keyword outside the subset is an error naming the schema path, never
silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from codegen.errors import CodegenError

__all__ = ["ValidatorCompiler"]

# Annotations: they never change a verdict.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
    }
)
_SUPPORTED = (
    frozenset(
        {
            "type",
            "enum",
            "const",
            "properties",
            "required",
            "additionalProperties",
            "allOf",
            "$ref",
            "pattern",
            "format",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "items",
            "uniqueItems",
            "oneOf",
            "anyOf",
        }
    )
    | _ANNOTATIONS
)
_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "integer": "(type({v}) is int or (type({v}) is float and {v}.is_integer()))",
}
# The guard under which a keyword of one JSON type applies (others ignore it).
_GUARDS = {
    "string": "isinstance({v}, str)",
    "number": "isinstance({v}, (int, float)) and not isinstance({v}, bool)",
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
}
# Format checks: a fast canonical spelling first, the exact rule only when it misses.
_FORMATS = {
    "date-time": "_is_date_time({v})",
    "uuid": "(_CANONICAL_UUID.fullmatch({v}) or _is_uuid({v}))",
}


@dataclass(frozen=True)
class _Path:
    """A JSON pointer expression: a runtime variable plus a constant suffix."""

    var: str
    suffix: str = ""

    def child(self, name: str) -> _Path:
        return _Path(self.var, f"{self.suffix}/{_escape(name)}")

    def item(self, index_var: str) -> _Path:
        return _Path(f"{self} + '/' + str({index_var})")

    def __str__(self) -> str:
        return f"{self.var} + {self.suffix!r}" if self.suffix else self.var


@dataclass
class _Function:
    name: str
    lines: list[str] = field(default_factory=list)


class ValidatorCompiler:
    """Compiles schemas (with cross-file ``$ref`` resolved by ``$id``) into Python source."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self.functions: dict[str, _Function] = {}
        self.patterns: dict[str, str] = {}
        self.constants: dict[str, str] = {}
        self._counter = 0

    def function_for(self, uri: str) -> str:
        """The name of the function validating the schema at ``uri`` (compiled once)."""
        base, _, fragment = uri.partition("#")
        key = uri
        if key in self.functions:
            return self.functions[key].name
        if base not in self.schemas:
            raise CodegenError(f"$ref {uri!r}: no schema with that $id")
        schema = self.schemas[base]
        for part in [p for p in fragment.split("/") if p]:
            schema = schema[part]
        name = "_v_" + re.sub(r"\W+", "_", base.rsplit("/", 1)[-1].split(".schema")[0])
        if fragment:
            name += "_" + re.sub(r"\W+", "_", fragment)
        function = _Function(name)
        self.functions[key] = function
        function.lines = self._schema(schema, "data", _Path("path"), base, f"{base}#{fragment}", 1)
        return name

    def _fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def _pattern(self, pattern: str) -> str:
        if pattern not in self.patterns:
            re.compile(pattern)
            self.patterns[pattern] = f"_P{len(self.patterns)}"
        return self.patterns[pattern]

    def _schema(
        self, schema: Any, value: str, path: _Path, base: str, where: str, depth: int
    ) -> list[str]:
        pad = "    " * depth
        if schema is True:
            return []
        if schema is False:
            return [f'{pad}_fail({path}, "no value is allowed here")']
        if not isinstance(schema, dict):
            raise CodegenError(f"{where}: a schema must be an object or a boolean")
        unknown = sorted(set(schema) - _SUPPORTED)
        if unknown:
            raise CodegenError(f"{where}: keyword {unknown[0]!r} is not supported by the validator")
        out: list[str] = []
        if "$ref" in schema:
            ref = str(schema["$ref"])
            target = ref if "://" in ref else _join(base, ref)
            out.append(f"{pad}{self.function_for(target)}({value}, {path})")
        for index, sub in enumerate(schema.get("allOf", [])):
            out += self._schema(sub, value, path, base, f"{where}/allOf/{index}", depth)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                out += self._alternatives(
                    schema[key], key, value, path, base, f"{where}/{key}", depth
                )
        known: str | None = None
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            test = " or ".join(_TYPE_TESTS[t].format(v=value) for t in types)
            out.append(f"{pad}if not ({test}):")
            out.append(f'{pad}    _fail({path}, "must be of type {" or ".join(types)}")')
            # _fail raises, so below this line the value has that type: no guard needed.
            known = types[0] if len(types) == 1 else None
        if "const" in schema:
            const = schema["const"]
            if isinstance(const, str):
                out.append(f"{pad}if {value} != {const!r} or not isinstance({value}, str):")
            else:
                out.append(f"{pad}if not _json_equal({value}, {const!r}):")
            out.append(f'{pad}    _fail({path}, "must be {schema["const"]!r}")')
        if "enum" in schema:
            options = schema["enum"]
            if all(isinstance(o, str) for o in options):
                choices = tuple(sorted(options))
                out.append(f"{pad}if not isinstance({value}, str) or {value} not in {choices!r}:")
            else:
                out.append(f"{pad}if not any(_json_equal({value}, o) for o in {options!r}):")
            out.append(f'{pad}    _fail({path}, "must be one of {options}")')
        if known in (None, "string"):
            out += self._guarded(
                self._string(schema, value, path, depth + 1), "string", known, value, pad
            )
        if known in (None, "number", "integer"):
            out += self._guarded(
                self._number(schema, value, path, depth + 1), "number", known, value, pad
            )
        if known in (None, "object"):
            out += self._guarded(
                self._object(schema, value, path, base, where, depth + 1),
                "object",
                known,
                value,
                pad,
            )
        if known in (None, "array"):
            out += self._guarded(
                self._array(schema, value, path, base, where, depth + 1), "array", known, value, pad
            )
        return out

    @staticmethod
    def _guarded(lines: list[str], kind: str, known: str | None, value: str, pad: str) -> list[str]:
        """Checks of one JSON type apply only to values of that type."""
        if not lines:
            return []
        if known is not None:
            return [line[4:] for line in lines]  # the type is already established
        guard = _GUARDS[kind].format(v=value)
        return [f"{pad}if {guard}:", *lines]

    def _alternatives(
        self,
        options: list[Any],
        key: str,
        value: str,
        path: _Path,
        base: str,
        where: str,
        depth: int,
    ) -> list[str]:
        pad = "    " * depth
        checks = []
        for index, sub in enumerate(options):
            name = self._fresh("_alt")
            body = self._schema(sub, "data", _Path("path"), base, f"{where}/{index}", 1) or [
                "    pass"
            ]
            self.functions[name] = _Function(name, body)
            checks.append(name)
        passed = self._fresh("passed")
        out = [f"{pad}{passed} = sum(_passes(c, {value}, {path}) for c in ({', '.join(checks)},))"]
        rule = f"{passed} != 1" if key == "oneOf" else f"{passed} == 0"
        out.append(f"{pad}if {rule}:")
        how = "exactly one" if key == "oneOf" else "at least one"
        out.append(f'{pad}    _fail({path}, "must match {how} of its options")')
        return out

    def _string(self, schema: dict[str, Any], value: str, path: _Path, depth: int) -> list[str]:
        pad = "    " * depth
        checks = []
        if "minLength" in schema:
            checks.append(
                (
                    f"len({value}) < {schema['minLength']}",
                    f"must have at least {schema['minLength']} characters",
                )
            )
        if "maxLength" in schema:
            checks.append(
                (
                    f"len({value}) > {schema['maxLength']}",
                    f"must have at most {schema['maxLength']} characters",
                )
            )
        if "pattern" in schema:
            checks.append(
                (
                    f"not {self._pattern(schema['pattern'])}.search({value})",
                    f"must match {schema['pattern']}",
                )
            )
        if "format" in schema and schema["format"] in _FORMATS:
            checks.append(
                (
                    f"not {_FORMATS[schema['format']].format(v=value)}",
                    f"must be a valid {schema['format']}",
                )
            )
        out: list[str] = []
        for test, message in checks:
            out += [f"{pad}if {test}:", f"{pad}    _fail({path}, {message!r})"]
        return out

    def _number(self, schema: dict[str, Any], value: str, path: _Path, depth: int) -> list[str]:
        pad = "    " * depth
        bounds = [
            ("minimum", "<"),
            ("maximum", ">"),
            ("exclusiveMinimum", "<="),
            ("exclusiveMaximum", ">="),
        ]
        checks = [
            (f"{value} {op} {schema[k]!r}", f"{k} is {schema[k]}")
            for k, op in bounds
            if k in schema
        ]
        out: list[str] = []
        for test, message in checks:
            out += [f"{pad}if {test}:", f"{pad}    _fail({path}, {message!r})"]
        return out

    def _object(
        self, schema: dict[str, Any], value: str, path: _Path, base: str, where: str, depth: int
    ) -> list[str]:
        props = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        extra = schema.get("additionalProperties", True)
        pad = "    " * depth
        out: list[str] = []
        if required:
            names = self._constant("_R", f"frozenset({tuple(sorted(required))!r})")
            out += [
                f"{pad}if not {names}.issubset({value}):",
                f"{pad}    _fail_required({path}, {value}, {tuple(required)!r})",
            ]
        for name, sub in props.items():
            child = self._fresh("v")
            inner = self._schema(
                sub, child, path.child(name), base, f"{where}/properties/{name}", depth + 1
            )
            if not inner:
                continue
            if name in required:
                # Present: the required check above raised otherwise.
                out += [f"{pad}{child} = {value}[{name!r}]", *[line[4:] for line in inner]]
            else:
                out += [
                    f"{pad}if {name!r} in {value}:",
                    f"{pad}    {child} = {value}[{name!r}]",
                    *inner,
                ]
        if extra is not True:
            allowed = self._constant("_K", f"frozenset({tuple(sorted(props))!r})")
            key = self._fresh("k")
            extra_path = _Path(f'{path} + "/" + _escape({key})')
            if extra is False:
                out += [
                    f"{pad}if not {allowed}.issuperset({value}):",
                    f"{pad}    {key} = next(k for k in {value} if k not in {allowed})",
                    f'{pad}    _fail({extra_path}, "is not allowed")',
                ]
            else:
                inner = self._schema(
                    extra,
                    f"{value}[{key}]",
                    extra_path,
                    base,
                    f"{where}/additionalProperties",
                    depth + 2,
                )
                if inner:
                    out += [
                        f"{pad}for {key} in {value}:",
                        f"{pad}    if {key} not in {allowed}:",
                        *inner,
                    ]
        return out

    def _array(
        self, schema: dict[str, Any], value: str, path: _Path, base: str, where: str, depth: int
    ) -> list[str]:
        pad = "    " * depth
        checks = []
        if "minItems" in schema:
            checks.append(
                (
                    f"len({value}) < {schema['minItems']}",
                    f"must have at least {schema['minItems']} items",
                )
            )
        if "maxItems" in schema:
            checks.append(
                (
                    f"len({value}) > {schema['maxItems']}",
                    f"must have at most {schema['maxItems']} items",
                )
            )
        if schema.get("uniqueItems"):
            checks.append((f"not _unique({value})", "items must be unique"))
        out: list[str] = []
        for test, message in checks:
            out += [f"{pad}if {test}:", f"{pad}    _fail({path}, {message!r})"]
        items = schema.get("items")
        if items not in (None, True):
            index, item = self._fresh("i"), self._fresh("item")
            inner = self._schema(items, item, path.item(index), base, f"{where}/items", depth + 1)
            if inner:
                out += [f"{pad}for {index}, {item} in enumerate({value}):", *inner]
        return out

    def _constant(self, stem: str, expression: str) -> str:
        """A module-level constant (deduplicated by expression)."""
        if expression not in self.constants:
            self.constants[expression] = f"{stem}{len(self.constants)}"
        return self.constants[expression]

    def source(self) -> str:
        """The module body: patterns, then every compiled function."""
        lines = [f"{name} = re.compile({pattern!r})" for pattern, name in self.patterns.items()]
        lines += [f"{name} = {expression}" for expression, name in self.constants.items()]
        for function in self.functions.values():
            body = function.lines or ["    pass"]
            lines += ["", "", f"def {function.name}(data: Any, path: str) -> None:", *body]
        return "\n".join(lines) + "\n"


def _join(base: str, ref: str) -> str:
    if ref.startswith("#"):
        return base + ref
    file, _, fragment = ref.partition("#")
    root = base.rsplit("/", 1)[0]
    return f"{root}/{file.lstrip('./')}" + (f"#{fragment}" if fragment else "")


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
