"""The optional alert webhook: high and critical alerts only, one per code per cooldown, and clears.

An alert is sent when it becomes active and again only after the cooldown
(``VVTV_ALERT_COOLDOWN_SECS``, 900 s by default) if it is still active; when a sent
alert's condition goes away, an ``alert_clear`` is sent once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import httpx
import structlog

from lab.alerts import SEVERITY_ORDER, ActiveAlert

__all__ = ["AlertWebhook"]

_log = structlog.get_logger(__name__)


class AlertWebhook:
    """Posts alert changes as JSON to one URL."""

    def __init__(
        self,
        url: str,
        *,
        cooldown_s: float = 900.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 5.0,
    ) -> None:
        self.url, self.cooldown_s, self.clock = url, cooldown_s, clock
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._sent: dict[str, float] = {}

    async def notify(self, alerts: Sequence[ActiveAlert]) -> list[dict[str, Any]]:
        """Send what changed; returns the payloads sent (a failed post is retried next time)."""
        now = self.clock()
        urgent = {a.code: a for a in alerts if SEVERITY_ORDER[a.severity] >= SEVERITY_ORDER["high"]}
        sent: list[dict[str, Any]] = []
        for code, alert in urgent.items():
            last = self._sent.get(code)
            if last is not None and now - last < self.cooldown_s:
                continue
            payload = {"type": "alert", **asdict(alert), "since": alert.since.isoformat()}
            if await self._post(payload):
                self._sent[code] = now
                sent.append(payload)
        for code in [c for c in self._sent if c not in urgent]:
            payload = {"type": "alert_clear", "code": code}
            if await self._post(payload):
                del self._sent[code]
                sent.append(payload)
        return sent

    async def _post(self, payload: dict[str, Any]) -> bool:
        try:
            response = await self._client.post(self.url, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            # The URL may carry a token: log the kind of failure, never the URL.
            _log.warning("alert_webhook_failed", code=payload.get("code"), error=type(exc).__name__)
            return False
        return True

    async def close(self) -> None:
        """Release the HTTP client."""
        await self._client.aclose()
