"""A bare Litestar JSON endpoint: the yardstick the session benchmarks are a ratio of."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, post


@post("/bare", status_code=201, sync_to_thread=False)
def bare(data: dict[str, Any]) -> dict[str, Any]:
    """Echo the body back, as JSON."""
    return {"ok": True, "received": data}


app = Litestar(route_handlers=[bare], openapi_config=None, logging_config=None)
