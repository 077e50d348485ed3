"""The fetcher: the bytes of a plan onto local disk, resumable, verified, renamed atomically.

Local files (``file://`` or a plain path) are copied; ``http(s)://`` is streamed to
``<final>.part``. A broken download resumes with ``Range: bytes=<n>-`` (``If-Range``
guards against the file changing meanwhile; a ``200`` answer to a range request means
start again from zero). The sha256 is checked against ``plan.expected_sha256`` before
the ``.part`` is renamed into place, so a final path only ever holds verified bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import httpx
import structlog

from lab.sources.base import local_path, redact_url
from lab.stages.types import Fetched, Plan

__all__ = ["AllPlansFailedError", "FetchError", "FetchFailure", "Sleep", "fetch", "fetch_first"]

_log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[object]]
"""An ``asyncio.sleep``-like wait; tests pass one that records the delays instead."""

_PART_SUFFIX = ".part"
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
_SUFFIX_RE = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_CONTENT_RANGE_RE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIABLE_RE = re.compile(r"^bytes\s+\*/(\d+)$")
# Statuses worth another try: the server is busy or briefly broken, not refusing us.
_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(RuntimeError):
    """A plan's bytes could not be fetched or did not verify; ``reason`` says why."""

    def __init__(self, reason: str, *, plan_id: str | None = None, uri: str | None = None) -> None:
        context = [f"plan {plan_id}"] if plan_id else []
        if uri:
            context.append(redact_url(uri))
        where = " ".join(context)
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason, self.plan_id = reason, plan_id
        self.uri = redact_url(uri) if uri else None


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """One plan ``fetch_first`` gave up on, and why (the URI is redacted for logs)."""

    plan_id: str
    uri: str
    error: str


class AllPlansFailedError(FetchError):
    """Every plan handed to ``fetch_first`` failed; ``failures`` has one entry per plan."""

    def __init__(self, failures: Sequence[FetchFailure]) -> None:
        summary = "; ".join(f"{f.plan_id}: {f.error}" for f in failures)
        super().__init__(f"all {len(failures)} plans failed ({summary})")
        self.failures = list(failures)


class _RetryableError(Exception):
    """A failure another attempt may get past (busy server, short body)."""


@dataclass(slots=True)
class _Download:
    part: Path
    offset: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    validator: str | None = None  # a strong ETag or Last-Modified, for If-Range

    def restart(self) -> None:
        self.offset, self.digest, self.validator = 0, hashlib.sha256(), None
        self.part.unlink(missing_ok=True)


def _final_path(plan: Plan, dest_dir: Path) -> Path:
    stem = _SAFE_NAME_RE.sub("_", plan.plan_id).strip("._") or "plan"
    parsed = urlsplit(plan.uri)
    is_url = bool(parsed.scheme) and len(parsed.scheme) > 1
    suffix = PurePosixPath(unquote(parsed.path) if is_url else plan.uri).suffix
    return dest_dir / (stem + (suffix.lower() if _SUFFIX_RE.match(suffix) else ""))


def _delay(attempt: int, base_delay_s: float, max_delay_s: float) -> float:
    return min(base_delay_s * 2.0 ** (attempt - 1), max_delay_s)


