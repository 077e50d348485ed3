"""The OwnerCard: the real file loads, and every kind of bad policy names its field."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.policy import (
    DEFAULT_OWNER_CARD_PATH,
    RULE_NO_REPEAT_ITEM,
    RULE_NO_SOURCE_BACK_TO_BACK,
    RULE_SOURCE_COOLDOWN,
    AiredOrPlanned,
    OwnerCard,
    PolicyError,
    Timeline,
    load_owner_card,
    parse_owner_card,
)

RAW: dict[str, Any] = yaml.safe_load(DEFAULT_OWNER_CARD_PATH.read_text(encoding="utf-8"))


def _with(path: str, value: object) -> dict[str, Any]:
    data = copy.deepcopy(RAW)
    node: Any = data
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


_DELETE = object()


def _problems(data: object) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_owner_card(data)
    return "\n".join(caught.value.problems)


def test_the_real_owner_card_loads() -> None:
    card = load_owner_card()
    assert isinstance(card, OwnerCard)
    assert card.schema_version == 1
    assert card.version >= 1
    assert card.schedule.commit_window_hours == 4
    assert card.schedule.queue_buffer_target_minutes == 60
    assert card.schedule.commit_interval_minutes > 0
    assert card.slots.min_minutes <= card.slots.default_minutes <= card.slots.max_minutes
    assert [p.name for p in card.dayparts] == ["night", "morning", "afternoon", "evening"]
    assert card.curator.mode == "advice"


def test_the_real_file_marks_chosen_values() -> None:
    text = DEFAULT_OWNER_CARD_PATH.read_text(encoding="utf-8")
    assert "# chosen" in text
    assert "commit_window_hours: 4             # T-4h" in text


def test_the_card_is_frozen() -> None:
    card = load_owner_card()
    with pytest.raises(Exception, match="frozen"):
        card.version = 2  # type: ignore[misc]


def test_dayparts_follow_the_local_clock() -> None:
    card = load_owner_card()  # America/Sao_Paulo, UTC-3 all year since 2019
    assert card.daypart_at(datetime(2026, 1, 10, 8, 59, tzinfo=UTC)).name == "night"
    assert card.daypart_at(datetime(2026, 1, 10, 9, 0, tzinfo=UTC)).name == "morning"
    assert card.daypart_at(datetime(2026, 1, 10, 23, 30, tzinfo=UTC)).name == "evening"
    with pytest.raises(ValueError, match="aware"):
        card.daypart_at(datetime(2026, 1, 10, 12, 0))


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("schedule.commit_interval_minutes", 0, "schedule.commit_interval_minutes:"),
        ("schedule.commit_interval_minutes", "60", "schedule.commit_interval_minutes:"),
        ("schedule.commit_window_hours", _DELETE, "schedule.commit_window_hours: Field required"),
        ("timezone", "Mars/Olympus", "timezone: unknown IANA time zone 'Mars/Olympus'"),
        ("schema_version", 2, "schema_version:"),
        ("variety.max_source_share", 1.5, "variety.max_source_share:"),
        ("variety.no_source_back_to_back", "yes", "variety.no_source_back_to_back:"),
        ("variety.surprise", 1, "variety.surprise: Extra inputs are not permitted"),
        ("dayparts.1.start", 360, 'dayparts[1].start: write the time quoted, as "HH:MM"'),
        ("dayparts.1.start", "6am", "dayparts[1].start: must be"),
        ("dayparts.2.weight", -1, "dayparts[2].weight:"),
        ("dayparts.0.name", "Night Time", "dayparts[0].name: must match"),
        ("blocklist.title_patterns", ["(unclosed"], "blocklist.title_patterns: [0] '(unclosed'"),
        ("curator.mode", "shout", "curator.mode:"),
        ("slots.default_minutes", 500, "slots.default_minutes: 500 is outside"),
        ("slots.min_minutes", 200, "slots.min_minutes: 200 exceeds max_minutes"),
        ("schedule.commit_interval_minutes", 300, "exceeds the commit window"),
        ("dayparts.1.name", "night", "dayparts[1].name: 'night' repeats dayparts[0]"),
        ("dayparts.1.end", "13:00", "dayparts[2]: 'afternoon' overlaps dayparts[1] 'morning'"),
        ("dayparts.3.end", "23:00", "dayparts: 60 minute(s) of the day have no daypart"),
        ("dayparts.0.end", "00:00", "dayparts[0].end: equals start"),
        ("dayparts", [], "dayparts: at least one daypart is required"),
    ],
)
def test_a_bad_policy_names_the_field(path: str, value: object, expected: str) -> None:
    assert expected in _problems(_with(path, value))


def test_not_a_mapping_is_refused() -> None:
    assert "(root): must be a mapping" in _problems(["a", "list"])


def test_dayparts_may_wrap_midnight() -> None:
    data = copy.deepcopy(RAW)
    data["dayparts"] = [
        {"name": "late", "start": "22:00", "end": "06:00"},
        {"name": "day", "start": "06:00", "end": "22:00"},
    ]
    card = parse_owner_card(data)
    assert card.daypart_at(datetime(2026, 1, 10, 2, 0, tzinfo=UTC)).name == "late"  # 23:00
    assert card.daypart_at(datetime(2026, 1, 10, 12, 0, tzinfo=UTC)).name == "day"  # 09:00


def test_loading_a_broken_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "owner_card.yaml"
    bad.write_text("schema_version: [", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"owner_card\.yaml") as caught:
        load_owner_card(bad)
    assert "not valid YAML" in caught.value.problems[0]
    with pytest.raises(PolicyError, match="cannot read"):
        load_owner_card(tmp_path / "missing.yaml")


def test_every_problem_is_reported_at_once() -> None:
    data = _with("variety.max_source_share", 2)
    data["schedule"]["commit_window_hours"] = -1
    with pytest.raises(PolicyError) as caught:
        parse_owner_card(data)
    assert len(caught.value.problems) == 2
    assert "2 problem(s)" in str(caught.value)


def test_blocklist_matches_sources_hashes_substrings_and_patterns() -> None:
    data = copy.deepcopy(RAW)
    data["blocklist"] = {
        "sources": ["spam"],
        "title_substrings": ["Trailer"],
        "title_patterns": [r"\bnsfw\b"],
        "content_hashes": ["h-bad"],
    }
    block = parse_owner_card(data).blocklist
    assert block.match("spam", "ok", "h1") == ("blocklist.sources", "spam")
    assert block.match("ok", "ok", "h-bad") == ("blocklist.content_hashes", "h-bad")
    assert block.match("ok", "Official TRAILER 2", "h1") == (
        "blocklist.title_substrings",
        "Trailer",
    )
    assert block.match("ok", "clip NSFW cut", "h1") == ("blocklist.title_patterns", r"\bnsfw\b")
    assert block.match("ok", "nsfwish", "h1") is None


def test_the_timeline_judges_variety() -> None:
    variety = load_owner_card().variety  # 24 h repeat, back-to-back, 60 min cooldown
    t0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    timeline = Timeline([AiredOrPlanned("h1", "a", t0, 1800)])
    later = t0.replace(hour=12, minute=30)
    rules = {v.rule for v in timeline.violations(variety, "h1", "a", later)}
    assert rules == {RULE_NO_REPEAT_ITEM, RULE_NO_SOURCE_BACK_TO_BACK, RULE_SOURCE_COOLDOWN}
    assert timeline.violations(variety, "h2", "b", later) == ()
    ignored = timeline.violations(variety, "h1", "a", later, ignore={RULE_NO_REPEAT_ITEM})
    assert RULE_NO_REPEAT_ITEM not in {v.rule for v in ignored}
    assert timeline.previous(later) is not None
    assert timeline.previous(t0) is None
