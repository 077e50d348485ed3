"""The curator: scores the upcoming queue against the OwnerCard and proposes a better order.

Pure (no I/O, no clock). The queue plays back to back from ``upcoming[0]``, which is on
air since ``on_air_since`` or, when that is None, due at ``now``. The head and every item
due within ``curator.protect_next_minutes`` of ``now`` are pinned; only the rest may move,
so the pinned items keep their start times. A frozen queue is never reordered.

The order is rebuilt greedily, slot by slot: the item already next in line keeps its
place unless another item scores strictly better there, first on fewer broken variety
rules, then on the daypart bonus; ties keep the queue's order, so a fitting queue is
left alone. ``advice`` reports the proposal (the orchestrator logs it); ``apply`` also
marks it applied, for the caller to persist. Blocklisted items are reported, not removed:
removal belongs to the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from lab.policy import AiredOrPlanned, OwnerCard, Timeline, Violation

__all__ = [
    "CuratorDecision",
    "CuratorMode",
    "ItemScore",
    "Move",
    "UpcomingItem",
    "curate",
    "score_item",
]

CuratorMode = Literal["advice", "apply"]


@dataclass(frozen=True, slots=True)
class UpcomingItem:
    """A ready queue item as the curator sees it: identity, origin, length and tags."""

    item_id: str
    content_hash: str
    source: str
    duration_s: float
    title: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemScore:
    """How well an item fits one start time: broken variety rules, then daypart bonus."""

    violations: tuple[Violation, ...]
    preference: float
    notes: tuple[str, ...]
    daypart: str

    @property
    def key(self) -> tuple[int, float]:
        """Sort key, higher is better: fewer violations first, then a larger bonus."""
        return (-len(self.violations), self.preference)


@dataclass(frozen=True, slots=True)
class Move:
    """One item that changes position (0-based indexes into the queue), and why."""

    item_id: str
    from_index: int
    to_index: int
    reason: str


@dataclass(frozen=True, slots=True)
class CuratorDecision:
    """The proposed order, the moves that produce it, and whether it was applied."""

    mode: CuratorMode
    applied: bool
    order: tuple[str, ...]
    original: tuple[str, ...]
    moves: tuple[Move, ...]
    protected: tuple[str, ...]
    blocked: tuple[str, ...]
    note: str
    policy_version: int

    @property
    def changed(self) -> bool:
        """Whether the proposed order differs from the queue's."""
        return self.order != self.original


def score_item(
    item: UpcomingItem, start: datetime, timeline: Timeline, policy: OwnerCard
) -> ItemScore:
    """Score ``item`` starting at ``start`` after everything in ``timeline``."""
    daypart = policy.daypart_at(start)
    bonus, notes = daypart.preference(item.source, item.tags)
    found = timeline.violations(policy.variety, item.content_hash, item.source, start)
    return ItemScore(found, bonus, notes, daypart.name)


def curate(
    upcoming: Sequence[UpcomingItem],
    policy: OwnerCard,
    now: datetime,
    *,
    mode: CuratorMode | None = None,
    frozen: bool = False,
    on_air_since: datetime | None = None,
    history: Sequence[AiredOrPlanned] = (),
) -> CuratorDecision:
    """Propose (``advice``) or decide (``apply``) a reorder of ``upcoming`` under ``policy``."""
    if now.tzinfo is None or (on_air_since is not None and on_air_since.tzinfo is None):
        raise ValueError("now and on_air_since must be timezone-aware")
    chosen_mode: CuratorMode = mode or policy.curator.mode
    original = tuple(i.item_id for i in upcoming)
    if len(set(original)) != len(original):
        raise ValueError("upcoming item ids must be unique")
    starts = _starts(upcoming, on_air_since or now)
    horizon = now + timedelta(minutes=policy.curator.protect_next_minutes)
    # The head is on air or due next; anything due before the horizon is about to start.
    pinned = [i for i, s in enumerate(starts) if i == 0 or s < horizon]
    protected = tuple(original[i] for i in pinned)
    blocked = tuple(
        i.item_id
        for i in upcoming
        if policy.blocklist.match(i.source, i.title, i.content_hash) is not None
    )

    def decide(
        order: tuple[str, ...], moves: tuple[Move, ...], applied: bool, note: str
    ) -> CuratorDecision:
        if blocked:
            note += f"; blocklisted, for the queue to drop: {', '.join(blocked)}"
        return CuratorDecision(
            chosen_mode, applied, order, original, moves, protected, blocked, note, policy.version
        )

    if frozen:
        return decide(original, (), False, "queue is frozen: order left as is")
    cut = len(pinned)
    timeline = Timeline(history)
    for item, start in zip(upcoming[:cut], starts[:cut], strict=True):
        timeline.add(AiredOrPlanned(item.content_hash, item.source, start, item.duration_s))
    tail = _reorder(upcoming[cut:], starts[cut] if cut < len(starts) else now, timeline, policy)
    order = original[:cut] + tuple(i.item_id for i, _ in tail)
    position = {item_id: index for index, item_id in enumerate(original)}
    moves = tuple(
        Move(item.item_id, was, cut + at, why or f"pushed back {cut + at - was} place(s)")
        for at, (item, why) in enumerate(tail)
        if (was := position[item.item_id]) != cut + at
    )
    if not moves:
        return decide(order, (), False, "order already fits the policy")
    if chosen_mode == "advice":
        return decide(order, moves, False, f"advice: {len(moves)} move(s) proposed, not applied")
    return decide(order, moves, True, f"applied {len(moves)} move(s)")


def _starts(upcoming: Sequence[UpcomingItem], first: datetime) -> list[datetime]:
    starts: list[datetime] = []
    at = first
    for item in upcoming:
        starts.append(at)
        at += timedelta(seconds=max(item.duration_s, 0.0))
    return starts


def _reorder(
    items: Sequence[UpcomingItem], start: datetime, timeline: Timeline, policy: OwnerCard
) -> list[tuple[UpcomingItem, str | None]]:
    """Greedy rebuild of the movable tail; an item taken out of turn comes with the reason."""
    remaining = list(items)
    placed: list[tuple[UpcomingItem, str | None]] = []
    at = start
    while remaining:
        scores = [score_item(i, at, timeline, policy) for i in remaining]
        best = max(range(len(remaining)), key=lambda k: (scores[k].key, -k))
        # Index 0 is the item next in line: it keeps its place unless strictly beaten.
        pick = best if scores[best].key > scores[0].key else 0
        why = _why(scores[pick], remaining[0], scores[0]) if pick else None
        item = remaining.pop(pick)
        placed.append((item, why))
        timeline.add(AiredOrPlanned(item.content_hash, item.source, at, item.duration_s))
        at += timedelta(seconds=max(item.duration_s, 0.0))
    return placed


def _why(mine: ItemScore, displaced: UpcomingItem, theirs: ItemScore) -> str:
    other = repr(displaced.item_id)
    if len(mine.violations) < len(theirs.violations):
        broken = ", ".join(f"{v.rule} ({v.detail})" for v in theirs.violations)
        return f"moved ahead of {other}, which would break {broken} here"
    gained = "; ".join(mine.notes) or "a better daypart fit"
    return (
        f"moved ahead of {other} for daypart {mine.daypart}: {gained} "
        f"(+{mine.preference:g} vs +{theirs.preference:g})"
    )
