"""Signed LAB control requests, as ``contracts/openapi/lab-control.yaml`` defines them.

``x-vvtv-signature`` is lower-case hex HMAC-SHA256 over
``METHOD + "\\n" + PATH + "\\n" + TIMESTAMP + "\\n" + BODY``, keyed by the control secret's
UTF-8 bytes; ``x-vvtv-ts`` is the signing time in epoch seconds, within a bounded skew
of the server's clock (5 minutes unless configured). A signature is accepted once: it is
remembered for longer than the skew window, and a second use is a replay. Everything is
computed over the raw bytes as sent, before anything is parsed, and compared in constant
time. Which check failed stays inside: the caller answers 401 ``AUTH_FAILED`` for every
refusal but a replay (409 ``NONCE_REPLAY``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ReplayGuard",
    "SignatureError",
    "SignedRequest",
    "canonical_string",
    "sign",
    "verify_signature",
]

_DEFAULT_SKEW_S = 300  # the contract: 5 minutes unless configured otherwise
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")


class SignatureError(Exception):
    """A signed request was refused; ``reason`` is for logs, never for the client."""

    def __init__(self, reason: Literal["malformed", "stale", "mismatch", "replay"]) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical_string(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """The bytes that are signed: method, path and timestamp lines, then the raw body."""
    return f"{method.upper()}\n{path}\n{timestamp}\n".encode() + body


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes = b"") -> str:
    """The ``x-vvtv-signature`` value for a request."""
    message = canonical_string(method, path, timestamp, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ReplayGuard:
    """Remembers accepted signatures for longer than the skew window, within a bound."""

    def __init__(self, *, remember_s: float, capacity: int = 100_000) -> None:
        self.remember_s, self.capacity = remember_s, capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, signature: str, now: float) -> bool:
        """Record ``signature``; ``False`` if it was already used within the window."""
        with self._lock:
            while self._seen and next(iter(self._seen.values())) <= now - self.remember_s:
                self._seen.popitem(last=False)
            if signature in self._seen:
                return False
            self._seen[signature] = now
            if len(self._seen) > self.capacity:
                # Past the bound, the oldest go first; their timestamps are older than
                # the newest, so a replay of them is also more likely stale.
                self._seen.popitem(last=False)
            return True


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as received: headers absent are ``None``."""

    method: str
    path: str
    timestamp: str | None
    signature: str | None
    body: bytes = b""


def verify_signature(
    secret: str,
    request: SignedRequest,
    *,
    now: Callable[[], float],
    replays: ReplayGuard | None,
    skew_s: float = _DEFAULT_SKEW_S,
) -> None:
    """Accept a signed request once, or raise ``SignatureError`` saying why (internally).

    ``replays=None``: the caller remembers signatures itself (across processes, in the
    store) once this check has passed.
    """
    method, path, body = request.method, request.path, request.body
    timestamp, signature = request.timestamp, request.signature
    if timestamp is None or signature is None:
        raise SignatureError("malformed")
    if not _DIGITS.match(timestamp) or not _HEX_SHA256.match(signature):
        raise SignatureError("malformed")
    expected = sign(secret, method, path, timestamp, body)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("mismatch")
    at = now()
    if abs(at - int(timestamp)) > skew_s:
        raise SignatureError("stale")
    if replays is not None and not replays.first_use(signature, at):
        raise SignatureError("replay")
