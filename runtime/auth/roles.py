"""Roles and what each holds: the contract's Role enum, lowest first. No I/O."""

from __future__ import annotations

from typing import Literal

__all__ = ["ROLE_ALIASES", "ROLE_ORDER", "Role", "has_role", "parse_role", "roles_of"]

Role = Literal["user", "moderator", "admin"]

# control-plane.yaml, components/schemas/Role. Each role holds the ones before it (a
# moderator is also a user), which is how CurrentUser.roles lists them.
ROLE_ORDER: tuple[Role, ...] = ("user", "moderator", "admin")
ROLE_ALIASES: dict[str, Role] = {"mod": "moderator"}


def parse_role(name: str) -> Role:
    """A role by its contract name or short alias (``mod``); ``ValueError`` otherwise."""
    key = name.strip().lower()
    key = ROLE_ALIASES.get(key, key)
    for known in ROLE_ORDER:
        if known == key:
            return known
    raise ValueError(f"unknown role {name!r}: one of user, mod (moderator), admin")


def roles_of(role: str) -> tuple[Role, ...]:
    """Every role ``role`` holds, lowest first."""
    return ROLE_ORDER[: ROLE_ORDER.index(parse_role(role)) + 1]


def has_role(held: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Whether the roles ``held`` include one of ``wanted`` (an empty ``wanted`` asks nothing).

    Unknown role names held count for nothing, so a token naming one gains no access.
    """
    if not wanted:
        return True
    ranks = [ROLE_ORDER.index(r) for r in (ROLE_ALIASES.get(h, h) for h in held) if r in ROLE_ORDER]
    top = max(ranks, default=-1)
    return any(ROLE_ORDER.index(parse_role(w)) <= top for w in wanted)
