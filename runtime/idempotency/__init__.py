"""Idempotency keys: a retried request gets the first answer, never a second effect."""

from runtime.idempotency.keys import Answer, IdempotencyKeys, request_hash

__all__ = ["Answer", "IdempotencyKeys", "request_hash"]
