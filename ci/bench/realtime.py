"""Benchmark: sockets one worker holds, and presence delivery latency across two workers.

sockets:  `vvtv up` (one worker) and, in a separate process, a client that opens N
          authenticated /ws/presence sockets (header auth, each with its own snapshot),
          holds them, checks each one receives a broadcast presence.update, and closes
          them. Reports how many were held, the worker's memory per socket, and the
          broadcast's delivery time to all of them.
latency:  `vvtv up --workers 2` on PostgreSQL (a throwaway database); in a separate
          process, subscriber sockets spread over both workers (by the kernel) and
          publishers posting presence changes at a fixed total rate. Latency is from
          sending the POST to receiving its presence.update on a socket, both clocks
          being the load process's. Reports p50/p95/p99/max, the rate achieved, and
          events that never arrived.

Usage: python ci/bench/realtime.py sockets [--count N] [--users N]
       python ci/bench/realtime.py latency [--rate R] [--seconds S] [--subscribers N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from runtime.auth import Caller, TokenService  # noqa: E402
from runtime.auth.roles import roles_of  # noqa: E402
from runtime.identity.store import NewAccount, insert_account  # noqa: E402
from runtime.settings import DEV_TOKEN_SECRET  # noqa: E402
from runtime.store import open_database, upgrade  # noqa: E402
from runtime.store.clock import database_now  # noqa: E402

PG = os.environ.get("VVTV_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TOKENS = TokenService(DEV_TOKEN_SECRET)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _workers(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = []
    for child in children:
        with contextlib.suppress(FileNotFoundError):
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in command:
                found.append(int(child))
    return found


@contextmanager
def _vvtv_up(url: str, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _port()
    env = {
        **os.environ,
        "VVTV_ENV": "dev",
        "VVTV_DATABASE_URL": url,
        "VVTV_LAB_CHANNEL": "false",
        "VVTV_LAB_DIR": tempfile.mkdtemp(prefix="vvtv-bench-lab-"),
        "VVTV_LOG_LEVEL": "warning",
        "VVTV_DEV_SEED": "false",
        "VVTV_PORT": str(port),
    }
    command = [sys.executable, "-m", "vvtv", "up", "--workers", str(workers)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.TransportError):
                ready = httpx.get(f"{base}/health/ready", timeout=2).status_code == 200
                if ready and (workers == 1 or len(_workers(process.pid)) == workers):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("vvtv up did not become ready")
            time.sleep(0.3)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def _postgres_database() -> Iterator[str]:
    name = f"vvtv_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(f"{PG}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _accounts(url: str, count: int) -> list[tuple[str, str]]:
    """``count`` accounts made straight in the store; (user id, token) each."""
    await upgrade(url)
    database = open_database(url)
    made = []
    try:
        for _ in range(count):
            user = uuid.uuid4()
            new = NewAccount(
                email=f"{user}@bench.voulezvous.tv",
                display_name="bench",
                password_hash=None,
                id=user,
            )
            await database.write(
                lambda conn, n=new: insert_account(conn, n, now=database_now(conn))
            )
            made.append((str(user), TOKENS.issue(Caller(user, roles_of("user")))))
    finally:
        await database.close()
    return made


def _loader(*args: str) -> subprocess.Popen[str]:
    """This script again, in a separate process, as the load generator."""
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _ask(loader: subprocess.Popen[str], command: str) -> dict[str, Any]:
    assert loader.stdin is not None and loader.stdout is not None
    loader.stdin.write(command + "\n")
    loader.stdin.flush()
    return dict(json.loads(loader.stdout.readline()))


# ---------------------------------------------------------------------- sockets


def sockets(count: int, users: int) -> None:
    """Hold ``count`` authenticated sockets on one worker; memory and broadcast time.

    A bare Litestar socket on the same uvicorn settings is measured in the same run: the
    floor of what one socket costs before authentication, the hub and the snapshot.
    """
    with tempfile_db() as url:
        accounts = asyncio.run(_accounts(url, users))
        tokens_file = Path(tempfile.mkdtemp(prefix="vvtv-bench-")) / "tokens.json"
        tokens_file.write_text(json.dumps(accounts))
        with _vvtv_up(url, 1) as (base, process):
            measured = _hold(base, process.pid, tokens_file, count, broadcast=True)
        with _bare_socket_server() as (base, process):
            floor = _hold(base, process.pid, tokens_file, count, broadcast=False)
    held = measured["open"]
    print(f"sockets opened and held by one worker: {held} of {count} ({measured['failed']} failed)")
    print(
        f"  open rate: {held / measured['took']:.0f} sockets/s ({measured['took']:.1f} s for all)"
    )
    print(
        f"  worker RSS: {measured['before'] / 1024:.1f} MiB before,"
        f" {measured['after'] / 1024:.1f} MiB with them:"
        f" {measured['per_socket']:.1f} KiB per socket"
    )
    print(
        f"  bare Litestar socket, same uvicorn settings: {floor['per_socket']:.1f} KiB per"
        f" socket ({floor['open']} held); the platform adds"
        f" {measured['per_socket'] - floor['per_socket']:.1f} KiB"
    )
    print(
        f"  one presence.update to all of them: {measured['received']} received,"
        f" last after {measured['last_ms']:.0f} ms"
    )


def _hold(
    base: str, server: int, tokens_file: Path, count: int, *, broadcast: bool
) -> dict[str, Any]:
    time.sleep(2)
    before = _rss_kib(server)
    loader = _loader("_open", base, str(tokens_file), str(count))
    started = time.monotonic()
    opened = _ask(loader, "open")
    took = time.monotonic() - started
    time.sleep(6)  # a tick of the hub runs over every socket (renewals, re-checks)
    after = _rss_kib(server)
    sent = _ask(loader, "broadcast") if broadcast else {}
    _ask(loader, "close")
    loader.wait(timeout=60)
    per_socket = (after - before) / max(opened["open"], 1)
    return {
        **opened,
        **sent,
        "took": took,
        "before": before,
        "after": after,
        "per_socket": per_socket,
    }


@contextmanager
def _bare_socket_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """ci/bench/bare_app.py on uvicorn, with `vvtv up`'s WebSocket settings."""
    port = _port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "ci.bench.bare_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--ws", "websockets-sansio", "--ws-ping-interval", "5", "--ws-ping-timeout", "5",
            "--ws-max-size", "65536",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def tempfile_db() -> Iterator[str]:
    path = Path(tempfile.mkdtemp(prefix="vvtv-bench-")) / "vvtv.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()


