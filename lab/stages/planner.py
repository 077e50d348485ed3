"""The planner: turns discovered candidates into ``Plan``s filling the commit window.

Pure (no I/O, no clock): the same candidates, history, policy, window and seed give the
same plans, ``plan_id``s included, whatever order the candidates arrive in (duplicates
aside: the first admissible copy of a content hash wins). Slots are contiguous from
``window_start``; a new slot starts while the cursor is before ``window_end``, so the
last item may run past the window and ``filled_until`` is where the next window starts.

Per slot: candidates that break a variety rule are set aside (and listed in
``rejected``); the rest are scored ``1 + daypart bonus`` and the best wins, ties broken
by a seeded hash. When every candidate breaks some rule the rules are relaxed one by one
in ``RELAXATION_ORDER`` so the channel never starves; the blocklist and the slot length
bounds are never relaxed. Once the repeat rule is relaxed, the item aired longest ago
wins before the score is looked at.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lab.policy import (
    RULE_MAX_SOURCE_SHARE,
    RULE_NO_REPEAT_ITEM,
    RULE_NO_SOURCE_BACK_TO_BACK,
    RULE_SOURCE_COOLDOWN,
    AiredOrPlanned,
    Daypart,
    OwnerCard,
    Timeline,
    Violation,
)
from lab.stages.types import Discovered, Plan

__all__ = [
    "AiredOrPlanned",
    "PlannedSlot",
    "PlanningResult",
    "RELAXATION_ORDER",
    "RULE_DUPLICATE",
    "Rejection",
    "plan",
]

# Softest first: a window-level balance, then spacing of a source, then adjacency, and
# last the repeat of an item, which viewers notice most.
RELAXATION_ORDER: tuple[str, ...] = (
    RULE_MAX_SOURCE_SHARE,
    RULE_SOURCE_COOLDOWN,
    RULE_NO_SOURCE_BACK_TO_BACK,
    RULE_NO_REPEAT_ITEM,
)
RULE_DUPLICATE = "duplicate_content_hash"

# Fixed so plan ids stay stable across releases; changing it re-keys every plan.
_PLAN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vvtv:lab:planner")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A candidate kept out: for good (``slot_start`` None) or from one slot, by ``rule``."""

    content_hash: str
    source: str
    title: str
    rule: str
    detail: str
    slot_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One plan and the slot it fills: ``[plan.slot_start, slot_end)``."""

    plan: Plan
    slot_end: datetime
    duration_s: float
    duration_known: bool
    score: float
    relaxed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanningResult:
    """The plans for one commit window, what was kept out and why, and how far it is filled."""

    window_start: datetime
    window_end: datetime
    slots: tuple[PlannedSlot, ...]
    rejected: tuple[Rejection, ...]
    filled_until: datetime
    policy_version: int

    @property
    def plans(self) -> tuple[Plan, ...]:
        """The plans in airing order."""
        return tuple(s.plan for s in self.slots)

    @property
    def starved(self) -> bool:
        """True when nothing could fill the window up to its end (no usable candidate left)."""
        return self.filled_until < self.window_end


@dataclass(frozen=True, slots=True)
class _Candidate:
    item: Discovered
    duration_s: float
    duration_known: bool
    tags: tuple[str, ...]


def plan(
    candidates: Sequence[Discovered],
    history: Sequence[AiredOrPlanned],
    policy: OwnerCard,
    *,
    window_start: datetime,
    window_end: datetime,
    seed: int | str,
    limit: int | None = None,
) -> PlanningResult:
    """Fill ``[window_start, window_end)`` with plans under ``policy``; deterministic per seed."""
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("window_start and window_end must be timezone-aware")
    if window_start >= window_end:
        raise ValueError("window_start must be before window_end")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")

    pool, rejected = _admit(candidates, policy)
    timeline = Timeline(history)
    window_s = (window_end - window_start).total_seconds()
    share_used: dict[str, float] = defaultdict(float)
    slots: list[PlannedSlot] = []
    cursor = window_start
    while cursor < window_end and pool and (limit is None or len(slots) < limit):
        daypart = policy.daypart_at(cursor)
        judged = [
            (
                c,
                _violations(
                    c, cursor, timeline=timeline, policy=policy, used=share_used, window_s=window_s
                ),
            )
            for c in pool
        ]
        relaxed, eligible = _relax(judged)
        chosen, score, ties = _choose(
            eligible, daypart, relaxed=relaxed, timeline=timeline, seed=seed, start=cursor
        )
        for cand, found in judged:
            if cand is not chosen and found:
                # The most serious broken rule is the one relaxed last.
                worst = max(found, key=lambda v: RELAXATION_ORDER.index(v.rule))
                rejected.append(_reject(cand.item, worst.rule, worst.detail, cursor))
        item = chosen.item
        slot = PlannedSlot(
            plan=Plan(
                plan_id=_plan_id(seed, item.content_hash, cursor),
                content_hash=item.content_hash,
                source=item.source,
                uri=item.uri,
                title=item.title,
                slot_start=cursor,
                daypart=daypart.name,
                reason=_reason(
                    policy,
                    daypart,
                    chosen=chosen,
                    score=score,
                    ties=ties,
                    relaxed=relaxed,
                    judged=judged,
                ),
                expected_sha256=item.expected_sha256,
            ),
            slot_end=cursor + timedelta(seconds=chosen.duration_s),
            duration_s=chosen.duration_s,
            duration_known=chosen.duration_known,
            score=score,
            relaxed=relaxed,
        )
        slots.append(slot)
        timeline.add(AiredOrPlanned(item.content_hash, item.source, cursor, chosen.duration_s))
        share_used[item.source] += chosen.duration_s
        cursor = slot.slot_end
    return PlanningResult(
        window_start=window_start,
        window_end=window_end,
        slots=tuple(slots),
        rejected=tuple(rejected),
        filled_until=cursor,
        policy_version=policy.version,
    )


def _admit(
    candidates: Sequence[Discovered], policy: OwnerCard
) -> tuple[list[_Candidate], list[Rejection]]:
    """Apply the rules that never relax: blocklist, slot length bounds, then duplicates."""
    pool: list[_Candidate] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    low_s, high_s = policy.slots.min_minutes * 60.0, policy.slots.max_minutes * 60.0
    for item in candidates:
        blocked = policy.blocklist.match(item.source, item.title, item.content_hash)
        if blocked is not None:
            rejected.append(_reject(item, blocked[0], f"matches {blocked[1]!r}"))
            continue
        duration = item.duration_s
        # `not >=` also catches NaN, which would otherwise slip past both bounds.
        if duration is not None and not duration >= low_s:
            rejected.append(_reject(item, "slots.min_minutes", f"{duration} s is too short"))
            continue
        if duration is not None and duration > high_s:
            rejected.append(_reject(item, "slots.max_minutes", f"{duration} s is too long"))
            continue
        # Deduplicate after the hard rules, so a blocked copy never hides a usable one.
        if item.content_hash in seen:
            rejected.append(_reject(item, RULE_DUPLICATE, "an earlier candidate has this hash"))
            continue
        seen.add(item.content_hash)
        known = duration is not None
        pool.append(
            _Candidate(
                item=item,
                duration_s=duration
                if duration is not None
                else policy.slots.default_minutes * 60.0,
                duration_known=known,
                tags=_tags(item.metadata),
            )
        )
    # Input order must not matter, so the pool is walked in content-hash order.
    pool.sort(key=lambda c: c.item.content_hash)
    return pool, rejected


def _violations(
    cand: _Candidate,
    start: datetime,
    *,
    timeline: Timeline,
    policy: OwnerCard,
    used: Mapping[str, float],
    window_s: float,
) -> tuple[Violation, ...]:
    found = timeline.violations(policy.variety, cand.item.content_hash, cand.item.source, start)
    so_far = used.get(cand.item.source, 0.0)
    cap = policy.variety.max_source_share * window_s
    # A source's first item in a window never breaks the share, or long items could never air.
    if so_far > 0 and so_far + cand.duration_s > cap:
        share = (so_far + cand.duration_s) / window_s
        detail = f"{cand.item.source!r} would hold {share:.0%} of the window"
        found = (*found, Violation(RULE_MAX_SOURCE_SHARE, detail))
    return found


def _relax(
    judged: Sequence[tuple[_Candidate, tuple[Violation, ...]]],
) -> tuple[tuple[str, ...], list[_Candidate]]:
    """The fewest relaxed rules (in order) that leave someone eligible; the pool is non-empty."""
    for level in range(len(RELAXATION_ORDER) + 1):
        relaxed = RELAXATION_ORDER[:level]
        eligible = [c for c, found in judged if all(v.rule in relaxed for v in found)]
        if eligible:
            return relaxed, eligible
    raise AssertionError("unreachable: with every rule relaxed, every candidate is eligible")


def _choose(
    eligible: Sequence[_Candidate],
    daypart: Daypart,
    *,
    relaxed: tuple[str, ...],
    timeline: Timeline,
    seed: int | str,
    start: datetime,
) -> tuple[_Candidate, float, int]:
    """The winner, its score, and how many candidates tied with it on score."""
    if RULE_NO_REPEAT_ITEM in relaxed:
        # Any pick is a repeat now: take the one aired longest ago (never aired first).
        floor = datetime.min.replace(tzinfo=UTC)
        last = {c.item.content_hash: timeline.last_start(c.item.content_hash) for c in eligible}
        oldest = min(last[c.item.content_hash] or floor for c in eligible)
        eligible = [c for c in eligible if (last[c.item.content_hash] or floor) == oldest]
    scored = [(1.0 + daypart.preference(c.item.source, c.tags)[0], c) for c in eligible]
    best = max(score for score, _ in scored)
    ties = [c for score, c in scored if score == best]
    winner = min(ties, key=lambda c: _draw(seed, start, c.item.content_hash))
    return winner, best, len(ties)


def _reason(
    policy: OwnerCard,
    daypart: Daypart,
    *,
    chosen: _Candidate,
    score: float,
    ties: int,
    relaxed: tuple[str, ...],
    judged: Sequence[tuple[_Candidate, tuple[Violation, ...]]],
) -> str:
    notes = daypart.preference(chosen.item.source, chosen.tags)[1]
    parts = [
        f"OwnerCard v{policy.version}",
        f"daypart {daypart.name} {daypart.start}-{daypart.end} (weight {daypart.weight:g})",
        "; ".join(notes) if notes else "no daypart preference matched",
        f"score {score:.2f}",
        f"seeded tie-break among {ties} equal-score candidates" if ties > 1 else "highest score",
    ]
    if relaxed:
        broken = sorted({v.rule for c, found in judged if c is chosen for v in found})
        parts.append(
            f"relaxed {', '.join(relaxed)} because no candidate met every variety rule"
            f" (this pick breaks {', '.join(broken) or 'none of them'})"
        )
    if not chosen.duration_known:
        parts.append(f"duration unknown: default slot of {policy.slots.default_minutes} min")
    return "; ".join(parts)


def _reject(item: Discovered, rule: str, detail: str, at: datetime | None = None) -> Rejection:
    return Rejection(item.content_hash, item.source, item.title, rule, detail, at)


def _tags(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    raw = metadata.get("tags")
    if isinstance(raw, str):
        return tuple(t.strip() for t in raw.split(",") if t.strip())
    if isinstance(raw, list | tuple):
        return tuple(t for t in raw if isinstance(t, str))
    return ()


def _utc_key(when: datetime) -> str:
    # The same instant must give the same id whatever zone the caller used.
    return when.astimezone(UTC).isoformat()


def _draw(seed: int | str, start: datetime, content_hash: str) -> bytes:
    # A hash, not a shared RNG stream, so one slot's draw never depends on another's.
    text = f"{type(seed).__name__}:{seed}|{_utc_key(start)}|{content_hash}"
    return hashlib.sha256(text.encode()).digest()


def _plan_id(seed: int | str, content_hash: str, start: datetime) -> str:
    return str(uuid.uuid5(_PLAN_NAMESPACE, f"{seed}|{content_hash}|{_utc_key(start)}"))
