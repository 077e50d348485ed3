"""Bearer tokens: what verifies, what does not, and that remembering one never outlives it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from runtime.auth import Caller, TokenService
from runtime.auth.tokens import InvalidTokenError

SECRET = "a-test-secret-of-enough-length-for-hs256"
OTHER = TokenService("another-secret-of-enough-length-for-hs256")
T0 = datetime(2026, 11, 22, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_a_token_names_its_caller() -> None:
    tokens = TokenService(SECRET)
    caller = Caller(uuid.uuid4(), ("moderator",))
    assert tokens.verify(tokens.issue(caller)) == caller


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.split(".")[0] + "." + t.split(".")[2],  # claims dropped
        lambda _t: "not-a-jwt",
        lambda _t: OTHER.issue(Caller(uuid.uuid4())),  # signed with another key
    ],
)
def test_forged_or_malformed_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    tokens = TokenService(SECRET)
    good = tokens.issue(Caller(uuid.uuid4()))
    tokens.verify(good)  # a valid token in the cache must not vouch for a different one
    with pytest.raises(InvalidTokenError):
        tokens.verify(mangle(good))


def test_a_remembered_token_still_expires() -> None:
    clock = Clock()
    tokens = TokenService(SECRET, ttl=timedelta(minutes=15), clock=clock)
    token = tokens.issue(Caller(uuid.uuid4()))
    tokens.verify(token)
    clock.now = T0 + timedelta(minutes=14, seconds=59)
    tokens.verify(token)
    clock.now = T0 + timedelta(minutes=15)
    with pytest.raises(InvalidTokenError):
        tokens.verify(token)


def test_the_memory_of_verified_tokens_is_bounded() -> None:
    tokens = TokenService(SECRET)
    for _ in range(10_050):
        tokens.verify(tokens.issue(Caller(uuid.uuid4())))
    assert len(tokens._verified) == 10_000


def test_a_token_from_the_future_is_refused() -> None:
    clock = Clock()
    future = TokenService(SECRET, clock=lambda: T0 + timedelta(minutes=1)).issue(
        Caller(uuid.uuid4())
    )
    with pytest.raises(InvalidTokenError):
        TokenService(SECRET, clock=clock).verify(future)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenService("x" * 31)
