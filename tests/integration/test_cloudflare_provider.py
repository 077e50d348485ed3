"""The Cloudflare Realtime adapter against a local fake of Cloudflare's HTTPS API.

Most tests talk to the fake through ``httpx.ASGITransport``; the serialization test and
the end-to-end go over a real loopback socket (uvicorn). SDP comes from real aiortc
peer connections on both sides.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import structlog
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from runtime.media import CloudflareRealtimeProvider, MediaProvider, MediaProviderError
from runtime.media.cloudflare import Answerer, SessionDescription, TrackRequest
from tests.support.cloudflare_fake import CloudflareFake, Fault, serve
from tests.support.net import free_port

APP_ID = "app-0123456789abcdef"
SECRET = "APP-SECRET-d41d8cd98f00b204"
KEY_ID = "turn-key-42"
TURN_TOKEN = "TURN-TOKEN-e3b0c44298fc1c14"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

PeerFactory = Callable[[], RTCPeerConnection]


def _provider(
    client: httpx.AsyncClient, base: str, **options: object
) -> CloudflareRealtimeProvider:
    return CloudflareRealtimeProvider(
        client,
        app_id=APP_ID,
        app_secret=str(options.pop("app_secret", SECRET)),
        turn_key_id=KEY_ID,
        turn_api_token=TURN_TOKEN,
        api_base=f"{base}/v1",
        clock=lambda: NOW,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def fake() -> AsyncIterator[CloudflareFake]:
    fake = CloudflareFake(
        app_id=APP_ID, app_secret=SECRET, turn_key_id=KEY_ID, turn_api_token=TURN_TOKEN
    )
    yield fake
    await fake.aclose()


@pytest.fixture
async def client(fake: CloudflareFake) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)  # type: ignore[arg-type]  # narrower ASGI types
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
def provider(client: httpx.AsyncClient) -> CloudflareRealtimeProvider:
    return _provider(client, "http://cloudflare.test")


@pytest.fixture
async def peers() -> AsyncIterator[PeerFactory]:
    """Client-side aiortc peer connections (no default STUN server), closed afterwards."""
    opened: list[RTCPeerConnection] = []

    def make() -> RTCPeerConnection:
        opened.append(RTCPeerConnection(RTCConfiguration(iceServers=[])))
        return opened[-1]

    yield make
    for pc in opened:
        await asyncio.wait_for(pc.close(), timeout=10)


def _answerer(pc: RTCPeerConnection) -> Answerer:
    """Applies an SFU offer to ``pc`` and returns its answer, as a browser would."""

    async def answer(offer: SessionDescription) -> str:
        await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        await pc.setLocalDescription(await pc.createAnswer())
        assert pc.localDescription is not None
        return pc.localDescription.sdp

    return answer


async def _offer(pc: RTCPeerConnection, transceivers: int = 1) -> tuple[str, list[str]]:
    """A real offer with ``transceivers`` sendonly video transceivers, and their mids."""
    added = [pc.addTransceiver("video", direction="sendonly") for _ in range(transceivers)]
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.localDescription is not None
    return pc.localDescription.sdp, [str(t.mid) for t in added]


async def _endpoints(provider: CloudflareRealtimeProvider) -> tuple[uuid.UUID, str]:
    session_id = uuid.uuid4()
    endpoints = await provider.create_webrtc_endpoints(session_id, "party")
    return session_id, endpoints.details["cf_session_id"]


# -- the port -----------------------------------------------------------------------------


async def test_the_adapter_satisfies_the_media_provider_port(
    provider: CloudflareRealtimeProvider,
) -> None:
    port: MediaProvider = provider
    assert port is provider


async def test_endpoints_map_our_session_to_a_new_cloudflare_session(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider
) -> None:
    session_id = uuid.uuid4()
    endpoints = await provider.create_webrtc_endpoints(session_id, "party")
    assert endpoints.session_id == session_id and endpoints.profile_name == "party"
    assert endpoints.details["provider"] == "cloudflare"
    cf_session_id = endpoints.details["cf_session_id"]
    assert cf_session_id in fake.sessions
    assert provider.cf_session_of(session_id) == cf_session_id

    again = await provider.create_webrtc_endpoints(session_id, "party")
    assert again == endpoints  # a retried create does not orphan a second session
    assert len(fake.requests_for("sessions/new")) == 1


async def test_an_unknown_profile_is_refused_before_any_request(
    fake: CloudflareFake, client: httpx.AsyncClient
) -> None:
    provider = _provider(client, "http://cloudflare.test", profiles={"party", "thumb_low"})
    with pytest.raises(MediaProviderError, match="unknown media profile"):
        await provider.create_webrtc_endpoints(uuid.uuid4(), "cinema_8k")
    assert fake.requests == []


async def test_revoke_force_closes_every_track_and_forgets_the_session(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    session_id, cf_session_id = await _endpoints(provider)
    offer, mids = await _offer(peers(), transceivers=2)
    tracks = [TrackRequest.local(f"cam-{mid}", mid=mid) for mid in mids]
    await provider.add_tracks(cf_session_id, tracks, offer)

    await provider.revoke_endpoints(session_id)
    (close,) = fake.requests_for("tracks/close")
    assert close.track_count == 2
    state = await provider.get_session(cf_session_id)
    assert {t.status for t in state.tracks} == {"inactive"}
    assert provider.cf_session_of(session_id) is None and provider.lock_count == 0

    await provider.revoke_endpoints(session_id)  # already revoked: nothing to do
    await provider.revoke_endpoints(uuid.uuid4())  # never known: nothing to do
    assert len(fake.requests_for("tracks/close")) == 1


async def test_after_a_restart_the_recorded_details_find_what_to_revoke(
    fake: CloudflareFake,
    provider: CloudflareRealtimeProvider,
    client: httpx.AsyncClient,
    peers: PeerFactory,
) -> None:
    session_id, cf_session_id = await _endpoints(provider)
    offer, mids = await _offer(peers(), transceivers=2)
    await provider.add_tracks(
        cf_session_id, [TrackRequest.local(f"cam-{m}", mid=m) for m in mids], offer
    )
    # A new process: nothing in memory, only what the session row recorded.
    restarted = _provider(client, "http://cloudflare.test")
    await restarted.revoke_endpoints(session_id)  # without details: nothing to find
    assert fake.requests_for("tracks/close") == []
    recorded = {"provider": "cloudflare", "cf_session_id": cf_session_id}
    await restarted.revoke_endpoints(session_id, recorded)
    (close,) = fake.requests_for("tracks/close")
    assert close.track_count == 2
    state = await restarted.get_session(cf_session_id)
    assert {t.status for t in state.tracks} == {"inactive"}
    # Again: every track is closed already, so nothing is sent.
    await restarted.revoke_endpoints(session_id, recorded)
    assert len(fake.requests_for("tracks/close")) == 1


async def test_a_failed_revoke_keeps_the_open_tracks_for_a_retry(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    session_id, cf_session_id = await _endpoints(provider)
    offer, mids = await _offer(peers(), transceivers=2)
    await provider.add_tracks(
        cf_session_id, [TrackRequest.local(f"t{m}", mid=m) for m in mids], offer
    )
    fake.failing_close_mids = {mids[1]}

    with pytest.raises(MediaProviderError, match="left 1 track"):
        await provider.revoke_endpoints(session_id)
    assert provider.cf_session_of(session_id) == cf_session_id

    fake.failing_close_mids = set()
    await provider.revoke_endpoints(session_id)
    assert [r.track_count for r in fake.requests_for("tracks/close")] == [2, 1]
    assert provider.cf_session_of(session_id) is None


# -- per-track errors and idempotent close --------------------------------------------------


async def test_a_per_track_error_fails_only_that_track(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    publisher = fake.publish(["cam-a", "cam-b", "cam-c"])
    fake.failing_tracks = {"cam-b": "empty_track_error"}
    _, viewer = await _endpoints(provider)
    wanted = [TrackRequest.remote(publisher, name) for name in ("cam-a", "cam-b", "cam-c")]
    wanted.append(TrackRequest.remote(uuid.uuid4().hex, "cam-d"))  # unknown publisher

    result = await provider.add_tracks(viewer, wanted, answer=_answerer(peers()))

    assert fake.requests_for("tracks/new")[0].status == 200
    assert [t.track_name for t in result.tracks] == ["cam-a", "cam-b", "cam-c", "cam-d"]
    assert [t.track_name for t in result.succeeded] == ["cam-a", "cam-c"]
    assert [(t.track_name, t.error_code) for t in result.failed] == [
        ("cam-b", "empty_track_error"),
        ("cam-d", "not_found_track_error"),
    ]
    assert all(t.error_description for t in result.failed)
    assert not result.requires_immediate_renegotiation  # answered through renegotiate
    state = await provider.get_session(viewer)
    assert sorted(t.track_name or "" for t in state.tracks) == ["cam-a", "cam-c"]


async def test_a_per_track_error_in_a_published_offer(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    pc = peers()
    _, cf_session_id = await _endpoints(provider)
    offer, mids = await _offer(pc, transceivers=2)
    fake.failing_tracks = {"screen": "internal_error"}
    tracks = [TrackRequest.local("camera", mid=mids[0]), TrackRequest.local("screen", mid=mids[1])]

    result = await provider.add_tracks(cf_session_id, tracks, offer)

    assert [t.ok for t in result.tracks] == [True, False]
    assert result.failed[0].error_code == "internal_error"
    assert result.session_description is not None
    await pc.setRemoteDescription(
        RTCSessionDescription(result.session_description.sdp, result.session_description.type)
    )
    assert pc.signalingState == "stable"  # the fake's answer is SDP aiortc accepts


async def test_closing_an_already_closed_track_counts_as_closed(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    _, cf_session_id = await _endpoints(provider)
    offer, (mid,) = await _offer(peers())
    await provider.add_tracks(cf_session_id, [TrackRequest.local("camera", mid=mid)], offer)

    first = await provider.close_tracks(cf_session_id, [mid])
    second = await provider.close_tracks(cf_session_id, [mid, "99"])

    assert first.pending == () and first.tracks[0].error_code is None
    assert second.pending == ()
    assert {t.error_code for t in second.tracks} == {"close_track_error"}


async def test_an_unresolved_close_stays_pending(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider
) -> None:
    _, cf_session_id = await _endpoints(provider)
    fake.failing_close_mids = {"1"}
    result = await provider.close_tracks(cf_session_id, ["0", "1"])
    assert [(t.mid, t.closed) for t in result.tracks] == [("0", True), ("1", False)]
    assert [t.mid for t in result.pending] == ["1"]


async def test_update_tracks_reuses_a_transceiver(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    publisher = fake.publish(["cam-a", "cam-b"])
    _, viewer = await _endpoints(provider)
    pulled = await provider.add_tracks(
        viewer, [TrackRequest.remote(publisher, "cam-a")], answer=_answerer(peers())
    )
    mid = pulled.tracks[0].mid
    swap = TrackRequest("remote", "cam-b", mid=mid, session_id=publisher)
    result = await provider.update_tracks(
        viewer, [swap, TrackRequest("remote", "x", "77", publisher)]
    )
    assert [(t.mid, t.ok) for t in result.tracks] == [(mid, True), ("77", False)]
    state = await provider.get_session(viewer)
    assert [(t.mid, t.track_name) for t in state.tracks] == [(mid, "cam-b")]


# -- serialization per session --------------------------------------------------------------


async def test_mutations_of_one_session_never_overlap_but_sessions_run_in_parallel(
    peers: PeerFactory,
) -> None:
    fake = CloudflareFake(
        app_id=APP_ID,
        app_secret=SECRET,
        turn_key_id=KEY_ID,
        turn_api_token=TURN_TOKEN,
        mutation_delay_s=0.05,
    )
    names = [f"cam-{i}" for i in range(5)]
    publisher = fake.publish(names)
    async with serve(fake.app) as url, httpx.AsyncClient() as client:
        provider = _provider(client, url)
        viewers = [(await _endpoints(provider))[1] for _ in range(2)]
        answerers = {viewer: _answerer(peers()) for viewer in viewers}
        jobs = [
            provider.add_tracks(
                viewer, [TrackRequest.remote(publisher, n)], answer=answerers[viewer]
            )
            for n in names
            for viewer in viewers
        ]
        started = time.monotonic()
        results = await asyncio.wait_for(asyncio.gather(*jobs), timeout=30)
        elapsed = time.monotonic() - started
        assert provider.lock_count == 0

    assert all(r.failed == () for r in results)
    mutations = [r for r in fake.requests if r.mutation]
    assert len(mutations) == 2 * 2 * len(names)  # tracks/new + renegotiate each
    assert {r.status for r in mutations} == {200}
    assert fake.overlaps() == [] and not any(r.overlapped for r in mutations)
    a, b = ([r for r in mutations if r.session_id == v] for v in viewers)
    assert any(x.started < y.ended and y.started < x.ended for x in a for y in b)
    serial = sum(r.ended - r.started for r in mutations)
    assert elapsed < serial * 0.8  # the two sessions did proceed side by side


async def test_the_fake_does_see_overlapping_mutations_when_they_happen(
    fake: CloudflareFake, client: httpx.AsyncClient
) -> None:
    """Negative control: without the adapter's lock, the overlap check is not vacuous."""
    fake.mutation_delay_s = 0.05
    session = fake.publish(["cam"])
    url = f"http://cloudflare.test/v1/apps/{APP_ID}/sessions/{session}/tracks/close"
    headers = {"Authorization": f"Bearer {SECRET}"}
    body = {"tracks": [{"mid": "0"}], "force": True}
    await asyncio.wait_for(
        asyncio.gather(*(client.put(url, json=body, headers=headers) for _ in range(3))),
        timeout=10,
    )
    assert fake.overlaps() and any(r.overlapped for r in fake.requests)


