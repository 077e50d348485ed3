"""What the classifier reports: one ``Change`` per difference, and its errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BREAKING",
    "NON_BREAKING",
    "BreakingCheckError",
    "Change",
    "Kind",
    "UnknownReferenceError",
    "is_breaking",
    "sort_changes",
]

Kind = Literal["breaking", "non-breaking"]
BREAKING: Kind = "breaking"
NON_BREAKING: Kind = "non-breaking"


class BreakingCheckError(Exception):
    """The contracts cannot be compared; the message names the input."""


class UnknownReferenceError(BreakingCheckError):
    """The reference is neither a contracts folder nor a git ref holding ``contracts/``."""


@dataclass(frozen=True)
class Change:
    """One difference between two contract trees, classified by a stable check id."""

    check: str
    kind: Kind
    where: str
    message: str

    @property
    def breaking(self) -> bool:
        """Whether this change breaks existing clients or consumers."""
        return self.kind == BREAKING

    def render(self) -> str:
        """One line for people: kind, check id, location and what changed."""
        return f"[{self.kind}] {self.check} {self.where}: {self.message}"


def is_breaking(changes: Iterable[Change]) -> bool:
    """Whether any of the changes is breaking."""
    return any(change.breaking for change in changes)


def sort_changes(changes: Iterable[Change]) -> list[Change]:
    """Breaking changes first, then by location and check id; duplicates dropped."""
    unique = dict.fromkeys(changes)
    return sorted(unique, key=lambda c: (not c.breaking, c.where, c.check, c.message))
