"""The OwnerCard: the channel's editorial and operational policy, and the rules it judges with.

``config/owner_card.yaml`` is read with ``yaml.safe_load``, its shape checked by frozen
pydantic models and its cross-field rules (slot bounds, dayparts that tile the day) by
plain code; every problem names the field path (``dayparts[1].start``). The planner and
the curator import the result and the pure rule helpers here (daypart lookup, blocklist,
variety ledger), so the two stages judge a timeline identically without importing each
other. Rule names are the policy field paths that define them (``variety.max_source_share``).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

__all__ = [
    "AiredOrPlanned",
    "Blocklist",
    "CuratorPolicy",
    "DEFAULT_OWNER_CARD_PATH",
    "Daypart",
    "OwnerCard",
    "PolicyError",
    "RULE_MAX_SOURCE_SHARE",
    "RULE_NO_REPEAT_ITEM",
    "RULE_NO_SOURCE_BACK_TO_BACK",
    "RULE_SOURCE_COOLDOWN",
    "Schedule",
    "SlotPolicy",
    "Timeline",
    "Variety",
    "Violation",
    "load_owner_card",
    "parse_owner_card",
]

DEFAULT_OWNER_CARD_PATH = Path(__file__).resolve().parents[1] / "config" / "owner_card.yaml"

RULE_MAX_SOURCE_SHARE = "variety.max_source_share"
RULE_SOURCE_COOLDOWN = "variety.source_cooldown_minutes"
RULE_NO_SOURCE_BACK_TO_BACK = "variety.no_source_back_to_back"
RULE_NO_REPEAT_ITEM = "variety.no_repeat_item_hours"

_DAY_MINUTES = 24 * 60
_HHMM = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_NonNegInt = Annotated[StrictInt, Field(ge=0)]
_PosInt = Annotated[StrictInt, Field(gt=0)]
_Names = tuple[StrictStr, ...]


class PolicyError(Exception):
    """The OwnerCard is invalid; ``problems`` lists every ``field.path: reason``."""

    def __init__(self, problems: Sequence[str], *, source: str = "owner card") -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s):\n{lines}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Schedule(_Frozen):
    """When the orchestrator commits plans, how far ahead, and how much ready queue it keeps."""

    commit_interval_minutes: _PosInt
    commit_window_hours: _PosInt
    queue_buffer_target_minutes: _PosInt

    @property
    def commit_window(self) -> timedelta:
        """The commit window's length (T-4h means four hours)."""
        return timedelta(hours=self.commit_window_hours)


class SlotPolicy(_Frozen):
    """Slot lengths: the default when a duration is unknown, and the accepted range."""

    default_minutes: _PosInt
    min_minutes: _PosInt
    max_minutes: _PosInt


