"""The CLI's command groups, one module per context."""

__all__: list[str] = []
