"""Soak: `vvtv up` plays the demo channel for N minutes while failures are forced on it.

A client polls the live playlist every second and checks every read against the live
HLS rules (lab/hls/rules.py, with the read before it: no gap, no step back in the media
sequence, discontinuity sequence kept). Every `--every` seconds one failure is forced,
in turn: the transmitter's encoder killed (SIGKILL), the emergency loop switched on and
off through the signed control API, the realizer paused for 90 s, and
the whole server killed (SIGKILL) and started again. Reported: max segment age as a
client sees it (time between two new segments) and as the server reports it, fallback
episodes and their switch latencies, rule violations, media sequence gaps.
Usage: python ci/bench/lab_soak.py [--minutes 20] [--every 150]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from lab.control.signing import sign  # noqa: E402
from lab.hls.rules import LivePlaylist, check_live_playlist, read_live_playlist  # noqa: E402
from lab.settings import DEV_CONTROL_SECRET, DEV_CONTROL_TOKEN  # noqa: E402
from tests.support.net import free_port  # noqa: E402

TARGET_S = 4  # broadcast_hls segment_seconds


class Server:
    """One `vvtv up` on a scratch folder, restartable on the same database and LAB folder."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = (folder / "server.log").open("ab")

    def start(self) -> None:
        env = {
            **os.environ,
            "VVTV_DATABASE_URL": f"sqlite:///{self.folder / 'vvtv.db'}",
            "VVTV_LAB_DIR": str(self.folder / "lab"),
            "VVTV_LOG_FORMAT": "json",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vvtv", "up", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        # The encoder of a killed server is an orphan: a real supervisor kills the group.
        subprocess.run(["pkill", "-KILL", "-f", str(self.folder / "lab" / "work")], check=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def _command(client: httpx.Client, path: str) -> int:
    body = json.dumps({"reason": "soak"}).encode()
    stamp = str(int(time.time()))
    headers = {
        "authorization": f"Bearer {DEV_CONTROL_TOKEN}",
        "content-type": "application/json",
        "x-vvtv-ts": stamp,
        "x-vvtv-signature": sign(DEV_CONTROL_SECRET, "POST", path, stamp, body),
    }
    return client.post(path, content=body, headers=headers).status_code


def _kill_encoder(folder: Path) -> bool:
    found = subprocess.run(
        ["pgrep", "-f", f"ffmpeg .*-re .*{folder / 'lab' / 'work'}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for pid in found:
        os.kill(int(pid), signal.SIGKILL)
    return bool(found)


@dataclass
class Observed:
    """What the client saw over the soak."""

    violations: list[str] = field(default_factory=list)
    reads: int = 0
    unreachable: int = 0
    max_client_age: float = 0.0
    max_server_age: float = 0.0
    ages_by_phase: dict[str, float] = field(default_factory=dict)
    first_sequence: int | None = None
    last_sequence: int | None = None
    previous: LivePlaylist | None = None
    last_uri: str | None = None
    last_new: float = field(default_factory=time.monotonic)
    phase: str = "steady"

    def read(self, client: httpx.Client, now: float) -> None:
        """One poll: the playlist checked against the last one, and the segment ages."""
        auth = {"authorization": f"Bearer {DEV_CONTROL_TOKEN}"}
        try:
            response = client.get("/live/main.m3u8")
            status = client.get("/v1/status", headers=auth)
        except httpx.TransportError:
            self.unreachable += 1
            return
        if response.status_code != 200 or status.status_code != 200:
            self.unreachable += 1
            return
        self.reads += 1
        playlist = read_live_playlist(response.text)
        for bad in check_live_playlist(playlist, target_duration=TARGET_S, previous=self.previous):
            self.violations.append(f"{bad.rule}: {bad.detail}")
        self.previous = playlist
        newest = playlist.segments[-1].uri if playlist.segments else None
        if newest != self.last_uri:
            age = now - self.last_new
            if self.last_uri is not None:
                self.max_client_age = max(self.max_client_age, age)
                self.ages_by_phase[self.phase] = max(self.ages_by_phase.get(self.phase, 0.0), age)
            self.last_uri, self.last_new, self.phase = newest, now, "steady"
        server_age = status.json()["transmitter"]["segment_age_s"]
        if server_age is not None:
            self.max_server_age = max(self.max_server_age, server_age)
        if self.first_sequence is None:
            self.first_sequence = playlist.media_sequence
        self.last_sequence = playlist.media_sequence


def _wait_on_air(client: httpx.Client) -> float:
    started = time.monotonic()
    while True:  # first segments: demo library, slate and reserve cut on a fresh machine
        with contextlib.suppress(httpx.TransportError):
            if client.get("/live/main.m3u8").status_code == 200:
                return time.monotonic() - started
        if time.monotonic() - started > 300:
            raise SystemExit("the channel did not start within 300 s")
        time.sleep(0.5)


def _force(kind: str, server: Server, client: httpx.Client, now: float) -> tuple[float, str] | None:
    """Force one failure; returns the command that undoes it and when, if any."""
    if kind == "kill_encoder" and not _kill_encoder(server.folder):
        print("      no encoder running at that moment", flush=True)
    elif kind == "emergency":
        _command(client, "/v1/control/emergency/on")
        return (now + 30, "/v1/control/emergency/off")
    elif kind == "pause_realizer":
        _command(client, "/v1/control/realizer/pause")
        return (now + 90, "/v1/control/realizer/resume")
    elif kind == "kill_server":
        server.kill()
        server.start()
    return None


def _report(
    args: argparse.Namespace, seen: Observed, forced: list[str], client: httpx.Client
) -> None:
    auth = {"authorization": f"Bearer {DEV_CONTROL_TOKEN}"}
    reports = client.get("/v1/reports?kind=fallback&limit=100", headers=auth).json()["items"]
    latencies = sorted(
        r["switch_latency_ms"] for r in reports if r["switch_latency_ms"] is not None
    )
    print(f"minutes                   {args.minutes:g}")
    print(f"failures forced           {len(forced)} ({', '.join(forced)})")
    print(
        f"playlist reads            {seen.reads} (unreachable {seen.unreachable}: server restarts)"
    )
    print(f"media sequence            {seen.first_sequence} -> {seen.last_sequence}")
    print(f"rule violations           {len(seen.violations)} (gaps and steps back included)")
    for violation in seen.violations[:10]:
        print(f"  {violation}")
    print(f"max segment age (client)  {seen.max_client_age:.1f} s")
    for name, age in sorted(seen.ages_by_phase.items()):
        print(f"  after {name:<14}  {age:.1f} s")
    print(f"max segment age (server)  {seen.max_server_age:.1f} s")
    print(f"fallback episodes         {len(reports)}; switch latency ms {latencies}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=150.0, help="seconds between failures")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vvtv-soak-"))
    server = Server(folder, free_port())
    server.start()
    client = httpx.Client(base_url=server.base, timeout=5)
    print(f"channel on air after {_wait_on_air(client):.1f} s", flush=True)
    kinds = ["kill_encoder", "emergency", "pause_realizer", "kill_server"]
    seen, forced = Observed(), []
    start = time.monotonic()
    next_failure, undo = start + args.every, None
    try:
        while (now := time.monotonic()) - start < args.minutes * 60:
            if undo and now >= undo[0]:
                _command(client, undo[1])
                undo = None
            if now >= next_failure:
                kind = kinds[len(forced) % len(kinds)]
                forced.append(kind)
                seen.phase = kind
                print(f"{(now - start) / 60:5.1f} min: forcing {kind}", flush=True)
                undo = _force(kind, server, client, now) or undo
                next_failure = now + args.every
            seen.read(client, now)
            time.sleep(1)
        _report(args, seen, forced, client)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
