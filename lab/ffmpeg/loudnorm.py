"""Read the measurement that ffmpeg's first loudnorm pass prints on stderr.

EBU R128 normalisation runs in two passes: the first measures the programme, the
second applies one linear gain computed from that measurement (see
``lab.ffmpeg.argv``). The measurement reaches us only as a JSON object that the
filter logs among ffmpeg's other stderr lines, so this parser is the contract
between the two passes. It is pure text in, value out: a missing or unreadable
field fails loudly here instead of turning into a wrong gain in the second pass.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

# A flat ``{ ... }`` block; loudnorm's object has no nested braces.
_OBJECT = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True, slots=True)
class LoudnormMeasurement:
    """What the first pass measured; the second pass feeds it back as ``measured_*``."""

    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float
    target_offset: float


def parse_loudnorm(stderr_text: str) -> LoudnormMeasurement:
    """Parse the last JSON object loudnorm printed in ``stderr_text``.

    Raises ``ValueError`` naming what is missing: no object at all, an object that
    is not valid JSON, or a field that is absent or not a finite number (a silent
    input measures ``-inf``, which the second pass cannot use).
    """
    blocks = _OBJECT.findall(stderr_text)
    if not blocks:
        raise ValueError(
            "no loudnorm JSON object found on stderr "
            "(was the first pass run with print_format=json and loglevel info?)"
        )
    try:
        data = json.loads(blocks[-1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"loudnorm JSON object is malformed: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("loudnorm JSON is not an object")
    return LoudnormMeasurement(
        input_i=_field(data, "input_i"),
        input_tp=_field(data, "input_tp"),
        input_lra=_field(data, "input_lra"),
        input_thresh=_field(data, "input_thresh"),
        target_offset=_field(data, "target_offset"),
    )


def _field(data: dict[str, object], name: str) -> float:
    if name not in data:
        raise ValueError(f"loudnorm JSON is missing {name!r}")
    raw = data[name]
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError(f"loudnorm field {name!r} is not a number: {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"loudnorm field {name!r} is not a number: {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"loudnorm field {name!r} is not finite: {raw!r} (silent input?)")
    return value
