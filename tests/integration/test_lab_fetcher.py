"""The fetcher against local files and a real HTTP server on 127.0.0.1 that can misbehave."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lab.stages.fetcher import AllPlansFailedError, FetchError, fetch, fetch_first
from lab.stages.types import Plan
from tests.support.net import free_port


@dataclass
class _Behaviour:
    """What the test server serves and how it misbehaves; it records every request."""

    files: dict[str, bytes] = field(default_factory=dict)
    break_after: dict[str, int] = field(default_factory=dict)  # first GET dies after N bytes
    ignore_range: set[str] = field(default_factory=set)  # answer 200 to a Range request
    status: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ranges(self, path: str) -> list[str | None]:
        return [h.get("range") for m, p, h in self.requests if m == "GET" and p == path]


def _handler(behaviour: _Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path
            with behaviour.lock:
                behaviour.requests.append(
                    ("GET", path, {k.lower(): v for k, v in self.headers.items()})
                )
                first = sum(1 for m, p, _ in behaviour.requests if p == path) == 1
            if path in behaviour.status:
                self.send_error(behaviour.status[path])
                return
            data = behaviour.files.get(path)
            if data is None:
                self.send_error(404)
                return
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            start = 0
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if_range = self.headers.get("If-Range")
            if wanted and path not in behaviour.ignore_range and if_range in (None, etag):
                start = int(wanted.group(1))
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            cut = behaviour.break_after.get(path)
            if first and cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                # Promise the whole body, deliver part of it, hang up: a broken transfer.
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[_Behaviour, str]]:
    behaviour = _Behaviour()
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(behaviour))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield behaviour, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class _Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def _plan(uri: str, data: bytes | None, plan_id: str = "p1") -> Plan:
    return Plan(
        plan_id=plan_id,
        content_hash="c-" + plan_id,
        source="test",
        uri=uri,
        title="t",
        slot_start=datetime(2025, 1, 1, tzinfo=UTC),
        daypart="evening",
        reason="test",
        expected_sha256=hashlib.sha256(data).hexdigest() if data is not None else None,
    )


def _leftovers(dest: Path) -> list[str]:
    return sorted(path.name for path in dest.iterdir()) if dest.exists() else []


@pytest.mark.parametrize("as_uri", [True, False])
async def test_fetch_copies_a_local_file_and_verifies_it(tmp_path: Path, as_uri: bool) -> None:
    data = os.urandom(70_000)
    source = tmp_path / "in" / "Clip One.MP4"
    source.parent.mkdir()
    source.write_bytes(data)
    dest = tmp_path / "out"
    uri = source.as_uri() if as_uri else str(source)
    fetched = await fetch(_plan(uri, data, "plan/7"), dest, chunk_size=4096)
    assert fetched.path == dest / "plan_7.mp4"
    assert fetched.path.read_bytes() == data
    assert (fetched.plan_id, fetched.size_bytes) == ("plan/7", len(data))
    assert fetched.sha256 == hashlib.sha256(data).hexdigest()
    assert _leftovers(dest) == ["plan_7.mp4"]


async def test_local_checksum_mismatch_raises_and_leaves_no_file(tmp_path: Path) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"actual bytes")
    dest = tmp_path / "out"
    with pytest.raises(FetchError, match="checksum mismatch") as failed:
        await fetch(_plan(str(source), b"other bytes"), dest)
    assert failed.value.plan_id == "p1"
    assert _leftovers(dest) == []


async def test_missing_local_file_is_a_fetch_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cannot copy"):
        await fetch(_plan(str(tmp_path / "nope.mp4"), None), tmp_path / "out")


async def test_a_broken_download_resumes_with_a_range_request(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    data = os.urandom(300_000)
    behaviour.files["/media/big.mp4"] = data
    behaviour.break_after["/media/big.mp4"] = 120_000
    sleep = _Recorder()
    fetched = await fetch(
        _plan(base + "/media/big.mp4", data),
        tmp_path / "out",
        sleep=sleep,
        base_delay_s=0.25,
        chunk_size=8192,
        timeout_s=10,
    )
    assert behaviour.ranges("/media/big.mp4") == [None, "bytes=120000-"]
    (_first, _second) = [h for m, p, h in behaviour.requests if p == "/media/big.mp4"]
    assert _second["if-range"].startswith('"')  # guarded by the ETag of the first answer
    assert fetched.sha256 == hashlib.sha256(data).hexdigest()
    assert fetched.path.read_bytes() == data and fetched.size_bytes == len(data)
    assert sleep.delays == [0.25]
    assert _leftovers(tmp_path / "out") == ["p1.mp4"]


async def test_a_200_answer_to_a_range_request_restarts_from_zero(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    data = os.urandom(100_000)
    behaviour.files["/a.webm"] = data
    behaviour.break_after["/a.webm"] = 30_000
    behaviour.ignore_range.add("/a.webm")
    fetched = await fetch(_plan(base + "/a.webm", data), tmp_path, sleep=_Recorder())
    assert behaviour.ranges("/a.webm") == [None, "bytes=30000-"]
    assert fetched.path.read_bytes() == data  # not the first 30 000 bytes twice


async def test_a_partial_left_by_a_failed_fetch_is_resumed_by_the_next(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    data = os.urandom(80_000)
    behaviour.files["/c.mkv"] = data
    behaviour.break_after["/c.mkv"] = 50_000
    plan = _plan(base + "/c.mkv", data)
    with pytest.raises(FetchError, match="gave up after 1 attempts"):
        await fetch(plan, tmp_path, attempts=1, sleep=_Recorder())
    assert (tmp_path / "p1.mkv.part").stat().st_size == 50_000
    fetched = await fetch(plan, tmp_path, sleep=_Recorder())
    assert behaviour.ranges("/c.mkv") == [None, "bytes=50000-"]
    assert fetched.path.read_bytes() == data
    assert _leftovers(tmp_path) == ["p1.mkv"]


async def test_http_checksum_mismatch_raises_and_leaves_no_file(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    behaviour.files["/bad.mp4"] = os.urandom(5000)
    dest = tmp_path / "out"
    with pytest.raises(FetchError) as failed:
        await fetch(_plan(base + "/bad.mp4", b"what we were promised"), dest, sleep=_Recorder())
    assert "checksum mismatch" in str(failed.value) and "deleted" in failed.value.reason
    assert _leftovers(dest) == []


async def test_client_errors_are_not_retried_but_server_errors_are(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    sleep = _Recorder()
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetch(_plan(base + "/missing.mp4", None), tmp_path, sleep=sleep)
    assert sleep.delays == [] and len(behaviour.ranges("/missing.mp4")) == 1
    behaviour.status["/busy.mp4"] = 503
    with pytest.raises(FetchError, match=r"gave up after 3 attempts: .*HTTP 503"):
        await fetch(_plan(base + "/busy.mp4", None), tmp_path, sleep=sleep, base_delay_s=1)
    assert sleep.delays == [1.0, 2.0]
    assert _leftovers(tmp_path) == []


async def test_an_already_fetched_file_is_not_fetched_again(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    data = os.urandom(1000)
    behaviour.files["/x.mp4"] = data
    plan = _plan(base + "/x.mp4", data)
    first = await fetch(plan, tmp_path)
    again = await fetch(plan, tmp_path)
    assert again == first and len(behaviour.ranges("/x.mp4")) == 1


async def test_fetch_first_falls_back_to_the_next_plan(
    server: tuple[_Behaviour, str], tmp_path: Path
) -> None:
    behaviour, base = server
    data = os.urandom(4000)
    behaviour.files["/good.mp4"] = data
    behaviour.files["/corrupt.mp4"] = os.urandom(4000)
    plans = [
        _plan(base + "/gone.mp4?token=secret", data, "a"),
        _plan(base + "/corrupt.mp4", data, "b"),
        _plan(base + "/good.mp4", data, "c"),
        _plan(base + "/never-tried.mp4", data, "d"),
    ]
    fetched, failures = await fetch_first(plans, tmp_path, sleep=_Recorder())
    assert fetched.plan_id == "c" and fetched.path.read_bytes() == data
    assert [(f.plan_id, f.uri) for f in failures] == [
        ("a", base + "/gone.mp4"),  # the token never reaches a log line
        ("b", base + "/corrupt.mp4"),
    ]
    assert "HTTP 404" in failures[0].error and "checksum mismatch" in failures[1].error
    assert "/never-tried.mp4" not in {p for _m, p, _h in behaviour.requests}
    assert _leftovers(tmp_path) == ["c.mp4"]


async def test_fetch_first_when_every_plan_fails(tmp_path: Path) -> None:
    plans = [
        _plan(str(tmp_path / "no1.mp4"), None, "a"),
        replace(_plan("ftp://h/x", None), plan_id="b"),
    ]
    with pytest.raises(AllPlansFailedError) as failed:
        await fetch_first(plans, tmp_path / "out")
    assert [f.plan_id for f in failed.value.failures] == ["a", "b"]
    assert "unsupported URI scheme" in failed.value.failures[1].error
