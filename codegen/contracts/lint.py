"""The contracts linter: document validity, examples and our own conventions, in one pass.

``lint_contracts(root)`` reads ``root/contracts`` (``meta/`` and ``released/`` excluded)
and returns every problem, sorted. Each problem carries one stable rule id:

- ``file.parse``: a contract file is not valid JSON or YAML.
- ``openapi.invalid``: an ``openapi/*.yaml`` document fails openapi-spec-validator.
- ``asyncapi.invalid``: ``asyncapi.yaml`` fails the official AsyncAPI 3.0.0 JSON Schema.
- ``asyncapi.payload``: a message payload ``$ref`` does not name a file under ``events/``.
- ``events.invalid_schema``: an ``events/*.schema.json`` is not valid JSON Schema 2020-12.
- ``events.example``: an event schema has no ``examples``, or one fails the schema.
- ``example.invalid``: an OpenAPI example (media type, parameter, header or schema
  level) fails its schema.
- ``operation.id``: an operationId is missing, not snake_case, or duplicated.
- ``operation.tags``: an operation has not exactly one tag, or its tag is not declared.
- ``operation.docs``: an operation has no summary or no description.
- ``operation.examples``: a JSON request body or 2xx JSON response has no examples.
- ``errors.problem_json``: a 4xx/5xx response is not ``application/problem+json`` with the
  shared ``problem.schema.json``.
- ``errors.auth``: a secured operation does not document 401.
- ``errors.validation``: an operation with a request body or query parameters does not
  document 422.
- ``errors.not_found``: an operation with a path parameter does not document 404.
- ``errors.retry_after``: a 429 response has no ``Retry-After`` header.
- ``problem.code``: a problem example's ``code`` is not in the shared ``ProblemCode`` enum.
- ``schema.unused``: a component schema is not reachable from outside ``components``.
- ``request.closed``: a request body object schema lacks ``additionalProperties: false``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NamedTuple
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from openapi_schema_validator import OAS30Validator, OAS31Validator
from openapi_spec_validator.shortcuts import get_validator_cls
from openapi_spec_validator.validation.exceptions import ValidatorDetectError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

__all__ = ["LintProblem", "RULES", "lint_contracts"]

RULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "file.parse": "a contract file is not valid JSON or YAML",
        "openapi.invalid": "an OpenAPI document fails openapi-spec-validator",
        "asyncapi.invalid": "asyncapi.yaml fails the AsyncAPI 3.0.0 JSON Schema",
        "asyncapi.payload": "a message payload $ref does not name a file under events/",
        "events.invalid_schema": "an event schema is not valid JSON Schema 2020-12",
        "events.example": "an event schema has no examples, or one fails the schema",
        "example.invalid": "an OpenAPI example fails its schema",
        "operation.id": "operationId missing, not snake_case, or duplicated",
        "operation.tags": "not exactly one tag, or the tag is not declared",
        "operation.docs": "summary or description missing",
        "operation.examples": "a JSON request body or 2xx JSON response without examples",
        "errors.problem_json": "a 4xx/5xx response that is not the shared problem+json",
        "errors.auth": "a secured operation without a 401 response",
        "errors.validation": "an operation taking a body or query parameters without a 422",
        "errors.not_found": "an operation with a path parameter without a 404",
        "errors.retry_after": "a 429 response without a Retry-After header",
        "problem.code": "a problem example whose code is not in ProblemCode",
        "schema.unused": "a component schema never referenced",
        "request.closed": "a request body object schema without additionalProperties: false",
    }
)

_ASYNCAPI_SCHEMA: Final = Path("contracts") / "meta" / "asyncapi-3.0.0.schema.json"
_REPO: Final = Path(__file__).resolve().parents[2]
_DRAFT_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"
_PROBLEM_JSON: Final = "application/problem+json"
_JSON_MEDIA: Final = re.compile(r"^application/(?:[\w.-]+\+)?json$")
_SNAKE_CASE: Final = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_MAPS: Final = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_SINGLES: Final = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_MAX_MESSAGE: Final = 240
_FRAGMENT_SAFE: Final = "/~!$&'()*+,;=:@"
_YAML_LOADER: Final[type[yaml.SafeLoader]] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, order=True)
class LintProblem:
    """One broken rule at one place of one contract file."""

    file: str
    pointer: str
    rule: str
    message: str

    def render(self) -> str:
        """Format as ``file#pointer: rule: message``."""
        return f"{self.file}#{self.pointer}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class _File:
    """A parsed contract file."""

    rel: str
    uri: str
    data: Any