async def _open_sockets(base: str, tokens_file: str, count: int) -> None:
    import websockets  # noqa: PLC0415

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    accounts = json.loads(Path(tokens_file).read_text())  # noqa: ASYNC240 - once, at start
    ws = base.replace("http://", "ws://") + "/ws/presence"
    held: list[Any] = []
    failed = 0
    gate = asyncio.Semaphore(200)

    async def one(index: int) -> None:
        nonlocal failed
        _user, token = accounts[index % len(accounts)]
        async with gate:
            try:
                socket_ = await websockets.connect(
                    ws,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=60,
                    ping_interval=None,
                    max_queue=None,
                )
                held.append(socket_)
            except Exception:  # counted: the worker refused or timed out
                failed += 1

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    while line := (await reader.readline()).decode().strip():
        if line == "open":
            await asyncio.gather(*(one(i) for i in range(count)))
            answer({"open": len(held), "failed": failed})
        elif line == "broadcast":
            user, token = accounts[0]
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                sent = time.monotonic()
                await http.post(
                    "/v1/presence",
                    json={"presence_mode": "party", "is_camera_on": True},
                    headers={"Authorization": f"Bearer {token}"},
                )

            async def first_update(socket_: Any, user: str = user) -> float | None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(60):
                        while True:
                            frame = json.loads(await socket_.recv())
                            if frame["data"]["user_id"] == user:
                                return time.monotonic()
                return None

            arrivals = [t for t in await asyncio.gather(*(first_update(s) for s in held)) if t]
            last = (max(arrivals) - sent) * 1000 if arrivals else float("nan")
            answer({"received": len(arrivals), "last_ms": last})
        elif line == "close":
            await asyncio.gather(*(s.close() for s in held), return_exceptions=True)
            answer({"closed": len(held)})
            return


# ---------------------------------------------------------------------- latency


