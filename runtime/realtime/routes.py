"""One WebSocket route per channel of ``contracts/asyncapi.yaml`` (the generated list)."""

from __future__ import annotations

import re
from typing import Any

from litestar import WebSocket, websocket
from litestar.handlers import WebsocketRouteHandler

from generated.events.channels import CHANNELS, Channel
from runtime.realtime.hub import SocketHub

__all__ = ["socket_routes"]


def _route(hub: SocketHub, channel: Channel) -> WebsocketRouteHandler:
    path = re.sub(r"\{([^}]+)\}", r"{\1:str}", channel.address)

    @websocket(path, name=f"ws-{channel.name}")
    async def serve(socket: WebSocket[Any, Any, Any]) -> None:
        params = {name: str(value) for name, value in socket.path_params.items()}
        await hub.serve(socket, channel.name, params)

    return serve


def socket_routes(hub: SocketHub) -> list[WebsocketRouteHandler]:
    """Every channel's socket; channels without a handler yet close with 4501."""
    return [_route(hub, channel) for channel in CHANNELS]