class _Node(NamedTuple):
    """A value inside a contract file, with its JSON pointer."""

    file: _File
    pointer: str
    value: Any

    def at(self, *parts: str | int) -> _Node:
        """Descend through mapping keys or list indexes; a missing step gives ``None``."""
        value = self.value
        for part in parts:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                value = None
        return _Node(self.file, _pointer(self.pointer, *parts), value)

    @property
    def key(self) -> str:
        """The last reference token of the pointer, unescaped."""
        return self.pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")

    def members(self, key: str) -> Iterator[_Node]:
        """The entries of the mapping or list at ``key``."""
        child = self.at(key)
        if isinstance(child.value, dict):
            yield from (child.at(name) for name in child.value)
        elif isinstance(child.value, list):
            yield from (child.at(index) for index in range(len(child.value)))

    def problem(self, rule: str, message: str) -> LintProblem:
        """A problem located at this node."""
        return LintProblem(self.file.rel, self.pointer, rule, _shorten(message))


@dataclass(frozen=True)
class _Tree:
    """Every parsed contract file, and a registry resolving references between them."""

    root: Path
    files: dict[str, _File]
    registry: Registry[Any]
    problem_uri: str
    problem_codes: frozenset[str] | None

    def lookup(self, uri: str) -> _Node | None:
        """The node a URI with a JSON pointer fragment names, if it exists."""
        base, fragment = urldefrag(uri)
        file = self.files.get(base)
        if file is None or (fragment and not fragment.startswith("/")):
            return None
        node = _Node(file, "", file.data)
        for raw in unquote(fragment).split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node.value, list) and part.isdigit():
                node = node.at(int(part))
            elif isinstance(node.value, dict) and part in node.value:
                node = node.at(part)
            else:
                return None
        return node

    def deref(self, node: _Node) -> _Node | None:
        """Follow a chain of ``$ref`` from ``node``; ``None`` when one does not resolve."""
        for _ in range(32):
            ref = node.value.get("$ref") if isinstance(node.value, dict) else None
            if not isinstance(ref, str):
                return node
            target = self.lookup(urljoin(node.file.uri, ref))
            if target is None:
                return None
            node = target
        return None


def lint_contracts(root: Path) -> list[LintProblem]:
    """Lint every contract under ``root/contracts`` and return all problems, sorted."""
    tree, problems = _load_tree(root)
    contracts = root / "contracts"
    for path in sorted((contracts / "openapi").glob("*.yaml")):
        problems.extend(_lint_openapi(tree, _node_for(tree, path)))
    problems.extend(_lint_asyncapi(tree, _node_for(tree, contracts / "asyncapi.yaml")))
    for path in sorted((contracts / "events").glob("*.schema.json")):
        problems.extend(_lint_event(tree, _node_for(tree, path)))
    return sorted(set(problems))


# --- loading -------------------------------------------------------------------------


def _load_tree(root: Path) -> tuple[_Tree, list[LintProblem]]:
    """Parse every contract file and build the reference registry."""
    contracts = root / "contracts"
    files: dict[str, _File] = {}
    problems: list[LintProblem] = []
    for path in _contract_paths(contracts):
        rel = path.relative_to(root).as_posix()
        try:
            data = _parse(path)
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(LintProblem(rel, "", "file.parse", _parse_error(exc)))
            continue
        files[path.resolve().as_uri()] = _File(rel, path.resolve().as_uri(), data)
    problem_uri = (contracts / "problem.schema.json").resolve().as_uri()
    problem = files.get(problem_uri)
    tree = _Tree(root, files, _registry(files), problem_uri, _problem_codes(problem))
    return tree, problems


