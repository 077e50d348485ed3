"""`vvtv users` and `vvtv dev token` against a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from runtime.auth import TokenService
from runtime.settings import DEV_TOKEN_SECRET, Settings
from vvtv.cli import cli
from vvtv.commands._support import with_identity


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'vvtv.db'}"
    monkeypatch.setenv("VVTV_DATABASE_URL", url)
    monkeypatch.setenv("VVTV_PASSWORD_HASH_PROFILE", "cheapest")
    return url


def test_users_add_then_sign_in(env: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli, ["users", "add", "Rita@Example.com", "--role", "mod", "--password", "pw-rita-1"]
    )
    assert made.exit_code == 0, made.output
    assert "created Rita@Example.com (mod)" in made.output
    again = runner.invoke(cli, ["users", "add", "rita@example.com", "--password", "x"])
    assert again.exit_code == 1 and "already exists" in again.output

    async def sign_in(identity):  # type: ignore[no-untyped-def]
        return await identity.sign_in_password("rita@example.com", "pw-rita-1")

    issued = with_identity(Settings(), sign_in)
    caller = TokenService(DEV_TOKEN_SECRET).verify(issued.access_token)
    assert caller.roles == ("user", "moderator")


def test_users_role_and_magic_link(env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["users", "add", "bo@example.com", "--password", ""]).exit_code == 0
    promoted = runner.invoke(cli, ["users", "role", "bo@example.com", "admin"])
    assert promoted.exit_code == 0 and "now admin" in promoted.output
    link = runner.invoke(cli, ["users", "magic-link", "bo@example.com"])
    assert link.exit_code == 0, link.output
    token = link.output.splitlines()[0]
    assert token.startswith("ml_")

    async def redeem(identity):  # type: ignore[no-untyped-def]
        return await identity.sign_in_magic_link(token)

    issued = with_identity(Settings(), redeem)
    assert TokenService(DEV_TOKEN_SECRET).verify(issued.access_token).role == "admin"
    missing = runner.invoke(cli, ["users", "magic-link", "nobody@example.com"])
    assert missing.exit_code == 1 and "no account" in missing.output


def test_dev_token_makes_its_account(env: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["dev", "token", "carol", "--role", "moderator"])
    assert first.exit_code == 0, first.output
    caller = TokenService(DEV_TOKEN_SECRET).verify(first.output.strip())
    assert caller.role == "moderator"
    second = runner.invoke(cli, ["dev", "token", "carol"])
    assert TokenService(DEV_TOKEN_SECRET).verify(second.output.strip()).user_id == caller.user_id

    async def status(identity):  # type: ignore[no-untyped-def]
        return await identity.status(caller.user_id)

    assert with_identity(Settings(), status).role == "user"  # the last call asked for user


def test_dev_token_is_refused_outside_dev(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VVTV_ENV", "test")
    monkeypatch.setenv("VVTV_TOKEN_SECRET", "s" * 40)
    refused = CliRunner().invoke(cli, ["dev", "token", "carol"])
    assert refused.exit_code == 2
