"""Storage: engines for SQLite and PostgreSQL, the schema, and its migrations."""

from runtime.store.engine import (
    create_engine,
    display_url,
    normalize_url,
    ping,
    write_transaction,
)
from runtime.store.migrate import (
    current_revision,
    downgrade,
    head_revision,
    schema_revision,
    upgrade,
)

__all__ = [
    "create_engine",
    "current_revision",
    "display_url",
    "downgrade",
    "head_revision",
    "normalize_url",
    "ping",
    "schema_revision",
    "upgrade",
    "write_transaction",
]