def _contract_paths(contracts: Path) -> list[Path]:
    """Contract files, excluding vendored meta-schemas and released snapshots."""
    skipped = {contracts / "meta", contracts / "released"}
    paths = [
        path
        for pattern in ("*.json", "*.yaml", "*.yml")
        for path in contracts.rglob(pattern)
        if path.is_file() and not any(parent in skipped for parent in path.parents)
    ]
    return sorted(paths)


def _parse(path: Path) -> Any:
    """Read JSON or YAML."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)


def _parse_error(exc: ValueError | yaml.YAMLError) -> str:
    """A parse error's message, with its line and column when known."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return _shorten(f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})")
    return _shorten(str(exc))


def _registry(files: Mapping[str, _File]) -> Registry[Any]:
    """Register every mapping file by its URI and by its ``$id``."""
    pairs: list[tuple[str, Resource[Any]]] = []
    for uri, file in files.items():
        if not isinstance(file.data, dict):
            continue
        resource = DRAFT202012.create_resource(file.data)
        pairs.append((uri, resource))
        if isinstance(file.data.get("$id"), str):
            pairs.append((file.data["$id"], resource))
    return Registry().with_resources(pairs)


def _problem_codes(problem: _File | None) -> frozenset[str] | None:
    """The shared ``ProblemCode`` enum, if the problem schema declares one."""
    if problem is None:
        return None
    enum = _Node(problem, "", problem.data).at("$defs", "ProblemCode", "enum").value
    return frozenset(str(code) for code in enum) if isinstance(enum, list) else None


def _node_for(tree: _Tree, path: Path) -> _Node | None:
    """The root node of a parsed file, if it exists and parsed."""
    file = tree.files.get(path.resolve().as_uri())
    return None if file is None else _Node(file, "", file.data)


# --- helpers -------------------------------------------------------------------------


def _pointer(base: str, *parts: str | int) -> str:
    """Extend a JSON pointer with escaped reference tokens."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return base + "".join("/" + token for token in escaped)


def _shorten(message: str) -> str:
    """Collapse whitespace and cap the length of a message."""
    flat = " ".join(message.split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 3] + "..."


def _ref_uri(node: _Node) -> str:
    """A URI naming ``node``, usable as a ``$ref``."""
    return f"{node.file.uri}#{quote(node.pointer, safe=_FRAGMENT_SAFE)}"


def _error_text(error: ValidationError) -> str:
    """A validation error's message with the instance location it concerns."""
    where = _pointer("", *error.absolute_path) or "/"
    return f"{error.message} (at {where})"


def _validation_errors(validator: Validator, instance: Any) -> list[ValidationError]:
    """All validation errors; a validator that cannot finish becomes one error."""
    try:
        return list(validator.iter_errors(instance))
    except Exception as exc:
        return [ValidationError(_crash_text(exc))]


def _crash_text(exc: Exception) -> str:
    """Describe why a validator could not finish."""
    if isinstance(exc, Unresolvable):
        return f"unresolvable reference {exc}"
    return f"the schema cannot be evaluated: {type(exc).__name__}: {exc}"


# --- OpenAPI -------------------------------------------------------------------------


class _Op(NamedTuple):
    """One operation of an OpenAPI document."""

    node: _Node
    item: _Node
    path: str
    params: list[dict[str, Any]]


def _lint_openapi(tree: _Tree, doc: _Node | None) -> Iterator[LintProblem]:
    """Every rule for one OpenAPI document."""
    if doc is None:
        return
    yield from _spec_problems(doc)
    if not isinstance(doc.value, dict):
        return
    ops = list(_operations(tree, doc))
    yield from _operation_id_problems(ops)
    yield from _example_problems(tree, doc)
    yield from _unused_schema_problems(doc)
    declared = {
        name for tag in doc.members("tags") if isinstance(name := tag.at("name").value, str)
    }
    for op in ops:
        yield from _tag_problems(op, declared)
        yield from _docs_problems(op)
        yield from _examples_presence_problems(tree, op)
        yield from _response_problems(tree, op, doc)
        yield from _closed_request_problems(tree, op)


