"""/health/live and /health/ready on SQLite and PostgreSQL, and their failure modes."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from runtime.app import build_app
from runtime.settings import Settings
from runtime.store import head_revision, upgrade


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'vvtv.db'}", **kw)  # type: ignore[arg-type]


async def test_live_and_ready_on_sqlite(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await upgrade(settings.database_url)
    async with AsyncTestClient(build_app(settings)) as client:
        live = await client.get("/health/live")
        assert live.status_code == 200 and live.json() == {"status": "live"}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready"
        assert body["checks"]["config"]["tier"] == "COST_LOW"
        assert body["checks"]["config"]["config_hash"].startswith("sha256:")
        assert body["checks"]["database"] == {"ok": True}
        assert body["checks"]["schema"]["revision"] == head_revision()
    # The embedded database runs in WAL mode.
    assert (tmp_path / "vvtv.db").exists()


@pytest.mark.postgres
async def test_ready_on_postgres(postgres_url: str) -> None:
    # Fails (never skips) when PostgreSQL is down: CI must run this.
    connection = await asyncpg.connect(postgres_url)
    await connection.close()
    await upgrade(postgres_url)
    async with AsyncTestClient(build_app(Settings(database_url=postgres_url))) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == {"ok": True}


async def test_unreachable_database_is_503_problem_json() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/none", ready_timeout_s=1.0)
    async with AsyncTestClient(build_app(settings)) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    problem = ready.json()
    assert problem["status"] == 503
    assert problem["code"] == "NOT_READY"
    assert problem["title"] and "database" in problem["detail"]
    assert problem["checks"]["database"]["ok"] is False
    assert problem["checks"]["config"]["ok"] is True


async def test_a_database_behind_the_code_is_not_ready(tmp_path: Path) -> None:
    async with AsyncTestClient(build_app(_settings(tmp_path))) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    problem = ready.json()
    assert problem["checks"]["schema"] == {"ok": False, "revision": "base", "head": head_revision()}
    assert "schema" in problem["detail"]


async def test_invalid_config_is_503_naming_the_problems(root: Path, tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    shutil.copytree(root / "manifests", manifests)
    tiers = manifests / "cost-tiers.yaml"
    tiers.write_text(tiers.read_text().replace("timeout_s: 20", "timeout_s: twenty"))
    settings = _settings(tmp_path, manifests_dir=manifests)
    await upgrade(settings.database_url)
    async with AsyncTestClient(build_app(settings)) as client:
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert live.status_code == 200
    assert ready.status_code == 503
    problem = ready.json()
    assert problem["code"] == "NOT_READY"
    assert problem["checks"]["config"]["ok"] is False
    assert "schema.type" in problem["checks"]["config"]["first"][0]
    assert problem["checks"]["database"]["ok"] is True


async def test_unknown_route_is_problem_json(tmp_path: Path) -> None:
    async with AsyncTestClient(build_app(_settings(tmp_path))) as client:
        response = await client.get("/nowhere")
        wrong_method = await client.post("/health/live")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "NOT_FOUND"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"
