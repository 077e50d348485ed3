"""The local MediaProvider: a small SFU on loopback, built on aiortc, that holds media to caps.

Why: ``vvtv up`` needs real WebRTC with nothing to install or pay for, and a media
profile's caps (DESIGN section 5, invariant 3) must hold on the server, not only in a
client that may lie. The numbers come from ``manifests/media-profiles.yaml`` through the
constructor; the planning documents give only ``thumb_low``'s (implementation plan,
phase 2: audio off, 320x180, 8 fps, 180 kbps, 12 tiles per desktop viewer). No cap is
hard-coded here.

Signalling: one offer/answer round trip per peer connection, client first, as WHIP and
WHEP do. ``publish`` takes a peer's sendonly (or sendrecv) offer, ``subscribe`` a viewer's
recvonly offer for one publisher's stream; each returns the answer SDP. Offers carry their
ICE candidates (no trickle). The server gathers host candidates on ``host_addresses``
(127.0.0.1) and has no STUN or TURN server; it bundles every m-section on one transport.
aiortc clients use ``bundlePolicy=max-bundle``: aiortc keeps a separate transport for an
m-section left out of the answer's BUNDLE group, as a rejected one is (browsers drop it).

How the caps are held, in what each viewer receives:

- Audio off (``audio.enabled: false``, or a 0 kbps audio cap): every audio m-section of
  the answer is rejected (port 0, ``a=inactive``, out of the BUNDLE group), to publishers
  and viewers alike: no audio reaches the server, none is forwarded. Any m-section beyond
  the first video and first audio is rejected the same way.
- Video: frames are admitted by their own timestamps, at most ``fps`` a second; scaled
  down to fit ``resolution`` (aspect kept, never scaled up); encoded here in VP8 at a
  constant ``max_bitrate_kbps``, with a token bucket in media time behind the encoder for
  content that defeats its rate control (noise). aiortc's own encoder cannot hold such a
  cap: it clamps its target to 250 kbps and up (500 kbps for H.264), and the receiver's
  estimate (REMB) raises it again. So the forwarded track yields encoded ``av.Packet``s,
  which aiortc's sender only packetizes (its path for ``MediaPlayer(decode=False)``).
  That path ignores keyframe requests (PLI), so a keyframe comes every 2 s.
- Audio on: re-encoded in Opus at ``audio.max_bitrate_kbps`` the same way.
- The answer states ``b=AS``/``b=TIAS`` per kept m-section: aiortc ignores them, browsers
  hold their sending to them (a publisher's upload, before it reaches the server).

Budgets: a viewer (``viewer_id``) holds at most ``max_per_viewer`` subscriptions of a
profile across every room: the manifest's meaning (streams of this profile one viewer
receives at once), so the presence-tile budget holds in the backend too. A room takes at
most ``max_per_viewer + 1`` publishers (all one viewer may watch, plus the viewer) and
``max_peers_per_room`` connections in all. A connection that fails or closes is dropped,
a publisher's viewers with it; revoking closes them all.

aioice internal relied upon: host candidates come from the module function
``aioice.ice.get_host_addresses``, which skips 127.0.0.1. ``loopback_ice`` swaps in one
that answers ``host_addresses`` inside its context only (a ContextVar); elsewhere it
answers as aioice does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fractions
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import av
import structlog
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from av.audio.frame import AudioFrame
from av.frame import Frame
from av.packet import Packet
from av.video.frame import VideoFrame

from generated.config.media_profiles_schema import MediaProfile, ProfileCaps
from runtime.media.provider import Endpoints, MediaProviderError, TurnCredentials
from runtime.media.turn import TurnSecrets

__all__ = ["LocalMediaProvider", "loopback_ice"]

_log = structlog.get_logger(__name__)

_KEYFRAME_EVERY_S = 2  # chosen: a viewer recovers from loss within 2 s (no PLI on this path)
_BURST_S = 1.0  # chosen: a keyframe may borrow up to one second of the video bitrate cap
_TIMELINE_JUMP_S = 1.0  # chosen: a frame this far back in time starts a new timeline
_AUDIO_BACKLOG = 25  # chosen: at most 0.5 s of 20 ms audio frames wait for the encoder
_OPUS_RATE = 48000
_VIDEO_TIME_BASE = fractions.Fraction(1, 90000)  # RTP video clock
_OPUS_TIME_BASE = fractions.Fraction(1, _OPUS_RATE)
_DIRECTIONS = ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")

# --- loopback ICE -------------------------------------------------------------------

_ICE_HOSTS: ContextVar[tuple[str, ...] | None] = ContextVar("vvtv_ice_hosts", default=None)
_aioice_host_addresses = aioice.ice.get_host_addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    hosts = _ICE_HOSTS.get()
    return list(hosts) if hosts is not None else _aioice_host_addresses(use_ipv4, use_ipv6)


@contextlib.contextmanager
def loopback_ice(hosts: Sequence[str] = ("127.0.0.1",)) -> Iterator[None]:
    """Inside this context, aiortc gathers host candidates on ``hosts`` only.

    Wrap ``setLocalDescription`` of in-process aiortc peers (tests, demos) with it; the
    provider wraps its own. Outside the context aioice behaves as it always does.
    """
    aioice.ice.get_host_addresses = _host_addresses
    token = _ICE_HOSTS.set(tuple(hosts))
    try:
        yield
    finally:
        _ICE_HOSTS.reset(token)


# --- SDP ----------------------------------------------------------------------------


def _sections(sdp: str) -> list[list[str]]:
    """The session part, then one list of lines per m-section."""
    parts: list[list[str]] = [[]]
    for line in sdp.splitlines():
        if line.startswith("m="):
            parts.append([])
        if line:
            parts[-1].append(line)
    return parts


def _mid(section: list[str]) -> str | None:
    return next((line[6:] for line in section if line.startswith("a=mid:")), None)


def _rejected(section: list[str]) -> list[str]:
    kind, _port, *rest = section[0].split(" ")
    lines = [" ".join([kind, "0", *rest])]
    return lines + ["a=inactive" if line in _DIRECTIONS else line for line in section[1:]]


def _with_bandwidth(section: list[str], kbps: int) -> list[str]:
    at = next((i + 1 for i, line in enumerate(section) if line.startswith("c=")), 1)
    return [*section[:at], f"b=AS:{kbps}", f"b=TIAS:{kbps * 1000}", *section[at:]]


def _without_mids(line: str, mids: set[str]) -> str:
    if not line.startswith("a=group:BUNDLE"):
        return line
    return " ".join(word for word in line.split(" ") if word not in mids)


def _shape_section(
    section: list[str], mid: str | None, rejected: set[str], bandwidth_kbps: Mapping[str, int]
) -> list[str]:
    if mid is None:
        return section
    if mid in rejected:
        return _rejected(section)
    if mid in bandwidth_kbps:
        return _with_bandwidth(section, bandwidth_kbps[mid])
    return section


def _shape_answer(sdp: str, rejected: set[str], bandwidth_kbps: Mapping[str, int]) -> str:
    """Reject the m-sections of ``rejected`` mids; state each kept section's bandwidth."""
    session, *media = _sections(sdp)
    shaped = [_without_mids(line, rejected) for line in session]
    for section in media:
        shaped += _shape_section(section, _mid(section), rejected, bandwidth_kbps)
    return "\r\n".join(shaped) + "\r\n"


