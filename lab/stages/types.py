"""What flows between the LAB stages: one frozen value per hand-over, no behaviour.

discovery -> ``Discovered``; planner -> ``Plan``; fetcher -> ``Fetched``;
prep -> ``Prepared``; qa -> ``QaVerdict``; queue -> ``ReadyItem`` (what the
transmitter plays). The orchestrator persists each of them in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Discovered",
    "Fetched",
    "Plan",
    "Prepared",
    "QaCheck",
    "QaVerdict",
    "ReadyItem",
]


@dataclass(frozen=True, slots=True)
class Discovered:
    """One media item a source offers, keyed by ``content_hash`` (recorded once).

    ``expected_sha256`` is the checksum of the bytes when the source knows it (a
    local file, a ``.sha256`` sidecar, a feed's hash); the fetcher verifies it.
    """

    source: str
    uri: str
    content_hash: str
    title: str
    size_bytes: int | None = None
    duration_s: float | None = None
    expected_sha256: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """A decision to air one discovered item in one slot, with the reason it was chosen."""

    plan_id: str
    content_hash: str
    source: str
    uri: str
    title: str
    slot_start: datetime
    daypart: str
    reason: str
    expected_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """The bytes of a plan on local disk, checksum verified."""

    plan_id: str
    path: Path
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """A clip in the channel's exact shape (the broadcast profile), ready for QA."""

    plan_id: str
    path: Path
    duration_s: float
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None


@dataclass(frozen=True, slots=True)
class QaCheck:
    """One QA check (``streams``, ``duration``, ``decode``, ``silence``, ``black``, ``freeze``)."""

    name: str
    passed: bool
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class QaVerdict:
    """The QA score of one prepared clip; below ``threshold`` it is rejected and replaced."""

    score: float
    threshold: float
    checks: tuple[QaCheck, ...]

    @property
    def passed(self) -> bool:
        return self.score >= self.threshold


@dataclass(frozen=True, slots=True)
class ReadyItem:
    """A queue item the transmitter can air, from ``start_offset_s`` (resume after a restart)."""

    item_id: str
    path: Path
    duration_s: float
    title: str = ""
    start_offset_s: float = 0.0
