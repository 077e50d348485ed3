"""Golden payloads: every contract example round-trips through the generated models.

For each OpenAPI document and each operation, every request-body example and every
success or error response example (media type ``examples[*].value`` or ``example``)
must validate with the model the generator's IR assigns to that body or reply, and
``model_dump(mode="json", by_alias=True, exclude_unset=True)`` of the parsed value must
give the example back. The examples are read from the raw YAML (not from the
normalized document), so a ``$ref`` to ``components/responses``,
``components/examples`` or ``../problem.schema.json`` is resolved here, independently
of the generator. Both copies of the models are checked: the server's
``generated.<api>.models`` and the SDK's ``voulezvous_sdk.<api>.models``.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter

from codegen.openapi import Api, load_api

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "contracts" / "openapi").glob("*.yaml"))
PACKAGES = ("generated", "voulezvous_sdk")
MIN_EXAMPLES = 150


@dataclass(frozen=True)
class Example:
    """One example payload and the generated model that must accept it."""

    api: str
    operation_id: str
    where: str
    """``request`` or the response status code."""
    name: str
    model: str
    is_alias: bool
    value: Any

    @property
    def id(self) -> str:
        return f"{self.api}:{self.operation_id}:{self.where}:{self.name}"


@cache
def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _resolve(node: Any, file: Path) -> tuple[Any, Path]:
    """Follow ``$ref`` chains (local or to another file) to the node they name."""
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node, file
        target, _, fragment = node["$ref"].partition("#")
        if target:
            file = (file.parent / target).resolve()
        node = _load(file)
        for raw in [p for p in fragment.split("/") if p]:
            node = node[unquote(raw).replace("~1", "/").replace("~0", "~")]
    raise AssertionError(f"{file}: $ref chain too long")


def _media_examples(media: dict[str, Any], file: Path) -> dict[str, Any]:
    """The example values of one media type object, by name."""
    found: dict[str, Any] = {}
    if "example" in media:
        found["example"] = media["example"]
    for name, raw in (media.get("examples") or {}).items():
        example, _ = _resolve(raw, file)
        assert "value" in example, f"{file.name}: example {name!r} has no inline value"
        found[name] = example["value"]
    return found


def _content_examples(node: Any, file: Path) -> dict[str, Any]:
    body, body_file = _resolve(node, file)
    found: dict[str, Any] = {}
    for content_type, media in (body.get("content") or {}).items():
        for name, value in _media_examples(media, body_file).items():
            found[name if len(body["content"]) == 1 else f"{content_type}:{name}"] = value
    return found


def _examples_of(api: Api, spec: Path) -> list[Example]:
    raw = _load(spec.resolve())
    out: list[Example] = []
    for op in api.operations:
        raw_op = raw["paths"][op.path][op.method.lower()]
        request = _content_examples(raw_op.get("requestBody") or {}, spec.resolve())
        if request:
            assert op.body is not None, f"{op.operation_id}: request examples but no body model"
            out += [
                Example(api.name, op.operation_id, "request", n, op.body.model, op.body.is_alias, v)
                for n, v in request.items()
            ]
        raw_replies = raw_op.get("responses") or {}
        for reply in op.replies:
            replies = _content_examples(raw_replies[str(reply.status)], spec.resolve())
            if not replies:
                continue
            model = reply.model
            assert model is not None, f"{op.operation_id}: {reply.status} examples but no model"
            out += [
                Example(api.name, op.operation_id, str(reply.status), n, model, False, v)
                for n, v in replies.items()
            ]
    return out


APIS = {spec: load_api(spec) for spec in SPECS}
EXAMPLES = [e for spec, api in APIS.items() for e in _examples_of(api, spec)]


def _params() -> list[Any]:
    return [pytest.param(e, id=e.id) for e in EXAMPLES]


@cache
def _models(package: str, api: str) -> ModuleType:
    return importlib.import_module(f"{package}.{api}.models")


def _round_trips(package: str, example: Example) -> dict[str, Any]:
    """The dump of the parsed example, by decoding mode: ``python`` (what the server does
    with a decoded body) and ``json`` (what the SDK does with a response body)."""
    target = getattr(_models(package, example.api), example.model)
    is_class = isinstance(target, type) and issubclass(target, BaseModel)
    if example.where == "request":
        assert is_class != example.is_alias, f"{example.model}: IR says is_alias={not is_class}"
    adapter: TypeAdapter[Any] = TypeAdapter(target)
    dumps: dict[str, Any] = {}
    for mode in ("python", "json"):
        if mode == "python":
            parsed = adapter.validate_python(copy.deepcopy(example.value))
        else:
            parsed = adapter.validate_json(json.dumps(example.value))
        if is_class:
            dumps[mode] = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
        else:
            # A type alias (a discriminated union, an enum...): the adapter dumps whichever
            # class the union picked.
            dumps[mode] = adapter.dump_python(
                parsed, mode="json", by_alias=True, exclude_unset=True
            )
    return dumps


def _same(dumped: Any, example: Any) -> bool:
    """JSON equality: numbers by value, so the contract's `0` for a `number` field equals
    the `0.0` pydantic dumps; but a boolean never equals a number (Python's `True == 1`)."""
    if isinstance(dumped, bool) or isinstance(example, bool):
        return type(dumped) is type(example) and dumped == example
    if isinstance(dumped, int | float) and isinstance(example, int | float):
        return dumped == example
    if isinstance(dumped, dict) and isinstance(example, dict):
        return dumped.keys() == example.keys() and all(_same(dumped[k], example[k]) for k in dumped)
    if isinstance(dumped, list) and isinstance(example, list):
        return len(dumped) == len(example) and all(
            _same(d, e) for d, e in zip(dumped, example, strict=True)
        )
    return type(dumped) is type(example) and dumped == example


def test_examples_are_many_and_cover_every_api() -> None:
    assert len(EXAMPLES) > MIN_EXAMPLES, len(EXAMPLES)
    assert {e.api for e in EXAMPLES} == {api.name for api in APIS.values()}
    assert any(e.where == "request" for e in EXAMPLES)
    assert any(int(e.where) >= 400 for e in EXAMPLES if e.where != "request")


def test_every_operation_has_a_success_example() -> None:
    covered = {(e.api, e.operation_id) for e in EXAMPLES if e.where.startswith("2")}
    missing = [
        f"{api.name}:{op.operation_id}"
        for api in APIS.values()
        for op in api.operations
        if op.success.model is not None and (api.name, op.operation_id) not in covered
    ]
    assert not missing


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("example", _params())
def test_example_round_trips(package: str, example: Example) -> None:
    for mode, dumped in _round_trips(package, example).items():
        # No date-time normalisation is needed: every date-time in the examples is
        # written in UTC with `Z`, which is what pydantic dumps (a `+00:00` example would
        # come back as `Z` and fail here, on purpose: examples show the canonical form).
        assert _same(dumped, example.value), (mode, dumped)


def _classes(api: Api) -> Iterator[tuple[str, dict[str, Any], type[BaseModel]]]:
    """(component, normalized schema, class) for every component rendered as a class."""
    for key, schema in api.document["components"]["schemas"].items():
        target = getattr(_models("generated", api.name), schema["title"])
        if isinstance(target, type) and issubclass(target, BaseModel):
            yield key, schema, target


def test_required_properties_are_model_fields() -> None:
    missing = [
        f"{api.name}:{key}.{name}"
        for api in APIS.values()
        for key, schema, target in _classes(api)
        for name in schema.get("required", [])
        if name not in {info.alias or field for field, info in target.model_fields.items()}
    ]
    assert missing == []


def test_open_objects_without_properties_keep_their_content() -> None:
    dropped = [
        f"{api.name}:{key}"
        for api in APIS.values()
        for key, schema, target in _classes(api)
        if not schema.get("properties")
        and schema.get("additionalProperties", True) is not False
        and target.model_config.get("extra") != "allow"
    ]
    assert dropped == []