def latency(rate: int, seconds: int, subscribers: int, users: int, connections: int) -> None:
    """Presence delivery across two workers on PostgreSQL at about ``rate`` events/s."""
    workdir = Path(tempfile.mkdtemp(prefix="vvtv-bench-"))
    with _postgres_database() as url:
        accounts = asyncio.run(_accounts(url, users + subscribers))
        publishers, watchers = accounts[:users], accounts[users:]
        (workdir / "tokens").write_text("\n".join(t for _u, t in publishers) + "\n")
        (workdir / "watchers.json").write_text(json.dumps(watchers))
        with _vvtv_up(url, 2) as (base, _process):
            _warm(base, publishers)
            loader = _loader("_watch", base, str(workdir / "watchers.json"))
            ready = _ask(loader, "connect")
            delay_ms = _calibrate(base, workdir, rate, connections)
            time.sleep(1)
            before = asyncio.run(_presence_seq(url))
            started = time.time()
            _ask(loader, f"measure {started}")
            done = _wrk(base, workdir, connections, seconds, delay_ms)
            time.sleep(2)  # the last events
            events = asyncio.run(_presence_seq(url)) - before
            result = _ask(loader, "stop")
            loader.wait(timeout=60)
    requests = _wrk_requests(done.stdout)
    lat = sorted(result["latencies_ms"])

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

    print(
        f"presence.update delivery, vvtv up --workers 2 on PostgreSQL, {subscribers} subscriber"
        f" sockets held by {ready['workers']} workers, wrk -c{connections} posting changes of"
        f" {users} users for {seconds} s (asked: {rate}/s):"
    )
    print(
        f"  POSTs answered: {requests} ({requests / seconds:.0f}/s),"
        f" non-2xx: {_wrk_errors(done.stdout)}"
    )
    print(
        f"  presence.update events (the journal's count): {events}; deliveries: {len(lat)}"
        f" of {events * subscribers} expected"
    )
    if result["closed"]:
        print(f"  sockets closed by the server during the run: {result['closed']}")
    if lat:
        print(
            f"  latency ms (event ts -> socket): p50 {pct(50):.1f}  p95 {pct(95):.1f}"
            f"  p99 {pct(99):.1f}  max {lat[-1]:.1f}"
        )
    print(f"  POST latency (wrk): {_wrk_latency(done.stdout)}")


