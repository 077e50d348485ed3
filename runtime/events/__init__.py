"""Events: the bus port, and its backends over Litestar's channels (memory, PostgreSQL, Redis)."""

from runtime.events.bus import Emit, Envelope, EventBus, Listener
from runtime.events.channels import BusUnavailableError, ChannelsEventBus
from runtime.events.factory import build_event_bus, describe_bus_url, memory_bus

__all__ = [
    "BusUnavailableError",
    "ChannelsEventBus",
    "Emit",
    "Envelope",
    "EventBus",
    "Listener",
    "build_event_bus",
    "describe_bus_url",
    "memory_bus",
]
