"""LAB control signatures: the contract's test vectors, and every way a request is refused."""

from __future__ import annotations

import pytest

from lab.control import ReplayGuard, SignatureError, SignedRequest, sign, verify_signature

SECRET = "dev-secret"
TS = "1761136496"
BODY = b'{"reason":"M1 shutdown ritual"}'


def test_the_contract_test_vectors() -> None:
    assert (
        sign(SECRET, "POST", "/v1/control/planner/pause", TS, BODY)
        == "3a83f7c7331966cfd9b667cc4fc647d9e252c49a0781753cfd2b312761d11e6f"
    )
    assert (
        sign(SECRET, "post", "/v1/control/nightly/force", TS, b"")
        == "06b8da7fb6c8d1b0fb22bb2cfc66a4c2f83b17be77990ad816ebf45e137be948"
    )


def _verify(**changes: object) -> None:
    request: dict[str, object] = {
        "method": "POST",
        "path": "/v1/control/planner/pause",
        "timestamp": TS,
        "signature": sign(SECRET, "POST", "/v1/control/planner/pause", TS, BODY),
        "body": BODY,
    }
    request.update(changes)
    verify_signature(
        SECRET,
        SignedRequest(**request),  # type: ignore[arg-type]
        now=lambda: float(TS) + 10,
        replays=ReplayGuard(remember_s=600),
    )


def test_a_valid_signature_is_accepted() -> None:
    _verify()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"body": b'{"reason":"M2"}'}, "mismatch"),  # tampered body
        ({"path": "/v1/control/planner/resume"}, "mismatch"),  # wrong path
        ({"method": "PUT"}, "mismatch"),
        ({"timestamp": "1761136497"}, "mismatch"),  # the timestamp is signed too
        ({"signature": None}, "malformed"),
        ({"timestamp": None}, "malformed"),
        ({"signature": "ABC"}, "malformed"),
        ({"timestamp": "soon"}, "malformed"),
    ],
)
def test_tampered_or_malformed_requests_are_refused(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(SignatureError) as refused:
        _verify(**changes)
    assert refused.value.reason == reason


def test_a_stale_timestamp_is_refused_even_when_signed_right() -> None:
    old = str(int(TS) - 301)
    signature = sign(SECRET, "POST", "/p", old, b"")
    with pytest.raises(SignatureError) as refused:
        verify_signature(
            SECRET,
            SignedRequest("POST", "/p", old, signature),
            now=lambda: float(TS),
            replays=ReplayGuard(remember_s=600),
        )
    assert refused.value.reason == "stale"


def test_a_signature_is_accepted_once_and_forgotten_after_the_window() -> None:
    guard = ReplayGuard(remember_s=600)
    signature = sign(SECRET, "POST", "/p", TS, b"")
    clock = [float(TS)]

    def check() -> None:
        verify_signature(
            SECRET, SignedRequest("POST", "/p", TS, signature), now=lambda: clock[0], replays=guard
        )

    check()
    with pytest.raises(SignatureError) as replayed:
        check()
    assert replayed.value.reason == "replay"
    # Past the remembering window the timestamp is stale anyway: never accepted again.
    clock[0] += 601
    with pytest.raises(SignatureError) as late:
        check()
    assert late.value.reason == "stale"


def test_the_replay_memory_is_bounded() -> None:
    guard = ReplayGuard(remember_s=600, capacity=3)
    for i in range(5):
        assert guard.first_use(f"s{i}", 0.0)
    assert len(guard._seen) == 3
