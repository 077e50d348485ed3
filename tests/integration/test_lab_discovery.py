"""Discovery against a real folder and a real HTTP directory index on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lab.sources import (
    FolderSource,
    HttpIndexSource,
    M3uSource,
    RssSource,
    build_sources,
    locator_hash,
)
from lab.stages.discovery import DiscoveryResult, SourceFailure, SourceSuccess, discover
from lab.stages.types import Discovered
from tests.support.net import free_port


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory and the ``python -m http.server`` index that serves it."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _media(path: Path, size: int = 2048) -> bytes:
    data = os.urandom(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


class _Recorder:
    """An injected sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class _Flaky:
    """A source failing its first ``failures`` listings."""

    def __init__(self, name: str, failures: int, items: list[Discovered] | None = None) -> None:
        self.name, self.failures, self.calls, self.items = name, failures, 0, items or []

    async def list_items(self) -> list[Discovered]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"unreachable (call {self.calls})")
        return list(self.items)


async def test_folder_source_finds_media_and_dedupes_by_hash(tmp_path: Path) -> None:
    library = tmp_path / "library"
    same = _media(library / "Morning_Show.mp4")
    (library / "copies").mkdir()
    (library / "copies" / "morning-copy.MOV").write_bytes(same)  # same bytes, other name
    other = _media(library / "copies" / "night.webm")
    (library / "notes.txt").write_text("not media")
    _media(library / ".partial.mp4")  # hidden: some tool's download in progress
    source = FolderSource("disk", library)

    listed = await source.list_items()
    assert len(listed) == 3
    first = await discover([source], known=set(), sleep=_Recorder())
    new = first.new_items
    assert len(new) == 2  # the copy is counted once
    by_hash = {item.content_hash: item for item in new}
    assert set(by_hash) == {hashlib.sha256(same).hexdigest(), hashlib.sha256(other).hexdigest()}
    for item in new:
        assert item.expected_sha256 == item.content_hash
        assert item.uri.startswith("file://") and item.size_bytes == 2048
    # Within a source the first path (in sorted order) names the shared bytes.
    assert {item.title for item in new} == {"Morning Show", "night"}
    outcome = first.outcome("disk")
    assert isinstance(outcome, SourceSuccess) and outcome.listed == 3 and outcome.attempts == 1

    # The orchestrator recorded them: a second run finds nothing new (set or async lookup).
    recorded = {item.content_hash for item in new}
    assert (await discover([source], known=recorded)).new_items == ()

    async def is_known(content_hash: str) -> bool:
        return content_hash in recorded

    assert (await discover([source], known=is_known)).new_items == ()
    _media(library / "fresh.mkv")
    (fresh,) = (await discover([source], known=is_known)).new_items
    assert fresh.title == "fresh"


async def test_http_index_reads_sizes_and_sidecars(served: tuple[Path, str]) -> None:
    root, url = served
    checked = _media(root / "Evening News.mp4", 3000)
    sha = hashlib.sha256(checked).hexdigest()
    (root / "Evening News.mp4.sha256").write_text(f"{sha}  Evening News.mp4\n")
    _media(root / "loose_clip.webm", 1500)
    (root / "readme.txt").write_text("hello")
    _media(root / "sub" / "deeper.mp4")  # a sub-directory is not descended into

    items = await HttpIndexSource("mirror", url).list_items()
    by_title = {item.title: item for item in items}
    assert set(by_title) == {"Evening News", "loose clip"}
    news, loose = by_title["Evening News"], by_title["loose clip"]
    assert news.uri == url + "Evening%20News.mp4"
    assert (news.size_bytes, news.expected_sha256, news.content_hash) == (3000, sha, sha)
    assert loose.size_bytes == 1500 and loose.expected_sha256 is None
    last_modified = loose.metadata["last_modified"]
    # python's http.server sends no ETag: the key falls back to the size.
    assert loose.content_hash == locator_hash(loose.uri, 1500, last_modified)


async def test_http_index_item_deduped_against_the_same_bytes_in_a_folder(
    served: tuple[Path, str],
) -> None:
    root, url = served
    data = _media(root / "shared.mp4")
    (root / "shared.mp4.sha256").write_text(hashlib.sha256(data).hexdigest())
    sources = build_sources(
        [
            {"name": "disk", "kind": "folder", "path": str(root)},
            {"name": "mirror", "kind": "http_index", "url": url},
        ]
    )
    result = await discover(sources, known=set())
    assert [item.source for item in result.new_items] == ["disk"]  # the first source wins
    mirror = result.outcome("mirror")
    assert isinstance(mirror, SourceSuccess) and mirror.listed == 1 and mirror.items == ()


