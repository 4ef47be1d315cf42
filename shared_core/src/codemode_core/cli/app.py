"""The click commands: `codemode serve`, `codemode stubs`, `codemode run`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from codemode_core.connectors.base import Connector
from codemode_core.errors import CodeModeError
from codemode_core.limits import Limits
from codemode_core.runtime import CodeMode

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])


def _sources(command: F) -> F:
    """The options every command shares: where the tools come from, and how plans run."""
    options = [
        click.option(
            "--mcp-stdio",
            "mcp_stdio",
            multiple=True,
            metavar="[NAME=]'CMD ARGS'",
            help="An MCP server started as a subprocess (stdio), e.g. "
            '"time=uvx mcp-server-time". Repeatable.',
        ),
        click.option(
            "--mcp-http",
            "mcp_http",
            multiple=True,
            metavar="[NAME=]URL",
            help="An MCP server over streamable HTTP, e.g. notes=http://127.0.0.1:8000/mcp.",
        ),
        click.option(
            "--openapi",
            multiple=True,
            metavar="[NAME=]SPEC",
            help="An OpenAPI 3.x service: a spec path or URL (JSON or YAML).",
        ),
        click.option(
            "--namespace",
            "namespaces",
            multiple=True,
            metavar="NAME",
            help="Names the sources given without NAME= (in the order --mcp-stdio, --mcp-http, "
            "--openapi): their tools become tools.NAME.*. Repeatable.",
        ),
        click.option(
            "--config",
            "config",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A JSON or TOML file with `mcpServers` (the shape MCP clients use) and "
            "`openapi` entries; credentials in it stay in this process.",
        ),
        click.option(
            "--discovery",
            type=click.Choice(["auto", "full", "search"]),
            default="auto",
            show_default=True,
            help="full: every stub in run_code's description; search: an index plus "
            "search/describe tools; auto: by size.",
        ),
        click.option(
            "--executor",
            type=click.Choice(["isolated", "inprocess"]),
            default=None,
            help="Where plans run (default: isolated worker processes where available).",
        ),
        click.option(
            "--timeout", type=float, default=None, help="Seconds a plan may run (default 30)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _code_mode(
    mcp_stdio: Sequence[str],
    mcp_http: Sequence[str],
    openapi: Sequence[str],
    namespaces: Sequence[str],
    config: Path | None,
    discovery: str,
    executor: str | None,
    timeout: float | None,
) -> CodeMode:
    from codemode_core.cli.sources import connectors_from_config, connectors_from_options

    connectors: list[Connector] = connectors_from_options(mcp_stdio, mcp_http, openapi, namespaces)
    if config is not None:
        connectors += connectors_from_config(config)
    if not connectors:
        raise click.UsageError(
            "give at least one source: --mcp-stdio, --mcp-http, --openapi or --config"
        )
    limits = Limits(timeout=timeout) if timeout else None
    return CodeMode(
        connectors=connectors,
        discovery=discovery,  # type: ignore[arg-type]  # checked by click.Choice
        executor=executor,
        limits=limits,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Code Mode for any MCP client: one run_code tool over MCP servers and OpenAPI services.

    \b
    codemode serve --mcp-stdio "time=uvx mcp-server-time" --openapi shop=./shop.yaml
    codemode stubs --config servers.json
    codemode run plan.py --config servers.json
    """


@cli.command()
@_sources
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="How MCP clients reach this server.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP: address to bind.")
@click.option("--port", type=int, default=8000, show_default=True, help="HTTP: port.")
def serve(transport: str, host: str, port: int, **sources: Any) -> None:
    """Serve Code Mode over MCP: a run_code tool (plus search/describe in discovery mode)."""
    from codemode_core.cli.server import build_server

    server = build_server(_code_mode(**sources))
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port)


@cli.command()
@_sources
def stubs(**sources: Any) -> None:
    """Print the typed stubs a model would read for these sources."""

    async def show() -> str:
        async with _code_mode(**sources) as code_mode:
            return code_mode.stubs

    click.echo(_guarded(show))


@cli.command()
@_sources
@click.argument("plan_file", type=click.File("r"))
def run(plan_file: Any, **sources: Any) -> None:
    """Run the plan in PLAN_FILE ('-' for stdin) and print its result as JSON."""
    code = plan_file.read()

    async def execute() -> str:
        async with _code_mode(**sources) as code_mode:
            result = await code_mode.run(code)
        return json.dumps(
            {
                "status": result.status,
                "value": result.value,
                "error": None if result.error is None else result.error.render(),
                "logs": list(result.logs),
                "tool_calls": [
                    {"tool": c.tool, "arguments": dict(c.arguments), "error": c.error}
                    for c in result.tool_calls
                ],
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )

    output = _guarded(execute)
    click.echo(output)
    if json.loads(output)["status"] != "ok":
        sys.exit(1)


def _guarded(work: Callable[[], Any]) -> str:
    try:
        return str(asyncio.run(work()))
    except CodeModeError as exc:
        raise click.ClickException(str(exc)) from None
