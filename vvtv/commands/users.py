"""``vvtv users``: accounts, their roles, and sign-in links."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from runtime.identity import IdentityService

__all__ = ["users"]

_ROLES = click.Choice(["user", "mod", "moderator", "admin"], case_sensitive=False)


@click.group()
def users() -> None:
    """Accounts: create them, change their role, send them a sign-in link."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=_ROLES, default="user", show_default=True, help="The account's role.")
@click.option("--name", "display_name", help="Display name (default: the address before @).")
@click.option(
    "--password",
    help="The password (asked for when omitted; an empty answer makes a link-only account).",
)
@click.option("--age-verified", is_flag=True, help="Mark the account's age as verified.")
def users_add(
    email: str, role: str, display_name: str | None, password: str | None, age_verified: bool
) -> None:
    """Create an account for EMAIL."""
    from runtime.settings import Settings  # noqa: PLC0415
    from vvtv.commands._support import with_identity  # noqa: PLC0415

    if password is None:
        password = click.prompt(
            "password", hide_input=True, confirmation_prompt=True, default="", show_default=False
        )

    async def add(identity: IdentityService) -> str | None:
        made = await identity.create_account(
            email,
            password=password or None,
            role=role,
            display_name=display_name,
            age_verified=age_verified,
        )
        return None if made is None else str(made)

    try:
        user_id = with_identity(Settings(), add)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if user_id is None:
        click.echo(f"error: an account for {email} already exists", err=True)
        sys.exit(1)
    click.echo(f"created {email} ({role}) {user_id}")


@users.command("role")
@click.argument("email")
@click.argument("role", type=_ROLES)
def users_role(email: str, role: str) -> None:
    """Give EMAIL's account ROLE (tokens issued before keep theirs until they expire)."""
    from runtime.settings import Settings  # noqa: PLC0415
    from vvtv.commands._support import with_identity  # noqa: PLC0415

    async def change(identity: IdentityService) -> bool:
        account = await identity.account_by_email(email)
        return account is not None and await identity.set_role(account.id, role)

    if not with_identity(Settings(), change):
        click.echo(f"error: no account for {email}", err=True)
        sys.exit(1)
    click.echo(f"{email} is now {role}")


@users.command("magic-link")
@click.argument("email")
def users_magic_link(email: str) -> None:
    """Print a single-use sign-in token for EMAIL (15 minutes), for the magic_link grant."""
    from runtime.settings import Settings  # noqa: PLC0415
    from vvtv.commands._support import with_identity  # noqa: PLC0415

    async def issue(identity: IdentityService) -> tuple[str, str]:
        token, expires = await identity.issue_magic_link(email)
        return token, expires.isoformat()

    try:
        token, expires = with_identity(Settings(), issue)
    except LookupError as exc:
        click.echo(f"error: {exc.args[0]}", err=True)
        sys.exit(1)
    click.echo(token)
    click.echo(f"expires {expires}; use it once as magic_link_token", err=True)
