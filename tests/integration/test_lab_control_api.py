"""The lab-control API over HTTP: token and signature checks, commands, status, reports, alerts."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from generated.lab_control import models
from lab.app import lab_extension
from lab.control.signing import sign
from lab.settings import LabSettings
from lab.store.catalog import record_source_failure
from runtime.app import build_app
from runtime.settings import Settings
from runtime.store import upgrade

TOKEN, SECRET = "test-token-0123456789", "test-secret-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def _lab(tmp_path: Path, **overrides: Any) -> LabSettings:
    values: dict[str, Any] = {
        "env": "test",
        "control_token": TOKEN,
        "control_secret": SECRET,
        "lab_dir": tmp_path / "lab",
    }
    return LabSettings(**{**values, **overrides})


@pytest.fixture
async def client(store_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    await upgrade(store_url)
    app = build_app(
        Settings(env="test", database_url=store_url, token_secret="x" * 32, turn_secrets=["t"]),
        extension=lab_extension(_lab(tmp_path), run_channel=False),
    )
    async with AsyncTestClient(app) as test_client:
        yield test_client


def _signed(path: str, body: bytes = b"", *, ts: int | None = None, **kw: str) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    return {
        **AUTH,
        "content-type": "application/json",
        "x-vvtv-ts": stamp,
        "x-vvtv-signature": sign(
            SECRET, kw.get("method", "POST"), kw.get("sign_path", path), stamp, body
        ),
    }


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_reads_need_the_token(client: AsyncTestClient[Any]) -> None:
    _problem(await client.get("/v1/status"), 401, "AUTH_FAILED")
    _problem(
        await client.get("/v1/status", headers={"authorization": "Bearer wrong"}),
        401,
        "AUTH_FAILED",
    )
    response = await client.get("/v1/status", headers=AUTH)
    assert response.status_code == 200, response.text
    status = models.LabStatus.model_validate(response.json())
    assert status.queue.buffer_target_minutes == 60 and status.transmitter.state == "stopped"


async def test_a_signed_command_applies_once(client: AsyncTestClient[Any]) -> None:
    path = "/v1/control/planner/pause"
    body = json.dumps({"reason": "M1 shutdown ritual"}).encode()
    first = await client.post(path, content=body, headers=_signed(path, body))
    assert first.status_code == 200, first.text
    result = models.ControlResult.model_validate(first.json())
    assert result.changed and result.command == "pause_planner"
    assert (
        result.status.planner.paused and result.status.planner.pause_reason == "M1 shutdown ritual"
    )
    # A new signature (another second) for the same command: harmless, nothing changes.
    again = await client.post(
        path, content=body, headers=_signed(path, body, ts=int(time.time()) + 1)
    )
    assert again.status_code == 200 and again.json()["changed"] is False
    resumed = await client.post(
        "/v1/control/planner/resume", headers=_signed("/v1/control/planner/resume")
    )
    assert resumed.status_code == 200 and resumed.json()["status"]["planner"]["paused"] is False


async def test_tampered_wrong_path_stale_and_replayed_signatures_are_refused(
    client: AsyncTestClient[Any],
) -> None:
    path = "/v1/control/emergency/on"
    body = b'{"reason":"drill"}'
    headers = _signed(path, body)
    tampered = await client.post(path, content=b'{"reason":"drilL"}', headers=headers)
    _problem(tampered, 401, "AUTH_FAILED")
    assert "WWW-Authenticate" in tampered.headers
    wrong_path = _signed(path, body, sign_path="/v1/control/emergency/off")
    _problem(await client.post(path, content=body, headers=wrong_path), 401, "AUTH_FAILED")
    stale = _signed(path, body, ts=int(time.time()) - 3600)
    _problem(await client.post(path, content=body, headers=stale), 401, "AUTH_FAILED")
    missing = {**AUTH, "content-type": "application/json"}
    _problem(await client.post(path, content=body, headers=missing), 401, "AUTH_FAILED")
    no_token = {k: v for k, v in headers.items() if k != "authorization"}
    _problem(await client.post(path, content=body, headers=no_token), 401, "AUTH_FAILED")
    # None of the refusals used the signature up: it is accepted once, then replayed.
    accepted = await client.post(path, content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"]["emergency"] == {
        "active": True,
        "since": accepted.json()["status"]["emergency"]["since"],
        "reason": "drill",
    }
    _problem(await client.post(path, content=body, headers=headers), 409, "NONCE_REPLAY")


async def test_bad_bodies_are_refused_after_the_signature(client: AsyncTestClient[Any]) -> None:
    path = "/v1/control/queue/freeze"
    body = b'{"duration": 5}'
    response = await client.post(path, content=body, headers=_signed(path, body))
    _problem(response, 422, "SCHEMA_INVALID")
    assert "duration" in response.text


async def test_force_nightly_queues_one_run(client: AsyncTestClient[Any]) -> None:
    path = "/v1/control/nightly/force"
    first = await client.post(path, headers=_signed(path))
    assert first.status_code == 202, first.text
    run = models.NightlyRun.model_validate(first.json())
    assert run.state == "queued" and run.forced and not run.coalesced
    second = await client.post(path, headers=_signed(path, ts=int(time.time()) + 1))
    assert second.status_code == 202 and second.json()["coalesced"] is True
    assert second.json()["run_id"] == str(run.run_id)
    status = (await client.get("/v1/status", headers=AUTH)).json()
    assert status["nightly"]["running"] is True


async def test_alerts_and_reports(client: AsyncTestClient[Any], store_url: str) -> None:
    from runtime.store import open_database  # noqa: PLC0415

    database = open_database(store_url)
    try:
        for _ in range(3):
            await database.write(lambda conn: record_source_failure(conn, "archive-feed", "503"))
    finally:
        await database.close()
    response = await client.get("/v1/alerts", headers=AUTH)
    assert response.status_code == 200, response.text
    snapshot = models.AlertSnapshot.model_validate(response.json())
    codes = {(a.code, a.subject) for a in snapshot.alerts}
    assert ("discovery_failures", "archive-feed") in codes
    high = (await client.get("/v1/alerts?min_severity=high", headers=AUTH)).json()
    assert all(a["severity"] in ("high", "critical") for a in high["alerts"])
    page = await client.get("/v1/reports?limit=5", headers=AUTH)
    assert page.status_code == 200 and page.json() == {"items": [], "next_cursor": None}
    _problem(await client.get("/v1/reports?cursor=zzz", headers=AUTH), 422, "SCHEMA_INVALID")


def test_default_secrets_are_refused_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VVTV_CONTROL_TOKEN"):
        lab_extension(LabSettings(env="prod", lab_dir=tmp_path), run_channel=False)
    with pytest.raises(ValueError, match="VVTV_CONTROL_SECRET"):
        lab_extension(
            LabSettings(env="prod", control_token="t" * 20, control_secret="dev-secret"),
            run_channel=False,
        )
    dev = LabSettings(env="dev", control_token=None, control_secret=None)
    assert dev.effective_control_token() == "dev-token"
    assert dev.effective_control_secret() == "dev-secret"


async def test_a_replay_is_refused_by_another_process_too(
    client: AsyncTestClient[Any], store_url: str, tmp_path: Path
) -> None:
    other = build_app(
        Settings(env="test", database_url=store_url, token_secret="x" * 32, turn_secrets=["t"]),
        extension=lab_extension(_lab(tmp_path), run_channel=False),
    )
    path = "/v1/control/discovery/pause"
    headers = _signed(path)
    first = await client.post(path, headers=headers)
    assert first.status_code == 200, first.text
    async with AsyncTestClient(other) as second:  # another worker on the same store
        _problem(await second.post(path, headers=headers), 409, "NONCE_REPLAY")