def _sha256_file(path: Path, chunk_size: int) -> tuple[hashlib._Hash, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
    return digest, size


def _copy_local(source: Path, part: Path, chunk_size: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as reader, part.open("wb") as writer:
        while chunk := reader.read(chunk_size):
            writer.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def _open_part(part: Path, append: bool) -> BinaryIO:
    return part.open("ab" if append else "wb")


def _close_part(handle: BinaryIO) -> None:
    try:
        handle.flush()
        os.fsync(handle.fileno())
    finally:
        handle.close()


def _commit(part: Path, final: Path) -> None:
    with part.open("rb") as handle:
        os.fsync(handle.fileno())  # the bytes are on disk before the name says they are
    part.replace(final)  # atomic within one filesystem: readers see no file or the whole one
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # and the rename itself survives a crash
    finally:
        os.close(fd)


async def _verify_and_commit(
    plan: Plan, part: Path, final: Path, sha256: str, size: int
) -> Fetched:
    expected = plan.expected_sha256
    if expected is not None and sha256 != expected.lower():
        await asyncio.to_thread(part.unlink, missing_ok=True)
        raise FetchError(
            f"checksum mismatch: expected sha256 {expected.lower()}, got {sha256}"
            f" ({size} bytes); partial download deleted",
            plan_id=plan.plan_id,
            uri=plan.uri,
        )
    await asyncio.to_thread(_commit, part, final)
    return Fetched(plan_id=plan.plan_id, path=final, sha256=sha256, size_bytes=size)


async def _already_there(plan: Plan, final: Path, chunk_size: int) -> Fetched | None:
    # Only a checksum can prove an existing file is this plan's bytes (a re-run after a
    # crash between the rename and the caller recording it).
    if plan.expected_sha256 is None or not await asyncio.to_thread(final.is_file):
        return None
    digest, size = await asyncio.to_thread(_sha256_file, final, chunk_size)
    if digest.hexdigest() != plan.expected_sha256.lower():
        return None
    return Fetched(plan_id=plan.plan_id, path=final, sha256=digest.hexdigest(), size_bytes=size)


async def _fetch_local(plan: Plan, source: Path, final: Path, chunk_size: int) -> Fetched:
    part = final.with_name(final.name + _PART_SUFFIX)
    try:
        sha256, size = await asyncio.to_thread(_copy_local, source, part, chunk_size)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise FetchError(
            f"cannot copy {source}: {exc.strerror or exc}", plan_id=plan.plan_id
        ) from exc
    return await _verify_and_commit(plan, part, final, sha256, size)


def _strong_validator(response: httpx.Response) -> str | None:
    etag: str | None = response.headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    last_modified: str | None = response.headers.get("last-modified")
    return last_modified  # If-Range accepts an HTTP date too


async def _write(handle: BinaryIO, state: _Download, pending: bytearray) -> None:
    if not pending:
        return
    data = bytes(pending)
    pending.clear()
    await asyncio.to_thread(handle.write, data)
    state.digest.update(data)
    state.offset += len(data)


async def _attempt(
    client: httpx.AsyncClient,
    url: str,
    state: _Download,
    *,
    chunk_size: int,
    timeout_s: float,
    log: structlog.typing.FilteringBoundLogger,
) -> None:
    headers = {"Accept-Encoding": "identity"}  # byte offsets must count the stored bytes
    if state.offset > 0:
        headers["Range"] = f"bytes={state.offset}-"
        if state.validator:
            headers["If-Range"] = state.validator
    async with client.stream(
        "GET", url, headers=headers, timeout=timeout_s, follow_redirects=True
    ) as response:
        status = response.status_code
        if status == 416 and state.offset > 0:
            match = _UNSATISFIABLE_RE.match(response.headers.get("content-range", ""))
            if match and int(match.group(1)) == state.offset:
                return  # the previous attempt had already received every byte
            state.restart()
            raise _RetryableError("range not satisfiable; starting again from zero")
        if status == 206:
            match = _CONTENT_RANGE_RE.match(response.headers.get("content-range", ""))
            if match is None or int(match.group(1)) != state.offset:
                state.restart()
                raise _RetryableError(
                    "206 for a range we did not ask for; starting again from zero"
                )
        elif status == 200:
            if state.offset > 0:
                # The server ignored the range (or the file changed under If-Range).
                log.info("fetch_range_refused_restarting", had_bytes=state.offset)
                state.restart()
            state.validator = _strong_validator(response)
        elif status in _RETRYABLE_STATUSES:
            raise _RetryableError(f"HTTP {status}")
        else:
            raise FetchError(f"HTTP {status}")
        length = response.headers.get("content-length")
        end = state.offset + int(length) if length is not None and length.isdigit() else None
        handle = await asyncio.to_thread(_open_part, state.part, state.offset > 0)
        pending = bytearray()
        try:
            # Not aiter_raw(chunk_size): its re-chunking drops a short tail when the
            # connection breaks, and the resume offset must be every byte that arrived.
            async for piece in response.aiter_raw():
                pending += piece
                if len(pending) >= chunk_size:
                    await _write(handle, state, pending)
        finally:
            # Keep what arrived (flushed) so the next attempt can resume after it.
            try:
                await _write(handle, state, pending)
            finally:
                await asyncio.to_thread(_close_part, handle)
        if end is not None and state.offset != end:
            raise _RetryableError(f"body ended at byte {state.offset} of {end}")


async def _fetch_http(
    plan: Plan,
    final: Path,
    client: httpx.AsyncClient,
    *,
    attempts: int,
    sleep: Sleep,
    base_delay_s: float,
    max_delay_s: float,
    chunk_size: int,
    timeout_s: float,
) -> Fetched:
    log = _log.bind(plan_id=plan.plan_id, url=redact_url(plan.uri))
    state = _Download(part=final.with_name(final.name + _PART_SUFFIX))
    if state.part.exists():
        if plan.expected_sha256 is not None:
            # Left by a crashed run: resume it; the checksum will catch a changed file.
            state.digest, state.offset = await asyncio.to_thread(
                _sha256_file, state.part, chunk_size
            )
            log.info("fetch_resuming_partial", had_bytes=state.offset)
        else:
            state.restart()  # nothing could tell a stale partial from the current file
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            await _attempt(
                client, plan.uri, state, chunk_size=chunk_size, timeout_s=timeout_s, log=log
            )
        except FetchError as exc:
            await asyncio.to_thread(state.part.unlink, missing_ok=True)
            raise FetchError(exc.reason, plan_id=plan.plan_id, uri=plan.uri) from exc
        except OSError as exc:
            # Our disk, not the server (full, read-only): the partial may not match the
            # offset any more, so it goes; retrying against the same disk would not help.
            await asyncio.to_thread(state.part.unlink, missing_ok=True)
            raise FetchError(
                f"cannot write {state.part.name}: {exc.strerror or exc}", plan_id=plan.plan_id
            ) from exc
        except (httpx.TransportError, _RetryableError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.warning("fetch_attempt_failed", attempt=attempt, attempts=attempts,
                        had_bytes=state.offset, error=reason)  # fmt: skip
            if attempt == attempts:
                # The partial stays: a later fetch of a checksummed plan resumes from it.
                raise FetchError(
                    f"gave up after {attempts} attempts: {reason}",
                    plan_id=plan.plan_id,
                    uri=plan.uri,
                ) from exc
            await sleep(_delay(attempt, base_delay_s, max_delay_s))
            continue
        log.info("fetch_downloaded", size_bytes=state.offset, attempts=attempt,
                 elapsed_s=round(time.monotonic() - started, 3))  # fmt: skip
        break
    return await _verify_and_commit(plan, state.part, final, state.digest.hexdigest(), state.offset)


@asynccontextmanager
async def _client_for(
    client: httpx.AsyncClient | None, timeout_s: float
) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as owned:
        yield owned


async def fetch(
    plan: Plan,
    dest_dir: Path,
    *,
    client: httpx.AsyncClient | None = None,
    attempts: int = 3,
    sleep: Sleep = asyncio.sleep,
    base_delay_s: float = 1.0,
    max_delay_s: float = 30.0,
    chunk_size: int = 256 * 1024,
    timeout_s: float = 30.0,
) -> Fetched:
    """Fetch ``plan.uri`` to ``dest_dir/<plan_id><ext>`` and verify it; ``FetchError`` if not.

    HTTP downloads get ``attempts`` tries with exponential backoff (``base_delay_s``
    doubling, capped at ``max_delay_s``), each resuming where the last one stopped;
    ``timeout_s`` bounds each network operation, not the whole download.
    """
    if attempts < 1 or chunk_size < 1 or timeout_s <= 0:
        raise ValueError("attempts, chunk_size and timeout_s must be positive")
    await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
    final = _final_path(plan, dest_dir)
    existing = await _already_there(plan, final, chunk_size)
    if existing is not None:
        _log.info("fetch_already_present", plan_id=plan.plan_id, path=str(final))
        return existing
    scheme = urlsplit(plan.uri).scheme.lower()
    if scheme in {"http", "https"}:
        async with _client_for(client, timeout_s) as active:
            return await _fetch_http(
                plan,
                final,
                active,
                attempts=attempts,
                sleep=sleep,
                base_delay_s=base_delay_s,
                max_delay_s=max_delay_s,
                chunk_size=chunk_size,
                timeout_s=timeout_s,
            )
    source = local_path(plan.uri)
    if source is None:
        raise FetchError(f"unsupported URI scheme {scheme!r}", plan_id=plan.plan_id, uri=plan.uri)
    fetched = await _fetch_local(plan, source, final, chunk_size)
    _log.info("fetch_copied", plan_id=plan.plan_id, size_bytes=fetched.size_bytes)
    return fetched


async def fetch_first(
    plans: Sequence[Plan],
    dest_dir: Path,
    *,
    client: httpx.AsyncClient | None = None,
    attempts: int = 3,
    sleep: Sleep = asyncio.sleep,
    base_delay_s: float = 1.0,
    max_delay_s: float = 30.0,
    chunk_size: int = 256 * 1024,
    timeout_s: float = 30.0,
) -> tuple[Fetched, list[FetchFailure]]:
    """Fetch the first plan that works, in order; also say which ones failed before it.

    ``AllPlansFailedError`` (a ``FetchError``) when none does.
    """
    if not plans:
        raise ValueError("fetch_first needs at least one plan")
    failures: list[FetchFailure] = []
    async with _client_for(client, timeout_s) as active:
        for plan in plans:
            try:
                fetched = await fetch(
                    plan,
                    dest_dir,
                    client=active,
                    attempts=attempts,
                    sleep=sleep,
                    base_delay_s=base_delay_s,
                    max_delay_s=max_delay_s,
                    chunk_size=chunk_size,
                    timeout_s=timeout_s,
                )
            except FetchError as exc:
                failures.append(FetchFailure(plan.plan_id, redact_url(plan.uri), exc.reason))
                _log.warning("fetch_plan_failed_falling_back", plan_id=plan.plan_id,
                             error=exc.reason, remaining=len(plans) - len(failures))  # fmt: skip
                continue
            return fetched, failures
    raise AllPlansFailedError(failures)
