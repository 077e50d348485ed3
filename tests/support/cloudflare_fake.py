"""A local stand-in for Cloudflare Realtime's HTTPS API (SFU and TURN), as a real ASGI app.

Why: the Cloudflare adapter must be tested against something that speaks the published
wire format (paths, bodies, status codes, per-track ``errorCode``) without an account
or the network. This fake keeps sessions and tracks in memory, answers SDP with a real
aiortc ``RTCPeerConnection`` per session (so answers and SFU offers are valid SDP),
and records every request with its start and end so tests can check that mutations of
one session never overlapped.

Documented behaviour it mirrors (see ``runtime/media/cloudflare.py`` for sources): 201
from ``sessions/new``; per-track errors inside a 200; ``close_track_error`` for a track
that is absent or already closed; at most 64 tracks per ``tracks/new``, all local or all
remote; an SFU offer must be answered through ``renegotiate`` before the next mutation;
``generate-ice-servers`` answers 201 with port-53 URLs among others; revoke answers 204.
Its own guesses (Cloudflare does not document them): 400 ``invalid_params`` for a batch
over the limit, 410 ``session_error`` for an unknown session, 406
``invalid_session_description`` for an SDP out of order, 404 for revoking an unknown
TURN username, and the TURN error bodies.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import uvicorn
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy
from litestar import Litestar, Request, Response, get, post, put
from litestar.params import FromPath

from tests.support.net import free_port

__all__ = ["CloudflareFake", "Fault", "FakeTrack", "RecordedRequest", "serve"]

_Json: TypeAlias = dict[str, Any]
_Reply: TypeAlias = tuple[int, _Json]
_Work: TypeAlias = Callable[["_FakeSession | None", _Json], Awaitable[_Reply]]

MAX_TRACKS = 64
MAX_TTL_S = 48 * 3600
_JSON = "application/json"
_NO_SESSION_OPS = frozenset({"sessions/new", "turn/generate", "turn/revoke"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake served, with monotonic start and end times."""

    method: str
    operation: str
    session_id: str | None
    track_count: int
    status: int
    started: float
    ended: float
    overlapped: bool

    @property
    def mutation(self) -> bool:
        """Changes an existing SFU session (what Cloudflare wants serialized)."""
        return self.method != "GET" and self.operation not in _NO_SESSION_OPS


@dataclass(frozen=True)
class Fault:
    """A canned answer for the next request: an upstream error, junk, or a stall."""

    status: int = 503
    body: bytes = b'{"errorCode":"internal_error","errorDescription":"Backend error"}'
    delay_s: float = 0.0


@dataclass
class FakeTrack:
    """A track as the fake keeps it."""

    location: str
    mid: str
    track_name: str
    kind: str = "video"
    session_id: str | None = None
    status: str = "active"

    def to_wire(self) -> _Json:
        wire: _Json = {"location": self.location, "mid": self.mid, "trackName": self.track_name}
        if self.session_id is not None:
            wire["sessionId"] = self.session_id
        return {**wire, "status": self.status}


