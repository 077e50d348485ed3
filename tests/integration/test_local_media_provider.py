"""The local MediaProvider with real aiortc peers on loopback: caps held, revoke closes.

A publisher sends 640x360 noise at 30 fps (harder to compress than any camera) plus
audio; a viewer receives through the provider. Tolerances, over a 3 s window:
- frame rate <= cap x 1.1: the window's edges can hold one frame more than the cap;
- bitrate <= cap x 1.1: measured on the viewer's transport (every SRTP/SRTCP byte), so it
  includes RTP, VP8 payload and SRTP headers (about 40 bytes a packet, ~4 % here) on top
  of what the encoder is held to, and the encoder's short overshoot.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from av.video.frame import VideoFrame

from runtime.config import load_config
from runtime.media import LocalMediaProvider, MediaProviderError
from runtime.media.local import loopback_ice
from runtime.media.turn import TurnSecrets

PROFILES = load_config().media.profiles
TOLERANCE = 1.1
WINDOW_S = 6.0
BURST_S = 1.0  # the provider's token bucket may spend one second of the cap at once
WAIT_S = 10.0


class NoiseVideo(VideoStreamTrack):
    """640x360 frames of fresh noise at 30 fps."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(640, 360, "yuv420p")
        frame.planes[0].update(os.urandom(frame.planes[0].buffer_size))
        for plane in frame.planes[1:]:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


async def _offer(pc: RTCPeerConnection) -> str:
    with loopback_ice():
        await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


@dataclass
class Publisher:
    pc: RTCPeerConnection
    answer: str


@dataclass
class Viewer:
    pc: RTCPeerConnection
    answer: str = ""
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)
    frames: list[tuple[float, int, int]] = field(default_factory=list)
    media_s: list[float] = field(default_factory=list)  # each frame's own time (RTP clock)
    task: asyncio.Task[None] | None = None

    async def watch(self) -> None:
        track = self.tracks["video"]
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                self.frames.append((time.monotonic(), frame.width, frame.height))
                self.media_s.append(float(frame.pts * frame.time_base) if frame.time_base else 0.0)
        except MediaStreamError:
            pass

    async def bytes_received(self) -> int:
        stats = await self.pc.getStats()
        return sum(s.bytesReceived for s in stats.values() if s.type == "transport")


@dataclass
class Harness:
    """The provider and the client peers of a test; everything is closed after it."""

    provider: LocalMediaProvider
    peers: list[RTCPeerConnection] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def room(self, profile: str) -> uuid.UUID:
        session = uuid.uuid4()
        await self.provider.create_webrtc_endpoints(session, profile)
        return session

    def peer(self) -> RTCPeerConnection:
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.peers.append(RTCPeerConnection(configuration=config))
        return self.peers[-1]

    async def publisher(self, session: uuid.UUID, who: str) -> Publisher:
        pc = self.peer()
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")  # audio first: mid 0
        pc.addTransceiver(NoiseVideo(), direction="sendonly")
        answer = await self.provider.publish(session, who, await _offer(pc))
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return Publisher(pc, answer)

    async def viewer(self, session: uuid.UUID, who: str, publisher: str) -> Viewer:
        viewer = Viewer(self.peer())
        viewer.pc.addTransceiver("audio", direction="recvonly")
        viewer.pc.addTransceiver("video", direction="recvonly")
        viewer.pc.on("track", lambda track: viewer.tracks.__setitem__(track.kind, track))
        offer = await _offer(viewer.pc)
        viewer.answer = await self.provider.subscribe(session, who, publisher, offer)
        await viewer.pc.setRemoteDescription(RTCSessionDescription(viewer.answer, "answer"))
        viewer.task = asyncio.create_task(viewer.watch())
        self.tasks.append(viewer.task)
        return viewer

    async def close(self) -> None:
        await self.provider.close()
        await asyncio.gather(*(pc.close() for pc in self.peers))
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _section(sdp: str, kind: str) -> str:
    return next(part for part in sdp.split("m=")[1:] if part.startswith(kind))


async def _until(check: Callable[[], object]) -> None:
    """Poll aiortc's states and our frame log, for at most WAIT_S."""
    async with asyncio.timeout(WAIT_S):
        while not check():  # noqa: ASYNC110 - polling third-party state, bounded
            await asyncio.sleep(0.05)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    provider = LocalMediaProvider(PROFILES, TurnSecrets(["north"], ["turn:127.0.0.1:3478"]))
    harness = Harness(provider)
    try:
        yield harness
    finally:
        await harness.close()