# --- caps on frames -----------------------------------------------------------------


def _fit_within(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest even size within the box that keeps the aspect; never larger."""
    scale = min(1.0, max_width / width, max_height / height)
    if scale == 1.0:
        return width, height
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class _FrameGate:
    """Admits at most ``fps`` frames a second, judged by the frames' own timestamps."""

    def __init__(self, fps: int) -> None:
        self._period = 1.0 / fps
        self._due: float | None = None

    def admit(self, seconds: float) -> bool:
        """Whether the frame at ``seconds`` keeps within the rate."""
        due = self._due
        if due is not None and due - _TIMELINE_JUMP_S <= seconds <= due + self._period:
            if seconds < due - 1e-6:
                return False
            self._due = due + self._period
        else:  # the first frame, a gap, or a new timeline (RTP timestamps wrap)
            self._due = seconds + self._period
        return True


class _BitBudget:
    """A token bucket in media time: ``kbps`` on average, whatever the encoder does.

    The encoder's rate control holds camera content to the cap, but not content made to
    defeat it (noise): a frame is then encoded only while the bucket is not in debt.
    """

    def __init__(self, kbps: int) -> None:
        self._rate = kbps * 1000.0
        self._depth = self._level = self._rate * _BURST_S
        self._at: float | None = None

    def allows(self, seconds: float) -> bool:
        """Refill up to ``seconds``; whether a frame may be encoded now."""
        if self._at is not None:
            elapsed = max(0.0, seconds - self._at)
            self._level = min(self._depth, self._level + self._rate * elapsed)
        self._at = seconds
        return self._level >= 0

    def spend(self, bits: int) -> None:
        self._level -= bits


def _seconds(frame: Frame) -> float:
    return float((frame.pts or 0) * frame.time_base) if frame.time_base else 0.0


class _CappedVideoTrack(MediaStreamTrack):
    """One viewer's video: rate-gated, scaled down, VP8 at the bitrate cap, as packets."""

    kind = "video"

    def __init__(self, caps: ProfileCaps) -> None:
        super().__init__()
        self._caps, self._gate = caps, _FrameGate(caps.fps)
        self._budget = _BitBudget(caps.max_bitrate_kbps)
        self._latest: VideoFrame | None = None
        self._ended = False
        self._ready = asyncio.Event()
        self._codec: av.VideoCodecContext | None = None
        self._index = 0

    def push(self, frame: Frame | None) -> None:
        """Offer the next source frame (``None``: the source ended); the newest wins."""
        if frame is None:
            self._ended = True
        elif isinstance(frame, VideoFrame) and self._gate.admit(_seconds(frame)):
            self._latest = frame
        else:
            return
        self._ready.set()

    async def recv(self) -> Packet[Any]:
        """The next encoded frame; aiortc's sender packetizes it as it is."""
        while True:
            frame = await self._next_frame()
            if not self._budget.allows(_seconds(frame)):
                continue
            packets = await asyncio.get_running_loop().run_in_executor(None, self._encode, frame)
            self._budget.spend(sum(packet.size * 8 for packet in packets))
            if packets:
                return packets[0]  # realtime VP8 without lag: at most one packet a frame

    async def _next_frame(self) -> VideoFrame:
        while self._latest is None:
            if self._ended or self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        frame, self._latest = self._latest, None
        return frame

    def _encode(self, frame: VideoFrame) -> list[Packet[Any]]:
        res = self._caps.resolution
        width, height = _fit_within(frame.width, frame.height, res.width, res.height)
        scaled = frame.reformat(width=width, height=height, format="yuv420p")
        codec = self._encoder(width, height)
        scaled.pts, scaled.time_base = self._index, codec.time_base
        self._index += 1
        packets = list(codec.encode(scaled))
        for packet in packets:
            packet.pts, packet.time_base = frame.pts, frame.time_base or _VIDEO_TIME_BASE
        return packets

    def _encoder(self, width: int, height: int) -> av.VideoCodecContext:
        codec = self._codec
        if codec is None or (codec.width, codec.height) != (width, height):
            codec = self._codec = _vp8_encoder(width, height, self._caps)
        return codec


def _vp8_encoder(width: int, height: int, caps: ProfileCaps) -> av.VideoCodecContext:
    """Constant bitrate at the cap; its nominal rate is the fps cap, so never above it."""
    bits = str(caps.max_bitrate_kbps * 1000)
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate = caps.max_bitrate_kbps * 1000
    codec.framerate = fractions.Fraction(caps.fps)
    codec.time_base = fractions.Fraction(1, caps.fps)
    codec.gop_size = caps.fps * _KEYFRAME_EVERY_S
    codec.qmin, codec.qmax = 2, 63
    codec.thread_count = 1
    codec.options = {
        "bufsize": bits,
        "minrate": bits,
        "maxrate": bits,
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",
        "undershoot-pct": "100",
        "overshoot-pct": "15",
        "static-thresh": "1",
    }
    return codec


class _CappedAudioTrack(MediaStreamTrack):
    """One viewer's audio: Opus at the audio bitrate cap, as packets."""

    kind = "audio"

    def __init__(self, caps: ProfileCaps) -> None:
        super().__init__()
        self._frames: collections.deque[AudioFrame] = collections.deque(maxlen=_AUDIO_BACKLOG)
        self._packets: collections.deque[Packet[Any]] = collections.deque()
        self._ended = False
        self._ready = asyncio.Event()
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.bit_rate = caps.audio.max_bitrate_kbps * 1000
        self._codec.format, self._codec.layout = "s16", "stereo"
        self._codec.sample_rate, self._codec.time_base = _OPUS_RATE, _OPUS_TIME_BASE
        self._codec.options = {"application": "voip"}
        self._resampler = av.AudioResampler("s16", "stereo", _OPUS_RATE, frame_size=960)
        self._first_pts: int | None = None

    def push(self, frame: Frame | None) -> None:
        """Offer the next source frame (``None``: the source ended); the oldest is dropped."""
        if frame is None:
            self._ended = True
        elif isinstance(frame, AudioFrame):
            self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> Packet[Any]:
        """The next Opus packet."""
        while not self._packets:
            while not self._frames:
                if self._ended or self.readyState != "live":
                    raise MediaStreamError
                self._ready.clear()
                await self._ready.wait()
            self._encode(self._frames.popleft())
        return self._packets.popleft()

    def _encode(self, frame: AudioFrame) -> None:
        for resampled in self._resampler.resample(frame):
            for packet in self._codec.encode(resampled):
                if self._first_pts is None:  # libopus starts below zero (its pre-skip)
                    self._first_pts = packet.pts or 0
                packet.pts = (packet.pts or 0) - self._first_pts
                packet.time_base = _OPUS_TIME_BASE
                self._packets.append(packet)


class _Fanout:
    """Reads one source track from the start, so nothing piles up, and feeds its viewers."""

    def __init__(self, source: MediaStreamTrack) -> None:
        self._sinks: list[_CappedVideoTrack | _CappedAudioTrack] = []
        self._task = asyncio.create_task(self._run(source))

    def attach(self, sink: _CappedVideoTrack | _CappedAudioTrack) -> None:
        self._sinks.append(sink)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.wait([self._task])  # without swallowing a cancellation of our caller

    async def _run(self, source: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await source.recv()
                self._feed(frame if isinstance(frame, Frame) else None)
        except MediaStreamError:
            pass
        finally:
            self._feed(None)

    def _feed(self, frame: Frame | None) -> None:
        self._sinks = [sink for sink in self._sinks if sink.readyState == "live"]
        for sink in self._sinks:
            sink.push(frame)


# --- rooms --------------------------------------------------------------------------


@dataclass(eq=False)
class _Publisher:
    pc: RTCPeerConnection
    video: _Fanout
    audio: _Fanout | None


@dataclass(eq=False)
class _Subscription:
    pc: RTCPeerConnection
    publisher_id: str


@dataclass(eq=False)
class _Room:
    profile_name: str
    caps: ProfileCaps
    publishers: dict[str, _Publisher] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], _Subscription] = field(default_factory=dict)

    def peers(self) -> int:
        return len(self.publishers) + len(self.subscriptions)


