"""Hand-written services, handlers, stores and app assembly."""

__all__: list[str] = []