def _spec_problems(doc: _Node) -> Iterator[LintProblem]:
    """Validate with openapi-spec-validator."""
    if not isinstance(doc.value, dict):
        yield doc.problem("openapi.invalid", "not a mapping")
        return
    try:
        validator = get_validator_cls(doc.value)(doc.value, base_uri=doc.file.uri)
    except (ValidatorDetectError, TypeError):
        yield doc.problem("openapi.invalid", "no supported 'openapi' version")
        return
    try:
        errors = list(validator.iter_errors())
    except Exception as exc:
        yield doc.problem("openapi.invalid", _crash_text(exc))
        return
    for error in errors:
        yield doc.at(*error.absolute_path).problem("openapi.invalid", error.message)


def _operations(tree: _Tree, doc: _Node) -> Iterator[_Op]:
    """Operations under ``paths`` and ``webhooks``, with their effective parameters."""
    for section in ("paths", "webhooks"):
        for item in doc.members(section):
            if not isinstance(item.value, dict):
                continue
            for method in _METHODS:
                op = item.at(method)
                if isinstance(op.value, dict):
                    yield _Op(op, item, item.key, _effective_params(tree, item, op))


def _effective_params(tree: _Tree, item: _Node, op: _Node) -> list[dict[str, Any]]:
    """Path-item parameters overridden by operation parameters, references resolved."""
    params: dict[tuple[str, str], dict[str, Any]] = {}
    for param in (*item.members("parameters"), *op.members("parameters")):
        resolved = tree.deref(param)
        if resolved is not None and isinstance(resolved.value, dict):
            key = str(resolved.value.get("name")), str(resolved.value.get("in"))
            params[key] = resolved.value
    return list(params.values())


def _operation_id_problems(ops: Iterable[_Op]) -> Iterator[LintProblem]:
    """``operation.id``: present, snake_case, unique in the document."""
    first: dict[str, str] = {}
    for op in ops:
        node = op.node.at("operationId")
        if node.value is None:
            yield op.node.problem("operation.id", "no operationId")
        elif not isinstance(node.value, str) or not _SNAKE_CASE.match(node.value):
            yield node.problem("operation.id", f"operationId {node.value!r} is not snake_case")
        elif node.value in first:
            yield node.problem(
                "operation.id", f"operationId {node.value!r} already used at {first[node.value]}"
            )
        else:
            first[node.value] = op.node.pointer


def _tag_problems(op: _Op, declared: set[str]) -> Iterator[LintProblem]:
    """``operation.tags``: exactly one tag, declared at the top level."""
    tags = op.node.at("tags")
    if not isinstance(tags.value, list) or len(tags.value) != 1:
        count = len(tags.value) if isinstance(tags.value, list) else 0
        yield tags.problem("operation.tags", f"has {count} tags, expected exactly one")
    elif not isinstance(tags.value[0], str) or tags.value[0] not in declared:
        yield tags.at(0).problem(
            "operation.tags", f"tag {tags.value[0]!r} is not declared in the top-level tags"
        )


def _docs_problems(op: _Op) -> Iterator[LintProblem]:
    """``operation.docs``: a summary and a description."""
    for field in ("summary", "description"):
        value = op.node.at(field).value
        if not isinstance(value, str) or not value.strip():
            yield op.node.problem("operation.docs", f"no {field}")


def _json_media(holder: _Node) -> Iterator[_Node]:
    """JSON media types of a request body's or response's ``content``."""
    for media in holder.members("content"):
        if _JSON_MEDIA.match(media.key.split(";")[0].strip()):
            yield media


def _request_body(tree: _Tree, op: _Op) -> _Node | None:
    """The operation's resolved request body, if it has one."""
    body = op.node.at("requestBody")
    resolved = tree.deref(body) if body.value is not None else None
    return resolved if resolved is not None and isinstance(resolved.value, dict) else None