class _RefusalError(Exception):
    """Ends a request with a top-level Cloudflare error."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.body = status, {"errorCode": code, "errorDescription": description}


@dataclass
class _FakeSession:
    id: str
    tracks: dict[str, FakeTrack] = field(default_factory=dict)
    in_flight: int = 0
    _pc: RTCPeerConnection | None = None

    @property
    def pc(self) -> RTCPeerConnection:
        if self._pc is None:
            config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
            self._pc = RTCPeerConnection(config)
        return self._pc

    def offer_pending(self) -> bool:
        return self._pc is not None and self._pc.signalingState == "have-local-offer"

    async def answer(self, offer_sdp: str) -> str:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except ValueError as exc:
            raise _RefusalError(406, "invalid_session_description", str(exc)) from exc
        return _local_sdp(self.pc)

    async def offer(self, kinds: list[str], direction: str) -> tuple[list[str], str]:
        added = [self.pc.addTransceiver(kind, direction=direction) for kind in kinds]
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return [str(t.mid) for t in added], _local_sdp(self.pc)

    async def accept(self, answer_sdp: str) -> None:
        if not self.offer_pending():
            raise _RefusalError(406, "invalid_session_description", "no SFU offer is waiting")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except ValueError as exc:
            raise _RefusalError(406, "invalid_session_description", str(exc)) from exc

    async def close(self) -> None:
        if self._pc is not None:
            await self._pc.close()


def _local_sdp(pc: RTCPeerConnection) -> str:
    description = pc.localDescription
    assert description is not None
    return description.sdp


def _sdp_of(body: _Json, expected: str) -> str | None:
    description = body.get("sessionDescription")
    if description is None:
        return None
    if not isinstance(description, dict) or description.get("type") != expected:
        raise _RefusalError(400, "invalid_params", f"sessionDescription must be an {expected}")
    sdp = description.get("sdp")
    if not isinstance(sdp, str):
        raise _RefusalError(400, "decoding_error", "sessionDescription.sdp must be a string")
    return sdp


def _tracks_of(body: _Json) -> list[_Json]:
    tracks = body.get("tracks")
    if not isinstance(tracks, list) or not all(isinstance(t, dict) for t in tracks):
        raise _RefusalError(400, "decoding_error", "tracks must be an array of objects")
    if len(tracks) > MAX_TRACKS:
        raise _RefusalError(400, "invalid_params", f"Expecting at most {MAX_TRACKS} tracks")
    return tracks


def _track_error(track: _Json, code: str, description: str) -> _Json:
    keep: _Json = {k: track[k] for k in ("trackName", "mid", "sessionId") if k in track}
    return {**keep, "errorCode": code, "errorDescription": description}


class CloudflareFake:
    """Sessions, tracks and TURN credentials in memory behind Cloudflare's paths."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        turn_key_id: str,
        turn_api_token: str,
        mutation_delay_s: float = 0.0,
    ) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.turn_key_id, self.turn_api_token = turn_key_id, turn_api_token
        self.mutation_delay_s = mutation_delay_s
        self.failing_tracks: dict[str, str] = {}  # trackName -> errorCode it gets
        self.failing_close_mids: set[str] = set()
        self.faults: deque[Fault] = deque()
        self.requests: list[RecordedRequest] = []
        self.issued_ttls: list[int] = []
        self.turn_usernames: set[str] = set()
        self.revoked_usernames: list[str] = []
        self.sessions: dict[str, _FakeSession] = {}
        self.app = self._build_app()

    # -- what tests use -------------------------------------------------------------

    def publish(self, track_names: list[str], kind: str = "video") -> str:
        """A session that already publishes ``track_names`` (arranged, not negotiated)."""
        session = self._new_session()
        for mid, name in enumerate(track_names):
            session.tracks[str(mid)] = FakeTrack("local", str(mid), name, kind)
        return session.id

    def requests_for(self, operation: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.operation == operation]

    def overlaps(self) -> list[tuple[RecordedRequest, RecordedRequest]]:
        """Pairs of mutations of one session whose time intervals intersect."""
        mutations = sorted((r for r in self.requests if r.mutation), key=lambda r: r.started)
        return [
            (a, b)
            for i, a in enumerate(mutations)
            for b in mutations[i + 1 :]
            if a.session_id == b.session_id and b.started < a.ended
        ]

    async def aclose(self) -> None:
        """Close every aiortc peer connection the fake opened."""
        for session in self.sessions.values():
            await session.close()

    # -- plumbing -------------------------------------------------------------------

    def _new_session(self) -> _FakeSession:
        session = _FakeSession(uuid.uuid4().hex)
        self.sessions[session.id] = session
        return session

    def _check_auth(self, request: Request[Any, Any, Any], token: str) -> None:
        if request.headers.get("authorization") != f"Bearer {token}":
            raise _RefusalError(401, "unauthorized", "The app secret was not accepted")

    async def _serve(
        self,
        request: Request[Any, Any, Any],
        operation: str,
        session_id: str | None,
        work: _Work,
        *,
        turn: bool = False,
    ) -> Response[Any]:
        started = time.monotonic()
        session = self.sessions.get(session_id) if session_id else None
        mutating = session is not None and request.method != "GET"
        overlapped = mutating and session is not None and session.in_flight > 0
        if mutating and session is not None:
            session.in_flight += 1
        status, count = 500, 0
        try:
            status, count, response = await self._answer(request, session_id, work, turn=turn)
            return response
        finally:
            if mutating and session is not None:
                session.in_flight -= 1
            ended = time.monotonic()
            self.requests.append(
                RecordedRequest(
                    request.method, operation, session_id, count, status, started, ended, overlapped
                )
            )

    async def _answer(
        self, request: Request[Any, Any, Any], session_id: str | None, work: _Work, *, turn: bool
    ) -> tuple[int, int, Response[Any]]:
        count = 0
        try:
            self._check_auth(request, self.turn_api_token if turn else self.app_secret)
            if self.faults:
                fault = self.faults.popleft()
                await asyncio.sleep(fault.delay_s)
                response = Response(fault.body, status_code=fault.status, media_type=_JSON)
                return fault.status, 0, response
            body = await self._body(request)
            tracks = body.get("tracks")
            count = len(tracks) if isinstance(tracks, list) else 0
            session = self.sessions.get(session_id) if session_id else None
            if session_id is not None and session is None:
                raise _RefusalError(410, "session_error", "Session not found or expired")
            if session is not None and request.method != "GET":
                await asyncio.sleep(self.mutation_delay_s)
            status, payload = await work(session, body)
            return status, count, _respond(status, payload)
        except _RefusalError as refusal:
            return refusal.status, count, _respond(refusal.status, refusal.body)

    async def _body(self, request: Request[Any, Any, Any]) -> _Json:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _RefusalError(400, "decoding_error", "The request could not be decoded") from exc
        if not isinstance(body, dict):
            raise _RefusalError(400, "decoding_error", "The request could not be decoded")
        return body

    def _check_app(self, app_id: str) -> None:
        if app_id != self.app_id:
            raise _RefusalError(404, "not_found", "App not found")

    # -- operations -------------------------------------------------------------------

    async def _new(self, _: _FakeSession | None, body: _Json) -> _Reply:
        offer = _sdp_of(body, "offer")
        session = self._new_session()
        reply: _Json = {"sessionId": session.id}
        if offer is not None:
            reply["sessionDescription"] = {"type": "answer", "sdp": await session.answer(offer)}
        return 201, reply

    async def _tracks_new(self, session: _FakeSession | None, body: _Json) -> _Reply:
        assert session is not None
        tracks = _tracks_of(body)
        locations = {t.get("location") for t in tracks}
        if len(locations) > 1 or not locations <= {"local", "remote"}:
            raise _RefusalError(400, "invalid_params", "tracks must be all local or all remote")
        if session.offer_pending():
            raise _RefusalError(
                406, "invalid_session_description", "an SFU offer awaits its answer"
            )
        offer = _sdp_of(body, "offer")
        if locations == {"remote"}:
            if offer is not None:
                raise _RefusalError(400, "invalid_params", "the fake does not model remote + offer")
            return await self._pull(session, tracks)
        return await self._push(session, tracks, offer)

    async def _push(self, session: _FakeSession, tracks: list[_Json], offer: str | None) -> _Reply:
        if offer is None:
            return await self._push_sfu_offer(session, tracks)
        answer = await session.answer(offer)
        results = []
        for track in tracks:
            name, mid = str(track.get("trackName", "")), str(track.get("mid", ""))
            if name in self.failing_tracks:
                results.append(_track_error(track, self.failing_tracks[name], "refused (fake)"))
                continue
            session.tracks[mid] = FakeTrack("local", mid, name, str(track.get("kind", "video")))
            results.append({"trackName": name, "mid": mid})
        reply = {"requiresImmediateRenegotiation": False, "tracks": results}
        return 200, {**reply, "sessionDescription": {"type": "answer", "sdp": answer}}

    async def _push_sfu_offer(self, session: _FakeSession, tracks: list[_Json]) -> _Reply:
        names = [str(t.get("trackName", "")) for t in tracks]
        accepted = [(n, str(t.get("kind", "video"))) for n, t in zip(names, tracks, strict=True)]
        accepted = [(n, k) for n, k in accepted if n not in self.failing_tracks]
        mids, sdp = (
            await session.offer([k for _, k in accepted], "recvonly") if accepted else ([], "")
        )
        done: dict[str, _Json] = {}
        for (name, kind), mid in zip(accepted, mids, strict=True):
            session.tracks[mid] = FakeTrack("local", mid, name, kind)
            done[name] = {"trackName": name, "mid": mid}
        results = [
            done.get(n) or _track_error(t, self.failing_tracks[n], "refused (fake)")
            for n, t in zip(names, tracks, strict=True)
        ]
        return _offer_reply_of(results, sdp if accepted else None)

    async def _pull(self, session: _FakeSession, tracks: list[_Json]) -> _Reply:
        results: list[_Json] = [self._pull_problem(t) or {} for t in tracks]
        found = [(i, self._published(t)) for i, t in enumerate(tracks) if not results[i]]
        kinds = [source.kind for _, source in found]
        mids, sdp = await session.offer(kinds, "sendonly") if found else ([], "")
        for (index, source), mid in zip(found, mids, strict=True):
            publisher = str(tracks[index]["sessionId"])
            session.tracks[mid] = FakeTrack(
                "remote", mid, source.track_name, source.kind, publisher
            )
            results[index] = {"sessionId": publisher, "trackName": source.track_name, "mid": mid}
        return _offer_reply_of(results, sdp if found else None)

    def _pull_problem(self, track: _Json) -> _Json | None:
        name = str(track.get("trackName", ""))
        if name in self.failing_tracks:
            return _track_error(track, self.failing_tracks[name], "refused (fake)")
        try:
            self._published(track)
        except KeyError:
            return _track_error(track, "not_found_track_error", "Track not found")
        return None

    def _published(self, track: _Json) -> FakeTrack:
        publisher = self.sessions[str(track.get("sessionId"))]
        for candidate in publisher.tracks.values():
            live = candidate.location == "local" and candidate.status == "active"
            if live and candidate.track_name == track.get("trackName"):
                return candidate
        raise KeyError(track.get("trackName"))

    async def _renegotiate(self, session: _FakeSession | None, body: _Json) -> _Reply:
        assert session is not None
        answer = _sdp_of(body, "answer")
        if answer is None:
            raise _RefusalError(400, "invalid_params", "renegotiate needs an answer")
        await session.accept(answer)
        return 200, {}

    async def _close(self, session: _FakeSession | None, body: _Json) -> _Reply:
        assert session is not None
        tracks, force = _tracks_of(body), body.get("force")
        if not isinstance(force, bool) or not tracks:
            raise _RefusalError(
                400, "invalid_params", "tracks (at least one) and force are required"
            )
        offer = _sdp_of(body, "offer")
        if not force and offer is None:
            raise _RefusalError(400, "invalid_params", "a negotiated close needs an offer")
        results = [self._close_one(session, str(t.get("mid", ""))) for t in tracks]
        reply: _Json = {"requiresImmediateRenegotiation": False, "tracks": results}
        if offer is not None:
            reply["sessionDescription"] = {"type": "answer", "sdp": await session.answer(offer)}
        return 200, reply

    def _close_one(self, session: _FakeSession, mid: str) -> _Json:
        if mid in self.failing_close_mids:
            return {"mid": mid, "errorCode": "internal_error", "errorDescription": "Backend error"}
        track = session.tracks.get(mid)
        if track is None or track.status != "active":
            return {
                "mid": mid,
                "errorCode": "close_track_error",
                "errorDescription": "Track doesn't exist or was already closed",
            }
        track.status = "inactive"
        return {"mid": mid}

    async def _update(self, session: _FakeSession | None, body: _Json) -> _Reply:
        assert session is not None
        results = []
        for track in _tracks_of(body):
            current = session.tracks.get(str(track.get("mid")))
            if current is None:
                results.append(_track_error(track, "update_track_error", "Unknown mid"))
                continue
            current.track_name = str(track.get("trackName", current.track_name))
            current.session_id = track.get("sessionId", current.session_id)
            results.append({k: track[k] for k in ("mid", "sessionId", "trackName") if k in track})
        return 200, {"requiresImmediateRenegotiation": False, "tracks": results}

    async def _state(self, session: _FakeSession | None, _: _Json) -> _Reply:
        assert session is not None
        return 200, {"tracks": [t.to_wire() for t in session.tracks.values()], "dataChannels": []}

    async def _generate(self, _: _FakeSession | None, body: _Json) -> _Reply:
        ttl = body.get("ttl")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 < ttl <= MAX_TTL_S:
            raise _RefusalError(400, "invalid_params", f"ttl must be 1..{MAX_TTL_S} seconds")
        username, credential = secrets.token_hex(48), secrets.token_hex(48)
        self.issued_ttls.append(ttl)
        self.turn_usernames.add(username)
        return 201, {"iceServers": _ice_servers(username, credential)}

    def _revoke(self, username: str) -> _Work:
        async def revoke(_: _FakeSession | None, __: _Json) -> _Reply:
            if username not in self.turn_usernames:
                raise _RefusalError(404, "not_found", "Unknown credential")
            self.turn_usernames.discard(username)
            self.revoked_usernames.append(username)
            return 204, {}

        return revoke

    # -- routes -----------------------------------------------------------------------

    def _build_app(self) -> Litestar:
        fake = self
        apps = "/v1/apps/{app_id:str}/sessions"
        keys = "/v1/turn/keys/{key_id:str}/credentials"

        async def app_call(
            request: Request[Any, Any, Any], app_id: str, op: str, sid: str | None, work: _Work
        ) -> Response[Any]:
            async def checked(session: _FakeSession | None, body: _Json) -> _Reply:
                fake._check_app(app_id)
                return await work(session, body)

            return await fake._serve(request, op, sid, checked)

        async def turn_call(
            request: Request[Any, Any, Any], key_id: str, op: str, work: _Work
        ) -> Response[Any]:
            async def checked(session: _FakeSession | None, body: _Json) -> _Reply:
                if key_id != fake.turn_key_id:
                    raise _RefusalError(404, "not_found", "Unknown TURN key")
                return await work(session, body)

            return await fake._serve(request, op, None, checked, turn=True)

        @post(f"{apps}/new")
        async def new_session(
            request: Request[Any, Any, Any], app_id: FromPath[str]
        ) -> Response[Any]:
            return await app_call(request, app_id, "sessions/new", None, fake._new)

        @post(f"{apps}/{{session_id:str}}/tracks/new")
        async def tracks_new(
            request: Request[Any, Any, Any], app_id: FromPath[str], session_id: FromPath[str]
        ) -> Response[Any]:
            return await app_call(request, app_id, "tracks/new", session_id, fake._tracks_new)

        @put(f"{apps}/{{session_id:str}}/renegotiate")
        async def renegotiate(
            request: Request[Any, Any, Any], app_id: FromPath[str], session_id: FromPath[str]
        ) -> Response[Any]:
            return await app_call(request, app_id, "renegotiate", session_id, fake._renegotiate)

        @put(f"{apps}/{{session_id:str}}/tracks/close")
        async def tracks_close(
            request: Request[Any, Any, Any], app_id: FromPath[str], session_id: FromPath[str]
        ) -> Response[Any]:
            return await app_call(request, app_id, "tracks/close", session_id, fake._close)

        @put(f"{apps}/{{session_id:str}}/tracks/update")
        async def tracks_update(
            request: Request[Any, Any, Any], app_id: FromPath[str], session_id: FromPath[str]
        ) -> Response[Any]:
            return await app_call(request, app_id, "tracks/update", session_id, fake._update)

        @get(f"{apps}/{{session_id:str}}")
        async def session_state(
            request: Request[Any, Any, Any], app_id: FromPath[str], session_id: FromPath[str]
        ) -> Response[Any]:
            return await app_call(request, app_id, "sessions/get", session_id, fake._state)

        @post(f"{keys}/generate-ice-servers")
        async def generate(request: Request[Any, Any, Any], key_id: FromPath[str]) -> Response[Any]:
            return await turn_call(request, key_id, "turn/generate", fake._generate)

        @post(f"{keys}/{{username:str}}/revoke")
        async def revoke(
            request: Request[Any, Any, Any], key_id: FromPath[str], username: FromPath[str]
        ) -> Response[Any]:
            return await turn_call(request, key_id, "turn/revoke", fake._revoke(username))

        handlers = [
            new_session,
            tracks_new,
            renegotiate,
            tracks_close,
            tracks_update,
            session_state,
            generate,
            revoke,
        ]
        # logging_config=None: a test double leaves the process's logging alone.
        return Litestar(route_handlers=handlers, on_shutdown=[self.aclose], logging_config=None)


