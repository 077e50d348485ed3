"""From a bundled OpenAPI document to the ``Api`` IR every target renders from.

Steps, each failing closed with the schema path of what it cannot express:
hoist inline request/response schemas and nested objects into named components;
split components whose readOnly/writeOnly fields differ between requests and
responses; give every component a collision-free class name; collect operations.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from codegen.errors import CodegenError
from codegen.openapi.ir import Api, Body, Operation, Pagination, Param, Reply, Tag
from codegen.openapi.names import class_name, snake, unique

__all__ = ["normalize"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
JSON_TYPES = ("application/json", "application/problem+json")
_REF = "#/components/schemas/"

Schema = dict[str, Any]


def _ref_name(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith(_REF):
        return ref[len(_REF) :]
    return None


def _children(schema: Schema) -> Iterator[tuple[str, Any]]:
    """Direct subschemas with a label for naming: property names, ``Item``, ``Option1``..."""
    for prop, sub in (schema.get("properties") or {}).items():
        yield prop, sub
    if isinstance(schema.get("items"), dict):
        yield "Item", schema["items"]
    for index, sub in enumerate(schema.get("prefixItems") or []):
        yield f"Item{index + 1}", sub
    if isinstance(schema.get("additionalProperties"), dict):
        yield "Value", schema["additionalProperties"]
    for key in ("oneOf", "anyOf", "allOf"):
        for index, sub in enumerate(schema.get(key) or []):
            yield f"Option{index + 1}", sub
    if isinstance(schema.get("not"), dict):
        yield "Not", schema["not"]


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        name = _ref_name(schema)
        if name is not None:
            yield name
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _is_object(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and "$ref" not in schema
        and (schema.get("type") == "object" or "properties" in schema)
    )


class _Normalizer:
    def __init__(self, doc: dict[str, Any], name: str) -> None:
        self.doc = copy.deepcopy(doc)
        self.name = name
        self.schemas: dict[str, Schema] = self.doc.setdefault("components", {}).setdefault(
            "schemas", {}
        )

    # -- hoisting ---------------------------------------------------------------
    def hoist(self, schema: Any, name: str) -> Any:
        """Put an inline object schema under components; return a ref to it."""
        if not _is_object(schema) and not (
            isinstance(schema, dict) and any(k in schema for k in ("oneOf", "anyOf"))
        ):
            return schema
        types = schema.get("type")
        if isinstance(types, list) and "null" in types:
            # The component is the non-null object; null stays with the reference.
            rest = [t for t in types if t != "null"]
            inner = {**schema, "type": rest[0] if len(rest) == 1 else rest}
            return {"anyOf": [self.hoist(inner, name), {"type": "null"}]}
        key = unique(name, set(self.schemas))
        self.schemas[key] = schema
        self.hoist_nested(key)
        return {"$ref": _REF + key}

    def hoist_nested(self, key: str) -> None:
        schema = self.schemas[key]
        props = schema.get("properties") or {}
        for prop, sub in list(props.items()):
            if _is_object(sub):
                props[prop] = self.hoist(sub, key + class_name(prop))
            elif isinstance(sub, dict) and _is_object(sub.get("items")):
                sub["items"] = self.hoist(sub["items"], key + class_name(prop) + "Item")
        if _is_object(schema.get("items")):
            schema["items"] = self.hoist(schema["items"], key + "Item")
        for comp in ("oneOf", "anyOf"):
            options = schema.get(comp) or []
            for index, sub in enumerate(options):
                if _is_object(sub):
                    title = sub.get("title")
                    options[index] = self.hoist(
                        sub, class_name(title) if title else f"{key}{index + 1}"
                    )

    # -- readOnly / writeOnly -------------------------------------------------
    def split_read_write(self, roots: dict[str, set[str]]) -> dict[tuple[str, str], str]:
        """Variants of components whose fields differ by direction; returns (name, ctx) -> name."""
        direct = {
            name
            for name, schema in self.schemas.items()
            if any(
                isinstance(p, dict) and (p.get("readOnly") or p.get("writeOnly"))
                for p in (schema.get("properties") or {}).values()
            )
        }
        affected = set(direct)
        changed = True
        while changed:
            changed = False
            for name, schema in self.schemas.items():
                if name not in affected and any(r in affected for r in _refs(schema)):
                    affected.add(name)
                    changed = True
        contexts: dict[str, set[str]] = {}
        for ctx, names in roots.items():
            stack = list(names)
            while stack:
                name = stack.pop()
                if name not in self.schemas or ctx in contexts.setdefault(name, set()):
                    continue
                contexts[name].add(ctx)
                stack.extend(_refs(self.schemas[name]))
        mapping: dict[tuple[str, str], str] = {}
        for name in sorted(affected):
            ctxs = contexts.get(name, set())
            if len(ctxs) == 2:
                for ctx in ("request", "response"):
                    mapping[(name, ctx)] = unique(
                        name + ctx.title(), set(self.schemas) | set(mapping.values())
                    )
            else:
                for ctx in ("request", "response"):
                    mapping[(name, ctx)] = name
        originals = {name: self.schemas[name] for name in affected}
        for name in sorted(affected):
            ctxs = contexts.get(name) or {"response"}
            for ctx in ("request", "response"):
                target = mapping[(name, ctx)]
                if target == name and ctx not in ctxs:
                    continue
                variant = copy.deepcopy(originals[name])
                drop = "readOnly" if ctx == "request" else "writeOnly"
                props = variant.get("properties") or {}
                for prop in [p for p, s in props.items() if isinstance(s, dict) and s.get(drop)]:
                    del props[prop]
                    if prop in variant.get("required", []):
                        variant["required"] = [r for r in variant["required"] if r != prop]
                self._retarget(variant, mapping, ctx)
                self.schemas[target] = variant
            if mapping[(name, "request")] != name:
                del self.schemas[name]
        return mapping

    def _retarget(self, node: Any, mapping: dict[tuple[str, str], str], ctx: str) -> None:
        if isinstance(node, dict):
            ref = _ref_name(node)
            if ref is not None and (ref, ctx) in mapping:
                node["$ref"] = _REF + mapping[(ref, ctx)]
            for value in node.values():
                self._retarget(value, mapping, ctx)
        elif isinstance(node, list):
            for value in node:
                self._retarget(value, mapping, ctx)

    # -- names ------------------------------------------------------------------
    def open_objects(self) -> None:
        """Say `additionalProperties: true` where a schema says nothing.

        JSON Schema objects are open by default; without the explicit keyword the model
        generator drops unknown fields (an answer's whole `content`, say).
        """
        for schema in self.schemas.values():
            if _is_object(schema) and "additionalProperties" not in schema:
                schema["additionalProperties"] = True

    def assign_class_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        taken: set[str] = set()
        for key in self.schemas:
            names[key] = unique(class_name(key), taken)
            taken.add(names[key])
        for key, schema in self.schemas.items():
            _strip_nested_titles(schema, top=True)
            schema["title"] = names[key]
        return names


_NAME_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_DATA = ("examples", "example", "default", "const", "enum")


def _strip_nested_titles(node: Any, *, top: bool) -> None:
    # Nested titles would become class names of their own and could collide.
    if isinstance(node, dict):
        if not top:
            node.pop("title", None)
        for key, value in node.items():
            if key in _NAME_MAPS and isinstance(value, dict):
                # Keys here are names (a property may be called `title`), values schemas.
                for sub in value.values():
                    _strip_nested_titles(sub, top=False)
            elif key not in _DATA:
                _strip_nested_titles(value, top=False)
    elif isinstance(node, list):
        for value in node:
            _strip_nested_titles(value, top=False)


def _deref(doc: dict[str, Any], node: Any, where: str) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise CodegenError(f"{where}: external $ref {ref!r} was not bundled")
        target: Any = doc
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise CodegenError(f"{where}: $ref {ref!r} does not resolve")
            target = target[part]
        node, seen = target, seen + 1
        if seen > 32:
            raise CodegenError(f"{where}: $ref cycle at {ref!r}")
    return node


_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_FORMATS = {"date-time": "datetime", "date": "date", "uuid": "UUID", "time": "time"}


def _annotation(doc: dict[str, Any], schema: Any, where: str) -> str:
    schema = _deref(doc, schema, where)
    if not isinstance(schema, dict):
        raise CodegenError(f"{where}: parameter schema must be an object")
    if "enum" in schema:
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    types = schema.get("type")
    if isinstance(types, list):
        inner = [t for t in types if t != "null"]
        if len(inner) != 1:
            raise CodegenError(f"{where}: parameter type {types!r} is not supported")
        base = _annotation(doc, {**schema, "type": inner[0]}, where)
        return f"{base} | None" if "null" in types else base
    if types == "array":
        return f"list[{_annotation(doc, schema.get('items', {}), where + '/items')}]"
    if types in _SCALARS:
        if types == "string" and schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        return _SCALARS[types]
    raise CodegenError(f"{where}: parameter schema {schema!r} cannot be expressed as a Python type")


def _json_content(content: dict[str, Any], where: str) -> tuple[str, Any] | None:
    if not content:
        return None
    unknown = sorted(set(content) - set(JSON_TYPES))
    if unknown:
        raise CodegenError(f"{where}: content type {unknown[0]!r} is not supported (JSON only)")
    if len(content) > 1:
        raise CodegenError(f"{where}: several content types for one response are not supported")
    content_type, media = next(iter(content.items()))
    if "schema" not in media:
        raise CodegenError(f"{where}/{content_type}: media type without a schema")
    return content_type, media["schema"]


_RawOp = tuple[str, str, dict[str, Any], list[Any]]


# JSON Schema bound -> the Litestar parameter keyword that enforces it on the wire.
_BOUNDS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
}


def _constraints(schema: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(schema, dict):
        return ()
    return tuple((keyword, schema[bound]) for bound, keyword in _BOUNDS.items() if bound in schema)


def _security_headers(doc: dict[str, Any]) -> set[str]:
    """Header names the security schemes own: API keys, signatures, their timestamps."""
    names: set[str] = set()
    for scheme in (doc.get("components", {}).get("securitySchemes") or {}).values():
        if not isinstance(scheme, dict):
            continue
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
        if scheme.get("type") == "http":
            names.add("authorization")
        signature = scheme.get("x-vvtv-signature") or {}
        names.update(str(h).lower() for h in (signature.get("headers") or {}).values())
    return names


def _raw_operations(doc: dict[str, Any]) -> list[_RawOp]:
    raw_ops: list[_RawOp] = []
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            raise CodegenError(f"#/paths/{path}: path item must be an object")
        if "$ref" in item:
            raise CodegenError(f"#/paths/{path}: $ref path items are not supported")
        for method in item:
            if method not in (*METHODS, "parameters", "summary", "description", "servers"):
                raise CodegenError(f"#/paths/{path}/{method}: unknown path item field")
        for method in METHODS:
            if method in item:
                raw_ops.append((path, method, item[method], item.get("parameters", [])))
    return raw_ops


def _hoist_operation_schemas(n: _Normalizer, raw_ops: list[_RawOp]) -> dict[str, set[str]]:
    """Name inline bodies and response schemas; return the request/response roots."""
    roots: dict[str, set[str]] = {"request": set(), "response": set()}
    ids: set[str] = set()
    for path, method, op, _ in raw_ops:
        where = f"#/paths/{path}/{method}"
        op_id = op.get("operationId")
        if not op_id:
            raise CodegenError(f"{where}: operation has no operationId")
        if snake(op_id) in ids:
            raise CodegenError(f"{where}: operationId {op_id!r} is not unique")
        ids.add(snake(op_id))
        body = _deref(n.doc, op.get("requestBody"), where + "/requestBody")
        if body:
            found = _json_content(body.get("content") or {}, where + "/requestBody/content")
            if found is None:
                raise CodegenError(f"{where}/requestBody: no content")
            media = body["content"][found[0]]
            media["schema"] = n.hoist(media["schema"], class_name(op_id) + "Body")
            roots["request"].update(_refs(media["schema"]))
        for status, raw in (op.get("responses") or {}).items():
            response = _deref(n.doc, raw, f"{where}/responses/{status}")
            found = _json_content(response.get("content") or {}, f"{where}/responses/{status}")
            if found is not None:
                media = response["content"][found[0]]
                media["schema"] = n.hoist(media["schema"], class_name(op_id) + f"{status}Response")
                roots["response"].update(_refs(media["schema"]))
    return roots


class _Builder:
    """Turns raw operations into IR operations once names are settled."""

    def __init__(
        self, n: _Normalizer, mapping: dict[tuple[str, str], str], classes: dict[str, str]
    ):
        self.n, self.mapping, self.classes = n, mapping, classes
        self.global_security = n.doc.get("security", [])
        self.security_headers = _security_headers(n.doc)

    def model_for(self, schema: Any, ctx: str, where: str) -> str:
        ref = _ref_name(schema)
        if ref is None:
            resolved = _deref(self.n.doc, schema, where)
            if isinstance(resolved, dict) and not resolved:
                return "Any"
            raise CodegenError(f"{where}: schema cannot be expressed as a model")
        return self.classes[self.mapping.get((ref, ctx), ref)]

    def param(self, raw: Any, where: str) -> Param:
        param = _deref(self.n.doc, raw, where)
        location = param.get("in")
        if location not in ("path", "query", "header"):
            raise CodegenError(f"{where}: parameters in {location!r} are not supported")
        if "content" in param or param.get("style") not in (None, "simple", "form"):
            raise CodegenError(f"{where}: parameter serialization is not supported")
        schema = _deref(self.n.doc, param.get("schema", {}), where + "/schema")
        return Param(
            name=param["name"],
            py_name=snake(param["name"]),
            location=location,
            required=bool(param.get("required", location == "path")),
            annotation=_annotation(self.n.doc, param.get("schema", {}), where + "/schema"),
            default=repr(schema["default"]) if "default" in schema else None,
            description=str(param.get("description", "")),
            constraints=_constraints(schema),
            security=location == "header" and param["name"].lower() in self.security_headers,
        )

    def body(self, op: dict[str, Any], where: str) -> Body | None:
        body = _deref(self.n.doc, op.get("requestBody"), where + "/requestBody")
        if not body:
            return None
        content_type = next(iter(body["content"]))
        schema = body["content"][content_type]["schema"]
        ref = _ref_name(schema)
        name = self.mapping.get((ref, "request"), ref) if ref else None
        target = self.n.schemas[name] if name else _deref(self.n.doc, schema, where)
        return Body(
            model=self.model_for(schema, "request", where),
            required=bool(body.get("required", False)),
            description=str(body.get("description", "")),
            is_alias=not _is_object(target) and "allOf" not in target,
        )

    def reply(self, status: str, raw: Any, where: str) -> Reply:
        if not str(status).isdigit():
            raise CodegenError(f"{where}: only explicit status codes are supported")
        response = _deref(self.n.doc, raw, where)
        content = response.get("content") or {}
        content_type = next(iter(content), None)
        model = None
        if content_type is not None:
            model = self.model_for(content[content_type]["schema"], "response", where)
        return Reply(
            status=int(status),
            model=model,
            content_type=content_type,
            headers=tuple(sorted(response.get("headers") or {})),
            description=str(response.get("description", "")),
        )

    def operation(self, path: str, method: str, op: dict[str, Any], shared: list[Any]) -> Operation:
        where = f"#/paths/{path}/{method}"
        tags = op.get("tags") or []
        if len(tags) != 1:
            raise CodegenError(f"{where}: operation needs exactly one tag (has {len(tags)})")
        params: dict[tuple[str, str], Param] = {}
        for index, raw in enumerate([*shared, *(op.get("parameters") or [])]):
            param = self.param(raw, f"{where}/parameters/{index}")
            params[(param.location, param.name)] = param
        replies = [
            self.reply(status, raw, f"{where}/responses/{status}")
            for status, raw in (op.get("responses") or {}).items()
        ]
        if not any(200 <= r.status < 300 for r in replies):
            raise CodegenError(f"{where}/responses: no 2xx response")
        security = op.get("security", self.global_security)
        pagination = op.get("x-vvtv-pagination")
        roles = op.get("x-vvtv-roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise CodegenError(f"{where}/x-vvtv-roles: expected a list of role names")
        return Operation(
            operation_id=snake(op["operationId"]),
            method=method.upper(),
            path=path,
            tag=tags[0],
            summary=str(op.get("summary", "")),
            description=str(op.get("description", "")),
            params=tuple(sorted(params.values(), key=lambda p: (not p.required, p.location))),
            body=self.body(op, where),
            replies=tuple(sorted(replies, key=lambda r: r.status)),
            security=tuple(tuple(sorted(alt)) for alt in security),
            pagination=Pagination(**pagination) if pagination else None,
            deprecated=bool(op.get("deprecated", False)),
            roles=tuple(roles),
        )


def normalize(doc: dict[str, Any], name: str, contract_hash: str) -> Api:
    """Normalize a bundled OpenAPI 3.0/3.1 document into the IR."""
    n = _Normalizer(doc, name)
    raw_ops = _raw_operations(n.doc)
    roots = _hoist_operation_schemas(n, raw_ops)
    for key in list(n.schemas):
        n.hoist_nested(key)
    mapping = n.split_read_write(roots)
    n.open_objects()
    builder = _Builder(n, mapping, n.assign_class_names())
    operations = tuple(builder.operation(*raw) for raw in raw_ops)
    declared = {t["name"]: t for t in n.doc.get("tags", []) if isinstance(t, dict)}
    used = list(dict.fromkeys(op.tag for op in operations))
    tags = tuple(
        Tag(
            name=t,
            py_name=snake(t),
            class_name=class_name(t),
            description=str(declared.get(t, {}).get("description", "")),
        )
        for t in used
    )
    info = n.doc.get("info", {})
    code_schema = n.schemas.get("ProblemCode", {})
    return Api(
        name=name,
        title=str(info.get("title", name)),
        version=str(info.get("version", "0")),
        contract_hash=contract_hash,
        tags=tags,
        operations=operations,
        security_schemes=dict(n.doc.get("components", {}).get("securitySchemes", {})),
        document=n.doc,
        problem_codes=tuple(code_schema.get("enum", [])),
    )