def _responses(tree: _Tree, op: _Op) -> Iterator[tuple[str, _Node]]:
    """The operation's responses by status, resolved."""
    for response in op.node.members("responses"):
        status = response.key.upper()
        resolved = tree.deref(response)
        if resolved is not None and isinstance(resolved.value, dict):
            yield status, resolved


def _examples_presence_problems(tree: _Tree, op: _Op) -> Iterator[LintProblem]:
    """``operation.examples``: JSON request and 2xx media types carry examples."""
    holders = [node for status, node in _responses(tree, op) if status.startswith("2")]
    body = _request_body(tree, op)
    if body is not None:
        holders.append(body)
    for holder in holders:
        for media in _json_media(holder):
            value = media.value if isinstance(media.value, dict) else {}
            if not value.get("examples") and "example" not in value:
                yield media.problem("operation.examples", "JSON media type without examples")


def _has_status(statuses: set[str], code: str) -> bool:
    """Whether ``code`` or its range (``4XX``) is documented."""
    return code in statuses or f"{code[0]}XX" in statuses


def _is_secured(op: _Op, doc: _Node) -> bool:
    """Whether the effective security requires some credential."""
    security = op.node.value.get("security", doc.value.get("security"))
    return isinstance(security, list) and any(isinstance(req, dict) and req for req in security)


def _response_problems(tree: _Tree, op: _Op, doc: _Node) -> Iterator[LintProblem]:
    """``errors.*``: the error responses an operation must document, and their shape."""
    responses = list(_responses(tree, op))
    statuses = {status for status, _ in responses}
    for status, response in responses:
        if status[:1] in {"4", "5"}:
            yield from _problem_json_problems(tree, response)
        if status == "429":
            yield from _retry_after_problems(response)
    where = op.node.at("responses")
    if _is_secured(op, doc) and not _has_status(statuses, "401"):
        yield where.problem("errors.auth", "secured operation without a 401 response")
    takes_query = any(param.get("in") == "query" for param in op.params)
    if (takes_query or _request_body(tree, op) is not None) and not _has_status(statuses, "422"):
        yield where.problem("errors.validation", "operation taking input without a 422 response")
    has_path_param = "{" in op.path or any(param.get("in") == "path" for param in op.params)
    if has_path_param and not _has_status(statuses, "404"):
        yield where.problem("errors.not_found", "operation with a path parameter without a 404")


def _problem_json_problems(tree: _Tree, response: _Node) -> Iterator[LintProblem]:
    """``errors.problem_json``: only problem+json, with the shared problem schema."""
    content = response.at("content").value
    if not isinstance(content, dict) or set(content) != {_PROBLEM_JSON}:
        found = sorted(content) if isinstance(content, dict) else []
        yield response.problem(
            "errors.problem_json", f"error content is {found}, expected only {_PROBLEM_JSON}"
        )
    elif not _refers_to_problem(tree, response.at("content", _PROBLEM_JSON, "schema")):
        yield response.at("content", _PROBLEM_JSON, "schema").problem(
            "errors.problem_json", "schema is not a $ref to the shared problem.schema.json"
        )


def _refers_to_problem(tree: _Tree, schema: _Node) -> bool:
    """Whether a chain of ``$ref`` from ``schema`` reaches the shared problem schema."""
    node: _Node | None = schema
    for _ in range(32):
        ref = node.value.get("$ref") if node is not None and isinstance(node.value, dict) else None
        if node is None or not isinstance(ref, str):
            return False
        target = urljoin(node.file.uri, ref)
        if urldefrag(target) == (tree.problem_uri, ""):
            return True
        node = tree.lookup(target)
    return False


def _retry_after_problems(response: _Node) -> Iterator[LintProblem]:
    """``errors.retry_after``: a 429 carries ``Retry-After``."""
    headers = response.at("headers").value
    names = {str(name).lower() for name in headers} if isinstance(headers, dict) else set()
    if "retry-after" not in names:
        yield response.problem("errors.retry_after", "429 response without a Retry-After header")


