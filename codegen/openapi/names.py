"""Python names for contract names: identifiers, classes, and collision avoidance."""

from __future__ import annotations

import builtins
import keyword
import re

__all__ = ["RESERVED_CLASS_NAMES", "class_name", "snake", "stdlib_imports", "unique"]

# Names a generated module imports or Python defines; a schema called one of these
# gets a `Model` suffix so it never shadows what the generated code relies on.
RESERVED_CLASS_NAMES = frozenset(
    {
        *dir(builtins),
        *keyword.kwlist,
        "Annotated",
        "Any",
        "AwareDatetime",
        "BaseModel",
        "ConfigDict",
        "Field",
        "Literal",
        "Optional",
        "RootModel",
        "TypeAliasType",
        "Union",
        "date",
        "datetime",
        "time",
        "timedelta",
        "UUID",
        "Decimal",
        "Enum",
        "StrEnum",
        "IntEnum",
        "Protocol",
        "Response",
        "Request",
        "Router",
        "Client",
        "AsyncClient",
        "Sequence",
        "Mapping",
    }
)

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|\b|_)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _words(name: str) -> list[str]:
    return _WORDS.findall(re.sub(r"[^A-Za-z0-9]+", " ", name))


def class_name(name: str) -> str:
    """``PascalCase`` identifier for ``name``; reserved names get a ``Model`` suffix."""
    words = _words(name) or ["Model"]
    out = "".join(w[:1].upper() + w[1:] for w in words)
    if out[0].isdigit():
        out = "M" + out
    return out + "Model" if out in RESERVED_CLASS_NAMES else out


def snake(name: str) -> str:
    """``snake_case`` identifier for ``name`` (a trailing ``_`` avoids keywords)."""
    words = _words(name) or ["value"]
    out = "_".join(w.lower() for w in words)
    if out[0].isdigit():
        out = "n_" + out
    return out + "_" if keyword.iskeyword(out) or out in {"self", "cls"} else out


def unique(base: str, taken: set[str] | frozenset[str]) -> str:
    """``base`` or ``base2``, ``base3``... whichever is not taken yet."""
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


_STDLIB_TYPES = (
    ("UUID", "from uuid import UUID"),
    ("datetime", "from datetime import datetime"),
    ("date", "from datetime import date"),
    ("time", "from datetime import time"),
)


def stdlib_imports(text: str) -> list[str]:
    """Import lines for the standard-library types that annotations in ``text`` name."""
    return [line for name, line in _STDLIB_TYPES if re.search(rf"\b{name}\b", text)]
