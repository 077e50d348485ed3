"""Presence: who is here, on which devices, and the tiles that show them."""

__all__: list[str] = []
