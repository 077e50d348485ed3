"""The breaking-change classifier: one case per check id, directions, git refs, releases."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import codegen.breaking
from codegen.breaking import (
    BreakingCheckError,
    Change,
    UnknownReferenceError,
    compare_trees,
    is_breaking,
    latest_release,
    load_reference,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
BASE = ROOT / "tests" / "fixtures" / "breaking" / "base"
B, N = "breaking", "non-breaking"
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _load(text: str) -> Any:
    return yaml.load(text, LOADER)


def _dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=DUMPER)


class Tree:
    """A copy of a contracts folder whose files are edited as plain data, then saved."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._docs: dict[str, Any] = {}

    def doc(self, rel: str) -> Any:
        if rel not in self._docs:
            text = (self.root / rel).read_text()
            self._docs[rel] = json.loads(text) if rel.endswith(".json") else _load(text)
        return self._docs[rel]

    @property
    def api(self) -> Any:
        return self.doc("openapi/shop.yaml")

    @property
    def schemas(self) -> Any:
        return self.api["components"]["schemas"]

    def props(self, schema: str) -> Any:
        return self.schemas[schema]["properties"]

    def op(self, path: str, method: str) -> Any:
        return self.api["paths"][path][method]

    def data(self, event: str) -> Any:
        return self.doc(f"events/{event}.schema.json")["properties"]["data"]

    def save(self) -> None:
        for rel, doc in self._docs.items():
            text = json.dumps(doc, indent=2) if rel.endswith(".json") else _dump(doc)
            (self.root / rel).write_text(text)


