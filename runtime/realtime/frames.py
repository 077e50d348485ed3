"""Event frames encoded once, numbered per socket. Pure."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["Frame"]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Frame:
    """An event envelope as text, with room for the seq each socket gives it.

    The JSON of the event is made once however many sockets receive it; a socket only
    splices in its own ``seq`` (frames are numbered per socket: ``asyncapi.yaml``).
    """

    __slots__ = ("_head", "_tail", "event_id", "event_type")

    def __init__(self, event_id: str, event_type: str, ts: str, data: dict[str, Any]) -> None:
        self.event_id, self.event_type = event_id, event_type
        self._head = f'{{"id":{_json(event_id)},"type":{_json(event_type)},"ts":{_json(ts)},"seq":'
        self._tail = f',"data":{_json(data)}}}'

    @classmethod
    def of(cls, envelope: dict[str, Any], data: dict[str, Any] | None = None) -> Frame:
        """The frame of a published envelope (optionally with its data replaced)."""
        payload = envelope["data"] if data is None else data
        return cls(str(envelope["id"]), str(envelope["type"]), str(envelope["ts"]), payload)

    @classmethod
    def new(cls, event_type: str, data: dict[str, Any], *, now: datetime | None = None) -> Frame:
        """A frame that is not a published event (a snapshot's): a fresh id, now."""
        moment = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
        return cls(str(uuid.uuid4()), event_type, moment, data)

    def render(self, seq: int) -> str:
        """The frame's text with ``seq``."""
        return f"{self._head}{seq}{self._tail}"
