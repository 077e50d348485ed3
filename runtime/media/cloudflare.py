"""Cloudflare Realtime SFU (formerly Calls) behind the MediaProvider port, over its HTTPS API.

Why: production calls need an SFU and TURN we do not run; the session orchestrator must
not know which provider is behind the port. Each rule below comes from Cloudflare's
published documentation (developers.cloudflare.com, read 2026):

- Base ``https://rtc.live.cloudflare.com/v1``, ``Authorization: Bearer <app secret>``, paths
  ``apps/{appId}/sessions/new`` (POST, 201), ``sessions/{id}/tracks/new`` (POST),
  ``tracks/update``, ``renegotiate``, ``tracks/close`` (PUT) and ``sessions/{id}`` (GET):
  /realtime/sfu/api/ and its OpenAPI file ``realtime-api-2024-05-21.yaml``.
- A 200 can carry failed items (``errorCode``/``errorDescription`` per track); keep the
  successful ones: /realtime/sfu/observability/error-codes/. A top-level ``errorCode``
  fails the whole request.
- ``close_track_error`` means "absent or already closed" and satisfies cleanup, so a
  second revoke succeeds; unreported mids stay pending: error-codes page and the
  ``CloseTracksResponse`` schema.
- Mutations of one session are serialized, including the SDP exchange an SFU offer
  (``requiresImmediateRenegotiation``) asks for; other sessions proceed in parallel:
  /realtime/sfu/concepts/negotiation/. One ``asyncio.Lock`` per session does that here;
  a lock disappears as soon as nobody holds or waits for it (so after a revoke).
- At most 64 tracks per request: /realtime/sfu/platform/limits/. Larger batches are split
  (also for update and close, which is conservative). One ``tracks/new`` batch is all
  local or all remote: /realtime/sfu/api/ ("Batch resource operations").
- TURN: ``turn/keys/{keyId}/credentials/generate-ice-servers`` (POST ``{"ttl": s}``, 201,
  ``iceServers`` with ``urls``/``username``/``credential``), ``.../credentials/{username}/
  revoke`` (POST, 204); URLs on port 53 are blocked by browsers and only cost a timeout,
  so they are dropped: /realtime/turn/generate-credentials/. A credential lives at most
  48 h and the response carries no TTL: /realtime/turn/faq/. A longer request is
  **clamped** to 48 h (config clamps only reduce) and the expiry is computed here as
  clock() before the request + ttl, never later than Cloudflare's own.

The API has no call that deletes a session; its teardown guidance is to close the known
tracks, then the endpoint's PeerConnection (/realtime/sfu/concepts/negotiation/). So a
revoke force-closes every track we published or pulled on it (no SDP exchange).
The mapping our session -> Cloudflare session lives in this process's memory. Secrets go
only into request headers; error messages and logs carry the operation and status and
are redacted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Hashable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias, TypeVar
from urllib.parse import quote

import httpx
import structlog

from runtime.media.provider import Endpoints, MediaProviderError, TurnCredentials

__all__ = [
    "CLOUDFLARE_API_BASE",
    "MAX_TRACKS_PER_REQUEST",
    "MAX_TURN_TTL_S",
    "Answerer",
    "CloseResult",
    "CloudflareRealtimeProvider",
    "NewSession",
    "SessionDescription",
    "SessionState",
    "TrackClosure",
    "TrackRequest",
    "TrackResult",
    "TrackState",
    "TracksResult",
]

CLOUDFLARE_API_BASE = "https://rtc.live.cloudflare.com/v1"
MAX_TRACKS_PER_REQUEST = 64
MAX_TURN_TTL_S = 48 * 3600
_ALREADY_CLOSED = "close_track_error"
_UNREPORTED = "unreported"  # ours: a requested mid the response did not mention
_BLOCKED_PORT = 53
_REDACTED = "[redacted]"
_REASON_LIMIT = 300

_log = structlog.get_logger(__name__)

_Json: TypeAlias = dict[str, object]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SessionDescription:
    """An SDP offer or answer as the API carries it."""

    type: Literal["offer", "answer"]
    sdp: str

    def to_wire(self) -> _Json:
        return {"type": self.type, "sdp": self.sdp}


Answerer = Callable[[SessionDescription], Awaitable[str]]
"""Applies an SFU offer at the endpoint and returns the endpoint's answer SDP."""


