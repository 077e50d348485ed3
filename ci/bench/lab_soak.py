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
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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
        ["pgrep", "-f", f"-re .*{folder / 'lab' / 'work'}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for pid in found:
        os.kill(int(pid), signal.SIGKILL)
    return bool(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=150.0, help="seconds between failures")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vvtv-soak-"))
    server = Server(folder, free_port())
    server.start()
    client = httpx.Client(base_url=server.base, timeout=5)
    auth = {"authorization": f"Bearer {DEV_CONTROL_TOKEN}"}
    started = time.monotonic()
    while True:  # first segments: demo library, slate and reserve cut on a fresh machine
        try:
            if client.get("/live/main.m3u8").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() - started > 300:
            raise SystemExit("the channel did not start within 300 s")
        time.sleep(0.5)
    print(f"channel on air after {time.monotonic() - started:.1f} s", flush=True)

    failures = ["kill_encoder", "emergency", "pause_realizer", "kill_server"]
    previous: LivePlaylist | None = None
    violations: list[str] = []
    last_uri, last_new = None, time.monotonic()
    max_client_age = max_server_age = 0.0
    ages_by_phase: dict[str, float] = {}
    phase = "steady"
    reads = unreachable = 0
    first_sequence = last_sequence = None
    forced: list[str] = []
    soak_start = time.monotonic()
    next_failure = soak_start + args.every
    pending_undo: tuple[float, str] | None = None
    while time.monotonic() - soak_start < args.minutes * 60:
        now = time.monotonic()
        if pending_undo and now >= pending_undo[0]:
            _command(client, pending_undo[1])
            pending_undo = None
        if now >= next_failure:
            kind = failures[len(forced) % len(failures)]
            forced.append(kind)
            phase = kind
            print(f"{(now - soak_start) / 60:5.1f} min: forcing {kind}", flush=True)
            if kind == "kill_encoder" and not _kill_encoder(folder):
                print("      no encoder running at that moment", flush=True)
            elif kind == "emergency":
                _command(client, "/v1/control/emergency/on")
                pending_undo = (now + 30, "/v1/control/emergency/off")
            elif kind == "pause_realizer":
                _command(client, "/v1/control/realizer/pause")
                pending_undo = (now + 90, "/v1/control/realizer/resume")
            elif kind == "kill_server":
                server.kill()
                server.start()
            next_failure = now + args.every
        try:
            response = client.get("/live/main.m3u8")
            status = client.get("/v1/status", headers=auth)
        except httpx.TransportError:
            unreachable += 1
            time.sleep(1)
            continue
        if response.status_code != 200 or status.status_code != 200:
            unreachable += 1
            time.sleep(1)
            continue
        reads += 1
        playlist = read_live_playlist(response.text)
        for violation in check_live_playlist(playlist, target_duration=TARGET_S, previous=previous):
            violations.append(f"{violation.rule}: {violation.detail}")
        previous = playlist
        newest = playlist.segments[-1].uri if playlist.segments else None
        if newest != last_uri:
            age = now - last_new
            if last_uri is not None:
                max_client_age = max(max_client_age, age)
                ages_by_phase[phase] = max(ages_by_phase.get(phase, 0.0), age)
            last_uri, last_new, phase = newest, now, "steady"
        server_age = status.json()["transmitter"]["segment_age_s"]
        if server_age is not None:
            max_server_age = max(max_server_age, server_age)
        first_sequence = playlist.media_sequence if first_sequence is None else first_sequence
        last_sequence = playlist.media_sequence
        time.sleep(1)

    reports = client.get("/v1/reports?kind=fallback&limit=100", headers=auth).json()["items"]
    metrics = client.get("/metrics").text
    restarts = [
        line
        for line in metrics.splitlines()
        if line.startswith("vvtv_lab_transmitter_restarts_total")
    ]
    server.stop()
    latencies = sorted(
        r["switch_latency_ms"] for r in reports if r["switch_latency_ms"] is not None
    )
    print(f"minutes                   {args.minutes:g}")
    print(f"failures forced           {len(forced)} ({', '.join(forced)})")
    print(
        f"playlist reads            {reads} (unreachable {unreachable}, while the server restarted)"
    )
    print(f"media sequence            {first_sequence} -> {last_sequence}")
    print(f"rule violations           {len(violations)} (gaps and steps back included)")
    for violation in violations[:10]:
        print(f"  {violation}")
    print(f"max segment age (client)  {max_client_age:.1f} s")
    for name, age in sorted(ages_by_phase.items()):
        print(f"  after {name:<14}  {age:.1f} s")
    print(f"max segment age (server)  {max_server_age:.1f} s")
    print(f"fallback episodes         {len(reports)}; switch latency ms {latencies}")
    print(f"transmitter restarts      {restarts}")
    print(f"scratch folder            {folder}")


if __name__ == "__main__":
    main()