def _details(session_id: uuid.UUID, profile: MediaProfile, hosts: Sequence[str]) -> dict[str, str]:
    caps = profile.caps
    return {
        "provider": "local",
        "room": str(session_id),
        "signalling": "sdp-offer-answer; publish: sendonly offer; subscribe: recvonly offer",
        "ice": f"host candidates on {','.join(hosts)}; no trickle; max-bundle",
        "video_codec": "VP8",
        "max_resolution": f"{caps.resolution.width}x{caps.resolution.height}",
        "max_fps": str(caps.fps),
        "max_bitrate_kbps": str(caps.max_bitrate_kbps),
        "audio": "on" if _audio_on(caps) else "off",
        "max_per_viewer": str(caps.max_per_viewer),
    }


class LocalMediaProvider:
    """A loopback SFU: rooms per session, publishers and viewers held to a profile's caps."""

    def __init__(
        self,
        profiles: Mapping[str, MediaProfile],
        turn: TurnSecrets,
        *,
        host_addresses: Sequence[str] = ("127.0.0.1",),
        max_peers_per_room: int = 32,  # chosen: a safety bound for one process, not a product cap
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._profiles, self._turn, self._clock = dict(profiles), turn, clock
        self._hosts, self._max_peers = tuple(host_addresses), max_peers_per_room
        self._rooms: dict[uuid.UUID, _Room] = {}
        self._dropping: set[asyncio.Task[None]] = set()

    # -- the MediaProvider port

    async def create_webrtc_endpoints(self, session_id: uuid.UUID, profile_name: str) -> Endpoints:
        """Open the session's room at the profile's caps; again with the same profile: same room."""
        profile = self._profiles.get(profile_name)
        if profile is None or profile.transport != "webrtc":
            raise MediaProviderError(f"no WebRTC media profile {profile_name!r}")
        room = self._rooms.setdefault(session_id, _Room(profile_name, profile.caps))
        if room.profile_name != profile_name:
            raise MediaProviderError(f"session {session_id} has a room at {room.profile_name!r}")
        _log.info("media room open", session_id=str(session_id), profile=profile_name)
        return Endpoints(session_id, profile_name, _details(session_id, profile, self._hosts))

    async def revoke_endpoints(
        self, session_id: uuid.UUID, details: Mapping[str, str] | None = None
    ) -> None:
        """Close every connection of the session and forget it; unknown sessions are fine.

        ``details`` are not needed: rooms live in this process and end with it.
        """
        room = self._rooms.pop(session_id, None)
        if room is None:
            return
        publishers = list(room.publishers.values())
        subscriptions = list(room.subscriptions.values())
        room.publishers.clear()
        room.subscriptions.clear()
        await _close(publishers, subscriptions)
        _log.info(
            "media room revoked", session_id=str(session_id), peers=len(publishers + subscriptions)
        )

    async def create_turn_credentials(self, session_id: uuid.UUID) -> TurnCredentials:
        """TURN REST credentials for the session's participants."""
        return self._turn.issue(str(session_id), now=self._clock())

    async def close(self) -> None:
        """Revoke every room (at shutdown) and wait for connections being dropped."""
        for session_id in list(self._rooms):
            await self.revoke_endpoints(session_id)
        await asyncio.gather(*self._dropping)

    # -- signalling

    async def publish(self, session_id: uuid.UUID, participant_id: str, offer_sdp: str) -> str:
        """Take a participant's offer that sends video (and audio); return the answer SDP.

        The first video m-section is received; the first audio one too when the profile
        has audio, otherwise it is rejected. Publishing again replaces the participant's
        previous stream and closes its viewers. Refusals raise ``MediaProviderError``.
        """
        room = self._room(session_id)
        self._check_publisher_slot(room, participant_id)
        pc = _peer_connection()
        async with _closed_on_error(pc):
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            video = _first(pc, "video")
            if video is None:
                raise MediaProviderError("the offer sends no video")
            audio = _first(pc, "audio") if _audio_on(room.caps) else None
            answer = await self._answer(pc, room.caps, video, audio)
            self._check_still_open(session_id, room)
        previous = _detach_publisher(room, participant_id)
        room.publishers[participant_id] = _Publisher(
            pc, _Fanout(video.receiver.track), _Fanout(audio.receiver.track) if audio else None
        )
        self._watch(pc, lambda: self._drop_publisher(room, participant_id, pc))
        _log.info("media published", session_id=str(session_id), participant=participant_id)
        await _close(*previous)
        return answer

    async def subscribe(
        self, session_id: uuid.UUID, viewer_id: str, publisher_id: str, offer_sdp: str
    ) -> str:
        """Take a viewer's recvonly offer for one publisher's stream; return the answer SDP.

        The viewer receives that publisher's video (and audio, when the profile has it)
        held to the caps. Subscribing again to the same publisher replaces the previous
        subscription. Refusals raise ``MediaProviderError``.
        """
        room = self._room(session_id)
        publisher = self._check_subscription(room, viewer_id, publisher_id)
        pc = _peer_connection()
        video_track = _CappedVideoTrack(room.caps)
        wants_audio = _audio_on(room.caps) and publisher.audio is not None
        audio_track = _CappedAudioTrack(room.caps) if wants_audio else None
        async with _closed_on_error(pc):
            video, audio = _viewer_transceivers(pc, _kinds(offer_sdp), video_track, audio_track)
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            answer = await self._answer(pc, room.caps, video, audio)
            self._check_still_open(session_id, room)
            if room.publishers.get(publisher_id) is not publisher:
                raise MediaProviderError(f"{publisher_id!r} stopped publishing")
        key = (viewer_id, publisher_id)
        previous = room.subscriptions.pop(key, None)
        room.subscriptions[key] = _Subscription(pc, publisher_id)
        publisher.video.attach(video_track)
        if publisher.audio is not None and audio_track is not None and audio is not None:
            publisher.audio.attach(audio_track)
        self._watch(pc, lambda: self._drop_subscription(room, key, pc))
        _log.info(
            "media subscribed", session_id=str(session_id), viewer=viewer_id, publisher=publisher_id
        )
        await _close([], [previous] if previous else [])
        return answer

    # -- internals

    def _room(self, session_id: uuid.UUID) -> _Room:
        room = self._rooms.get(session_id)
        if room is None:
            raise MediaProviderError(f"no media room for session {session_id}")
        return room

    def _check_still_open(self, session_id: uuid.UUID, room: _Room) -> None:
        if self._rooms.get(session_id) is not room:
            raise MediaProviderError(f"session {session_id} was revoked meanwhile")

    def _check_publisher_slot(self, room: _Room, participant_id: str) -> None:
        if participant_id in room.publishers:
            return  # a replacement takes the same slot
        if len(room.publishers) > room.caps.max_per_viewer:
            raise MediaProviderError("the room has all the publishers its profile allows")
        if room.peers() >= self._max_peers:
            raise MediaProviderError("the room is full")

    def _check_subscription(self, room: _Room, viewer_id: str, publisher_id: str) -> _Publisher:
        publisher = room.publishers.get(publisher_id)
        if publisher is None or viewer_id == publisher_id:
            raise MediaProviderError(f"nothing published by {publisher_id!r} to watch")
        if (viewer_id, publisher_id) in room.subscriptions:
            return publisher  # a replacement takes the same slot
        if self._streams_of(viewer_id, room.profile_name) >= room.caps.max_per_viewer:
            raise MediaProviderError(f"{viewer_id!r} already receives all the streams allowed")
        if room.peers() >= self._max_peers:
            raise MediaProviderError("the room is full")
        return publisher

    def _streams_of(self, viewer_id: str, profile_name: str) -> int:
        rooms = (room for room in self._rooms.values() if room.profile_name == profile_name)
        return sum(viewer == viewer_id for room in rooms for viewer, _ in room.subscriptions)

    async def _answer(
        self,
        pc: RTCPeerConnection,
        caps: ProfileCaps,
        video: RTCRtpTransceiver,
        audio: RTCRtpTransceiver | None,
    ) -> str:
        """Answer with ``video`` and ``audio`` kept and every other m-section rejected."""
        kept = {video: caps.max_bitrate_kbps}
        if audio is not None:
            kept[audio] = caps.audio.max_bitrate_kbps
        others = [t for t in pc.getTransceivers() if t not in kept]
        for transceiver in others:
            transceiver.direction = "inactive"
        with loopback_ice(self._hosts):
            await pc.setLocalDescription(await pc.createAnswer())
        rejected = {t.mid for t in others if t.mid}
        bandwidth = {t.mid: kbps for t, kbps in kept.items() if t.mid}
        return _shape_answer(pc.localDescription.sdp, rejected, bandwidth)

    def _watch(self, pc: RTCPeerConnection, drop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Drop the connection once it fails or closes."""

        def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                _log.info("media peer gone", state=pc.connectionState)
                task = asyncio.ensure_future(drop())
                self._dropping.add(task)
                task.add_done_callback(self._dropping.discard)

        pc.on("connectionstatechange", changed)

    async def _drop_publisher(
        self, room: _Room, participant_id: str, pc: RTCPeerConnection
    ) -> None:
        current = room.publishers.get(participant_id)
        if current is not None and current.pc is pc:
            await _close(*_detach_publisher(room, participant_id))

    async def _drop_subscription(
        self, room: _Room, key: tuple[str, str], pc: RTCPeerConnection
    ) -> None:
        current = room.subscriptions.get(key)
        if current is not None and current.pc is pc:
            del room.subscriptions[key]
            await pc.close()


def _audio_on(caps: ProfileCaps) -> bool:
    return caps.audio.enabled and caps.audio.max_bitrate_kbps > 0


def _peer_connection() -> RTCPeerConnection:
    """No STUN or TURN server: host candidates only; one transport for every m-section."""
    config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    return RTCPeerConnection(configuration=config)


@contextlib.asynccontextmanager
async def _closed_on_error(pc: RTCPeerConnection) -> AsyncIterator[None]:
    """Close ``pc`` on any failure; aiortc's own errors become ``MediaProviderError``."""
    try:
        yield
    except MediaProviderError:
        await pc.close()
        raise
    except Exception as exc:
        await pc.close()
        raise MediaProviderError(f"negotiation failed: {exc}") from exc
    except BaseException:
        await pc.close()
        raise


def _first(pc: RTCPeerConnection, kind: str) -> RTCRtpTransceiver | None:
    """The first transceiver of ``kind`` the remote peer sends on (aiortc made it a track)."""
    sent = (t for t in pc.getTransceivers() if t.kind == kind and t.mid)
    return next((t for t in sent if t.receiver.track is not None), None)


def _kinds(sdp: str) -> list[str]:
    """The media kinds of an offer's m-sections, in order."""
    return [section[0][2:].split(" ")[0] for section in _sections(sdp)[1:]]


def _viewer_transceivers(
    pc: RTCPeerConnection,
    kinds: Sequence[str],
    video_track: _CappedVideoTrack,
    audio_track: _CappedAudioTrack | None,
) -> tuple[RTCRtpTransceiver, RTCRtpTransceiver | None]:
    """One transceiver per offered audio/video m-section, in the offer's order.

    Made before the offer is applied, so that the codec preferences hold in the answer
    and the first transceiver is the first of the offer's BUNDLE group, as aiortc needs
    with max-bundle. Sections that carry nothing for the viewer get inactive ones.
    """
    if "video" not in kinds:
        raise MediaProviderError("the offer receives no video")
    if kinds[0] not in ("audio", "video"):
        raise MediaProviderError("the offer must start with an audio or video m-section")
    video = audio = None
    for kind in kinds:
        if kind == "video" and video is None:
            video = _sending(pc, video_track, "video/VP8")
        elif kind == "audio" and audio is None and audio_track is not None:
            audio = _sending(pc, audio_track, "audio/opus")
        elif kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="inactive")
    assert video is not None
    return video, audio


def _sending(
    pc: RTCPeerConnection, track: _CappedVideoTrack | _CappedAudioTrack, mime_type: str
) -> RTCRtpTransceiver:
    """A sendonly transceiver that negotiates only the codec the track encodes."""
    transceiver = pc.addTransceiver(track, direction="sendonly")
    wanted = {mime_type.lower(), f"{track.kind}/rtx"}
    codecs = RTCRtpSender.getCapabilities(track.kind).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in wanted])
    return transceiver


def _detach_publisher(
    room: _Room, participant_id: str
) -> tuple[list[_Publisher], list[_Subscription]]:
    """Take a publisher and its viewers out of the room, to be closed."""
    publisher = room.publishers.pop(participant_id, None)
    keys = [k for k, sub in room.subscriptions.items() if sub.publisher_id == participant_id]
    return ([publisher] if publisher else []), [room.subscriptions.pop(k) for k in keys]


async def _close(publishers: Sequence[_Publisher], subscriptions: Sequence[_Subscription]) -> None:
    closing = [sub.pc.close() for sub in subscriptions] + [pub.pc.close() for pub in publishers]
    fanouts = [f for pub in publishers for f in (pub.video, pub.audio) if f is not None]
    await asyncio.gather(*closing, *(fanout.close() for fanout in fanouts))
