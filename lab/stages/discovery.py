"""Discovery: ask every source what it offers, retrying each, and keep only what is new.

Sources are listed concurrently, each retried with exponential backoff; one failing
source never hides the others. New items are deduped by ``content_hash`` against what
is already known and within the run (first source in the given order wins). Nothing is
persisted here: the orchestrator records the new items once and counts consecutive
failures per source from the result.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass

import structlog

from lab.sources import Source
from lab.stages.types import Discovered

__all__ = [
    "DiscoveryResult",
    "Known",
    "Sleep",
    "SourceFailure",
    "SourceOutcome",
    "SourceSuccess",
    "discover",
]

_log = structlog.get_logger(__name__)

Known = Callable[[str], Awaitable[bool]] | Container[str]
"""What is already recorded: an async ``content_hash -> bool`` lookup, or a set of hashes."""

Sleep = Callable[[float], Awaitable[object]]
"""An ``asyncio.sleep``-like wait; tests pass one that records the delays instead."""

_ERROR_TEXT_MAX = 500


@dataclass(frozen=True, slots=True)
class SourceSuccess:
    """A source that answered: its new items, and how many it listed in all."""

    source: str
    items: tuple[Discovered, ...]
    listed: int
    attempts: int
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """A source that failed every attempt; ``error`` is the last failure's text."""

    source: str
    error: str
    attempts: int
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return False


SourceOutcome = SourceSuccess | SourceFailure
"""What one source came to in one run."""


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """One outcome per source, in the order the sources were given."""

    outcomes: tuple[SourceOutcome, ...]

    @property
    def new_items(self) -> tuple[Discovered, ...]:
        """Every new item of the run, each ``content_hash`` once."""
        return tuple(
            item
            for outcome in self.outcomes
            if isinstance(outcome, SourceSuccess)
            for item in outcome.items
        )

    @property
    def failures(self) -> tuple[SourceFailure, ...]:
        """The sources that failed every attempt."""
        return tuple(outcome for outcome in self.outcomes if isinstance(outcome, SourceFailure))

    def outcome(self, source: str) -> SourceOutcome:
        """The outcome of the source named ``source`` (``KeyError`` if it was not run)."""
        for outcome in self.outcomes:
            if outcome.source == source:
                return outcome
        raise KeyError(source)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"


def _known_lookup(known: Known) -> Callable[[str], Awaitable[bool]]:
    if isinstance(known, Container) and not callable(known):
        hashes = known

        async def contains(content_hash: str) -> bool:
            return content_hash in hashes

        return contains
    if not callable(known):
        raise TypeError("known must be an async callable or a container of content hashes")
    lookup = known

    async def ask(content_hash: str) -> bool:
        answer = lookup(content_hash)
        # Tolerate a plain (sync) predicate too: it is an easy mistake with no harm in it.
        return bool(await answer) if inspect.isawaitable(answer) else bool(answer)

    return ask


async def _list_with_retries(
    source: Source,
    *,
    sleep: Sleep,
    attempts: int,
    base_delay_s: float,
    max_delay_s: float,
    timeout_s: float | None,
) -> tuple[list[Discovered], int, float] | SourceFailure:
    started = time.monotonic()
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            if timeout_s is None:
                items = await source.list_items()
            else:
                # A hung server must cost one attempt, not the whole discovery run.
                items = await asyncio.wait_for(source.list_items(), timeout=timeout_s)
        except Exception as exc:
            error = (
                f"timed out after {timeout_s:g} s"
                if isinstance(exc, TimeoutError)
                else _error_text(exc)
            )
            _log.warning("discovery_source_attempt_failed", source=source.name,
                         attempt=attempt, attempts=attempts, error=error)  # fmt: skip
            if attempt < attempts:
                await sleep(min(base_delay_s * 2 ** (attempt - 1), max_delay_s))
            continue
        return items, attempt, time.monotonic() - started
    return SourceFailure(source.name, error, attempts, time.monotonic() - started)


async def discover(
    sources: Sequence[Source],
    *,
    known: Known,
    sleep: Sleep = asyncio.sleep,
    attempts: int = 3,
    base_delay_s: float = 2.0,
    max_delay_s: float = 60.0,
    timeout_s: float | None = None,
) -> DiscoveryResult:
    """List every source (retrying each up to ``attempts`` times) and return what is new.

    Backoff before retry ``n`` is ``base_delay_s * 2**(n-1)``, capped at ``max_delay_s``;
    ``timeout_s`` bounds each attempt. Source names must be unique.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if base_delay_s < 0 or max_delay_s < 0:
        raise ValueError("backoff delays cannot be negative")
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"source names must be unique, got {names}")
    is_known = _known_lookup(known)
    listings = await asyncio.gather(
        *(
            _list_with_retries(
                source,
                sleep=sleep,
                attempts=attempts,
                base_delay_s=base_delay_s,
                max_delay_s=max_delay_s,
                timeout_s=timeout_s,
            )
            for source in sources
        )
    )
    # Dedupe after all listings, in the given source order, so the winner of a hash seen
    # by two sources does not depend on which one answered first.
    seen: set[str] = set()
    outcomes: list[SourceOutcome] = []
    for source, listing in zip(sources, listings, strict=True):
        if isinstance(listing, SourceFailure):
            outcomes.append(listing)
            continue
        items, used, elapsed_s = listing
        fresh: list[Discovered] = []
        for item in items:
            if item.content_hash in seen:
                continue
            seen.add(item.content_hash)
            if not await is_known(item.content_hash):
                fresh.append(item)
        outcomes.append(SourceSuccess(source.name, tuple(fresh), len(items), used, elapsed_s))
        _log.info("discovery_source_listed", source=source.name, listed=len(items),
                  new=len(fresh), attempts=used)  # fmt: skip
    result = DiscoveryResult(tuple(outcomes))
    _log.info("discovery_done", sources=len(sources), new=len(result.new_items),
              failed=[failure.source for failure in result.failures])  # fmt: skip
    return result
