"""`vvtv contracts lint`: the real contracts lint clean, and every rule fires on its fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import codegen.contracts.lint as lint_module
from codegen.contracts import RULES, LintProblem, lint_contracts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"
X = "contracts/openapi/x.yaml"
ASYNCAPI = "contracts/asyncapi.yaml"
CREATED = "contracts/events/thing.created.schema.json"
GET = "/paths/~1v1~1things~1{thing_id}/get"
POST = "/paths/~1v1~1things/post"
RESPONSES = "/components/responses"
PROBLEM_MEDIA = "content/application~1problem+json"

# case folder -> (the one rule expected, the (file, pointer) of every problem)
CASES: dict[str, tuple[str, set[tuple[str, str]]]] = {
    "file_parse": ("file.parse", {(X, "")}),
    "openapi_invalid": ("openapi.invalid", {(X, "/info")}),
    "asyncapi_invalid": ("asyncapi.invalid", {(ASYNCAPI, "/operations/sendThingEvents/action")}),
    "asyncapi_payload": (
        "asyncapi.payload",
        {(ASYNCAPI, "/components/messages/ThingCreated/payload/$ref")},
    ),
    "events_invalid_schema": ("events.invalid_schema", {(CREATED, "/type")}),
    "events_example": ("events.example", {(CREATED, "/examples/0")}),
    "events_example_missing": ("events.example", {(CREATED, "")}),
    "example_invalid": (
        "example.invalid",
        {(X, f"{GET}/responses/200/content/application~1json/examples/lamp/value")},
    ),
    "example_invalid_parameter": (
        "example.invalid",
        {(X, "/components/parameters/ThingId/example")},
    ),
    "example_invalid_schema_level": (
        "example.invalid",
        {(X, "/components/schemas/Thing/properties/name/examples/0")},
    ),
    "example_invalid_problem": (
        "example.invalid",
        {(X, f"{RESPONSES}/UnprocessableContent/{PROBLEM_MEDIA}/examples/invalid/value")},
    ),
    "operation_id": ("operation.id", {(X, f"{GET}/operationId")}),
    "operation_id_duplicate": (
        "operation.id",
        {(X, "/webhooks/thingCreated/post/operationId")},
    ),
    "operation_tags": ("operation.tags", {(X, f"{POST}/tags/0")}),
    "operation_docs": ("operation.docs", {(X, GET)}),
    "operation_examples": (
        "operation.examples",
        {(X, f"{POST}/requestBody/content/application~1json")},
    ),
    "errors_problem_json": ("errors.problem_json", {(X, f"{RESPONSES}/NotFound")}),
    "errors_problem_json_schema": (
        "errors.problem_json",
        {(X, f"{RESPONSES}/NotFound/{PROBLEM_MEDIA}/schema")},
    ),
    "errors_auth": ("errors.auth", {(X, f"{POST}/responses")}),
    "errors_validation": ("errors.validation", {(X, f"{POST}/responses")}),
    "errors_validation_query": ("errors.validation", {(X, f"{GET}/responses")}),
    "errors_not_found": ("errors.not_found", {(X, f"{GET}/responses")}),
    "errors_retry_after": ("errors.retry_after", {(X, f"{RESPONSES}/TooManyRequests")}),
    "errors_roles": ("errors.roles", {(X, f"{GET}/x-vvtv-roles")}),
    "problem_code": (
        "problem.code",
        {(X, f"{RESPONSES}/Unauthorized/{PROBLEM_MEDIA}/examples/auth_failed/value/code")},
    ),
    "schema_unused": (
        "schema.unused",
        {(X, "/components/schemas/Orphan"), (X, "/components/schemas/Leaf")},
    ),
    "request_closed": ("request.closed", {(X, "/components/schemas/CreateThingRequest")}),
}


def _rendered(problems: list[LintProblem]) -> str:
    return "\n".join(problem.render() for problem in problems)


def test_real_contracts_lint_clean(root: Path) -> None:
    problems = lint_contracts(root)
    assert problems == [], _rendered(problems)


def test_clean_fixture_lints_clean() -> None:
    problems = lint_contracts(FIXTURES / "clean")
    assert problems == [], _rendered(problems)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_fires_on_its_fixture(case: str) -> None:
    rule, expected = CASES[case]
    problems = lint_contracts(FIXTURES / case)
    assert {problem.rule for problem in problems} == {rule}, _rendered(problems)
    assert {(problem.file, problem.pointer) for problem in problems} == expected


def test_every_rule_has_a_fixture_and_is_documented() -> None:
    assert {rule for rule, _ in CASES.values()} == set(RULES)
    for rule in RULES:
        assert f"``{rule}``" in (lint_module.__doc__ or ""), rule


def test_every_fixture_folder_is_a_case() -> None:
    folders = {path.name for path in FIXTURES.iterdir() if path.is_dir()}
    assert folders == set(CASES) | {"clean"}


def test_problems_are_sorted_unique_and_rendered() -> None:
    problems = lint_contracts(FIXTURES / "schema_unused")
    assert problems == sorted(set(problems))
    assert problems[0].render() == (
        f"{X}#/components/schemas/Leaf: schema.unused: schema 'Leaf' is never referenced"
    )


def test_missing_contracts_folder_has_no_problems(tmp_path: Path) -> None:
    assert lint_contracts(tmp_path) == []


def test_vendored_asyncapi_schema_is_the_official_one(root: Path) -> None:
    schema = json.loads((root / lint_module._ASYNCAPI_SCHEMA).read_text(encoding="utf-8"))
    assert schema["title"] == "AsyncAPI 3.0.0 schema."
    assert schema["properties"]["asyncapi"]["const"] == "3.0.0"
