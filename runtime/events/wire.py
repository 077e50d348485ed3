"""How envelopes travel between processes: compact JSON, or a reference when too big. Pure."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["NOTIFY_LIMIT", "Received", "decode", "encode", "reference"]

# PostgreSQL: "the payload string must be shorter than 8000 bytes" (NOTIFY, default build).
NOTIFY_LIMIT = 7999


def encode(envelope: dict[str, Any]) -> str:
    """The wire form of an envelope."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def reference(payload_id: uuid.UUID, seq: int) -> str:
    """What travels instead of an envelope kept in the journal."""
    return json.dumps({"ref": str(payload_id), "seq": seq}, separators=(",", ":"))


@dataclass(frozen=True)
class Received:
    """One message off the transport: an envelope, or the id of one kept in the journal."""

    seq: int
    envelope: dict[str, Any] | None = None
    ref: uuid.UUID | None = None


def decode(data: bytes | str) -> Received:
    """Read a message; ``ValueError`` for anything that is not ours."""
    value = json.loads(data)
    if not isinstance(value, dict) or not isinstance(value.get("seq"), int):
        raise ValueError("not an event message")
    if "ref" in value:
        return Received(value["seq"], ref=uuid.UUID(str(value["ref"])))
    return Received(value["seq"], envelope=value)
