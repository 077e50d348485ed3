"""The intermediate representation every target (models, server, SDK) renders from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Api", "Body", "Operation", "Pagination", "Param", "Reply", "Tag"]

Location = Literal["path", "query", "header"]


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter."""

    name: str
    py_name: str
    location: Location
    required: bool
    annotation: str
    default: str | None
    description: str
    constraints: tuple[tuple[str, Any], ...] = ()
    """Bounds of the value as Litestar parameter keywords (``ge``, ``le``, ``min_length``...)."""
    security: bool = False
    """A header a security scheme sets and checks (a signature, a timestamp): auth hooks
    and guards own it, so handlers and SDK methods never take it as an argument."""


@dataclass(frozen=True)
class Body:
    """A JSON request body, typed by a generated model."""

    model: str
    required: bool
    description: str
    is_alias: bool = False
    """The model is a type alias (a union, a list...), not a class: routers validate it
    themselves because the web framework only decodes classes."""


@dataclass(frozen=True)
class Reply:
    """One documented response."""

    status: int
    model: str | None
    content_type: str | None
    headers: tuple[str, ...]
    description: str

    @property
    def is_error(self) -> bool:
        """4xx and 5xx replies."""
        return self.status >= 400


@dataclass(frozen=True)
class Pagination:
    """Cursor pagination: the items field, the cursor parameter, the next-cursor field."""

    items: str
    cursor: str
    next: str


@dataclass(frozen=True)
class Operation:
    """One operation, with everything a router or a client needs."""

    operation_id: str
    method: str
    path: str
    tag: str
    summary: str
    description: str
    params: tuple[Param, ...]
    body: Body | None
    replies: tuple[Reply, ...]
    security: tuple[tuple[str, ...], ...]
    pagination: Pagination | None = None
    deprecated: bool = False
    roles: tuple[str, ...] = ()
    """``x-vvtv-roles``: one of these roles is needed (a role holds the lower ones)."""

    @property
    def success(self) -> Reply:
        """The first 2xx reply (the contract guarantees one)."""
        return next(r for r in self.replies if 200 <= r.status < 300)

    @property
    def successes(self) -> tuple[Reply, ...]:
        """Every 2xx reply."""
        return tuple(r for r in self.replies if 200 <= r.status < 300)

    @property
    def errors(self) -> tuple[Reply, ...]:
        """Every documented 4xx/5xx reply."""
        return tuple(r for r in self.replies if r.is_error)

    @property
    def arguments(self) -> tuple[Param, ...]:
        """Parameters handlers and SDK methods take (security headers left out)."""
        return tuple(p for p in self.params if not p.security)

    @property
    def idempotency_key(self) -> Param | None:
        """The ``Idempotency-Key`` header parameter, when the operation takes one."""
        return next(
            (
                p
                for p in self.params
                if p.location == "header" and p.name.lower() == "idempotency-key"
            ),
            None,
        )


@dataclass(frozen=True)
class Tag:
    """A tag: one handler Protocol, one router, one SDK resource."""

    name: str
    py_name: str
    class_name: str
    description: str


@dataclass
class Api:
    """One OpenAPI document, normalized."""

    name: str
    title: str
    version: str
    contract_hash: str
    tags: tuple[Tag, ...]
    operations: tuple[Operation, ...]
    security_schemes: dict[str, Any]
    document: dict[str, Any] = field(repr=False)
    problem_codes: tuple[str, ...] = ()

    def operations_of(self, tag: str) -> tuple[Operation, ...]:
        """The operations carrying ``tag``, in document order."""
        return tuple(op for op in self.operations if op.tag == tag)
