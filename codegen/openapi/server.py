"""Per-tag handler Protocols and Litestar router builders (Jinja2 templates)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.openapi.ir import Api, Operation, Param
from codegen.openapi.names import stdlib_imports
from codegen.templates import environment

__all__ = ["ROLES_OPT", "SUPPORT_MODULE", "render_server", "render_support"]

SUPPORT_MODULE = "generated.server_support"
ROLES_OPT = "vvtv_roles"
"""The route ``opt`` key holding ``x-vvtv-roles``, for the security verifiers to check."""

# Keyword names Litestar gives a meaning of its own in handler signatures.
_LITESTAR_RESERVED = {
    "data",
    "request",
    "state",
    "headers",
    "query",
    "cookies",
    "scope",
    "socket",
    "body",
}
_PATH_TYPES = {"str": "str", "int": "int", "float": "float", "UUID": "uuid"}


@dataclass(frozen=True)
class _OpView:
    operation_id: str
    summary: str
    decorator: str
    litestar_path: str
    default_status: int
    allowed: tuple[int, ...]
    media_type: str | None
    security: list[list[str]] | None
    challenge: str
    signature: list[str]
    returns: str
    route_args: list[str]
    call_args: list[str]
    responses: list[str]
    optional_body: bool = False
    opt: str | None = None


def _kwarg(param: Param) -> str:
    return param.py_name + "_" if param.py_name in _LITESTAR_RESERVED else param.py_name


def _model(name: str | None) -> str:
    if name is None:
        return "None"
    return "Any" if name == "Any" else f"models.{name}"


def _challenge(op: Operation, schemes: dict[str, Any]) -> str:
    """The WWW-Authenticate challenges of the schemes an operation accepts."""
    found: list[str] = []
    for name in sorted({s for alt in op.security for s in alt}):
        scheme = schemes.get(name) or {}
        if scheme.get("type") == "http":
            challenge = str(scheme.get("scheme", "bearer")).capitalize()
        elif scheme.get("type") == "apiKey":
            challenge = f'ApiKey header="{scheme.get("name", name)}"'
        else:
            challenge = name
        if challenge not in found:
            found.append(challenge)
    return ", ".join(found)


def _view(op: Operation, schemes: dict[str, Any]) -> _OpView:
    success = op.successes
    models = sorted({_model(r.model) for r in success})
    body_type = " | ".join(models)
    returns = f"{body_type} | Replied[{body_type}]"
    signature: list[str] = []
    route_args: list[str] = []
    call_args: list[str] = []
    path = op.path
    for param in op.arguments:
        kwarg = _kwarg(param)
        annotation = param.annotation if param.required else _optional(param.annotation)
        default = "" if param.required else f" = {param.default or 'None'}"
        signature.append(f"{param.py_name}: {annotation}{default}")
        call_args.append(f"{param.py_name}={kwarg}")
        if param.location == "path":
            kind = _PATH_TYPES.get(param.annotation, "str")
            path = path.replace("{" + param.name + "}", "{" + kwarg + ":" + kind + "}")
            route_args.append(f"{kwarg}: Annotated[{param.annotation}, PathParameter()]")
        else:
            where = "query" if param.location == "query" else "header"
            marker = "QueryParameter" if where == "query" else "HeaderParameter"
            required = ", required=True" if param.required else ""
            bounds = "".join(f", {key}={value!r}" for key, value in param.constraints)
            wire = f'{marker}(name="{param.name}"{required}{bounds})'
            # With a default, absent means the default: "null" on the wire is then a bad
            # value, not a way to send None.
            wired = param.annotation if param.default is not None else annotation
            route_args.append(f"{kwarg}: Annotated[{wired}, {wire}]{default}")
    if op.body is not None:
        body = _model(op.body.model)
        wire = "Any" if op.body.is_alias else body
        if op.body.required:
            signature.insert(0, f"body: {body}")
            route_args.insert(0, f"data: JSONBody[{wire}]")
        else:
            signature.append(f"body: {body} | None = None")
            route_args.append(f"data: JSONBody[{wire} | None] = None")
        if op.body.is_alias:
            call_args.insert(0, f"body=parse_body({body}, data)")
        else:
            call_args.insert(0, "body=data")
    optional_body = op.body is not None and not op.body.required
    if any(op.security) or optional_body:
        route_args.insert(0, "request: Request[Any, Any, Any]")
    if any(op.security):
        # Who the security schemes authenticated: what a verifier put in scope["user"]
        # (None for an anonymous call to an operation that also allows one).
        signature.insert(0, "caller: Any")
        call_args.insert(0, 'caller=request.scope.get("user")')
    required_first = sorted(signature, key=lambda s: " = " in s)
    route_first = sorted(route_args, key=lambda s: " = " in s)
    media = next((r.content_type for r in success if r.content_type), None)
    responses = [
        f"{r.status}: ResponseSpec(data_container={_model(r.model)}, "
        f"description={r.description or str(r.status)!r}, "
        f"media_type={r.content_type or 'application/json'!r}, generate_examples=False)"
        for r in op.replies
        if r.status != op.success.status
    ]
    return _OpView(
        operation_id=op.operation_id,
        summary=op.summary,
        decorator=op.method.lower() if op.method != "DELETE" else "delete",
        litestar_path=re.sub(r"\{([^}:]+)\}", r"{\1:str}", path),
        default_status=op.success.status,
        allowed=tuple(r.status for r in success),
        media_type=media,
        security=[list(alt) for alt in op.security] if op.security and all(op.security) else None,
        challenge=_challenge(op, schemes),
        signature=required_first,
        returns=returns,
        route_args=route_first,
        call_args=call_args,
        responses=responses,
        optional_body=optional_body,
        # The roles the security verifiers enforce, read from the route's opt.
        opt=f"{{{ROLES_OPT!r}: {op.roles!r}}}" if op.roles else None,
    )


def _optional(annotation: str) -> str:
    return annotation if annotation.endswith("| None") else f"{annotation} | None"


def render_server(api: Api, package: str, header: str) -> dict[Path, str]:
    """One module per tag plus the package ``__init__`` exporting them."""
    env = environment()
    tag_template = env.get_template("server_tag.py.j2")
    files: dict[Path, str] = {}
    allow: dict[str, set[str]] = {}
    owner: dict[str, str] = {}
    for op in api.operations:
        path = _view(op, api.security_schemes).litestar_path
        allow.setdefault(path, {"OPTIONS"}).add(op.method)
        owner.setdefault(path, op.tag)
    for tag in api.tags:
        operations = [_view(op, api.security_schemes) for op in api.operations_of(tag.name)]
        options = [
            (path, ", ".join(sorted(allow[path])))
            for path in sorted(allow)
            if owner[path] == tag.name
        ]
        methods = sorted({op.decorator for op in operations})
        text = " ".join(" ".join(op.signature) for op in operations)
        stdlib = stdlib_imports(text)
        files[Path(f"{tag.py_name}.py")] = tag_template.render(
            header=header,
            tag=tag,
            operations=operations,
            methods=methods,
            stdlib=stdlib,
            any_security=any(op.security for op in operations),
            options=options,
            package=package,
            support=SUPPORT_MODULE,
        )
    exports = sorted(
        ["Handlers", "build_routers"]
        + [n for t in api.tags for n in (f"{t.class_name}Handlers", f"build_{t.py_name}_router")]
    )
    files[Path("__init__.py")] = env.get_template("server_init.py.j2").render(
        header=header, api=api, package=package, exports=exports
    )
    return files


def render_support(header: str) -> str:
    """The shared support module every router imports."""
    return environment().get_template("server_support.py.j2").render(header=header)
