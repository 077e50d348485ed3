"""The OpenAPI generator on third-party-style specs: names, unions, routers, fail-closed."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from codegen import CodegenError, format_files
from codegen.openapi import load_api, render_api
from generated.server_support import ProblemError, exception_handlers

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "fixtures" / "specs"


def _generate(spec: Path, out: Path, package: str) -> dict[Path, str]:
    api = load_api(spec, package)
    files = {Path(package) / p: text for p, text in render_api(api, package, spec.name).items()}
    files = format_files(ROOT, files)
    for path, text in files.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
    return files


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("generated-fixtures")
    for spec, package in (
        ("tricky-names.yaml", "fx_names"),
        ("tricky-unions.yaml", "fx_unions"),
        ("petstore-3.0.yaml", "fx_petstore"),
    ):
        _generate(SPECS / spec, out, package)
    sys.path.insert(0, str(out))
    # Routers import the shared support module from the real generated tree.
    support = ROOT / "generated" / "server_support.py"
    if not support.exists():
        pytest.fail("generated/server_support.py is missing: run `vvtv codegen`")
    yield out
    sys.path.remove(str(out))


def test_collision_free_names_and_read_write_split(generated: Path) -> None:
    models = importlib.import_module("fx_names.models")
    # Schemas named like Python or generated names get a suffix, never shadow them.
    assert {"ResponseModel", "OptionalModel"} <= set(dir(models))
    # readOnly/writeOnly differ between request and response: two models.
    assert set(models.ClientRequest.model_fields) == {"name", "secret", "owner"}
    assert set(models.ClientResponse.model_fields) == {"id", "name", "owner"}
    # Two inline `status` enums stay two distinct types.
    job = models.GetClientTree200ResponseJob.model_fields["status"].annotation
    delivery = models.GetClientTree200ResponseDelivery.model_fields["status"].annotation
    assert job != delivery
    # Recursion and allOf inheritance.
    node = models.Node.model_validate({"name": "a", "children": [{"name": "b", "children": []}]})
    assert node.children[0].name == "b"
    assert issubclass(models.Derived, models.Base)


def test_discriminated_unions_and_nullable(generated: Path) -> None:
    models = importlib.import_module("fx_unions.models")
    pet = models.Pet.model_validate(
        {"id": "1", "pet": {"kind": "dog", "good": True}, "status": "sold"}
    )
    assert type(pet.pet).__name__ == "Dog"
    with pytest.raises(ValueError, match="kind"):
        models.Pet.model_validate({"id": "1", "pet": {"kind": "fish"}, "status": "sold"})
    assert (
        models.Pet.model_validate(
            {"id": "1", "pet": {"kind": "cat", "lives": 9}, "status": "available", "nickname": None}
        ).nickname
        is None
    )
    source = (generated / "fx_unions" / "models.py").read_text()
    assert "PetCreate = TypeAliasType(" in source
    assert 'Annotated[Cat | Dog, Field(discriminator="kind"' in source
    assert "nickname: StrictStr | None" in source  # JSON strings only (no coercion)


def test_openapi_3_0_nullable_and_pagination(generated: Path) -> None:
    models = importlib.import_module("fx_petstore.models")
    page = models.ListPets200Response.model_validate({"items": [], "next_cursor": None})
    assert page.next_cursor is None
    api = load_api(SPECS / "petstore-3.0.yaml", "fx_petstore")
    list_pets, _, delete_pet = api.operations
    assert list_pets.pagination is not None and list_pets.pagination.next == "next_cursor"
    assert delete_pet.success.status == 204 and delete_pet.success.model is None
    assert [p.py_name for p in delete_pet.params] == ["pet_id"]


class _Clients:
    async def create_client(self, *, body: Any) -> Any:
        models = importlib.import_module("fx_names.models")
        if body.name == "taken":
            raise ProblemError(409, "CONFLICT", "Name taken", "pick another")
        return models.ClientResponse(id="c1", name=body.name)

    async def get_client_tree(self, **kwargs: Any) -> Any:
        models = importlib.import_module("fx_names.models")
        name = f"{kwargs['client_id']}|{kwargs['depth']}|{kwargs['kinds']}|{kwargs['x_trace']}"
        return models.GetClientTree200Response(root=models.Node(name=name), optional=None)


def _app(handlers: Any) -> Litestar:
    server = importlib.import_module("fx_names.server")
    routers = server.build_routers(server.Handlers(clients=handlers))
    return Litestar(route_handlers=routers, exception_handlers=exception_handlers)


def test_router_serves_the_contract(generated: Path) -> None:
    client_id = uuid4()
    with TestClient(_app(_Clients())) as client:
        created = client.post("/clients", json={"name": "a", "secret": "s"})
        assert created.status_code == 201
        assert created.json() == {"id": "c1", "name": "a"}
        conflict = client.post("/clients", json={"name": "taken", "secret": "s"})
        assert conflict.status_code == 409
        assert conflict.headers["content-type"].startswith("application/problem+json")
        assert conflict.json()["code"] == "CONFLICT"
        invalid = client.post("/clients", json={"name": 1})
        assert invalid.status_code == 422
        assert invalid.json()["code"] == "SCHEMA_INVALID"
        assert {e["pointer"] for e in invalid.json()["errors"]} == {"/name", "/secret"}
        tree = client.get(
            f"/clients/{client_id}/tree",
            params={"depth": 3, "kinds": ["a", "b"]},
            headers={"X-Trace": "t1"},
        )
        assert tree.status_code == 200
        assert tree.json()["root"]["name"] == f"{client_id}|3|['a', 'b']|t1"
        bad_enum = client.get(f"/clients/{client_id}/tree", params={"kinds": "z"})
        assert bad_enum.status_code == 422


def test_operation_without_implementation_answers_501(generated: Path) -> None:
    with TestClient(_app(None)) as client:
        response = client.post("/clients", json={"name": "a", "secret": "s"})
    assert response.status_code == 501
    assert response.json()["code"] == "NOT_IMPLEMENTED"
    assert "create_client" in response.json()["detail"]


def test_generated_fixture_code_passes_mypy_strict(generated: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "fx_names",
            "fx_unions",
            "fx_petstore",
        ],
        cwd=generated,
        capture_output=True,
        text=True,
        check=False,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = _generate(SPECS / "tricky-names.yaml", tmp_path / "a", "fx_again")
    second = _generate(SPECS / "tricky-names.yaml", tmp_path / "b", "fx_again")
    assert first == second


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            """
            get:
              operationId: export
              tags: [t]
              responses:
                '200':
                  description: csv
                  content:
                    text/csv:
                      schema: {type: string}
            """,
            "#/paths//x/get/responses/200: content type 'text/csv' is not supported",
        ),
        (
            """
            get:
              tags: [t]
              responses:
                '200': {description: ok}
            """,
            "#/paths//x/get: operation has no operationId",
        ),
        (
            """
            get:
              operationId: two_tags
              tags: [a, b]
              responses:
                '200': {description: ok}
            """,
            "#/paths//x/get: operation needs exactly one tag (has 2)",
        ),
        (
            """
            get:
              operationId: cookie
              tags: [t]
              parameters:
                - {name: sid, in: cookie, schema: {type: string}}
              responses:
                '200': {description: ok}
            """,
            "#/paths//x/get/parameters/0: parameters in 'cookie' are not supported",
        ),
    ],
    ids=["content-type", "operation-id", "tags", "cookie"],
)
def test_unsupported_constructs_fail_closed_naming_the_path(
    tmp_path: Path, operation: str, message: str
) -> None:
    spec = tmp_path / "spec.yaml"
    body = textwrap.indent(textwrap.dedent(operation).strip(), "    ")
    spec.write_text(f"openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n{body}\n")
    with pytest.raises(CodegenError) as caught:
        render_api(load_api(spec, "bad"), "bad", "spec.yaml")
    assert message in str(caught.value)
