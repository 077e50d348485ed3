"""``vvtv``: run the platform, generate code from the contracts, check the configuration.

Heavy imports live inside the commands so that quick checks start fast.
"""

from __future__ import annotations

import json
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="vvtv",
    help="Voulezvous platform: contracts toolkit, live-video services and the 24/7 channel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Check and inspect the manifests (media profiles, modes, cost tiers, telemetry).",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


class OutputFormat(StrEnum):
    """Output formats for ``config show``."""

    json = "json"
    yaml = "yaml"


class ReportFormat(StrEnum):
    """Output formats for ``config validate``."""

    text = "text"
    json = "json"


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Address to bind (VVTV_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (VVTV_PORT).")] = None,
    tier: Annotated[
        str | None, typer.Option(help="Cost tier to run under (VVTV_COST_TIER).")
    ] = None,
) -> None:
    """Serve everything on the embedded default (SQLite) until Ctrl-C or SIGTERM."""
    import uvicorn  # noqa: PLC0415

    from runtime.app import build_app  # noqa: PLC0415
    from runtime.settings import Settings  # noqa: PLC0415
    from runtime.store import display_url  # noqa: PLC0415

    overrides = {"host": host, "port": port, "cost_tier": tier}
    settings = Settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})
    asgi = build_app(settings)
    runtime = asgi.state.runtime
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(f"vvtv up ({settings.env})")
    typer.echo(f"  serving      {base}")
    typer.echo(f"  liveness     {base}/health/live")
    typer.echo(f"  readiness    {base}/health/ready")
    typer.echo(f"  database     {display_url(settings.database_url)}")
    typer.echo(f"  manifests    {settings.manifests_dir}")
    if runtime.config is not None:
        typer.echo(f"  cost tier    {runtime.config.tier} ({runtime.config.config_hash})")
    else:
        typer.echo(
            f"  config       INVALID: {len(runtime.config_problems)} problem(s); "
            "run `vvtv config validate`"
        )
    typer.echo("  stop with    Ctrl-C (or SIGTERM)")
    server = uvicorn.Server(
        uvicorn.Config(
            asgi,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    # uvicorn drains connections on SIGINT/SIGTERM, then re-raises the signal to
    # the handler it found; this one makes that a clean exit instead of a kill.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    server.run()
    if not server.started:
        raise typer.Exit(1)
    typer.echo("vvtv stopped")


@app.command()
def codegen(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 with a diff when generated/ is stale.")
    ] = False,
    root: Annotated[
        Path, typer.Option(help="Project root holding contracts/ and generated/.")
    ] = Path(),
) -> None:
    """Generate code from the contracts into generated/ (the single entry point)."""
    import codegen as gen  # noqa: PLC0415

    try:
        if check:
            drift = gen.check(root)
            if drift.clean:
                typer.echo("generated/ is up to date with the contracts")
                return
            sys.stdout.write(drift.diff)
            typer.echo(
                f"\ngenerated/ is stale in {len(drift.changed)} file(s); "
                "fix with: vvtv codegen (or make generate)",
                err=True,
            )
            raise typer.Exit(1)
        changed = gen.write(root)
    except gen.CodegenError as exc:
        typer.echo(f"codegen error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for path in changed:
        typer.echo(f"wrote {path.as_posix()}")
    typer.echo(f"{len(changed)} file(s) changed")


@config_app.command("validate")
def config_validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Manifest files or folders; the rest come from manifests/."),
    ] = None,
    tier: Annotated[
        str | None, typer.Option(help="Check only this cost tier (default: every tier).")
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="Report format.")
    ] = ReportFormat.text,
) -> None:
    """Report every problem at once (file:line:column, pointer, rule id); exit 1 on any."""
    from runtime.config import check_config  # noqa: PLC0415

    result = check_config(paths or [], tier=tier, build=False)
    if fmt is ReportFormat.json:
        report = {
            "ok": result.ok,
            "tiers": result.tiers,
            "problems": [p.as_dict() for p in result.problems],
        }
        typer.echo(json.dumps(report, indent=2))
    else:
        for problem in result.problems:
            typer.echo(problem.render())
        if result.ok:
            typer.echo(f"ok: manifests valid for tier(s) {', '.join(result.tiers)}")
        else:
            typer.echo(f"{len(result.problems)} problem(s)", err=True)
    if not result.ok:
        raise typer.Exit(1)


@config_app.command("show")
def config_show(
    tier: Annotated[
        str | None, typer.Option(help="Cost tier (default: the manifests' default_tier).")
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.yaml,
) -> None:
    """Print the effective configuration bundle for a tier."""
    import yaml  # noqa: PLC0415

    from runtime.config import ConfigError, dump_bundle, load_config  # noqa: PLC0415

    try:
        bundle = load_config(tier)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem.render(), err=True)
        typer.echo(f"{len(exc.problems)} problem(s); nothing to show", err=True)
        raise typer.Exit(1) from exc
    data = dump_bundle(bundle)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def main() -> None:
    """Console entry point."""
    app()
