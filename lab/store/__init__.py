"""The LAB store: its tables (on the platform's one schema) and the units of work over them."""

__all__: list[str] = []