@dataclass(frozen=True)
class TrackRequest:
    """One track to publish (``local``) or to pull from another session (``remote``)."""

    location: Literal["local", "remote"]
    track_name: str
    mid: str | None = None
    session_id: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if not self.track_name:
            raise ValueError("a track needs a name")
        if (self.location == "remote") != (self.session_id is not None):
            raise ValueError("remote tracks, and only they, name their publisher's session")

    @classmethod
    def local(
        cls, track_name: str, mid: str | None = None, kind: str | None = None
    ) -> TrackRequest:
        """Publish a track of the endpoint's offer (``mid``), or ask the SFU to offer one."""
        return cls("local", track_name, mid=mid, kind=kind)

    @classmethod
    def remote(cls, session_id: str, track_name: str, kind: str | None = None) -> TrackRequest:
        """Pull ``track_name`` published by Cloudflare session ``session_id``."""
        return cls("remote", track_name, session_id=session_id, kind=kind)

    def to_wire(self) -> _Json:
        wire: _Json = {"location": self.location, "trackName": self.track_name}
        optional = {"mid": self.mid, "sessionId": self.session_id, "kind": self.kind}
        wire.update({key: value for key, value in optional.items() if value is not None})
        return wire


@dataclass(frozen=True)
class TrackResult:
    """What Cloudflare said about one requested track."""

    track_name: str | None
    mid: str | None
    session_id: str | None = None
    error_code: str | None = None
    error_description: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass(frozen=True)
class TracksResult:
    """Per-track outcomes, in request order, and the SDP the endpoint still has to apply."""

    tracks: tuple[TrackResult, ...]
    session_description: SessionDescription | None = None
    requires_immediate_renegotiation: bool = False

    @property
    def succeeded(self) -> tuple[TrackResult, ...]:
        return tuple(t for t in self.tracks if t.ok)

    @property
    def failed(self) -> tuple[TrackResult, ...]:
        return tuple(t for t in self.tracks if not t.ok)


@dataclass(frozen=True)
class TrackClosure:
    """The outcome of closing one mid; an already-closed track counts as closed."""

    mid: str
    error_code: str | None = None
    error_description: str | None = None

    @property
    def closed(self) -> bool:
        return self.error_code in (None, _ALREADY_CLOSED)


@dataclass(frozen=True)
class CloseResult:
    """Per-mid closures in request order, and the answer to a negotiated close."""

    tracks: tuple[TrackClosure, ...]
    session_description: SessionDescription | None = None

    @property
    def pending(self) -> tuple[TrackClosure, ...]:
        """Mids that are still open (or whose outcome is unknown): retry these."""
        return tuple(t for t in self.tracks if not t.closed)


@dataclass(frozen=True)
class NewSession:
    """A Cloudflare session and, when an offer was sent, the SFU's answer."""

    session_id: str
    session_description: SessionDescription | None = None


@dataclass(frozen=True)
class TrackState:
    """One track as ``GET sessions/{id}`` lists it."""

    location: str | None
    mid: str | None
    track_name: str | None
    session_id: str | None
    status: str | None


@dataclass(frozen=True)
class SessionState:
    """The tracks of a Cloudflare session (no SDP, no history)."""

    tracks: tuple[TrackState, ...]


@dataclass
class _Binding:
    """Our session, its Cloudflare session and the mids allocated on it."""

    session_id: uuid.UUID
    cf_session_id: str
    profile_name: str
    mids: dict[str, str | None] = field(default_factory=dict)