# -- batches of at most 64 tracks -----------------------------------------------------------


async def test_130_tracks_go_out_as_64_64_and_2_merged_in_order(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, peers: PeerFactory
) -> None:
    names = [f"cam-{i:03}" for i in range(130)]
    publisher = fake.publish(names)
    _, viewer = await _endpoints(provider)

    result = await provider.add_tracks(
        viewer, [TrackRequest.remote(publisher, n) for n in names], answer=_answerer(peers())
    )

    assert [r.track_count for r in fake.requests_for("tracks/new")] == [64, 64, 2]
    assert len(fake.requests_for("renegotiate")) == 3  # each SFU offer answered in turn
    assert [t.track_name for t in result.tracks] == names
    assert [t.mid for t in result.tracks] == [str(i) for i in range(130)]
    assert result.failed == () and not result.requires_immediate_renegotiation


async def test_a_large_batch_without_an_answerer_is_refused_before_any_request(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider
) -> None:
    publisher = fake.publish(["cam"])
    tracks = [TrackRequest.remote(publisher, "cam")] * 65
    with pytest.raises(ValueError, match="answer="):
        await provider.add_tracks("some-session", tracks)
    with pytest.raises(ValueError, match="offer covers one request"):
        await provider.add_tracks("some-session", tracks, "v=0", answer=_answerer_never())
    with pytest.raises(ValueError, match="all local or all remote"):
        await provider.add_tracks("s", [TrackRequest.local("a"), TrackRequest.remote("p", "b")])
    assert fake.requests == []


