"""The click commands: `codemode serve`, `codemode stubs`, `codemode run`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import click

from codemode_core import __version__
from codemode_core.cli.upstreams import open_upstreams
from codemode_core.connectors.base import Connector
from codemode_core.errors import CodeModeError, ConfigurationError
from codemode_core.limits import Limits
from codemode_core.runtime import CodeMode

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])
_ORDER = "codemode.typed_options"


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
            "--header",
            "header",
            multiple=True,
            metavar="'NAME: VALUE'",
            help="An HTTP header for the --mcp-http or --openapi source just before it, e.g. "
            "'Authorization: Bearer ${TOKEN}' (${VAR} is read from the environment).",
        ),
        click.option(
            "--env",
            "env",
            multiple=True,
            metavar="KEY=VALUE",
            help="An environment variable for the --mcp-stdio server just before it "
            "(${VAR} in VALUE is read from this process's environment).",
        ),
        click.option(
            "--base-url",
            "base_url",
            multiple=True,
            metavar="URL",
            help="Where to send the requests of the --openapi source just before it.",
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
            "`openapi` entries; credentials in it stay in this process, and ${VAR}, "
            "${env:VAR} or ${VAR:-default} in its strings are read from the environment.",
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
    header: Sequence[str],
    env: Sequence[str],
    base_url: Sequence[str],
    namespaces: Sequence[str],
    config: Path | None,
    discovery: str,
    executor: str | None,
    timeout: float | None,
) -> CodeMode:
    from codemode_core.cli.sources import connectors_from_arguments, connectors_from_config

    values = {
        "--mcp-stdio": iter(mcp_stdio),
        "--mcp-http": iter(mcp_http),
        "--openapi": iter(openapi),
        "--header": iter(header),
        "--env": iter(env),
        "--base-url": iter(base_url),
    }
    typed = click.get_current_context().meta.get(_ORDER, [])
    arguments = [(flag, next(values[flag])) for flag in typed if flag in values]
    try:
        connectors: list[Connector] = connectors_from_arguments(arguments, namespaces)
        if config is not None:
            connectors += connectors_from_config(config)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
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


class _OrderedCommand(click.Command):
    """A command that remembers the order its options were typed in.

    Click keeps each option's values but not how different options interleave, and a
    source modifier (`--header`, `--env`, `--base-url`) belongs to the source just before it.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _, _, typed = self.make_parser(ctx).parse_args(args=list(args))
        ctx.meta[_ORDER] = [param.opts[0] for param in typed if param.opts]
        return super().parse_args(ctx, args)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="codemode")
def cli() -> None:
    """Code Mode for any MCP client: one run_code tool over MCP servers and OpenAPI services.

    \b
    codemode serve --mcp-stdio "time=uvx mcp-server-time" --openapi shop=./shop.yaml
    codemode stubs --config servers.json
    codemode run plan.py --config servers.json
    """


@cli.command(cls=_OrderedCommand)
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
def serve(transport: Literal["stdio", "http"], host: str, port: int, **sources: Any) -> None:
    """Serve Code Mode over MCP: a run_code tool (plus search/describe in discovery mode).

    Runs until the client disconnects (stdio) or SIGTERM/SIGINT arrives; either way the
    upstream connections are closed and stdio upstreams stopped before it exits.
    """
    from codemode_core.cli.server import serve_until_stopped

    code_mode = _code_mode(**sources)

    async def serving() -> None:
        try:
            await serve_until_stopped(code_mode, transport, host=host, port=port)
        except CodeModeError as exc:  # an unreachable upstream, before any transport started
            raise click.ClickException(str(exc)) from None

    anyio.run(serving)


@cli.command(cls=_OrderedCommand)
@_sources
def stubs(**sources: Any) -> None:
    """Print the typed stubs a model would read for these sources."""

    async def show() -> str:
        code_mode = _code_mode(**sources)
        await open_upstreams(code_mode)
        async with code_mode:
            return code_mode.stubs

    click.echo(_guarded(show))


@cli.command(cls=_OrderedCommand)
@_sources
@click.argument("plan_file", type=click.File("r"))
def run(plan_file: Any, **sources: Any) -> None:
    """Run the plan in PLAN_FILE ('-' for stdin) and print its result as JSON."""
    code = plan_file.read()

    async def execute() -> str:
        code_mode = _code_mode(**sources)
        await open_upstreams(code_mode)
        async with code_mode:
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
