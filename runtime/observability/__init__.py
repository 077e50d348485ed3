"""Logs (structlog) and, as they land, metrics."""

from runtime.observability.logging import configure_logging

__all__ = ["configure_logging"]