def _wrk(
    base: str, workdir: Path, connections: int, seconds: int, delay_ms: float
) -> subprocess.CompletedProcess[str]:
    """wrk posting presence changes; each connection pauses ``delay_ms`` after each answer."""
    return subprocess.run(
        [
            "wrk", "-t2", f"-c{connections}", f"-d{seconds}s",
            "-s", str(ROOT / "ci" / "bench" / "wrk" / "presence.lua"), "--latency", base,
        ],
        env={
            **os.environ,
            "TOKENS_FILE": str(workdir / "tokens"),
            "DELAY_MS": f"{delay_ms:.1f}",
            "THREADS": "2",
        },
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip


def _calibrate(base: str, workdir: Path, rate: int, connections: int) -> float:
    """The pause per connection that holds about ``rate`` requests a second (short runs)."""
    delay, aim = 0.0, rate * 1.02  # a little above: a pause tuned in 3 s runs drifts down
    for _ in range(5):
        got = _wrk_requests(_wrk(base, workdir, connections, 3, delay).stdout) / 3
        if abs(got - aim) / aim < 0.02 or (delay == 0 and got < aim):
            break  # close enough, or the server cannot go faster than asked
        delay = max(0.0, delay + (connections / aim - connections / got) * 1000)
    return delay


async def _presence_seq(url: str) -> int:
    """The presence channel's last seq: how many presence.update events were published."""
    connection = await asyncpg.connect(url)
    try:
        value = await connection.fetchval(
            "SELECT seq FROM event_channels WHERE channel = 'presence'"
        )
    finally:
        await connection.close()
    return int(value or 0)


def _warm(base: str, accounts: list[tuple[str, str]]) -> None:
    """Every publisher has a presence, so each POST of the run is a change."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for _user, token in accounts:
            http.post(
                "/v1/presence",
                json={"presence_mode": "party", "is_camera_on": False},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()


def _wrk_requests(output: str) -> int:
    for line in output.splitlines():
        if "requests in" in line:
            return int(line.split()[0])
    raise RuntimeError(output)


def _wrk_errors(output: str) -> int:
    for line in output.splitlines():
        if "Non-2xx" in line:
            return int(line.split()[-1])
    return 0


def _wrk_latency(output: str) -> str:
    marks = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            marks[parts[0]] = parts[1]
    return f"p50 {marks.get('50%', '?')}  p99 {marks.get('99%', '?')}"


async def _watch(base: str, watchers_file: str) -> None:
    """Subscriber sockets; latency of each presence.update from its ``ts`` to arrival."""
    import websockets  # noqa: PLC0415

    watchers = json.loads(Path(watchers_file).read_text())  # noqa: ASYNC240 - once, at start
    ws = base.replace("http://", "ws://") + "/ws/presence"
    latencies: list[float] = []
    since: float | None = None
    sockets_: list[Any] = []

    closes: list[int] = []

    async def receive(socket_: Any) -> None:
        try:
            async for raw in socket_:
                now = time.time()
                # Only `ts` is read, without parsing the frame: the measuring process
                # shares the two cores with the servers, and spends as little as it can.
                at = raw.index('"ts":"') + 6
                ts = datetime.fromisoformat(raw[at : raw.index('"', at)]).timestamp()
                if since is not None and ts >= since:
                    latencies.append((now - ts) * 1000)
        except websockets.ConnectionClosed as closed:
            closes.append(closed.rcvd.code if closed.rcvd else 0)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    receivers: list[asyncio.Task[None]] = []
    while line := (await reader.readline()).decode().strip():
        command, _, argument = line.partition(" ")
        if command == "connect":
            for _user, token in watchers:
                socket_ = await websockets.connect(
                    ws, additional_headers={"Authorization": f"Bearer {token}"},
                    ping_interval=None, max_queue=None,
                )  # fmt: skip
                sockets_.append(socket_)
                receivers.append(asyncio.create_task(receive(socket_)))
            ports = {s.transport.get_extra_info("sockname")[1] for s in sockets_}
            await asyncio.sleep(1)  # snapshots
            _answer({"workers": _count_workers(base, ports)})
        elif command == "measure":
            since = float(argument)
            _answer({})
        elif command == "stop":
            for task in receivers:
                task.cancel()
            await asyncio.gather(*(s.close() for s in sockets_), return_exceptions=True)
            _answer({"latencies_ms": latencies, "closed": closes})
            return


def _answer(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def _count_workers(base: str, ports: set[int]) -> int:
    """How many distinct worker processes hold the subscriber sockets (from /proc)."""
    server_port = int(base.rsplit(":", 1)[1])
    inodes: dict[str, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.rsplit(":", 1)[1], 16) == server_port:
            peer = int(remote.rsplit(":", 1)[1], 16)
            if peer in ports:
                inodes[f"socket:[{fields[9]}]"] = peer
    holders = set()
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (process / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()) in inodes:
                        holders.add(process.name)
    return len(holders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("sockets")
    one.add_argument("--count", type=int, default=10_000)
    one.add_argument("--users", type=int, default=100)
    two = sub.add_parser("latency")
    two.add_argument("--rate", type=int, default=1000)
    two.add_argument("--seconds", type=int, default=20)
    two.add_argument("--subscribers", type=int, default=10)
    two.add_argument("--users", type=int, default=200)
    two.add_argument("--connections", type=int, default=64)
    hidden_open = sub.add_parser("_open")
    hidden_open.add_argument("base")
    hidden_open.add_argument("tokens")
    hidden_open.add_argument("count", type=int)
    hidden_watch = sub.add_parser("_watch")
    hidden_watch.add_argument("base")
    hidden_watch.add_argument("watchers")
    args = parser.parse_args()
    if args.command == "sockets":
        sockets(args.count, args.users)
    elif args.command == "latency":
        latency(args.rate, args.seconds, args.subscribers, args.users, args.connections)
    elif args.command == "_open":
        asyncio.run(_open_sockets(args.base, args.tokens, args.count))
    else:
        asyncio.run(_watch(args.base, args.watchers))


if __name__ == "__main__":
    main()