async def test_thumb_low_holds_every_cap(harness: Harness) -> None:
    caps = PROFILES["thumb_low"].caps
    session = uuid.uuid4()
    endpoints = await harness.provider.create_webrtc_endpoints(session, "thumb_low")
    assert endpoints.details["provider"] == "local"
    assert endpoints.details["audio"] == "off"
    publisher = await harness.publisher(session, "alice")
    viewer = await harness.viewer(session, "bob", "alice")

    # No audio m-section accepted, either way; nothing to receive.
    # (aiortc keeps no b= line of the SDP it is given: the answers as sent are checked.)
    for sdp in (publisher.answer, viewer.answer):
        assert _section(sdp, "audio").startswith("audio 0 ")
        assert "a=inactive" in _section(sdp, "audio")
        assert f"b=AS:{caps.max_bitrate_kbps}" in _section(sdp, "video")
        assert "127.0.0.1" in sdp and "srflx" not in sdp and "relay" not in sdp
    assert "audio" not in viewer.tracks
    audio_sender = next(t for t in publisher.pc.getTransceivers() if t.kind == "audio")
    assert audio_sender.currentDirection == "inactive"

    await _until(lambda: len(viewer.frames) >= 2)
    await asyncio.sleep(0.5)  # past the first keyframe
    start, bytes_start = time.monotonic(), await viewer.bytes_received()
    await asyncio.sleep(WINDOW_S)
    end, bytes_end = time.monotonic(), await viewer.bytes_received()

    # Rates over the media time the window's frames span, not the wall clock: under load
    # frames held up for a moment arrive together, and per wall second that reads as
    # more than the cap although the stream holds it.
    window = [m for f, m in zip(viewer.frames, viewer.media_s, strict=True) if start <= f[0] < end]
    span = max(window) - min(window) + 1 / caps.fps
    fps = len(window) / span
    kbps = (bytes_end - bytes_start) * 8 / 1000 / max(span, end - start)
    sizes = {(w, h) for _, w, h in viewer.frames}
    print(f"thumb_low received: {fps:.2f} fps, {kbps:.1f} kbps, sizes {sizes}")
    assert sizes == {(caps.resolution.width, caps.resolution.height)}  # 640x360 scaled down
    assert caps.fps * 0.6 <= fps <= caps.fps * TOLERANCE
    # The cap holds on average: over the window, at most the window's bits plus the
    # bucket's one-second burst (a full bucket at the window's start), plus RTP overhead.
    assert 0 < kbps <= caps.max_bitrate_kbps * (WINDOW_S + BURST_S) / WINDOW_S * TOLERANCE


async def test_call_profile_forwards_audio(harness: Harness) -> None:
    caps = PROFILES["call_random_fast"].caps
    session = await harness.room("call_random_fast")
    await harness.publisher(session, "alice")
    viewer = await harness.viewer(session, "bob", "alice")

    assert not _section(viewer.answer, "audio").startswith("audio 0 ")
    assert f"b=AS:{caps.audio.max_bitrate_kbps}" in _section(viewer.answer, "audio")
    assert set(viewer.tracks) == {"audio", "video"}
    async with asyncio.timeout(WAIT_S):
        await viewer.tracks["audio"].recv()
    await _until(lambda: len(viewer.frames) >= 2)
    full = (caps.resolution.width, caps.resolution.height)
    assert {(w, h) for _, w, h in viewer.frames} == {full}  # 640x360 fits: never scaled up


async def test_revoke_closes_every_peer(harness: Harness) -> None:
    session = await harness.room("thumb_low")
    publisher = await harness.publisher(session, "alice")
    viewer = await harness.viewer(session, "bob", "alice")
    await _until(lambda: viewer.frames)

    await harness.provider.revoke_endpoints(session)
    peers = (publisher.pc, viewer.pc)
    await _until(lambda: all(pc.connectionState in ("closed", "failed") for pc in peers))
    assert viewer.task is not None
    async with asyncio.timeout(WAIT_S):
        await viewer.task  # the received track ended
    await harness.provider.revoke_endpoints(session)  # twice: fine
    await harness.provider.revoke_endpoints(uuid.uuid4())  # unknown: fine
    with pytest.raises(MediaProviderError, match="no media room"):
        await harness.viewer(session, "bob", "alice")


async def test_refusals(harness: Harness) -> None:
    provider = harness.provider
    with pytest.raises(MediaProviderError):
        await provider.create_webrtc_endpoints(uuid.uuid4(), "no_such_profile")
    with pytest.raises(MediaProviderError):
        await provider.create_webrtc_endpoints(uuid.uuid4(), "broadcast_hls")  # HLS, not WebRTC

    # call_random_fast: one stream per viewer (max_per_viewer: 1), counted across rooms.
    first, second = await harness.room("call_random_fast"), await harness.room("call_random_fast")
    await harness.publisher(first, "alice")
    await harness.publisher(second, "carol")
    await harness.viewer(first, "bob", "alice")
    with pytest.raises(MediaProviderError, match="all the streams"):
        await harness.viewer(second, "bob", "carol")
    with pytest.raises(MediaProviderError, match="nothing published"):
        await harness.viewer(first, "dave", "nobody")


async def test_turn_credentials_verify(harness: Harness) -> None:
    session = uuid.uuid4()
    credentials = await harness.provider.create_turn_credentials(session)
    assert credentials.username.endswith(f":{session}")
    secrets = TurnSecrets(["north"], ["turn:127.0.0.1:3478"])
    assert secrets.verify(credentials.username, credentials.password, now=time.time())