def _copy(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for part in ("openapi", "events"):
        shutil.copytree(source / part, target / part)
    shutil.copy(source / "problem.schema.json", target)
    return target


def _edited(
    tmp_path: Path, edit: Callable[[Tree], object], setup: Callable[[Tree], object] | None = None
) -> list[Change]:
    old, new = Tree(_copy(BASE, tmp_path / "old")), Tree(_copy(BASE, tmp_path / "new"))
    for tree in (old, new):
        if setup is not None:
            setup(tree)
            tree.save()
    edit(new)
    new.save()
    return compare_trees(old.root, new.root)


def _add_op(t: Tree) -> None:
    t.api["paths"]["/v1/pets"]["get"] = {
        "operationId": "list_pets",
        "tags": ["items"],
        "responses": {"204": {"description": "None."}},
    }


def _rename_color(t: Tree) -> None:
    t.schemas["Colour"] = t.schemas.pop("Color")
    text = _dump(t.api).replace("/schemas/Color", "/schemas/Colour")
    t._docs["openapi/shop.yaml"] = _load(text)


def _rename_event_color(t: Tree) -> None:
    created = t.doc("events/item.created.schema.json")
    created["$defs"]["Colour"] = created["$defs"].pop("Color")
    created["properties"]["data"]["properties"]["color"] = {"$ref": "#/$defs/Colour"}
    t.data("item.deleted")["properties"]["color"] = {
        "$ref": "item.created.schema.json#/$defs/Colour"
    }


def _add_event(t: Tree) -> None:
    doc = json.loads((t.root / "events/item.deleted.schema.json").read_text())
    doc["properties"]["type"] = {"const": "item.archived"}
    t._docs["events/item.archived.schema.json"] = doc


def _open_request(t: Tree) -> None:
    t.schemas["CreateItemRequest"]["additionalProperties"] = True


def _open_event(t: Tree) -> None:
    t.data("item.deleted")["additionalProperties"] = True


CASES = [
    # ---------------------------------------------------------------- operations
    (
        "operation.removed",
        lambda t: t.api["paths"]["/v1/items/{item_id}"].pop("delete"),
        None,
        {("operation.removed", B)},
    ),
    ("operation.added", _add_op, None, {("operation.added", N)}),
    (
        "operation.id_changed",
        lambda t: t.op("/v1/pets", "post").update(operationId="adopt"),
        None,
        {("operation.id_changed", B)},
    ),
    (
        "operation.tag_changed",
        lambda t: t.op("/v1/pets", "post").update(tags=["pets"]),
        None,
        {("operation.tag_changed", B)},
    ),
    # ---------------------------------------------------------------- parameters
    (
        "parameter.added_required",
        lambda t: t.op("/v1/items", "get")["parameters"].append(
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        None,
        {("parameter.added_required", B)},
    ),
    (
        "parameter.added_optional",
        lambda t: t.op("/v1/items", "get")["parameters"].append(
            {"name": "q", "in": "query", "schema": {"type": "string"}}
        ),
        None,
        {("parameter.added_optional", N)},
    ),
    (
        "parameter.removed-optional",
        lambda t: t.op("/v1/items", "get")["parameters"].pop(1),
        None,
        {("parameter.removed", N)},
    ),
    (
        "parameter.removed-required",
        lambda t: t.op("/v1/items/{item_id}", "delete").pop("parameters"),
        None,
        {("parameter.removed", B)},
    ),
    (
        "parameter.became_required",
        lambda t: t.api["components"]["parameters"]["Limit"].update(required=True),
        None,
        {("parameter.became_required", B)},
    ),
    (
        "parameter.became_optional",
        lambda t: t.op("/v1/items/{item_id}", "delete")["parameters"][0].update(required=False),
        None,
        {("parameter.became_optional", N)},
    ),
    (
        "parameter.type_changed-retyped",
        lambda t: t.api["components"]["parameters"]["Limit"]["schema"].update(type="string"),
        None,
        {("parameter.type_changed", B)},
    ),
    (
        "parameter.type_changed-widened",
        lambda t: t.api["components"]["parameters"]["Limit"]["schema"].update(type="number"),
        None,
        {("parameter.type_changed", N)},
    ),
    (
        "parameter.constraint_narrowed",
        lambda t: t.api["components"]["parameters"]["Limit"]["schema"].update(maximum=50),
        None,
        {("parameter.constraint_narrowed", B)},
    ),
    (
        "parameter.constraint_relaxed",
        lambda t: t.api["components"]["parameters"]["Limit"]["schema"].update(maximum=500),
        None,
        {("parameter.constraint_relaxed", N)},
    ),
    (
        "parameter.default_changed",
        lambda t: t.api["components"]["parameters"]["Limit"]["schema"].update(default=20),
        None,
        {("parameter.default_changed", B)},
    ),
    # One shared enum, three directions.
    (
        "shared-enum-narrowed",
        lambda t: t.schemas["Color"].update(enum=["red", "green"]),
        None,
        {
            ("parameter.enum_narrowed", B),
            ("request.enum_narrowed", B),
            ("response.enum_narrowed", N),
        },
    ),
    (
        "shared-enum-widened",
        lambda t: t.schemas["Color"]["enum"].append("black"),
        None,
        {("parameter.enum_widened", N), ("request.enum_widened", N), ("response.enum_widened", B)},
    ),
    # ---------------------------------------------------------------- request bodies
    (
        "request.field_added_required",
        lambda t: (
            t.props("CreateItemRequest").update(sku={"type": "string"}),
            t.schemas["CreateItemRequest"]["required"].append("sku"),
        ),
        None,
        {("request.field_added_required", B)},
    ),
    (
        "request.field_added_optional",
        lambda t: t.props("CreateItemRequest").update(sku={"type": "string"}),
        None,
        {("request.field_added_optional", N)},
    ),
    (
        "request.field_removed-closed",
        lambda t: t.props("CreateItemRequest").pop("note"),
        None,
        {("request.field_removed", B)},
    ),
    (
        "request.field_removed-open",
        lambda t: t.props("CreateItemRequest").pop("note"),
        _open_request,
        {("request.field_removed", N)},
    ),
    (
        "request.field_became_required",
        lambda t: t.schemas["CreateItemRequest"]["required"].append("color"),
        None,
        {("request.field_became_required", B)},
    ),
    (
        "request.field_became_optional",
        lambda t: t.schemas["CreateItemRequest"].update(required=["name"]),
        None,
        {("request.field_became_optional", N)},
    ),
    (
        "request.type_changed-retyped",
        lambda t: t.props("CreateItemRequest")["price_cents"].update(type="string"),
        None,
        {("request.type_changed", B)},
    ),
    (
        "request.type_changed-nullable",
        lambda t: t.props("CreateItemRequest")["price_cents"].update(type=["integer", "null"]),
        None,
        {("request.type_changed", N)},
    ),
    (
        "request.constraint_narrowed",
        lambda t: t.props("CreateItemRequest")["name"].update(pattern="^[a-z]+$"),
        None,
        {("request.constraint_narrowed", B)},
    ),
    (
        "request.constraint_narrowed-items",
        lambda t: t.props("CreateItemRequest")["tags"]["items"].update(maxLength=10),
        None,
        {("request.constraint_narrowed", B)},
    ),
    (
        "request.constraint_relaxed",
        lambda t: t.props("CreateItemRequest")["tags"].update(maxItems=50),
        None,
        {("request.constraint_relaxed", N)},
    ),
    (
        "request.body_removed",
        lambda t: t.op("/v1/items", "post").pop("requestBody"),
        None,
        {("request.body_removed", B)},
    ),
    (
        "request.media_type_removed",
        lambda t: t.op("/v1/items", "post")["requestBody"].update(
            content={"text/plain": {"schema": {"type": "string"}}}
        ),
        None,
        {("request.media_type_removed", B)},
    ),
    (
        "request.body_added",
        lambda t: t.op("/v1/items/{item_id}", "delete").update(
            requestBody={"content": {"application/json": {"schema": {"type": "object"}}}}
        ),
        None,
        {("request.body_added", N)},
    ),
    (
        "request.body_became_required",
        lambda t: t.op("/v1/pets", "post")["requestBody"].update(required=True),
        lambda t: t.op("/v1/pets", "post")["requestBody"].update(required=False),
        {("request.body_became_required", B)},
    ),
    (
        "request.default_changed",
        lambda t: t.props("CreateItemRequest")["note"].update(default="none"),
        None,
        {("request.default_changed", B)},
    ),
    (
        "request.readOnly-field-ignored",
        lambda t: (
            t.props("CreateItemRequest").update(id={"type": "string", "readOnly": True}),
            t.schemas["CreateItemRequest"]["required"].append("id"),
        ),
        None,
        set(),
    ),
    # Pet is the request and the response of one operation.
    (
        "variant_removed",
        lambda t: t.schemas["Pet"]["oneOf"].pop(),
        None,
        {("request.variant_removed", B), ("response.variant_removed", N)},
    ),
    (
        "variant_added",
        lambda t: t.schemas["Pet"]["oneOf"].append(
            {"title": "Bird", "type": "object", "properties": {"kind": {"const": "bird"}}}
        ),
        None,
        {("request.variant_added", N), ("response.variant_added", B)},
    ),
    # ---------------------------------------------------------------- responses
    (
        "response.field_removed",
        lambda t: t.props("Item").pop("tags"),
        None,
        {("response.field_removed", B)},
    ),
    (
        "response.field_added",
        lambda t: t.props("Item").update(size={"type": "integer"}),
        None,
        {("response.field_added", N)},
    ),
    (
        "response.writeOnly-field-shown",
        lambda t: t.props("Item")["secret_code"].pop("writeOnly"),
        None,
        {("response.field_added", N)},
    ),
    (
        "response.field_type_changed",
        lambda t: t.props("Item")["price_cents"].update(type="string"),
        None,
        {("response.field_type_changed", B)},
    ),
    (
        "response.field_type_changed-narrowed",
        lambda t: t.props("Item")["note"].update(type="string"),
        None,
        {("response.field_type_changed", N)},
    ),
    (
        "response.field_became_optional",
        lambda t: t.schemas["Item"]["required"].remove("price_cents"),
        None,
        {("response.field_became_optional", B)},
    ),
    (
        "response.field_became_optional-nullable",
        lambda t: t.props("Item")["price_cents"].update(type=["integer", "null"]),
        None,
        {("response.field_became_optional", B)},
    ),
    (
        "response.field_became_required",
        lambda t: t.schemas["Item"]["required"].append("tags"),
        None,
        {("response.field_became_required", N)},
    ),
    (
        "response.constraint_relaxed",
        lambda t: t.props("Item")["name"].update(maxLength=200),
        None,
        {("response.constraint_relaxed", B)},
    ),
    (
        "response.constraint_narrowed",
        lambda t: t.props("Item")["name"].update(maxLength=40),
        None,
        {("response.constraint_narrowed", N)},
    ),
    (
        "response.status_removed-success",
        lambda t: t.op("/v1/items/{item_id}", "get")["responses"].pop("200"),
        None,
        {("response.status_removed", B)},
    ),
    (
        "response.status_removed-error",
        lambda t: t.op("/v1/items/{item_id}", "get")["responses"].pop("404"),
        None,
        {("response.status_removed", N)},
    ),
    (
        "response.status_added-success",
        lambda t: t.op("/v1/items", "post")["responses"].update({"202": {"description": "Later."}}),
        None,
        {("response.status_added", B)},
    ),
    (
        "response.status_added-error",
        lambda t: t.op("/v1/items", "post")["responses"].update({"409": {"description": "Taken."}}),
        None,
        {("response.status_added", N)},
    ),
    (
        "response.media_type_removed",
        lambda t: t.op("/v1/items/{item_id}", "get")["responses"]["200"].update(
            content={"text/csv": {"schema": {"type": "string"}}}
        ),
        None,
        {("response.media_type_removed", B)},
    ),
    # ---------------------------------------------------------------- security
    (
        "security.changed-required",
        lambda t: t.op("/v1/pets", "post").update(security=[{"bearerAuth": []}]),
        None,
        {("security.changed", B)},
    ),
    (
        "security.changed-relaxed",
        lambda t: t.op("/v1/items", "get").update(security=[{"bearerAuth": []}, {"apiKey": []}]),
        None,
        {("security.changed", N)},
    ),
    (
        "security.scheme_changed",
        lambda t: t.api["components"]["securitySchemes"]["apiKey"].update(name="X-Key"),
        None,
        {("security.scheme_changed", B)},
    ),
    # ---------------------------------------------------------------- problem
    (
        "problem.enum_widened",
        lambda t: t.doc("problem.schema.json")["$defs"]["ProblemCode"]["enum"].append("GONE"),
        None,
        {("problem.enum_widened", N)},
    ),
    (
        "problem.enum_narrowed",
        lambda t: t.doc("problem.schema.json")["$defs"]["ProblemCode"]["enum"].pop(),
        None,
        {("problem.enum_narrowed", B)},
    ),
    (
        "problem.field_removed",
        lambda t: t.doc("problem.schema.json")["properties"].pop("title"),
        None,
        {("problem.field_removed", B)},
    ),
    # ---------------------------------------------------------------- events
    (
        "event.removed",
        lambda t: (t.root / "events/item.deleted.schema.json").unlink(),
        None,
        {("event.removed", B)},
    ),
    ("event.added", _add_event, None, {("event.added", N)}),
    (
        "event.field_removed",
        lambda t: t.data("item.created")["properties"].pop("label"),
        None,
        {("event.field_removed", B)},
    ),
    (
        "event.field_added_required",
        lambda t: (
            t.data("item.deleted")["properties"].update(why={"type": "string"}),
            t.data("item.deleted")["required"].append("why"),
        ),
        None,
        {("event.field_added_required", B)},
    ),
    (
        "event.field_added_optional-closed",
        lambda t: t.data("item.deleted")["properties"].update(why={"type": "string"}),
        None,
        {("event.field_added_optional", B)},
    ),
    (
        "event.field_added_optional-open",
        lambda t: t.data("item.deleted")["properties"].update(why={"type": "string"}),
        _open_event,
        {("event.field_added_optional", N)},
    ),
    (
        "event.field_became_required",
        lambda t: t.data("item.deleted")["required"].append("color"),
        None,
        {("event.field_became_required", B)},
    ),
    (
        "event.field_became_optional",
        lambda t: t.data("item.created")["required"].remove("note"),
        None,
        {("event.field_became_optional", B)},
    ),
    (
        "event.type_changed",
        lambda t: t.data("item.created")["properties"]["note"].update(type="string"),
        None,
        {("event.type_changed", B)},
    ),
    # The colour enum lives in item.created and is shared by item.deleted.
    (
        "event.enum_narrowed",
        lambda t: t.doc("events/item.created.schema.json")["$defs"]["Color"]["enum"].pop(),
        None,
        {("event.enum_narrowed", B)},
    ),
    (
        "event.enum_widened",
        lambda t: t.doc("events/item.created.schema.json")["$defs"]["Color"]["enum"].append("pink"),
        None,
        {("event.enum_widened", B)},
    ),
    (
        "event.constraint_changed-envelope",
        lambda t: t.doc("events/envelope.schema.json")["properties"]["seq"].update(minimum=1),
        None,
        {("event.constraint_changed", B)},
    ),
    # ---------------------------------------------------------------- no change
    ("renamed-component", _rename_color, None, set()),
    ("renamed-event-def", _rename_event_color, None, set()),
    (
        "descriptions-only",
        lambda t: (
            t.op("/v1/items", "get").update(description="Other words."),
            t.props("Item")["name"].update(description="The name."),
        ),
        None,
        set(),
    ),
]


@pytest.mark.parametrize(
    ("edit", "setup", "expected"),
    [pytest.param(edit, setup, expected, id=name) for name, edit, setup, expected in CASES],
)
def test_check(
    tmp_path: Path,
    edit: Callable[[Tree], object],
    setup: Callable[[Tree], object] | None,
    expected: set[tuple[str, str]],
) -> None:
    changes = _edited(tmp_path, edit, setup)
    assert {(c.check, c.kind) for c in changes} == expected, [c.render() for c in changes]
    assert is_breaking(changes) == any(kind == B for _, kind in expected)


def test_cross_file_enum_change_is_reported_in_every_event_that_uses_it(tmp_path: Path) -> None:
    changes = _edited(
        tmp_path,
        lambda t: t.doc("events/item.created.schema.json")["$defs"]["Color"]["enum"].pop(),
    )
    assert sorted(c.where for c in changes) == [
        "events/item.created.schema.json#/properties/data/properties/color",
        "events/item.deleted.schema.json#/properties/data/properties/color",
    ]


def test_narrowed_request_enum_is_breaking(tmp_path: Path) -> None:
    changes = _edited(
        tmp_path,
        lambda t: t.props("CreateItemRequest").update(color={"type": "string", "enum": ["red"]}),
    )
    [change] = changes
    assert (change.check, change.kind) == ("request.enum_narrowed", B)
    assert change.where == (
        "openapi/shop.yaml POST /v1/items request application/json#/properties/color"
    )
    assert "blue" in change.message and "green" in change.message
    assert is_breaking(changes)


def test_shared_problem_change_is_reported_once(tmp_path: Path) -> None:
    changes = _edited(
        tmp_path,
        lambda t: t.doc("problem.schema.json")["$defs"]["ProblemCode"]["enum"].append("GONE"),
    )
    assert [c.render() for c in changes] == [
        "[non-breaking] problem.enum_widened problem.schema.json#/properties/code: "
        'values added: "GONE"'
    ]


def test_reordered_untitled_variants_are_matched_by_type(tmp_path: Path) -> None:
    def setup(t: Tree) -> None:
        t.props("CreateItemRequest")["sku"] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}

    def edit(t: Tree) -> None:
        t.props("CreateItemRequest")["sku"]["anyOf"].reverse()
        t.props("CreateItemRequest")["sku"]["anyOf"][1]["maxLength"] = 5

    changes = _edited(tmp_path, edit, setup)
    assert [(c.check, c.where.rsplit("#", 1)[1]) for c in changes] == [
        ("request.constraint_narrowed", "/properties/sku/anyOf/string")
    ]


def test_unreadable_contracts_raise_errors_naming_the_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BreakingCheckError, match="no openapi/ or events/"):
        compare_trees(tmp_path / "empty", BASE)
    tree = Tree(_copy(BASE, tmp_path / "broken"))
    tree.props("Item")["color"] = {"$ref": "#/components/schemas/Nope"}
    tree.save()
    with pytest.raises(BreakingCheckError, match=r"openapi/shop\.yaml.*Nope"):
        compare_trees(BASE, tree.root)


