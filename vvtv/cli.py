"""``vvtv``: run the platform, generate code from the contracts, check the configuration.

Heavy imports live inside the commands so that quick checks start fast.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from lab.settings import LabSettings
    from runtime.settings import Settings

__all__ = ["cli", "main"]


_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Project root holding contracts/ (and generated/).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 110})
def cli() -> None:
    """Voulezvous platform: contracts toolkit, live-video services and the 24/7 channel."""


def _socket_options(heartbeat_s: float) -> dict[str, float | int | str]:
    """uvicorn's WebSocket settings: pings every heartbeat, small client frames.

    A socket renews its presence while open; pinging at the presence heartbeat means a
    client that vanished without closing is dropped within two heartbeats.
    """
    return {
        "ws": "websockets-sansio",  # half the memory per socket of uvicorn's legacy one
        "ws_ping_interval": heartbeat_s,
        "ws_ping_timeout": heartbeat_s,
        "ws_max_size": 65536,
    }


@cli.command()
@click.option("--host", help="Address to bind (default VVTV_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default VVTV_PORT or 8000).")
@click.option("--tier", help="Cost tier to run under (default VVTV_COST_TIER or the manifests').")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the port (PostgreSQL; SQLite has one writer anyway).",
)
def up(host: str | None, port: int | None, tier: str | None, workers: int) -> None:
    """Serve everything on the embedded default (SQLite) until Ctrl-C or SIGTERM."""
    import uvicorn  # noqa: PLC0415

    from runtime.events import describe_bus_url  # noqa: PLC0415
    from runtime.settings import Settings  # noqa: PLC0415
    from runtime.store import display_url, upgrade  # noqa: PLC0415
    from vvtv.app import build_app  # noqa: PLC0415

    overrides = {"host": host, "port": port, "cost_tier": tier}
    settings = Settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        asgi = build_app(settings)  # refuses default secrets outside dev, before anything runs
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    revision = asyncio.run(upgrade(settings.database_url))
    runtime = asgi.state.runtime
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"vvtv up ({settings.env})")
    click.echo(f"  serving      {base}")
    click.echo(f"  liveness     {base}/health/live")
    click.echo(f"  readiness    {base}/health/ready")
    click.echo(f"  channel      {base}/live/main.m3u8")
    click.echo(f"  sockets      {base.replace('http', 'ws', 1)}/ws/presence, /ws/sessions")
    click.echo(f"  events       {describe_bus_url(settings.effective_event_bus_url())}")
    click.echo(f"  database     {display_url(settings.database_url)} (revision {revision})")
    click.echo(f"  manifests    {settings.manifests_dir}")
    if runtime.config is not None:
        click.echo(f"  cost tier    {runtime.config.tier} ({runtime.config.config_hash})")
    else:
        click.echo(
            f"  config       INVALID: {len(runtime.config_problems)} problem(s); "
            "run `vvtv config validate`"
        )
    click.echo("  stop with    Ctrl-C (or SIGTERM)")
    if settings.env == "dev" and settings.dev_seed:
        _print_demo_accounts(settings, base)
    heartbeat = 5.0  # cost-tiers.yaml's value, used only while the config is broken
    if runtime.config is not None:
        heartbeat = float(runtime.config.limits.presence.heartbeat_interval_s)
    sockets = _socket_options(heartbeat)
    if workers > 1:
        click.echo(f"  workers      {workers}")
        from vvtv.serve import serve_workers  # noqa: PLC0415

        names = {"host": "VVTV_HOST", "port": "VVTV_PORT", "cost_tier": "VVTV_COST_TIER"}
        environment = {names[k]: str(v) for k, v in overrides.items() if v is not None}
        serve_workers(settings.host, settings.port, workers, environment, sockets)
        click.echo("vvtv stopped")
        return
    server = uvicorn.Server(
        uvicorn.Config(
            asgi,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            **sockets,  # type: ignore[arg-type]
        )
    )
    # uvicorn drains connections on SIGINT/SIGTERM, then re-raises the signal to
    # the handler it found; this one makes that a clean exit instead of a kill.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    server.run()
    if not server.started:
        sys.exit(1)
    click.echo("vvtv stopped")


def _print_demo_accounts(settings: Settings, base: str) -> None:
    """Make the development demo accounts (once) and say how to sign in with them."""
    from runtime.identity.seed import seed_demo_accounts  # noqa: PLC0415
    from vvtv.commands._support import with_identity  # noqa: PLC0415

    made = with_identity(settings, seed_demo_accounts, migrate=False)
    click.echo("  demo accounts (dev only; sign in at POST /v1/auth/token)")
    for demo, _created in made:
        click.echo(f"    {demo.email:28} {demo.password:22} {demo.role}")
    first = made[0][0]
    click.echo(
        f"  sign in      curl -s {base}/v1/auth/token -H 'Content-Type: application/json' "
        f'-d \'{{"grant_type":"password","email":"{first.email}",'
        f'"password":"{first.password}"}}\''
    )


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 with a diff when generated/ is stale.")
@_root_option
def codegen(check: bool, root: Path) -> None:
    """Generate code from the contracts into generated/ (the single entry point)."""
    import codegen as gen  # noqa: PLC0415

    try:
        if check:
            drift = gen.check(root)
            if drift.clean:
                click.echo("generated/ is up to date with the contracts")
                return
            sys.stdout.write(drift.diff)
            click.echo(
                f"\ngenerated/ is stale in {len(drift.changed)} file(s); "
                "fix with: vvtv codegen (or make generate)",
                err=True,
            )
            sys.exit(1)
        changed = gen.write(root)
    except gen.CodegenError as exc:
        click.echo(f"codegen error: {exc}", err=True)
        sys.exit(2)
    for path in changed:
        click.echo(f"wrote {path.as_posix()}")
    click.echo(f"{len(changed)} file(s) changed")


@cli.group()
def lab() -> None:
    """The 24/7 channel: the LAB pipeline and its transmitter."""


@lab.command("run")
def lab_run() -> None:
    """Run the LAB loop and the channel until Ctrl-C (VVTV_RUN_ONCE=1: one cycle, then exit).

    VVTV_FORCE_NIGHTLY=1 with VVTV_RUN_ONCE=1 also runs the nightly routine. The live
    playlist is written under VVTV_LAB_DIR; `vvtv up` serves it.
    """
    from lab.settings import LabSettings  # noqa: PLC0415
    from runtime.settings import Settings  # noqa: PLC0415

    settings, lab_settings = Settings(), LabSettings()
    try:
        lab_settings.check()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    outcome = asyncio.run(_lab_run(settings, lab_settings))
    if outcome is not None:
        click.echo(outcome)


async def _lab_run(settings: Settings, lab_settings: LabSettings) -> str | None:
    import contextlib  # noqa: PLC0415

    from lab.app import broadcast_profile  # noqa: PLC0415
    from lab.channel import Channel  # noqa: PLC0415
    from lab.metrics import LabMetrics  # noqa: PLC0415
    from lab.policy import load_owner_card  # noqa: PLC0415
    from runtime.config import load_config  # noqa: PLC0415
    from runtime.observability import configure_logging  # noqa: PLC0415
    from runtime.store import open_database, upgrade  # noqa: PLC0415

    configure_logging(settings.effective_log_format, settings.log_level)
    await upgrade(settings.database_url)
    config = load_config(
        settings.cost_tier, manifests_dir=settings.manifests_dir, schemas_dir=settings.schemas_dir
    )
    profile, window = broadcast_profile(config, lab_settings)
    database = open_database(settings.database_url)
    channel = Channel(
        database,
        lab_settings,
        policy=load_owner_card(lab_settings.owner_card),
        profile=profile,
        window_segments=window,
        metrics=LabMetrics(),
    )
    try:
        if lab_settings.run_once:
            orchestrator = await channel.build(with_transmitter=False)
            outcome = await orchestrator.run_cycle(
                trigger="run_once", force_nightly=lab_settings.force_nightly
            )
            t = outcome.realized
            return (
                f"cycle: {outcome.discovered} discovered, {outcome.planned} planned,"
                f" {t.queued} queued, {t.qa_rejected} rejected,"
                f" {t.failures + outcome.discovery_failures} failures"
            )
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(channel.run())
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return "lab stopped"
    finally:
        await database.close()


@cli.group()
def db() -> None:
    """The database: migrations (SQLite by default, PostgreSQL with VVTV_DATABASE_URL)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply the migrations up to REVISION."""
    from runtime.settings import Settings  # noqa: PLC0415
    from runtime.store import display_url, upgrade  # noqa: PLC0415

    settings = Settings()
    reached = asyncio.run(upgrade(settings.database_url, revision))
    click.echo(f"{display_url(settings.database_url)} at revision {reached}")


@db.command("current")
def db_current() -> None:
    """Print the revision the database is at, and the newest one."""
    from runtime.settings import Settings  # noqa: PLC0415
    from runtime.store import current_revision, head_revision  # noqa: PLC0415

    settings = Settings()
    now = asyncio.run(current_revision(settings.database_url))
    click.echo(f"current {now}, head {head_revision()}")


@cli.group()
def contracts() -> None:
    """Gates over the contracts: lint them, and classify changes as breaking or not."""


@contracts.command("lint")
@_root_option
@click.option("--list-rules", is_flag=True, help="Print the rule ids and what they check.")
def contracts_lint(root: Path, list_rules: bool) -> None:
    """Validate every document, every example, and the project's own contract rules."""
    from codegen.contracts import RULES, lint_contracts  # noqa: PLC0415

    if list_rules:
        for rule, text in RULES.items():
            click.echo(f"{rule:24} {text}")
        return
    problems = lint_contracts(root)
    for problem in problems:
        click.echo(problem.render())
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("ok: contracts lint clean")


