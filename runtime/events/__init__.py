"""Events: the bus port and its backends."""

from runtime.events.bus import EventBus, MemoryEventBus

__all__ = ["EventBus", "MemoryEventBus"]