def test_every_check_id_is_documented() -> None:
    doc = codegen.breaking.__doc__ or ""
    for _, _, _, expected in CASES:
        for check, _ in expected:
            assert f"``{check}``" in doc, check


# ---------------------------------------------------------------- the real contracts


def _real_copy(tmp_path: Path) -> tuple[Path, Path]:
    return _copy(CONTRACTS, tmp_path / "old"), _copy(CONTRACTS, tmp_path / "new")


def test_added_optional_response_field_in_the_real_contracts_is_non_breaking(
    tmp_path: Path,
) -> None:
    old, new = _real_copy(tmp_path)
    spec = new / "openapi" / "control-plane.yaml"
    doc = _load(spec.read_text())
    doc["components"]["schemas"]["Session"]["properties"]["nickname"] = {"type": "string"}
    spec.write_text(_dump(doc))
    changes = compare_trees(old, new)
    assert changes
    assert {c.check for c in changes} == {"response.field_added"}
    assert not is_breaking(changes)


def test_removed_operation_in_the_real_contracts_is_breaking(tmp_path: Path) -> None:
    old, new = _real_copy(tmp_path)
    spec = new / "openapi" / "public-api.yaml"
    doc = _load(spec.read_text())
    del doc["paths"]["/v1/keys/rotate"]
    spec.write_text(_dump(doc))
    changes = compare_trees(old, new)
    assert [(c.check, c.kind, c.where) for c in changes] == [
        ("operation.removed", B, "openapi/public-api.yaml POST /v1/keys/rotate")
    ]
    assert is_breaking(changes)


