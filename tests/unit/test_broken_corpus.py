"""Each broken manifest is caught by exactly its expected rule, at the marked line.

A case is a folder holding one manifest file with one defect; the reported line
carries the comment ``# expect: <rule id>``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.config import RuleId, check_config

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "broken-manifests"
MARKER = re.compile(r"#\s*expect:\s*([a-z_.]+)")


def _cases() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


def _expectation(file: Path) -> tuple[str, int]:
    hits = [
        (m.group(1), number)
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if (m := MARKER.search(line))
    ]
    assert len(hits) == 1, f"{file}: exactly one '# expect:' marker is required"
    return hits[0]


def test_corpus_is_large_and_covers_every_rule() -> None:
    cases = _cases()
    assert len(cases) >= 25
    covered = {_expectation(next(c.iterdir()))[0] for c in cases}
    uncovered = (
        {r.value for r in RuleId}
        - covered
        - {"file.missing", "file.unknown", "schema.unique", "schema.invalid"}
    )
    assert not uncovered, f"rules without a broken case: {sorted(uncovered)}"


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_case_is_caught_by_its_rule_at_its_line(case: Path) -> None:
    files = list(case.iterdir())
    assert len(files) == 1
    rule, line = _expectation(files[0])
    result = check_config([files[0]], build=False)
    assert result.problems, "the broken manifest passed"
    assert {p.rule.value for p in result.problems} == {rule}, [p.render() for p in result.problems]
    lines = {p.line for p in result.problems if p.file.endswith(f"{case.name}/{files[0].name}")}
    assert line in lines, [p.render() for p in result.problems]
