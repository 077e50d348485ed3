"""Errors the generator reports instead of emitting partial output."""

from __future__ import annotations

__all__ = ["CodegenError"]


class CodegenError(Exception):
    """The contracts cannot be turned into code; the message names the input."""
