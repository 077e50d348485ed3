"""TURN REST credentials (coturn ``use-auth-secret``): time-limited, derived from a secret.

username = ``<expiry unix time>:<user>``; password = base64(HMAC-SHA1(secret, username)).
During a rotation two secrets are accepted: new credentials use the first, and
``verify`` takes either, as coturn does with several ``static-auth-secret`` lines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime

from runtime.media.provider import TurnCredentials

__all__ = ["TurnSecrets", "turn_password"]


def turn_password(secret: str, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)), coturn's REST API password."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TurnSecrets:
    """Issues TURN credentials with the current secret; verifies with any active one."""

    def __init__(self, secrets: Sequence[str], urls: Sequence[str], *, ttl_s: int = 86400) -> None:
        if not 1 <= len(secrets) <= 2:
            raise ValueError("one secret, or two while rotating")
        if ttl_s <= 0:
            raise ValueError("credentials need a positive time to live")
        self.secrets, self.urls, self.ttl_s = tuple(secrets), tuple(urls), ttl_s

    def issue(self, user: str, *, now: float) -> TurnCredentials:
        """Credentials for ``user`` valid until ``now + ttl``."""
        expiry = int(now) + self.ttl_s
        username = f"{expiry}:{user}"
        return TurnCredentials(
            username=username,
            password=turn_password(self.secrets[0], username),
            urls=self.urls,
            expires_at=datetime.fromtimestamp(expiry, UTC),
        )

    def verify(self, username: str, password: str, *, now: float) -> bool:
        """Whether coturn would accept these credentials at ``now``."""
        expiry, _, _user = username.partition(":")
        if not expiry.isdigit() or int(expiry) <= now:
            return False
        return any(
            hmac.compare_digest(turn_password(secret, username), password)
            for secret in self.secrets
        )