def _answerer_never() -> Answerer:
    async def answer(offer: SessionDescription) -> str:
        raise AssertionError("not expected to be called")

    return answer


async def test_the_fake_refuses_more_than_64_tracks_like_the_api(
    fake: CloudflareFake, client: httpx.AsyncClient
) -> None:
    session = fake.publish([])
    response = await client.post(
        f"http://cloudflare.test/v1/apps/{APP_ID}/sessions/{session}/tracks/new",
        json={"tracks": [{"location": "local", "trackName": f"t{i}"} for i in range(65)]},
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_params"


# -- TURN ------------------------------------------------------------------------------------


async def test_turn_credentials_drop_port_53_and_expire_by_our_clock(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider
) -> None:
    creds = await provider.create_turn_credentials(uuid.uuid4())

    assert fake.issued_ttls == [24 * 3600]
    assert creds.expires_at == NOW + timedelta(hours=24)
    assert creds.username in fake.turn_usernames and creds.password
    assert not any(":53?" in u or u.endswith(":53") for u in creds.urls)
    assert "turn:turn.cloudflare.com:3478?transport=udp" in creds.urls
    assert "turns:turn.cloudflare.com:443?transport=tcp" in creds.urls
    assert "stun:stun.cloudflare.com:3478" in creds.urls


async def test_a_turn_ttl_over_48_hours_is_clamped(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider, client: httpx.AsyncClient
) -> None:
    creds = await provider.issue_turn_credentials(7 * 24 * 3600)
    assert fake.issued_ttls == [48 * 3600]
    assert creds.expires_at == NOW + timedelta(hours=48)

    configured = _provider(client, "http://cloudflare.test", turn_ttl_s=10**6)
    await configured.create_turn_credentials(uuid.uuid4())
    assert fake.issued_ttls[-1] == 48 * 3600
    with pytest.raises(ValueError, match="positive"):
        await provider.issue_turn_credentials(0)


async def test_turn_revoke_succeeds_on_204_only(
    fake: CloudflareFake, provider: CloudflareRealtimeProvider
) -> None:
    creds = await provider.create_turn_credentials(uuid.uuid4())
    await provider.revoke_turn_credentials(creds.username)
    assert fake.revoked_usernames == [creds.username]

    with pytest.raises(MediaProviderError, match=r"turn revoke failed: HTTP 404"):
        await provider.revoke_turn_credentials(creds.username)
    fake.faults.append(Fault(status=200, body=b"{}"))
    with pytest.raises(MediaProviderError, match=r"turn revoke failed: HTTP 200"):
        await provider.revoke_turn_credentials("someone")


# -- HTTP failures and secrets ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(503), r"sessions/new failed: HTTP 503, internal_error: Backend error"),
        (
            Fault(429, b'{"errorCode":"rate_limited"}'),
            r"sessions/new failed: HTTP 429, rate_limited",
        ),
        (Fault(500, b"<html>oops</html>"), r"sessions/new failed: HTTP 500$"),
        (Fault(201, b"not json"), r"sessions/new failed: HTTP 201, body is not a JSON object"),
        (Fault(201, b"[1, 2]"), r"sessions/new failed: HTTP 201, body is not a JSON object"),
        (Fault(201, b"{}"), r"sessions/new failed: no sessionId"),
        (
            Fault(201, b'{"errorCode":"invalid_params","errorDescription":"bad"}'),
            r"sessions/new failed: HTTP 201, invalid_params: bad",
        ),
    ],
)
async def test_http_failures_become_media_provider_errors(
    fake: CloudflareFake, client: httpx.AsyncClient, fault: Fault, expected: str
) -> None:
    provider = _provider(client, "http://cloudflare.test")
    fake.faults.append(fault)
    with pytest.raises(MediaProviderError, match=expected):
        await asyncio.wait_for(provider.create_webrtc_endpoints(uuid.uuid4(), "party"), timeout=10)
    assert provider.lock_count == 0


