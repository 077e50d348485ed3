"""Storage: engines for SQLite and PostgreSQL (migrations and units of work join later)."""

from runtime.store.engine import create_engine, display_url, normalize_url, ping

__all__ = ["create_engine", "display_url", "normalize_url", "ping"]
