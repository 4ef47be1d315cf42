"""Where `codemode` gets its tools: per-source modifiers on the command line (`--header`,
`--env`, `--base-url`, applied to the source before them) and `${VAR}` in config files and
modifier values, checked by running plans against a loopback OpenAPI service and a real stdio
MCP server, and the usage errors mistakes get."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from codemode_core import ConfigurationError
from codemode_core.cli.app import cli
from codemode_core.cli.sources import connectors_from_config, expand_env
from openapi_service import TOKEN, pet_store, spec_31

pytestmark = pytest.mark.timeout(90)

CREATE = 'return (await tools.store.createPet(name="Bo"))["name"]'

ENV_SERVER = """\
import os
from mcp.server.mcpserver import MCPServer

server = MCPServer("envy")


@server.tool()
def getenv(name: str) -> str:
    \"\"\"A variable of this server's environment ('' when unset).\"\"\"
    return os.environ.get(name, "")


server.run()
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The pet store: its base URL and its spec (whose POST needs `Bearer TOKEN`)."""
    with pet_store() as (base_url, spec_text):
        spec = tmp_path / "pets.yaml"
        spec.write_text(spec_text)
        yield base_url, spec


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _run(plan: str, *sources: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        cli,
        ["run", "-", "--executor", "inprocess", *sources],
        input=plan,
        env=env,
        catch_exceptions=False,
    )
    return result.exit_code, json.loads(result.stdout)


def test_header_and_base_url_apply_to_the_source_before_them(
    store: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, spec = store
    bare = tmp_path / "bare.json"  # the same store's getPet, with no server URL in it
    bare.write_text(json.dumps(spec_31()))
    sources = [
        "--openapi",
        f"store={spec}",
        "--header",
        "Authorization: Bearer ${PETS_TOKEN}",
        "--openapi",
        f"bare={bare}",
        "--base-url",
        base_url,
    ]
    plan = f'{CREATE[len("return ") :]}\nreturn (await tools.bare.getPet(petId=1))["name"]'
    code, report = _run(plan, *sources, env={"PETS_TOKEN": TOKEN})
    assert code == 0, report
    assert report["value"] == "Rex"  # pet 1 of the store, reached through --base-url
    assert [call["tool"] for call in report["tool_calls"]] == [
        "tools.store.createPet",
        "tools.bare.getPet",
    ]
    assert TOKEN not in json.dumps(report)

    # The same flags in another order: the header now belongs to `bare`, not `store`.
    moved = [*sources[:2], *sources[4:6], *sources[2:4], *sources[6:]]
    code, report = _run(CREATE, *moved, env={"PETS_TOKEN": TOKEN})
    assert code == 1
    assert "401" in report["error"] and "bad credentials: None" in report["error"]


def test_env_modifier_and_config_env_reach_a_stdio_server(tmp_path: Path) -> None:
    server = tmp_path / "env_server.py"
    server.write_text(ENV_SERVER)
    plan = (
        'return [(await tools.envy.getenv(name="GREETING"))["result"], '
        '(await tools.envy.getenv(name="FALLBACK"))["result"]]'
    )
    code, report = _run(
        plan,
        "--mcp-stdio",
        f"envy={sys.executable} {server}",
        "--env",
        "GREETING=hello ${WHO}",
        "--env",
        "FALLBACK=${NOT_SET_ANYWHERE:-plain}",
        env={"WHO": "world"},
    )
    assert code == 0, report
    assert report["value"] == ["hello world", "plain"]

    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "envy": {
                        "command": "${PYTHON}",
                        "args": ["${env:SERVER_FILE}"],
                        "env": {"GREETING": "hi ${env:WHO}", "FALLBACK": "${NOPE:-from file}"},
                    }
                }
            }
        )
    )
    env = {"WHO": "there", "PYTHON": sys.executable, "SERVER_FILE": str(server)}
    code, report = _run(plan, "--config", str(config), env=env)
    assert code == 0, report
    assert report["value"] == ["hi there", "from file"]


def test_config_headers_and_spec_come_from_the_environment(
    store: tuple[str, Path], tmp_path: Path
) -> None:
    _, spec = store
    config = tmp_path / "servers.toml"
    config.write_text(
        '[openapi.store]\nspec = "${SPECS}/pets.yaml"\n'
        'headers = { Authorization = "Bearer ${PETS_TOKEN}" }\n'
    )
    env = {"SPECS": str(spec.parent), "PETS_TOKEN": TOKEN}
    code, report = _run(CREATE, "--config", str(config), env=env)
    assert code == 0, report
    assert report["value"] == "Bo"


def test_an_unset_variable_in_a_config_file_names_it_and_where_it_is(tmp_path: Path) -> None:
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "notes": {
                        "url": "http://127.0.0.1:1/mcp",
                        "headers": {"Authorization": "Bearer ${NOTES_TOKEN}"},
                    }
                }
            }
        )
    )
    with pytest.raises(ConfigurationError) as caught:
        connectors_from_config(config, environ={})
    assert str(caught.value) == (
        f"{config}: mcpServers.notes.headers.Authorization: the environment variable "
        "NOTES_TOKEN is not set (export it, or write ${NOTES_TOKEN:-default})"
    )
    result = _invoke("stubs", "--config", str(config))
    assert result.exit_code == 2
    assert "mcpServers.notes.headers.Authorization" in result.output
    assert "NOTES_TOKEN is not set" in result.output


def test_expand_env_forms() -> None:
    environ = {"A": "1", "EMPTY": ""}
    assert expand_env("${A}-${env:A}-${B:-two}-${EMPTY:-x}-$A-{A}", "here", environ) == (
        "1-1-two--$A-{A}"
    )
    with pytest.raises(ConfigurationError, match=r"^here: the environment variable B is not"):
        expand_env("${env:B}", "here", environ)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--header", "A: b", "--openapi", "s.yaml"),
            "--header comes before any source: put it right after the --mcp-http or "
            "--openapi source it is for",
        ),
        (
            ("--env", "A=b", "--mcp-stdio", "server"),
            "--env comes before any source: put it right after the --mcp-stdio source",
        ),
        (
            ("--mcp-stdio", "server", "--header", "A: b"),
            "--header follows --mcp-stdio 'server', but it is only for --mcp-http or "
            "--openapi sources (a stdio server takes --env KEY=VALUE)",
        ),
        (
            ("--mcp-http", "http://h/mcp", "--env", "A=b"),
            "--env follows --mcp-http 'http://h/mcp', but it is only for --mcp-stdio sources",
        ),
        (
            ("--mcp-http", "http://h/mcp", "--base-url", "http://h"),
            "--base-url follows --mcp-http 'http://h/mcp', but it is only for --openapi",
        ),
        (("--mcp-http", "http://h/mcp", "--header", "Bearer x"), '--header takes "Name: value"'),
        (("--mcp-stdio", "server", "--env", "NOEQUALS"), "--env takes KEY=VALUE"),
        (
            ("--openapi", "s", "--base-url", "http://a", "--base-url", "http://b"),
            "--base-url is given twice for --openapi 's': keep one",
        ),
        (
            ("--mcp-http", "http://h/mcp", "--header", "Authorization: ${NO_SUCH_TOKEN_VAR}"),
            "--header Authorization: the environment variable NO_SUCH_TOKEN_VAR is not set",
        ),
        (  # a token in the URL itself is masked where the source is named
            ("--mcp-http", "https://me:pw-secret@h/mcp?token=tok-secret", "--env", "A=b"),
            "--env follows --mcp-http 'https://me:***@h/mcp?***', but it is only for",
        ),
    ],
)
def test_usage_mistakes_name_the_flag_and_the_fix(args: tuple[str, ...], message: str) -> None:
    result = _invoke("stubs", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Bearer x" not in result.output  # a header value may be a secret
    assert "secret" not in result.output


def test_help_lists_the_modifiers() -> None:
    text = " ".join(_invoke("serve", "--help").output.split())
    for phrase in (
        "--header 'NAME: VALUE'",
        "--env KEY=VALUE",
        "--base-url URL",
        "source just before it",
        "${VAR:-default}",
    ):
        assert phrase in text