def _closed_request_problems(tree: _Tree, op: _Op) -> Iterator[LintProblem]:
    """``request.closed``: request body object schemas forbid unknown properties."""
    body = _request_body(tree, op)
    if body is None:
        return
    for media in _json_media(body):
        if media.at("schema").value is not None:
            yield from _open_object_problems(tree, media.at("schema"), depth=0)


def _open_object_problems(tree: _Tree, schema: _Node, depth: int) -> Iterator[LintProblem]:
    """Open object schemas at the top of a request schema, through oneOf/anyOf branches."""
    resolved = tree.deref(schema)
    if resolved is None or not isinstance(resolved.value, dict) or depth > 8:
        return
    value = resolved.value
    if value.get("additionalProperties") is False or value.get("unevaluatedProperties") is False:
        return
    branches = [*resolved.members("oneOf"), *resolved.members("anyOf")]
    if branches:
        for branch in branches:
            yield from _open_object_problems(tree, branch, depth + 1)
    elif _is_object_schema(value):
        yield resolved.problem(
            "request.closed", "request object schema without additionalProperties: false"
        )


def _is_object_schema(schema: dict[str, Any]) -> bool:
    """Whether a schema describes an object."""
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    return is_object or "properties" in schema or "allOf" in schema


# --- examples ------------------------------------------------------------------------


class _Example(NamedTuple):
    """An example value to check against a schema."""

    schema: _Node
    value: _Node
    problem: bool
    via: str | None


def _example_problems(tree: _Tree, doc: _Node) -> Iterator[LintProblem]:
    """``example.invalid`` and ``problem.code`` for every example of the document."""
    version = str(doc.value.get("openapi", ""))
    cls = OAS30Validator if version.startswith("3.0") else OAS31Validator
    for example in _examples(tree, doc):
        schema = {"$ref": _ref_uri(example.schema)}
        validator = cls(schema, registry=tree.registry, format_checker=cls.FORMAT_CHECKER)
        yield from _check_example(tree, example, validator)


def _check_example(tree: _Tree, example: _Example, validator: Validator) -> Iterator[LintProblem]:
    """Validate one example; ``problem.code`` owns the ``code`` of problem examples."""
    errors = _validation_errors(validator, example.value.value)
    bad_code = list(_problem_code_problems(tree, example.value)) if example.problem else []
    if bad_code:
        errors = [error for error in errors if list(error.absolute_path)[:1] != ["code"]]
    yield from bad_code
    if errors:
        used = f" (example used at {example.via})" if example.via else ""
        message = f"{_error_text(best_match(errors))}, schema {example.schema.pointer}{used}"
        yield example.value.problem("example.invalid", message)


def _problem_code_problems(tree: _Tree, example: _Node) -> Iterator[LintProblem]:
    """``problem.code``: a problem example's code is a shared ``ProblemCode``."""
    code = example.at("code")
    if tree.problem_codes is None or not isinstance(example.value, dict):
        return
    known = isinstance(code.value, str) and code.value in tree.problem_codes
    if "code" in example.value and not known:
        yield code.problem("problem.code", f"{code.value!r} is not a ProblemCode")


def _examples(tree: _Tree, doc: _Node) -> Iterator[_Example]:
    """Every example of the document paired with the schema it illustrates."""
    for holder, problem in _example_holders(tree, doc):
        schema = holder.at("schema")
        if schema.value is not None:
            yield from _holder_examples(tree, holder, schema, problem)
            yield from _schema_examples(schema)
    for schema in doc.at("components").members("schemas"):
        yield from _schema_examples(schema)


def _holder_examples(
    tree: _Tree, holder: _Node, schema: _Node, problem: bool
) -> Iterator[_Example]:
    """``example`` and ``examples[*].value`` of a media type, parameter or header."""
    if isinstance(holder.value, dict) and "example" in holder.value:
        yield _Example(schema, holder.at("example"), problem, None)
    for entry in holder.members("examples"):
        resolved = tree.deref(entry)
        if resolved is not None and isinstance(resolved.value, dict) and "value" in resolved.value:
            via = entry.pointer if resolved.pointer != entry.pointer else None
            yield _Example(schema, resolved.at("value"), problem, via)


