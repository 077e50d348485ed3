"""Storage: engines for SQLite and PostgreSQL, units of work, the schema, its migrations."""

from runtime.store.database import Database, Work, open_database
from runtime.store.engine import (
    create_engine,
    display_url,
    normalize_url,
    ping,
)
from runtime.store.migrate import (
    current_revision,
    downgrade,
    head_revision,
    schema_revision,
    upgrade,
)

__all__ = [
    "Database",
    "Work",
    "create_engine",
    "current_revision",
    "display_url",
    "downgrade",
    "head_revision",
    "normalize_url",
    "open_database",
    "ping",
    "schema_revision",
    "upgrade",
]
