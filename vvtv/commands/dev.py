"""``vvtv dev``: development helpers, refused outside VVTV_ENV=dev."""

from __future__ import annotations

import sys
import uuid
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from runtime.identity import IdentityService

__all__ = ["dev"]


@click.group()
def dev() -> None:
    """Development helpers (refused outside VVTV_ENV=dev)."""


@dev.command("token")
@click.argument("user")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["user", "mod", "moderator", "admin"], case_sensitive=False),
    help="The role to grant (repeatable; the highest counts).",
)
def dev_token(user: str, roles: tuple[str, ...]) -> None:
    """Print a bearer token for USER (a UUID, or any name), making its account if needed."""
    from runtime.auth import Caller  # noqa: PLC0415
    from runtime.auth.roles import ROLE_ORDER, parse_role, roles_of  # noqa: PLC0415
    from runtime.settings import Settings  # noqa: PLC0415
    from vvtv.commands._support import with_identity  # noqa: PLC0415

    settings = Settings()
    if settings.env != "dev":
        click.echo("error: `vvtv dev token` works only with VVTV_ENV=dev", err=True)
        sys.exit(2)
    try:
        user_id = uuid.UUID(user)
    except ValueError:
        user_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://voulezvous.tv/dev-users/{user}")
    role = max((parse_role(r) for r in roles), key=ROLE_ORDER.index, default="user")

    async def issue(identity: IdentityService) -> str:
        made = await identity.create_account(
            f"{user_id}@dev.voulezvous.tv", role=role, display_name=user, user_id=user_id
        )
        if made is None:  # it exists: give it the role asked for
            await identity.set_role(user_id, role)
        return identity.tokens.issue(Caller(user_id, roles_of(role)))

    click.echo(with_identity(settings, issue))