class Daypart(_Frozen):
    """A named part of the local day, ``[start, end)``, and what it prefers."""

    name: StrictStr
    start: StrictStr
    end: StrictStr
    weight: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] = 1.0
    preferred_sources: _Names = ()
    preferred_tags: _Names = ()

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"must match {_NAME.pattern}, got {value!r}")
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time_is_quoted_hhmm(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 06:00 as the sexagesimal integer 360; say so plainly.
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f'write the time quoted, as "HH:MM" (YAML read it as {value})')
        if isinstance(value, str) and not _HHMM.match(value):
            raise ValueError(f'must be "HH:MM" between "00:00" and "24:00", got {value!r}')
        return value

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight where this part begins."""
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        """Minutes after local midnight where this part ends (1440 for ``24:00``)."""
        return _minutes(self.end)

    def contains(self, minute_of_day: int) -> bool:
        """Whether a local minute of the day falls in this part (parts may wrap midnight)."""
        start, end = self.start_minute % _DAY_MINUTES, self.end_minute
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end

    def preference(self, source: str, tags: Iterable[str]) -> tuple[float, tuple[str, ...]]:
        """The score bonus this part gives an item, and why (one note per kind of match)."""
        bonus, notes = 0.0, []
        if source in self.preferred_sources:
            bonus += self.weight
            notes.append(f"preferred source {source!r} (+{self.weight:g})")
        wanted = {t.casefold() for t in self.preferred_tags}
        matched = sorted({t for t in tags if t.casefold() in wanted})
        if matched:
            bonus += self.weight
            notes.append(f"preferred tag(s) {', '.join(matched)} (+{self.weight:g})")
        return bonus, tuple(notes)


class Variety(_Frozen):
    """Variety rules; the planner relaxes them (never the blocklist) rather than leave a gap."""

    no_repeat_item_hours: _NonNegInt
    no_source_back_to_back: StrictBool
    source_cooldown_minutes: _NonNegInt
    max_source_share: Annotated[StrictFloat, Field(gt=0, le=1, allow_inf_nan=False)]


class Blocklist(_Frozen):
    """What never airs: sources, titles (substring or regex, case-insensitive), content hashes."""

    sources: _Names = ()
    title_substrings: _Names = ()
    title_patterns: _Names = ()
    content_hashes: _Names = ()

    @field_validator("title_patterns")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"[{index}] {pattern!r} is not a valid regex: {exc}") from exc
        return value

    def match(self, source: str, title: str, content_hash: str) -> tuple[str, str] | None:
        """The rule (``blocklist.<field>``) and entry that block an item, or ``None``."""
        if source in self.sources:
            return "blocklist.sources", source
        if content_hash in self.content_hashes:
            return "blocklist.content_hashes", content_hash
        folded = title.casefold()
        for needle in self.title_substrings:
            if needle.casefold() in folded:
                return "blocklist.title_substrings", needle
        for pattern in self.title_patterns:
            # re caches compiled patterns, so the frozen model keeps plain strings.
            if re.search(pattern, title, re.IGNORECASE):
                return "blocklist.title_patterns", pattern
        return None


class CuratorPolicy(_Frozen):
    """How the curator acts by default and which imminent items it must leave alone."""

    mode: Literal["advice", "apply"] = "advice"
    protect_next_minutes: _NonNegInt = 10


class OwnerCard(_Frozen):
    """The whole policy snapshot; ``version`` names it in every plan reason (audit trail)."""

    schema_version: Literal[1]
    version: _PosInt
    timezone: StrictStr
    schedule: Schedule
    slots: SlotPolicy
    dayparts: tuple[Daypart, ...]
    variety: Variety
    blocklist: Blocklist = Blocklist()
    curator: CuratorPolicy = CuratorPolicy()

    @field_validator("timezone")
    @classmethod
    def _timezone_is_iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The channel's wall-clock zone."""
        return ZoneInfo(self.timezone)

    def daypart_at(self, when: datetime) -> Daypart:
        """The daypart a moment falls in, on the channel's local clock (``when`` must be aware)."""
        if when.tzinfo is None:
            raise ValueError("daypart_at needs an aware datetime")
        local = when.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        for part in self.dayparts:
            if part.contains(minute):
                return part
        # Unreachable for a validated card: the dayparts tile the day.
        raise LookupError(f"no daypart covers {local:%H:%M}")


@dataclass(frozen=True, slots=True)
class AiredOrPlanned:
    """One item that aired or is planned: the history the variety rules look at."""

    content_hash: str
    source: str
    slot_start: datetime
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """One variety rule an item would break at a given start, and how."""

    rule: str
    detail: str


class Timeline:
    """Aired and planned items indexed by start, hash and source, for the variety checks."""

    def __init__(self, entries: Iterable[AiredOrPlanned] = ()) -> None:
        self._starts: list[datetime] = []
        self._entries: list[AiredOrPlanned] = []
        self._by_hash: dict[str, list[datetime]] = defaultdict(list)
        self._by_source: dict[str, list[datetime]] = defaultdict(list)
        for entry in entries:
            self.add(entry)

    def add(self, entry: AiredOrPlanned) -> None:
        """Record an item (kept sorted by start)."""
        at = bisect.bisect_right(self._starts, entry.slot_start)
        self._starts.insert(at, entry.slot_start)
        self._entries.insert(at, entry)
        bisect.insort(self._by_hash[entry.content_hash], entry.slot_start)
        bisect.insort(self._by_source[entry.source], entry.slot_start)

    def previous(self, before: datetime) -> AiredOrPlanned | None:
        """The latest item starting strictly before ``before``."""
        at = bisect.bisect_left(self._starts, before)
        return self._entries[at - 1] if at else None

    def last_start(self, content_hash: str) -> datetime | None:
        """When an item last started (or is planned to), if ever."""
        starts = self._by_hash.get(content_hash)
        return starts[-1] if starts else None

    def violations(
        self,
        variety: Variety,
        content_hash: str,
        source: str,
        start: datetime,
        *,
        ignore: Collection[str] = (),
    ) -> tuple[Violation, ...]:
        """The variety rules (but the window-level share) an item starting at ``start`` breaks."""
        found: list[Violation] = []
        repeat = timedelta(hours=variety.no_repeat_item_hours)
        if RULE_NO_REPEAT_ITEM not in ignore and repeat:
            near = _nearest(self._by_hash.get(content_hash, []), start)
            if near is not None and abs(near - start) < repeat:
                found.append(
                    Violation(
                        RULE_NO_REPEAT_ITEM,
                        f"same item at {near.isoformat()}, within {variety.no_repeat_item_hours} h",
                    )
                )
        if RULE_NO_SOURCE_BACK_TO_BACK not in ignore and variety.no_source_back_to_back:
            prev = self.previous(start)
            if prev is not None and prev.source == source:
                found.append(
                    Violation(RULE_NO_SOURCE_BACK_TO_BACK, f"previous item is also from {source!r}")
                )
        cooldown = timedelta(minutes=variety.source_cooldown_minutes)
        if RULE_SOURCE_COOLDOWN not in ignore and cooldown:
            near = _nearest(self._by_source.get(source, []), start)
            if near is not None and abs(near - start) < cooldown:
                found.append(
                    Violation(
                        RULE_SOURCE_COOLDOWN,
                        f"{source!r} starts at {near.isoformat()}, "
                        f"within {variety.source_cooldown_minutes} min",
                    )
                )
        return tuple(found)


