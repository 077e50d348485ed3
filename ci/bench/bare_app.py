"""Bare Litestar endpoints: the yardsticks the session and socket benchmarks compare with.

``/bare`` echoes JSON; ``/ws/presence`` accepts a WebSocket and only waits for it to close
(no authentication, hub or snapshot): what one socket costs uvicorn and Litestar alone.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, WebSocket, post, websocket
from litestar.exceptions import WebSocketDisconnect


@post("/bare", status_code=201, sync_to_thread=False)
def bare(data: dict[str, Any]) -> dict[str, Any]:
    """Echo the body back, as JSON."""
    return {"ok": True, "received": data}


@websocket("/ws/presence")
async def bare_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Accept, then read until the client leaves."""
    await socket.accept()
    try:
        while True:
            await socket.receive_text()
    except WebSocketDisconnect:
        return


app = Litestar(route_handlers=[bare, bare_socket], openapi_config=None, logging_config=None)
