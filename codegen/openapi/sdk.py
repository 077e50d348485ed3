"""The SDK: an installable distribution with sync and async clients for every API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.openapi.ir import Api, Operation, Pagination, Param
from codegen.openapi.names import class_name, snake, stdlib_imports
from codegen.templates import environment

__all__ = ["SDK_DIR", "SDK_PACKAGE", "render_sdk"]

SDK_DIR = Path("generated/sdk")
SDK_PACKAGE = "voulezvous_sdk"


@dataclass(frozen=True)
class _Code:
    code: str
    class_name: str


@dataclass(frozen=True)
class _SdkOp:
    operation_id: str
    method_name: str
    const: str
    method: str
    path: str
    statuses: str
    idempotency_header: str | None
    summary: str
    signature: list[str]
    returns: str
    path_params: list[Param]
    query_params: list[Param]
    header_params: list[Param]
    has_body: bool
    errors: str
    pagination: Pagination | None
    item_type: str
    iter_signature: list[str]
    iter_call: list[str]


def _model(name: str | None) -> str:
    if name is None:
        return "None"
    return "Any" if name == "Any" else f"models.{name}"


def _short_name(op: Operation, tag: str, taken: set[str]) -> str:
    """``create_session`` in ``sessions`` reads ``client.sessions.create``."""
    nouns = {tag, tag.rstrip("s"), snake(tag), snake(tag).rstrip("s")}
    words = [w for w in op.operation_id.split("_") if w not in nouns]
    short = "_".join(words)
    if not short or short in taken or not short[0].isalpha():
        short = op.operation_id
    taken.add(short)
    return short


def _error_class(code: str) -> str:
    name = class_name(code.lower())
    return name if name.endswith("Error") else name + "Error"


def _item_type(api: Api, model: str | None, items: str) -> str:
    schemas: dict[str, Any] = api.document.get("components", {}).get("schemas", {})
    page = next((s for s in schemas.values() if s.get("title") == model), None)
    prop = ((page or {}).get("properties") or {}).get(items) or {}
    ref = (prop.get("items") or {}).get("$ref", "")
    target = schemas.get(ref.rsplit("/", 1)[-1]) if ref else None
    return f"models.{target['title']}" if target else "Any"


def _sdk_op(api: Api, op: Operation, short: str, codes: dict[str, str]) -> _SdkOp:
    signature: list[str] = []
    if op.body is not None:
        body = _model(op.body.model)
        signature.append(f"body: {body}" if op.body.required else f"body: {body} | None = None")
    idem = op.idempotency_key
    params = [p for p in op.arguments if p is not idem]
    for param in params:
        if param.required:
            signature.append(f"{param.py_name}: {param.annotation}")
    for param in params:
        if not param.required:
            annotation = (
                param.annotation
                if param.annotation.endswith("| None")
                else f"{param.annotation} | None"
            )
            signature.append(f"{param.py_name}: {annotation} = {param.default or 'None'}")
    if idem is not None:
        signature.append("idempotency_key: str | None = None")
    signature = sorted(signature, key=lambda s: " = " in s)
    successes = sorted({_model(r.model) for r in op.successes})
    statuses = (
        "{"
        + ", ".join(
            f"{r.status}: {_model(r.model) if not r.is_error else 'None'}" for r in op.replies
        )
        + "}"
    )
    error_codes = sorted({codes.get(str(r.status), "") for r in op.errors} - {""})
    iter_signature = (
        [s for s in signature if not s.startswith(f"{op.pagination.cursor}:")]
        if op.pagination
        else []
    )
    iter_call = []
    if op.pagination:
        for s in iter_signature:
            name = s.split(":", 1)[0]
            iter_call.append(f"{name}={name}")
    success = op.successes[0]
    return _SdkOp(
        operation_id=op.operation_id,
        method_name=short,
        const=op.operation_id.upper(),
        method=op.method,
        path=op.path.replace("{", "{").replace("}", "}"),
        statuses=statuses,
        idempotency_header=idem.name if idem else None,
        summary=op.summary,
        signature=signature,
        returns=" | ".join(successes),
        path_params=[p for p in params if p.location == "path"],
        query_params=[p for p in params if p.location == "query"],
        header_params=[p for p in params if p.location == "header"],
        has_body=op.body is not None,
        errors=", ".join(error_codes),
        pagination=op.pagination,
        item_type=_item_type(api, success.model, op.pagination.items) if op.pagination else "Any",
        iter_signature=iter_signature,
        iter_call=iter_call,
    )


def render_sdk(
    apis: list[Api], models: dict[str, str], header: str, version: str
) -> dict[Path, str]:
    """The SDK distribution files, relative to the repository root."""
    env = environment()
    base = SDK_DIR / SDK_PACKAGE
    all_codes = sorted({code for api in apis for code in api.problem_codes})
    codes = [_Code(code, _error_class(code)) for code in all_codes]
    files: dict[Path, str] = {
        base / "_core.py": env.get_template("sdk_core.py.j2").render(
            header=header, package=SDK_PACKAGE
        ),
        base / "errors.py": env.get_template("sdk_errors.py.j2").render(header=header, codes=codes),
        base / "py.typed": "",
    }
    clients: list[tuple[str, str]] = []
    for api in apis:
        client = class_name(api.name) + "Client"
        clients.append((api.name, client))
        status_codes = _status_codes(api)
        for tag in api.tags:
            taken: set[str] = set()
            ops = [
                _sdk_op(api, op, _short_name(op, tag.name, taken), status_codes)
                for op in api.operations_of(tag.name)
            ]
            text = " ".join(" ".join([*o.signature, o.returns]) for o in ops)
            files[base / api.name / f"{tag.py_name}.py"] = env.get_template("sdk_tag.py.j2").render(
                header=header,
                api=api,
                tag=tag,
                operations=ops,
                sdk=SDK_PACKAGE,
                stdlib=stdlib_imports(text),
            )
        files[base / api.name / "models.py"] = models[api.name]
        files[base / api.name / "client.py"] = env.get_template("sdk_client.py.j2").render(
            header=header,
            api=api,
            client=client,
            sdk=SDK_PACKAGE,
            base_url=_base_url(api),
        )
        files[base / api.name / "__init__.py"] = (
            f'{header}\n"""{api.title} {api.version}."""\n\n'
            f"from {SDK_PACKAGE}.{api.name} import models\n"
            f"from {SDK_PACKAGE}.{api.name}.client import Async{client}, {client}\n\n"
            f'__all__ = ["Async{client}", "{client}", "models"]\n'
        )
    exports = sorted(
        [
            "ApiError",
            "AsyncRealtime",
            "BearerAuth",
            "HmacAuth",
            "LabSignatureAuth",
            "Realtime",
            "RetryPolicy",
            "UnexpectedStatusError",
        ]
        + [c for _, client in clients for c in (client, "Async" + client)]
    )
    files[base / "__init__.py"] = env.get_template("sdk_init.py.j2").render(
        header=header, clients=clients, sdk=SDK_PACKAGE, exports=exports
    )
    files[SDK_DIR / "pyproject.toml"] = env.get_template("sdk_pyproject.toml.j2").render(
        version=version, sdk=SDK_PACKAGE
    )
    return files


def _status_codes(api: Api) -> dict[str, str]:
    """Status -> problem code named by the shared responses' examples (for docstrings)."""
    found: dict[str, str] = {}
    responses = api.document.get("components", {}).get("responses", {})
    for response in responses.values():
        for media in (response.get("content") or {}).values():
            for example in (media.get("examples") or {}).values():
                value = example.get("value") if isinstance(example, dict) else None
                if isinstance(value, dict) and "status" in value and "code" in value:
                    found.setdefault(str(value["status"]), _error_class(str(value["code"])))
    return found


def _base_url(api: Api) -> str:
    servers = api.document.get("servers") or [{"url": "http://127.0.0.1:8000"}]
    return str(servers[0].get("url", "http://127.0.0.1:8000"))
