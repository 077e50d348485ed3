"""Thumbnail tiles: budgets held by the backend, viewport gating, and their cost."""

__all__: list[str] = []