def test_released_v1_to_the_live_contracts_has_no_breaking_change() -> None:
    released = latest_release(CONTRACTS)
    assert released is not None and released.name.startswith("v")
    changes = compare_trees(CONTRACTS / "released" / "v1", CONTRACTS)
    assert not is_breaking(changes), [c.render() for c in changes if c.breaking]


def test_latest_release_is_the_highest_version(tmp_path: Path) -> None:
    assert latest_release(tmp_path) is None
    for name in ("v1", "v2", "v10", "draft"):
        (tmp_path / "released" / name).mkdir(parents=True)
    assert latest_release(tmp_path) == tmp_path / "released" / "v10"


# ---------------------------------------------------------------- references


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        check=True,
        capture_output=True,
    )


def _repo(top: Path, project: Path) -> None:
    """A git repo at ``top``; two commits of ``project/contracts``, the second removing an op."""
    _copy(BASE, project / "contracts")
    _git(top, "init", "-q")
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "v1")
    tree = Tree(project / "contracts")
    tree.api["paths"]["/v1/items/{item_id}"].pop("delete")
    tree.save()
    _git(top, "commit", "-q", "-am", "v2")


@pytest.mark.parametrize("nested", [False, True], ids=["toplevel", "subfolder"])
def test_git_ref_is_checked_out_and_compared(tmp_path: Path, nested: bool) -> None:
    top = tmp_path / "repo"
    project = top / "proj" if nested else top
    _repo(top, project)
    old = load_reference("HEAD~1", project, workdir=tmp_path / "ref")
    assert old == tmp_path / "ref" / "contracts"
    changes = compare_trees(old, project / "contracts")
    assert [(c.check, c.kind) for c in changes] == [("operation.removed", B)]
    assert compare_trees(load_reference("HEAD", project), project / "contracts") == []


def test_unknown_git_ref_raises_a_clear_error(tmp_path: Path) -> None:
    _repo(tmp_path, tmp_path)
    with pytest.raises(UnknownReferenceError, match="no-such-release"):
        load_reference("no-such-release", tmp_path)


def test_git_ref_without_contracts_raises(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("nothing here\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "empty")
    with pytest.raises(UnknownReferenceError, match="no contracts/"):
        load_reference("HEAD", tmp_path)


def test_folder_reference_accepts_a_contracts_folder_or_its_parent(tmp_path: Path) -> None:
    contracts = _copy(BASE, tmp_path / "v1" / "contracts")
    assert load_reference(str(contracts), tmp_path) == contracts
    assert load_reference(str(tmp_path / "v1"), tmp_path) == contracts
    assert load_reference("v1", tmp_path) == contracts
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnknownReferenceError, match="holds no contracts"):
        load_reference(str(tmp_path / "empty"), tmp_path)


def test_render_names_kind_check_and_place() -> None:
    change = Change("operation.removed", "breaking", "openapi/a.yaml GET /x", "operation removed")
    assert (
        change.render() == "[breaking] operation.removed openapi/a.yaml GET /x: operation removed"
    )