@dataclass
class _LockEntry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class _KeyedLocks:
    """One lock per key, forgotten as soon as nobody holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _LockEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        entry = self._entries.setdefault(key, _LockEntry())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]


class CloudflareRealtimeProvider:
    """MediaProvider over Cloudflare Realtime SFU and TURN; signalling operations included."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        app_id: str,
        app_secret: str,
        turn_key_id: str,
        turn_api_token: str,
        api_base: str = CLOUDFLARE_API_BASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout_s: float = 10.0,
        turn_ttl_s: int = 24 * 3600,
        profiles: Collection[str] | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("the request timeout must be positive")
        self._client, self._clock, self._timeout_s = client, clock, timeout_s
        self._app_id, self._secret = app_id, app_secret
        self._turn_key_id, self._turn_token = turn_key_id, turn_api_token
        self._base = api_base.rstrip("/")
        self._turn_ttl_s = _clamp_ttl(turn_ttl_s)
        self._profiles = frozenset(profiles) if profiles is not None else None
        self._bindings: dict[uuid.UUID, _Binding] = {}
        self._by_cf: dict[str, _Binding] = {}
        self._locks = _KeyedLocks()

    def __repr__(self) -> str:
        return f"CloudflareRealtimeProvider(app_id={self._app_id!r})"

    @property
    def lock_count(self) -> int:
        """Session locks currently held or awaited (diagnostics; 0 when idle)."""
        return len(self._locks)

    def cf_session_of(self, session_id: uuid.UUID) -> str | None:
        """The Cloudflare session behind one of ours, if this process created it."""
        binding = self._bindings.get(session_id)
        return binding.cf_session_id if binding else None

    # -- the MediaProvider port -------------------------------------------------------

    async def create_webrtc_endpoints(self, session_id: uuid.UUID, profile_name: str) -> Endpoints:
        """A Cloudflare session for ``session_id``; asking twice returns the same one."""
        if self._profiles is not None and profile_name not in self._profiles:
            raise MediaProviderError(f"unknown media profile {profile_name!r}")
        async with self._locks.hold(("ours", session_id)):
            binding = self._bindings.get(session_id)
            if binding is None:
                created = await self.new_session()
                binding = _Binding(session_id, created.session_id, profile_name)
                self._bindings[session_id] = self._by_cf[created.session_id] = binding
        details = {"provider": "cloudflare", "cf_session_id": binding.cf_session_id}
        return Endpoints(session_id, binding.profile_name, details)

    async def revoke_endpoints(
        self, session_id: uuid.UUID, details: Mapping[str, str] | None = None
    ) -> None:
        """Force-close every track of the session, then forget it; unknown is a no-op.

        A session this process does not know (it restarted since) is found through the
        recorded ``details``: its Cloudflare session is read and every track still
        active on it is closed.
        """
        async with self._locks.hold(("ours", session_id)):
            binding = self._bindings.get(session_id)
            if binding is None:
                cf_session_id = (details or {}).get("cf_session_id")
                if cf_session_id:
                    await self._close_all(cf_session_id)
                return
            if binding.mids:
                self._all_closed(await self.close_tracks(binding.cf_session_id, list(binding.mids)))
            del self._bindings[session_id]
            self._by_cf.pop(binding.cf_session_id, None)

    async def _close_all(self, cf_session_id: str) -> None:
        state = await self.get_session(cf_session_id)
        mids = [t.mid for t in state.tracks if t.mid and t.status != "inactive"]
        if not mids:
            return
        self._all_closed(await self.close_tracks(cf_session_id, mids))

    def _all_closed(self, result: CloseResult) -> None:
        """A revoke holds only when no track is left open."""
        if result.pending:
            codes = ", ".join(sorted({t.error_code or "" for t in result.pending}))
            reason = f"left {len(result.pending)} track(s) open ({codes})"
            raise self._failure("tracks/close", reason)

    async def create_turn_credentials(self, session_id: uuid.UUID) -> TurnCredentials:
        """TURN credentials for the configured TTL (at most 48 h)."""
        return await self.issue_turn_credentials(self._turn_ttl_s)

    # -- signalling -------------------------------------------------------------------

    async def new_session(self, offer_sdp: str | None = None) -> NewSession:
        """``sessions/new``; with an offer the SFU answers it."""
        body = _with_offer({}, offer_sdp)
        data = await self._call("sessions/new", "POST", self._app_url("sessions/new"), body)
        session_id = data.get("sessionId")
        if not isinstance(session_id, str) or not session_id:
            raise self._failure("sessions/new", "no sessionId in the response")
        return NewSession(session_id, _description(data.get("sessionDescription")))

    async def add_tracks(
        self,
        cf_session_id: str,
        tracks: Sequence[TrackRequest],
        offer_sdp: str | None = None,
        *,
        answer: Answerer | None = None,
    ) -> TracksResult:
        """``tracks/new`` in requests of at most 64 tracks, results merged in order.

        An SFU offer is answered through ``answer`` and ``renegotiate`` before the next
        request (and before the lock is released); without ``answer`` it is returned to
        the caller, so a batch of more than 64 tracks needs ``answer``.
        """
        if len({t.location for t in tracks}) > 1:
            raise ValueError("one tracks/new batch is all local or all remote")
        return await self._track_batches(
            "tracks/new", "POST", cf_session_id, tracks, offer_sdp=offer_sdp, answer=answer
        )

    async def update_tracks(
        self,
        cf_session_id: str,
        tracks: Sequence[TrackRequest],
        *,
        answer: Answerer | None = None,
    ) -> TracksResult:
        """``tracks/update``: reuse transceivers (by ``mid``) for other tracks."""
        return await self._track_batches(
            "tracks/update", "PUT", cf_session_id, tracks, offer_sdp=None, answer=answer
        )

    async def renegotiate(self, cf_session_id: str, answer_sdp: str) -> None:
        """``renegotiate``: hand the endpoint's answer to an SFU offer back."""
        async with self._locks.hold(cf_session_id):
            await self._renegotiate(cf_session_id, answer_sdp)

    async def close_tracks(
        self,
        cf_session_id: str,
        mids: Sequence[str],
        *,
        force: bool = True,
        offer_sdp: str | None = None,
    ) -> CloseResult:
        """``tracks/close``; ``force`` skips the SDP exchange, otherwise an offer is needed."""
        if not force and offer_sdp is None:
            raise ValueError("a negotiated close (force=False) needs the endpoint's offer")
        if offer_sdp is not None and len(mids) > MAX_TRACKS_PER_REQUEST:
            raise ValueError(f"an offer covers one request of at most {MAX_TRACKS_PER_REQUEST}")
        if not mids:
            return CloseResult(())
        closures: list[TrackClosure] = []
        description: SessionDescription | None = None
        async with self._locks.hold(cf_session_id):
            for chunk in _chunks(mids):
                body = _with_offer(
                    {"tracks": [{"mid": m} for m in chunk], "force": force}, offer_sdp
                )
                url = self._app_url(f"sessions/{quote(cf_session_id, safe='')}/tracks/close")
                data = await self._call("tracks/close", "PUT", url, body)
                page = _closures(chunk, data.get("tracks"))
                self._forget_mids(cf_session_id, page)
                closures.extend(page)
                description = _description(data.get("sessionDescription"))
        return CloseResult(tuple(closures), description)

    async def get_session(self, cf_session_id: str) -> SessionState:
        """``GET sessions/{id}``: the tracks and their status (a read; not serialized)."""
        url = self._app_url(f"sessions/{quote(cf_session_id, safe='')}")
        data = await self._call("sessions/get", "GET", url, None)
        return SessionState(tuple(_track_state(item) for item in _items(data.get("tracks"))))

    # -- TURN ---------------------------------------------------------------------------

    async def issue_turn_credentials(self, ttl_s: int) -> TurnCredentials:
        """``generate-ice-servers`` for ``ttl_s`` clamped to 48 h; port-53 URLs dropped."""
        ttl = _clamp_ttl(ttl_s)
        issued_at = self._clock()
        url = f"{self._base}/turn/keys/{quote(self._turn_key_id, safe='')}"
        url += "/credentials/generate-ice-servers"
        data = await self._call("turn generate-ice-servers", "POST", url, {"ttl": ttl}, turn=True)
        return _turn_credentials(data, issued_at + timedelta(seconds=ttl))

    async def revoke_turn_credentials(self, username: str) -> None:
        """``credentials/{username}/revoke``: 204 is success, anything else an error."""
        url = f"{self._base}/turn/keys/{quote(self._turn_key_id, safe='')}"
        url += f"/credentials/{quote(username, safe='')}/revoke"
        response = await self._send("turn revoke", "POST", url, None, self._turn_token)
        if response.status_code != 204:
            raise self._status_error("turn revoke", response)

    # -- internals ----------------------------------------------------------------------

    def _app_url(self, path: str) -> str:
        return f"{self._base}/apps/{quote(self._app_id, safe='')}/{path}"

    async def _track_batches(
        self,
        operation: str,
        method: str,
        cf_session_id: str,
        tracks: Sequence[TrackRequest],
        *,
        offer_sdp: str | None,
        answer: Answerer | None,
    ) -> TracksResult:
        if not tracks:
            raise ValueError("no tracks to send")
        chunks = _chunks(tracks)
        if len(chunks) > 1 and (offer_sdp is not None or answer is None):
            raise ValueError(
                f"more than {MAX_TRACKS_PER_REQUEST} tracks take several requests: "
                "pass answer= and no offer (an offer covers one request)"
            )
        url = self._app_url(f"sessions/{quote(cf_session_id, safe='')}/{operation}")
        merged: list[TrackResult] = []
        pending: TracksResult = TracksResult(())
        async with self._locks.hold(cf_session_id):
            for chunk in chunks:
                body = _with_offer({"tracks": [t.to_wire() for t in chunk]}, offer_sdp)
                pending = _tracks_result(await self._call(operation, method, url, body))
                self._remember_mids(cf_session_id, pending.succeeded)
                merged.extend(pending.tracks)
                pending = await self._complete_offer(cf_session_id, pending, answer)
        return TracksResult(
            tuple(merged), pending.session_description, pending.requires_immediate_renegotiation
        )

    async def _complete_offer(
        self, cf_session_id: str, result: TracksResult, answer: Answerer | None
    ) -> TracksResult:
        offer = result.session_description
        if answer is None or not result.requires_immediate_renegotiation or offer is None:
            return result
        await self._renegotiate(cf_session_id, await answer(offer))
        return TracksResult(result.tracks)

    async def _renegotiate(self, cf_session_id: str, answer_sdp: str) -> None:
        url = self._app_url(f"sessions/{quote(cf_session_id, safe='')}/renegotiate")
        body: _Json = {"sessionDescription": SessionDescription("answer", answer_sdp).to_wire()}
        await self._call("renegotiate", "PUT", url, body)

    def _remember_mids(self, cf_session_id: str, tracks: Sequence[TrackResult]) -> None:
        binding = self._by_cf.get(cf_session_id)
        if binding is not None:
            binding.mids.update({t.mid: t.track_name for t in tracks if t.mid is not None})

    def _forget_mids(self, cf_session_id: str, closures: Sequence[TrackClosure]) -> None:
        binding = self._by_cf.get(cf_session_id)
        if binding is not None:
            for closure in closures:
                if closure.closed:
                    binding.mids.pop(closure.mid, None)

    async def _call(
        self, operation: str, method: str, url: str, body: _Json | None, *, turn: bool = False
    ) -> _Json:
        token = self._turn_token if turn else self._secret
        response = await self._send(operation, method, url, body, token)
        if not response.is_success:
            raise self._status_error(operation, response)
        data = self._json(operation, response)
        if isinstance(data.get("errorCode"), str):
            raise self._failure(operation, f"HTTP {response.status_code}, {_error_text(data)}")
        return data

    async def _send(
        self, operation: str, method: str, url: str, body: _Json | None, token: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._client.request(
                    method, url, json=body, headers=headers, timeout=self._timeout_s
                )
        except (TimeoutError, httpx.TimeoutException):
            raise self._failure(operation, f"timed out after {self._timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise self._failure(operation, f"transport error ({type(exc).__name__})") from None

    def _json(self, operation: str, response: httpx.Response) -> _Json:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._failure(
                operation, f"HTTP {response.status_code}, body is not a JSON object"
            )
        return data

    def _status_error(self, operation: str, response: httpx.Response) -> MediaProviderError:
        try:
            data = response.json()
        except ValueError:
            data = None
        detail = f", {_error_text(data)}" if isinstance(data, dict) else ""
        return self._failure(operation, f"HTTP {response.status_code}{detail}")

    def _failure(self, operation: str, reason: str) -> MediaProviderError:
        reason = self._redact(reason)[:_REASON_LIMIT]  # redact first: a cut could split a secret
        _log.warning("cloudflare_call_failed", operation=operation, reason=reason)
        return MediaProviderError(f"cloudflare {operation} failed: {reason}")

    def _redact(self, text: str) -> str:
        for secret in (self._secret, self._turn_token):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text


def _clamp_ttl(ttl_s: int) -> int:
    if ttl_s <= 0:
        raise ValueError("a TURN credential needs a positive time to live")
    return min(ttl_s, MAX_TURN_TTL_S)


def _chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    size = MAX_TRACKS_PER_REQUEST
    return [items[i : i + size] for i in range(0, len(items), size)]


def _with_offer(body: _Json, offer_sdp: str | None) -> _Json:
    if offer_sdp is not None:
        body["sessionDescription"] = SessionDescription("offer", offer_sdp).to_wire()
    return body


def _text(data: _Json, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _error_text(data: _Json) -> str:
    code = _text(data, "errorCode") or "no errorCode"
    description = _text(data, "errorDescription")
    return f"{code}: {description}" if description else code


def _items(value: object) -> list[_Json]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _description(value: object) -> SessionDescription | None:
    if not isinstance(value, dict):
        return None
    kind, sdp = _text(value, "type"), _text(value, "sdp")
    if sdp is None:
        return None
    if kind == "offer":
        return SessionDescription("offer", sdp)
    return SessionDescription("answer", sdp) if kind == "answer" else None


def _tracks_result(data: _Json) -> TracksResult:
    tracks = tuple(
        TrackResult(
            track_name=_text(item, "trackName"),
            mid=_text(item, "mid"),
            session_id=_text(item, "sessionId"),
            error_code=_text(item, "errorCode"),
            error_description=_text(item, "errorDescription"),
        )
        for item in _items(data.get("tracks"))
    )
    renegotiate = data.get("requiresImmediateRenegotiation") is True
    return TracksResult(tracks, _description(data.get("sessionDescription")), renegotiate)


def _closures(mids: Sequence[str], value: object) -> list[TrackClosure]:
    reported = {_text(item, "mid"): item for item in _items(value)}
    closures = []
    for mid in mids:
        item = reported.get(mid)
        if item is None:
            closures.append(TrackClosure(mid, _UNREPORTED, "missing from the response"))
        else:
            closures.append(
                TrackClosure(mid, _text(item, "errorCode"), _text(item, "errorDescription"))
            )
    return closures


def _track_state(item: _Json) -> TrackState:
    return TrackState(
        location=_text(item, "location"),
        mid=_text(item, "mid"),
        track_name=_text(item, "trackName"),
        session_id=_text(item, "sessionId"),
        status=_text(item, "status"),
    )


def _urls(server: _Json) -> list[str]:
    urls = server.get("urls")
    if isinstance(urls, str):
        return [urls]
    return [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []


def _port(url: str) -> int | None:
    """The port of a ``stun:``/``turn:``/``turns:`` URI (RFC 7064/7065), if it names one."""
    hostport = url.partition(":")[2].partition("?")[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or (host.startswith("[") and not host.endswith("]")):
        return None
    return int(port)


def _turn_credentials(data: _Json, expires_at: datetime) -> TurnCredentials:
    servers = _items(data.get("iceServers"))
    urls = [u for server in servers for u in _urls(server) if _port(u) != _BLOCKED_PORT]
    for server in servers:
        username, credential = _text(server, "username"), _text(server, "credential")
        if username and credential:
            return TurnCredentials(username, credential, tuple(dict.fromkeys(urls)), expires_at)
    raise MediaProviderError("cloudflare turn generate-ice-servers failed: no credentials returned")