async def test_a_stalled_request_times_out(fake: CloudflareFake, client: httpx.AsyncClient) -> None:
    provider = _provider(client, "http://cloudflare.test", timeout_s=0.2)
    fake.faults.append(Fault(201, b"{}", delay_s=5.0))
    started = time.monotonic()
    with pytest.raises(MediaProviderError, match=r"sessions/new failed: timed out after 0.2 s"):
        await asyncio.wait_for(provider.new_session(), timeout=10)
    assert time.monotonic() - started < 2


async def test_an_unreachable_api_is_a_media_provider_error() -> None:
    async with httpx.AsyncClient() as client:
        provider = _provider(client, f"http://127.0.0.1:{free_port()}", timeout_s=5)
        with pytest.raises(MediaProviderError, match=r"sessions/get failed: transport error"):
            await provider.get_session("anything")


async def test_the_fake_refuses_a_wrong_secret_and_the_error_says_401(
    client: httpx.AsyncClient,
) -> None:
    provider = _provider(client, "http://cloudflare.test", app_secret="WRONG-SECRET-9d5ed678")
    with pytest.raises(MediaProviderError, match=r"sessions/new failed: HTTP 401, unauthorized"):
        await provider.new_session()


async def test_secrets_never_reach_messages_or_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "WRONG-SECRET-9d5ed678"
    echo = f'{{"errorCode":"unauthorized","errorDescription":"bad token {SECRET} {TURN_TOKEN}"}}'
    fake = CloudflareFake(
        app_id=APP_ID, app_secret=SECRET, turn_key_id=KEY_ID, turn_api_token=TURN_TOKEN
    )
    fake.faults.extend([Fault(401, echo.encode()), Fault(502, echo.encode())])
    errors: list[BaseException] = []
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included, over a real socket
    with structlog.testing.capture_logs() as logs:
        async with serve(fake.app) as url, httpx.AsyncClient() as client:
            provider = _provider(client, url)
            calls = [
                provider.new_session(),
                provider.issue_turn_credentials(60),
                _provider(client, url, app_secret=wrong).new_session(),
            ]
            for call in calls:
                with pytest.raises(MediaProviderError) as caught:
                    await asyncio.wait_for(call, timeout=10)
                errors.append(caught.value)

    assert "[redacted]" in str(errors[0]) and "[redacted]" in str(errors[1])
    assert "HTTP 401" in str(errors[2])
    captured = capsys.readouterr()
    texts = [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(e.__cause__) + repr(e.__context__) for e in errors]
    texts += [str(entry) for entry in logs] + [captured.out, captured.err, caplog.text]
    texts += [str(record.msg) for record in caplog.records] + [repr(provider)]
    everything = "\n".join(texts)
    assert "cloudflare_call_failed" in everything, "failures are logged somewhere"
    assert any(r.name.startswith("httpcore") for r in caplog.records), "DEBUG wire logs seen"
    for secret in (SECRET, TURN_TOKEN, wrong):
        assert secret not in everything, secret