async def test_m3u_file_and_rss_over_http(served: tuple[Path, str], tmp_path: Path) -> None:
    root, url = served
    playlist = tmp_path / "lists" / "main.m3u"
    playlist.parent.mkdir()
    playlist.write_text("#EXTM3U\n#EXTINF:12,First\n../clips/a.mp4\n#EXTINF:3,Second\nb.mp4\n")
    (root / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><item><title>Ep</title>'
        '<enclosure url="media/ep.mp4" length="99" type="video/mp4"/></item></channel></rss>'
    )
    result = await discover(
        [M3uSource("list", str(playlist)), RssSource("pod", url + "feed.xml")], known=set()
    )
    assert [(i.source, i.title, i.duration_s) for i in result.new_items] == [
        ("list", "First", 12.0),
        ("list", "Second", 3.0),
        ("pod", "Ep", None),
    ]
    assert result.new_items[0].uri == (tmp_path / "clips" / "a.mp4").as_uri()
    assert result.new_items[2].uri == url + "media/ep.mp4"  # relative to the feed's URL


async def test_a_source_failing_three_times_is_reported_with_growing_backoff() -> None:
    sleep = _Recorder()
    broken = _Flaky("broken", failures=99)
    result = await discover([broken], known=set(), sleep=sleep, attempts=3, base_delay_s=0.5)
    (failed,) = result.failures
    assert failed == result.outcome("broken")
    assert (failed.source, failed.attempts, broken.calls) == ("broken", 3, 3)
    assert failed.error == "ConnectionError: unreachable (call 3)"  # the last failure
    assert sleep.delays == [0.5, 1.0]  # growing, and no sleep after the last attempt
    assert result.new_items == ()


async def test_one_failing_source_does_not_hide_the_others() -> None:
    sleep = _Recorder()
    item = Discovered(source="ok", uri="file:///x.mp4", content_hash="h1", title="x")
    flaky = _Flaky("flaky", 1, [replace(item, source="flaky", content_hash="h2")])
    healthy = _Flaky("ok", 0, [item, replace(item, uri="file:///same-bytes.mp4")])
    result = await discover(
        [_Flaky("broken", 99), flaky, healthy], known=set(), sleep=sleep, base_delay_s=0.5
    )
    assert [failure.source for failure in result.failures] == ["broken"]
    recovered = result.outcome("flaky")
    assert isinstance(recovered, SourceSuccess) and recovered.attempts == 2
    ok = result.outcome("ok")
    assert isinstance(ok, SourceSuccess) and (ok.listed, len(ok.items)) == (2, 1)
    assert [i.content_hash for i in result.new_items] == ["h2", "h1"]
    assert sorted(sleep.delays) == [0.5, 0.5, 1.0]


async def test_backoff_doubles_until_the_cap() -> None:
    sleep = _Recorder()
    result = await discover(
        [_Flaky("down", failures=99)],
        known=set(),
        sleep=sleep,
        attempts=5,
        base_delay_s=1.0,
        max_delay_s=5.0,
    )
    assert sleep.delays == [1.0, 2.0, 4.0, 5.0]
    assert isinstance(result.outcome("down"), SourceFailure)


async def test_a_hung_source_costs_one_attempt_per_timeout() -> None:
    class _Hung:
        name = "hung"

        async def list_items(self) -> list[Discovered]:
            await asyncio.sleep(30)
            return []

    result = await discover([_Hung()], known=set(), sleep=_Recorder(), attempts=2, timeout_s=0.05)
    failed = result.outcome("hung")
    assert isinstance(failed, SourceFailure) and failed.attempts == 2
    assert "timed out" in failed.error


async def test_folder_that_does_not_exist_fails_cleanly(tmp_path: Path) -> None:
    result: DiscoveryResult = await discover(
        [FolderSource("gone", tmp_path / "nope")], known=set(), sleep=_Recorder()
    )
    (failure,) = result.failures
    assert failure.source == "gone" and "not a readable directory" in failure.error


async def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        await discover([FolderSource("a", tmp_path), FolderSource("a", tmp_path)], known=set())
