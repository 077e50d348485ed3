"""ffprobe JSON read into MediaInfo: rates, absent values, and what is not ffprobe output."""

from __future__ import annotations

import json

import pytest

from lab.ffmpeg import parse_probe


def _probe(**stream: object) -> str:
    base = {"index": 0, "codec_type": "video", "codec_name": "h264"}
    return json.dumps(
        {"format": {"format_name": "mpegts", "duration": "N/A"}, "streams": [{**base, **stream}]}
    )


@pytest.mark.parametrize(
    ("rates", "fps"),
    [
        ({"avg_frame_rate": "30000/1001"}, 30000 / 1001),
        ({"avg_frame_rate": "0/0", "r_frame_rate": "25/1"}, 25.0),
        ({"avg_frame_rate": "0/0", "r_frame_rate": "0/0"}, None),
        ({}, None),
    ],
)
def test_frame_rates(rates: dict[str, str], fps: float | None) -> None:
    (stream,) = parse_probe(_probe(**rates)).streams
    assert stream.fps == fps


def test_absent_numbers_are_none() -> None:
    info = parse_probe(_probe(width="N/A"))
    assert info.duration_s is None and info.bit_rate is None
    assert info.streams[0].width is None and info.audio == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json", "not JSON"), ("[]", "'format'"), ('{"format": {}, "streams": {}}', "'streams'")],
)
def test_what_is_not_ffprobe_output_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_probe(text)