def _offer_reply_of(results: list[_Json], sdp: str | None) -> _Reply:
    reply: _Json = {"requiresImmediateRenegotiation": sdp is not None, "tracks": results}
    if sdp is not None:
        reply["sessionDescription"] = {"type": "offer", "sdp": sdp}
    return 200, reply


def _ice_servers(username: str, credential: str) -> list[_Json]:
    """The shape of Cloudflare's example, with the alternate port-53 URLs it also lists."""
    stun = ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"]
    turn = [
        "turn:turn.cloudflare.com:3478?transport=udp",
        "turn:turn.cloudflare.com:53?transport=udp",
        "turn:turn.cloudflare.com:443?transport=udp",
        "turn:turn.cloudflare.com:3478?transport=tcp",
        "turn:turn.cloudflare.com:80?transport=tcp",
        "turns:turn.cloudflare.com:5349?transport=tcp",
        "turns:turn.cloudflare.com:443?transport=tcp",
    ]
    return [{"urls": stun}, {"urls": turn, "username": username, "credential": credential}]


def _respond(status: int, payload: _Json) -> Response[Any]:
    if status == 204:
        return Response(b"", status_code=204)
    return Response(payload, status_code=status)


@asynccontextmanager
async def serve(app: Litestar, *, startup_timeout_s: float = 10.0) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in this loop; yields its URL."""
    port = free_port()
    # log_config=None: uvicorn's dictConfig would close the handlers tests capture logs with.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(startup_timeout_s):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=startup_timeout_s)