def _schema_examples(schema: _Node) -> Iterator[_Example]:
    """Schema-level ``examples`` (and ``example``) of a schema and its inline subschemas."""
    for node in _subschemas(schema):
        if not isinstance(node.value, dict):
            continue
        if "example" in node.value:
            yield _Example(node, node.at("example"), False, None)
        if isinstance(node.value.get("examples"), list):
            yield from (_Example(node, item, False, None) for item in node.members("examples"))


def _subschemas(schema: _Node) -> Iterator[_Node]:
    """A schema and its inline subschemas (references are not followed)."""
    yield schema
    if not isinstance(schema.value, dict):
        return
    for key in _SCHEMA_MAPS + _SCHEMA_LISTS:
        for child in schema.members(key):
            yield from _subschemas(child)
    for key in _SCHEMA_SINGLES:
        if isinstance(schema.value.get(key), dict):
            yield from _subschemas(schema.at(key))


def _example_holders(tree: _Tree, doc: _Node) -> Iterator[tuple[_Node, bool]]:
    """Inline media types, parameters and headers, flagged when problem+json."""
    components = doc.at("components")
    for op in _operations(tree, doc):
        for param in (*op.item.members("parameters"), *op.node.members("parameters")):
            yield from _param_holders(param)
        yield from _body_holders(op.node.at("requestBody"))
        for response in op.node.members("responses"):
            yield from _response_holders(response)
    for param in components.members("parameters"):
        yield from _param_holders(param)
    for header in components.members("headers"):
        yield from _param_holders(header)
    for body in components.members("requestBodies"):
        yield from _body_holders(body)
    for response in components.members("responses"):
        yield from _response_holders(response)


def _is_inline(node: _Node) -> bool:
    """Whether a node is an inline object rather than a reference."""
    return isinstance(node.value, dict) and "$ref" not in node.value


def _param_holders(param: _Node) -> Iterator[tuple[_Node, bool]]:
    """An inline parameter or header, and the media types of its ``content``."""
    if _is_inline(param):
        yield param, False
        yield from ((media, False) for media in param.members("content"))


def _body_holders(body: _Node) -> Iterator[tuple[_Node, bool]]:
    """The media types of an inline request body."""
    if _is_inline(body):
        yield from ((media, _is_problem(media)) for media in body.members("content"))


def _response_holders(response: _Node) -> Iterator[tuple[_Node, bool]]:
    """The media types and inline headers of an inline response."""
    if _is_inline(response):
        yield from ((media, _is_problem(media)) for media in response.members("content"))
        for header in response.members("headers"):
            yield from _param_holders(header)


def _is_problem(media: _Node) -> bool:
    """Whether a media type node is ``application/problem+json``."""
    return media.key == _PROBLEM_JSON


# --- unused schemas ------------------------------------------------------------------


def _unused_schema_problems(doc: _Node) -> Iterator[LintProblem]:
    """``schema.unused``: component schemas unreachable from outside ``components``."""
    schemas = doc.at("components", "schemas")
    if not isinstance(schemas.value, dict):
        return
    reached: set[tuple[str, str, str]] = set()
    pending = [value for key, value in doc.value.items() if key != "components"]
    while pending:
        for ref in _refs(pending.pop()):
            component = _local_component(doc.file.uri, ref)
            if component is not None and component not in reached:
                reached.add(component)
                pending.append(doc.at(*component).value)
    for name in schemas.value:
        if ("components", "schemas", name) not in reached:
            yield schemas.at(name).problem("schema.unused", f"schema {name!r} is never referenced")