@contracts.command("breaking")
@click.option(
    "--against",
    "reference",
    help="A git ref or a folder; the newest contracts/released/vN by default.",
)
@_root_option
def contracts_breaking(reference: str | None, root: Path) -> None:
    """Classify each change since REFERENCE with a stable check id; exit 1 if any breaks."""
    from codegen.breaking import (  # noqa: PLC0415
        BreakingCheckError,
        compare_trees,
        is_breaking,
        latest_release,
        load_reference,
    )

    contracts_dir = root / "contracts"
    try:
        old = load_reference(reference, root) if reference else latest_release(contracts_dir)
    except BreakingCheckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if old is None:
        click.echo("error: no released version in contracts/released and no --against", err=True)
        sys.exit(2)
    changes = compare_trees(old, contracts_dir)
    for change in changes:
        click.echo(change.render())
    breaking = [c for c in changes if c.kind == "breaking"]
    click.echo(f"{len(changes)} change(s), {len(breaking)} breaking", err=True)
    if is_breaking(changes):
        sys.exit(1)


@cli.group()
def config() -> None:
    """Check and inspect the manifests (media profiles, modes, cost tiers, telemetry)."""


@config.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--tier", help="Check only this cost tier (default: every tier).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
def config_validate(paths: tuple[Path, ...], tier: str | None, fmt: str) -> None:
    """Report every problem at once (file:line:column, rule id, sentence, JSON pointer).

    PATHS are manifest files or folders; the manifests not given come from manifests/.
    Exits 1 on any problem, 0 otherwise.
    """
    from runtime.config import check_config  # noqa: PLC0415

    result = check_config(paths, tier=tier, build=False)
    if fmt == "json":
        report = {
            "ok": result.ok,
            "tiers": result.tiers,
            "problems": [p.as_dict() for p in result.problems],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for problem in result.problems:
            click.echo(problem.render())
        if result.ok:
            click.echo(f"ok: manifests valid for tier(s) {', '.join(result.tiers)}")
        else:
            click.echo(f"{len(result.problems)} problem(s)", err=True)
    if not result.ok:
        sys.exit(1)


@config.command("show")
@click.option("--tier", help="Cost tier (default: the manifests' default_tier).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml"]),
    default="yaml",
    show_default=True,
    help="Output format.",
)
def config_show(tier: str | None, fmt: str) -> None:
    """Print the effective configuration bundle of a cost tier."""
    import yaml  # noqa: PLC0415

    from runtime.config import ConfigError, dump_bundle, load_config  # noqa: PLC0415

    try:
        bundle = load_config(tier)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem.render(), err=True)
        click.echo(f"{len(exc.problems)} problem(s); nothing to show", err=True)
        sys.exit(1)
    data = dump_bundle(bundle)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def _register() -> None:
    from vvtv.commands.dev import dev  # noqa: PLC0415
    from vvtv.commands.tiles import tiles  # noqa: PLC0415
    from vvtv.commands.users import users  # noqa: PLC0415

    cli.add_command(dev)
    cli.add_command(tiles)
    cli.add_command(users)


_register()


def main() -> None:
    """Console entry point."""
    cli()
