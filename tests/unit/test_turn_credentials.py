"""TURN REST credentials against coturn's scheme and the issue's test vector."""

from __future__ import annotations

import pytest

from runtime.media.turn import TurnSecrets, turn_password


def test_the_published_vector() -> None:
    creds = TurnSecrets(["north"], ["turn:127.0.0.1:3478"], ttl_s=86400).issue(
        "alice", now=1700000000
    )
    assert creds.username == "1700086400:alice"
    assert creds.password == "SXua5ne/+mDhiHTp0pQJzRO4ESg="
    assert creds.expires_at.timestamp() == 1700086400
    assert turn_password("north", "1700086400:alice") == "SXua5ne/+mDhiHTp0pQJzRO4ESg="


def test_two_secrets_during_rotation() -> None:
    old = TurnSecrets(["north"], []).issue("bob", now=1700000000)
    rotating = TurnSecrets(["south", "north"], [])
    assert rotating.verify(old.username, old.password, now=1700000100)
    new = rotating.issue("bob", now=1700000000)
    assert new.password == turn_password("south", new.username)
    assert not TurnSecrets(["south"], []).verify(old.username, old.password, now=1700000100)


def test_expired_or_malformed_credentials_are_refused() -> None:
    secrets = TurnSecrets(["north"], [], ttl_s=60)
    creds = secrets.issue("carol", now=1000)
    assert secrets.verify(creds.username, creds.password, now=1059)
    assert not secrets.verify(creds.username, creds.password, now=1060)
    assert not secrets.verify("carol", creds.password, now=1000)
    with pytest.raises(ValueError, match="rotating"):
        TurnSecrets(["a", "b", "c"], [])