def _refs(value: Any) -> Iterator[str]:
    """Every ``$ref`` and discriminator mapping target inside a value."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield ref
        discriminator = value.get("discriminator")
        if isinstance(discriminator, dict) and isinstance(discriminator.get("mapping"), dict):
            for target in discriminator["mapping"].values():
                yield str(target) if "#" in str(target) else f"#/components/schemas/{target}"
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _local_component(doc_uri: str, ref: str) -> tuple[str, str, str] | None:
    """The ``components/<kind>/<name>`` a same-document reference lands in."""
    target, fragment = urldefrag(urljoin(doc_uri, ref))
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in unquote(fragment).split("/")]
    if target != doc_uri or len(tokens) < 4 or tokens[:2] != ["", "components"]:
        return None
    return "components", tokens[2], tokens[3]


# --- AsyncAPI ------------------------------------------------------------------------


def _lint_asyncapi(tree: _Tree, doc: _Node | None) -> Iterator[LintProblem]:
    """``asyncapi.invalid`` and ``asyncapi.payload``."""
    if doc is None:
        return
    meta = json.loads(_asyncapi_meta_schema(tree.root).read_text(encoding="utf-8"))
    validator = validator_for(meta)(meta)
    for error in _validation_errors(validator, doc.value):
        best = best_match([error])
        yield doc.at(*best.absolute_path).problem("asyncapi.invalid", best.message)
    events = (tree.root / "contracts" / "events").resolve()
    for payload in _payloads(doc):
        yield from _payload_problems(payload, events)


def _asyncapi_meta_schema(root: Path) -> Path:
    """The vendored AsyncAPI schema: the linted tree's own, else this checkout's."""
    own = root / _ASYNCAPI_SCHEMA
    return own if own.is_file() else _REPO / _ASYNCAPI_SCHEMA


def _payloads(node: _Node) -> Iterator[_Node]:
    """Every message ``payload`` (or its multi-format ``schema``) in the document."""
    if isinstance(node.value, dict):
        for key in node.value:
            child = node.at(key)
            if key == "payload" and isinstance(child.value, dict):
                is_multi = "schemaFormat" in child.value and "schema" in child.value
                yield child.at("schema") if is_multi else child
            else:
                yield from _payloads(child)
    elif isinstance(node.value, list):
        for index in range(len(node.value)):
            yield from _payloads(node.at(index))


def _payload_problems(payload: _Node, events: Path) -> Iterator[LintProblem]:
    """A payload must be a ``$ref`` to an existing file under ``contracts/events``."""
    ref = payload.value.get("$ref") if isinstance(payload.value, dict) else None
    if not isinstance(ref, str):
        yield payload.problem("asyncapi.payload", "payload is not a $ref to an event schema")
        return
    target = urlsplit(urljoin(payload.file.uri, ref))
    path = Path(url2pathname(target.path))
    if target.scheme != "file" or events not in path.parents or not path.is_file():
        yield payload.at("$ref").problem(
            "asyncapi.payload", f"{ref!r} is not an existing file under contracts/events"
        )


# --- events --------------------------------------------------------------------------


def _lint_event(tree: _Tree, schema: _Node | None) -> Iterator[LintProblem]:
    """``events.invalid_schema`` and ``events.example`` for one event schema."""
    if schema is None:
        return
    if not isinstance(schema.value, dict):
        yield schema.problem("events.invalid_schema", "not a JSON object")
        return
    dialect = schema.value.get("$schema", _DRAFT_2020_12)
    if str(dialect).rstrip("#") != _DRAFT_2020_12:
        yield schema.at("$schema").problem(
            "events.invalid_schema", f"$schema is {dialect!r}, expected {_DRAFT_2020_12}"
        )
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    errors = list(meta.iter_errors(schema.value))
    for error in errors:
        yield schema.at(*error.absolute_path).problem("events.invalid_schema", error.message)
    if not errors:
        yield from _event_example_problems(tree, schema)


def _event_example_problems(tree: _Tree, schema: _Node) -> Iterator[LintProblem]:
    """Each example of an event schema validates, references resolved by ``$id``."""
    examples = list(schema.members("examples"))
    if not examples:
        yield schema.problem("events.example", "event schema without examples")
    validator = Draft202012Validator(
        {"$ref": schema.file.uri}, registry=tree.registry, format_checker=FormatChecker()
    )
    for example in examples:
        errors = _validation_errors(validator, example.value)
        if errors:
            yield example.problem("events.example", _error_text(best_match(errors)))