# -- end to end ---------------------------------------------------------------------------


async def test_end_to_end_over_a_loopback_socket(peers: PeerFactory) -> None:
    fake = CloudflareFake(
        app_id=APP_ID, app_secret=SECRET, turn_key_id=KEY_ID, turn_api_token=TURN_TOKEN
    )
    async with serve(fake.app) as url, httpx.AsyncClient() as client:
        provider = _provider(client, url)
        host, viewer = uuid.uuid4(), uuid.uuid4()
        host_cf = (await provider.create_webrtc_endpoints(host, "party")).details["cf_session_id"]
        viewer_cf = (await provider.create_webrtc_endpoints(viewer, "party")).details[
            "cf_session_id"
        ]

        camera = peers()
        offer, (mid,) = await _offer(camera)
        published = await provider.add_tracks(
            host_cf, [TrackRequest.local("camera", mid=mid)], offer
        )
        assert published.failed == () and published.session_description is not None
        answer = published.session_description
        await camera.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
        assert camera.signalingState == "stable"

        pulled = await provider.add_tracks(
            viewer_cf, [TrackRequest.remote(host_cf, "camera")], answer=_answerer(peers())
        )
        assert [(t.track_name, t.session_id) for t in pulled.tracks] == [("camera", host_cf)]

        host_state = await provider.get_session(host_cf)
        assert [(t.location, t.mid, t.track_name, t.status) for t in host_state.tracks] == [
            ("local", mid, "camera", "active")
        ]
        viewer_state = await provider.get_session(viewer_cf)
        assert [(t.location, t.session_id) for t in viewer_state.tracks] == [("remote", host_cf)]

        for session_id in (host, viewer):
            await provider.revoke_endpoints(session_id)
            await provider.revoke_endpoints(session_id)  # twice: not an error
        for cf_session_id in (host_cf, viewer_cf):
            state = await provider.get_session(cf_session_id)
            assert {t.status for t in state.tracks} == {"inactive"}
        assert provider.lock_count == 0
        assert len(fake.requests_for("tracks/close")) == 2
