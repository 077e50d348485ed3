"""Realtime: the socket hub, its connections, and how contexts plug channels into it."""

from runtime.realtime.channel import ChannelHandler, ChannelView, SocketRefusedError
from runtime.realtime.connection import CloseCode, Connection, ConnectionLimits
from runtime.realtime.frames import Frame
from runtime.realtime.hub import SocketHub
from runtime.realtime.socket_auth import SUBPROTOCOL, SocketAuthenticator

__all__ = [
    "ChannelHandler",
    "ChannelView",
    "CloseCode",
    "Connection",
    "ConnectionLimits",
    "Frame",
    "SUBPROTOCOL",
    "SocketAuthenticator",
    "SocketHub",
    "SocketRefusedError",
]