def parse_owner_card(data: object, *, source: str = "owner card") -> OwnerCard:
    """Validate already-parsed YAML/JSON data into an ``OwnerCard`` or raise ``PolicyError``."""
    if not isinstance(data, Mapping):
        raise PolicyError([f"(root): must be a mapping, got {type(data).__name__}"], source=source)
    try:
        card = OwnerCard.model_validate(dict(data))
    except ValidationError as exc:
        raise PolicyError([_render(e) for e in exc.errors()], source=source) from None
    problems = _cross_field_problems(card)
    if problems:
        raise PolicyError(problems, source=source)
    return card


def load_owner_card(path: Path | str = DEFAULT_OWNER_CARD_PATH) -> OwnerCard:
    """Read, parse (``yaml.safe_load``) and validate an OwnerCard file."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError([f"(file): cannot read: {exc}"], source=str(file)) from exc
    except yaml.YAMLError as exc:
        raise PolicyError([f"(file): not valid YAML: {exc}"], source=str(file)) from exc
    return parse_owner_card(data, source=str(file))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _nearest(sorted_starts: list[datetime], start: datetime) -> datetime | None:
    at = bisect.bisect_left(sorted_starts, start)
    near = [sorted_starts[i] for i in (at - 1, at) if 0 <= i < len(sorted_starts)]
    return min(near, key=lambda s: abs(s - start)) if near else None


def _render(error: Mapping[str, Any]) -> str:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path or '(root)'}: {message}"


def _cross_field_problems(card: OwnerCard) -> list[str]:
    problems: list[str] = []
    slots = card.slots
    if slots.min_minutes > slots.max_minutes:
        problems.append(
            f"slots.min_minutes: {slots.min_minutes} exceeds max_minutes {slots.max_minutes}"
        )
    elif not slots.min_minutes <= slots.default_minutes <= slots.max_minutes:
        problems.append(
            f"slots.default_minutes: {slots.default_minutes} is outside "
            f"[min_minutes {slots.min_minutes}, max_minutes {slots.max_minutes}]"
        )
    schedule = card.schedule
    if schedule.commit_interval_minutes > schedule.commit_window_hours * 60:
        # A commit run less often than the window is long would leave unplanned gaps.
        problems.append(
            f"schedule.commit_interval_minutes: {schedule.commit_interval_minutes} exceeds "
            f"the commit window ({schedule.commit_window_hours} h)"
        )
    problems.extend(_daypart_problems(card.dayparts))
    return problems


def _daypart_problems(dayparts: Sequence[Daypart]) -> list[str]:
    # Checked here, not as a pydantic min_length, which also fires when an item is invalid.
    if not dayparts:
        return ["dayparts: at least one daypart is required"]
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, part in enumerate(dayparts):
        if part.name in seen:
            problems.append(
                f"dayparts[{index}].name: {part.name!r} repeats dayparts[{seen[part.name]}]"
            )
        seen.setdefault(part.name, index)
        if part.start_minute % _DAY_MINUTES == part.end_minute % _DAY_MINUTES:
            problems.append(f"dayparts[{index}].end: equals start ({part.start}); empty range")
    if problems:
        return problems
    # Every minute of the day belongs to exactly one part, so a slot always has a daypart.
    owner: list[int | None] = [None] * _DAY_MINUTES
    for index, part in enumerate(dayparts):
        for minute in range(_DAY_MINUTES):
            if not part.contains(minute):
                continue
            other = owner[minute]
            if other is not None:
                problems.append(
                    f"dayparts[{index}]: {part.name!r} overlaps dayparts[{other}] "
                    f"{dayparts[other].name!r} at {minute // 60:02d}:{minute % 60:02d}"
                )
                break
            owner[minute] = index
    gaps = [m for m, o in enumerate(owner) if o is None]
    if gaps and not problems:
        first = gaps[0]
        problems.append(
            f"dayparts: {len(gaps)} minute(s) of the day have no daypart, "
            f"the first at {first // 60:02d}:{first % 60:02d}"
        )
    return problems
