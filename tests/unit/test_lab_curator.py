"""The curator: advice versus apply, frozen queues, and the head that never moves."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.policy import (
    DEFAULT_OWNER_CARD_PATH,
    RULE_NO_SOURCE_BACK_TO_BACK,
    AiredOrPlanned,
    OwnerCard,
    Timeline,
    parse_owner_card,
)
from lab.stages.curator import UpcomingItem, curate, score_item

RAW: dict[str, Any] = yaml.safe_load(DEFAULT_OWNER_CARD_PATH.read_text(encoding="utf-8"))
NOW = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # afternoon


def _card(**sections: dict[str, Any]) -> OwnerCard:
    data = copy.deepcopy(RAW)
    data["timezone"] = "UTC"
    for name, changes in sections.items():
        data[name] = {**data.get(name, {}), **changes}
    return parse_owner_card(data)


CARD = _card()  # advice by default, 10 min protection, 60 min source cooldown


def _it(item_id: str, source: str, minutes: float = 30, **kw: Any) -> UpcomingItem:
    return UpcomingItem(item_id, f"h-{item_id}", source, minutes * 60, **kw)


# The head (source a) is on air; the next item is also from a and due in 29 min.
CLASH = [_it("head", "a"), _it("i1", "a"), _it("i2", "b"), _it("i3", "c")]
ON_AIR = NOW - timedelta(minutes=1)


def test_a_fitting_queue_is_left_alone() -> None:
    queue = [_it("head", "a"), _it("i1", "b"), _it("i2", "c"), _it("i3", "a")]
    decision = curate(queue, CARD, NOW, on_air_since=ON_AIR)
    assert decision.order == decision.original == ("head", "i1", "i2", "i3")
    assert decision.moves == ()
    assert not decision.changed
    assert not decision.applied
    assert decision.note == "order already fits the policy"


def test_advice_reports_moves_without_applying() -> None:
    decision = curate(CLASH, CARD, NOW, on_air_since=ON_AIR)
    assert decision.mode == "advice"  # the card's default
    assert decision.order == ("head", "i2", "i1", "i3")
    assert decision.changed
    assert not decision.applied
    assert decision.note == "advice: 2 move(s) proposed, not applied"
    moved = {m.item_id: m for m in decision.moves}
    assert (moved["i2"].from_index, moved["i2"].to_index) == (2, 1)
    assert RULE_NO_SOURCE_BACK_TO_BACK in moved["i2"].reason
    assert "moved ahead of 'i1'" in moved["i2"].reason
    assert moved["i1"].reason == "pushed back 1 place(s)"
    assert decision.policy_version == CARD.version


def test_apply_returns_the_order_to_persist() -> None:
    decision = curate(CLASH, CARD, NOW, mode="apply", on_air_since=ON_AIR)
    assert decision.applied
    assert decision.order == ("head", "i2", "i1", "i3")
    assert decision.note == "applied 2 move(s)"
    by_card = curate(CLASH, _card(curator={"mode": "apply"}), NOW, on_air_since=ON_AIR)
    assert by_card.applied


def test_a_frozen_queue_is_never_reordered() -> None:
    decision = curate(CLASH, CARD, NOW, mode="apply", frozen=True, on_air_since=ON_AIR)
    assert decision.order == decision.original
    assert decision.moves == ()
    assert not decision.applied
    assert "frozen" in decision.note


def test_the_head_and_items_due_soon_never_move() -> None:
    # i1 is due in 5 min (inside the 10 min protection): pinned although it clashes.
    decision = curate(CLASH, CARD, NOW, mode="apply", on_air_since=NOW - timedelta(minutes=25))
    assert decision.protected == ("head", "i1")
    assert decision.order[:2] == ("head", "i1")
    assert all(m.item_id not in decision.protected for m in decision.moves)


def test_the_head_is_pinned_even_without_protection_time() -> None:
    card = _card(curator={"protect_next_minutes": 0})
    aired = [AiredOrPlanned("h-old", "a", NOW - timedelta(minutes=30), 1800)]
    decision = curate(CLASH, card, NOW, mode="apply", history=aired)
    assert decision.protected == ("head",)
    assert decision.order[0] == "head"


def test_history_counts_for_the_first_movable_slot() -> None:
    # An a-item aired until the head began; i1 (also a) would start 55 min after it.
    aired = [AiredOrPlanned("h-old", "a", NOW - timedelta(minutes=40), 600)]
    queue = [_it("head", "x", 45), _it("i1", "a"), _it("i2", "b")]
    decision = curate(queue, CARD, NOW, history=aired, on_air_since=NOW - timedelta(minutes=30))
    assert decision.protected == ("head",)
    assert decision.order == ("head", "i2", "i1")
    assert "variety.source_cooldown_minutes" in decision.moves[0].reason


def test_daypart_preferences_pull_items_forward() -> None:
    evening = NOW.replace(hour=19)
    queue = [_it("head", "a"), _it("plain", "b"), _it("feat", "c", tags=("feature",))]
    decision = curate(queue, CARD, evening, on_air_since=evening)
    assert decision.order == ("head", "feat", "plain")
    reason = next(m.reason for m in decision.moves if m.item_id == "feat")
    assert "daypart evening" in reason
    assert "preferred tag(s) feature (+2)" in reason


def test_blocklisted_items_are_reported_not_removed() -> None:
    card = _card(blocklist={"sources": ["c"]})
    decision = curate(CLASH, card, NOW, on_air_since=ON_AIR)
    assert decision.blocked == ("i3",)
    assert "i3" in decision.order
    assert "blocklisted, for the queue to drop: i3" in decision.note


def test_score_item_is_pure_and_explains_itself() -> None:
    timeline = Timeline([AiredOrPlanned("h-x", "a", NOW - timedelta(minutes=30), 1800)])
    score = score_item(_it("i", "a"), NOW, timeline, CARD)
    assert score.daypart == "afternoon"
    assert {v.rule for v in score.violations} >= {RULE_NO_SOURCE_BACK_TO_BACK}
    assert score.key < score_item(_it("j", "b"), NOW, timeline, CARD).key


def test_edge_cases_and_argument_checks() -> None:
    empty = curate([], CARD, NOW)
    assert empty.order == ()
    assert empty.moves == ()
    with pytest.raises(ValueError, match="aware"):
        curate(CLASH, CARD, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="unique"):
        curate([_it("x", "a"), _it("x", "b")], CARD, NOW)


@settings(max_examples=150, deadline=None)
@given(
    sources=st.lists(st.sampled_from("abc"), min_size=1, max_size=12),
    minutes=st.lists(st.integers(1, 60), min_size=12, max_size=12),
    on_air_for=st.integers(0, 120),
    frozen=st.booleans(),
)
def test_property_a_permutation_that_keeps_the_pinned_prefix(
    sources: list[str], minutes: list[int], on_air_for: int, frozen: bool
) -> None:
    queue = [_it(f"i{n}", s, m) for n, (s, m) in enumerate(zip(sources, minutes, strict=False))]
    decision = curate(
        queue,
        CARD,
        NOW,
        mode="apply",
        frozen=frozen,
        on_air_since=NOW - timedelta(minutes=on_air_for),
    )
    assert sorted(decision.order) == sorted(decision.original)
    assert decision.protected[0] == "i0"
    assert decision.order[: len(decision.protected)] == decision.protected
    if frozen:
        assert decision.order == decision.original
    assert decision.applied == (not frozen and decision.changed)
    for move in decision.moves:
        assert decision.order[move.to_index] == move.item_id
        assert decision.original[move.from_index] == move.item_id
