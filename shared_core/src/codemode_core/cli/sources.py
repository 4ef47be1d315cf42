"""Where the command line's tools come from: options and config files → connectors.

The config file has the shape MCP clients already use (`mcpServers`), plus `openapi`:

    {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"], "env": {}},
                    "notes": {"url": "http://127.0.0.1:8000/mcp", "headers": {}}},
     "openapi": {"shop": {"spec": "shop.yaml", "base_url": "...", "headers": {}}}}

JSON or TOML (by extension). Credentials (`env`, `headers`) stay in this process: connectors
use them on the host side, and plans never see them. String values may say `${VAR}`,
`${env:VAR}` (VS Code's form) or `${VAR:-default}`, filled from this process's environment, so
neither the file nor the command line has to hold a secret; `--header` and `--env` values on
the command line are filled the same way.

On the command line, `--header "Name: value"` (for `--mcp-http` and `--openapi`), `--env
KEY=VALUE` (for `--mcp-stdio`) and `--base-url URL` (for `--openapi`) modify the source given
just before them, the way curl's `-H` follows its URL.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from codemode_core.connectors.base import Connector
from codemode_core.errors import ConfigurationError

__all__ = [
    "connectors_from_arguments",
    "connectors_from_config",
    "connectors_from_options",
    "expand_env",
    "split_named",
]

SOURCE_FLAGS = ("--mcp-stdio", "--mcp-http", "--openapi")
"""The flags that start a source, in the order their sources are listed and named."""

MODIFIER_FLAGS = {
    "--header": ("--mcp-http", "--openapi"),
    "--env": ("--mcp-stdio",),
    "--base-url": ("--openapi",),
}
"""Each modifier flag and the kinds of source it may follow."""

_REFERENCE = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with `${VAR}`, `${env:VAR}` and `${VAR:-default}` filled from the environment.

    A variable that is unset and has no default is a `ConfigurationError` naming it and
    `where` it was used, so a missing token fails at start-up, not as a 401 mid-plan.
    """
    values = os.environ if environ is None else environ

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = values.get(name)
        if value is not None:
            return value
        if default is None:
            raise ConfigurationError(
                f"{where}: the environment variable {name} is not set "
                f"(export it, or write ${{{name}:-default}})"
            )
        return default

    return _REFERENCE.sub(fill, text)


def split_named(value: str) -> tuple[str | None, str]:
    """`"name=rest"` → ("name", "rest"); anything else → (None, value). A name is a plain
    identifier, so URLs and commands with `=` in them are left whole."""
    name, sep, rest = value.partition("=")
    if sep and name.isidentifier():
        return name, rest
    return None, value


def connectors_from_options(
    mcp_stdio: Iterable[str],
    mcp_http: Iterable[str],
    openapi: Iterable[str],
    namespaces: Iterable[str] = (),
) -> list[Connector]:
    """Connectors for `--mcp-stdio`, `--mcp-http` and `--openapi` values, in that order. A
    source is named by a `NAME=` prefix, else by the next unused `--namespace`, else by
    itself (the server's declared name, the API's title)."""
    arguments = [
        *(("--mcp-stdio", value) for value in mcp_stdio),
        *(("--mcp-http", value) for value in mcp_http),
        *(("--openapi", value) for value in openapi),
    ]
    return connectors_from_arguments(arguments, namespaces)


def connectors_from_arguments(
    arguments: Sequence[tuple[str, str]],
    namespaces: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> list[Connector]:
    """Connectors for `(flag, value)` pairs in command-line order: each source flag starts a
    source, each modifier (`--header`, `--env`, `--base-url`) applies to the source before it.

    Sources are listed (and named by `--namespace`) as `connectors_from_options` does:
    `--mcp-stdio` ones first, then `--mcp-http`, then `--openapi`. A modifier with no source
    before it, or after a kind of source it does not apply to, is a `ConfigurationError`
    saying where to put it.
    """
    sources: list[_Source] = []
    for flag, value in arguments:
        if flag in SOURCE_FLAGS:
            sources.append(_Source(flag, value))
        elif flag in MODIFIER_FLAGS:
            _modify(sources[-1] if sources else None, flag, value, environ)
        else:
            raise ConfigurationError(f"{flag} is not a source or a source modifier")
    spare = iter(list(namespaces))
    ordered = sorted(sources, key=lambda source: SOURCE_FLAGS.index(source.flag))
    return [source.connector(spare) for source in ordered]


@dataclass
class _Source:
    """One source from the command line, with the modifiers that followed it."""

    flag: str
    value: str
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None

    @property
    def shown(self) -> str:
        """The source as error messages show it: a URL's password and query (where tokens
        hide) are masked."""
        return _masked(self.value)

    def connector(self, spare_namespaces: Iterator[str]) -> Connector:
        from codemode_core.connectors import MCPConnector, OpenAPIConnector

        namespace, target = split_named(self.value)
        namespace = namespace or next(spare_namespaces, None)
        if self.flag == "--mcp-stdio":
            words = shlex.split(target)
            if not words:
                raise ConfigurationError(
                    f"--mcp-stdio {self.shown!r}: give a command, e.g. 'uvx mcp-server-time'"
                )
            return MCPConnector.stdio(
                words[0], words[1:], env=self.env or None, namespace=namespace
            )
        if self.flag == "--mcp-http":
            return MCPConnector.http(target, headers=self.headers or None, namespace=namespace)
        return OpenAPIConnector(
            target, base_url=self.base_url, headers=self.headers or None, namespace=namespace
        )


def _masked(text: str) -> str:
    """`text` with the password and query of any http(s) URL in it replaced by `***`."""

    def mask(match: re.Match[str]) -> str:
        url = urlsplit(match.group(0))
        netloc = url.netloc
        if url.password is not None:
            netloc = netloc.replace(f":{url.password}@", ":***@")
        return urlunsplit(url._replace(netloc=netloc, query="***" if url.query else ""))

    return _URL.sub(mask, text)


_URL = re.compile(r"https?://[^\s'\"]+")


def _modify(
    source: _Source | None, flag: str, value: str, environ: Mapping[str, str] | None
) -> None:
    kinds = MODIFIER_FLAGS[flag]
    kinds_text = " or ".join(kinds)
    if source is None:
        raise ConfigurationError(
            f"{flag} comes before any source: put it right after the {kinds_text} source it is for"
        )
    if source.flag not in kinds:
        hint = {
            "--mcp-stdio": " (a stdio server takes --env KEY=VALUE)",
            "--mcp-http": " (an MCP server over HTTP takes --header 'Name: value')",
        }.get(source.flag, "")
        raise ConfigurationError(
            f"{flag} follows {source.flag} {source.shown!r}, but it is only for {kinds_text} "
            f"sources{hint}: move it after the source it is for"
        )
    if flag == "--header":
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise ConfigurationError(
                f'--header takes "Name: value" (e.g. "Authorization: Bearer ${{TOKEN}}"); '
                f"the one after {source.flag} {source.shown!r} has no name before a ':'"
            )
        source.headers[name.strip()] = expand_env(text.strip(), f"--header {name.strip()}", environ)
    elif flag == "--env":
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise ConfigurationError(
                f"--env takes KEY=VALUE (e.g. GITHUB_TOKEN=${{GITHUB_TOKEN}}); the one after "
                f"{source.flag} {source.shown!r} has no KEY= before its value"
            )
        source.env[name] = expand_env(text, f"--env {name}", environ)
    elif source.base_url is not None:
        raise ConfigurationError(
            f"--base-url is given twice for --openapi {source.shown!r}: keep one"
        )
    else:
        source.base_url = value


def connectors_from_config(path: Path, environ: Mapping[str, str] | None = None) -> list[Connector]:
    """Connectors for every enabled entry of `mcpServers` and `openapi` in a config file."""
    from codemode_core.connectors import MCPConnector, OpenAPIConnector

    data = _read(path)
    found: list[Connector] = []
    servers = data.get("mcpServers", data.get("mcp_servers", {}))
    if not isinstance(servers, Mapping):
        raise ConfigurationError(f"{path}: `mcpServers` must be a table of servers")
    for name, entry in servers.items():
        where = f"mcpServers.{name}"
        entry = _Entry(path, where, _table(path, where, entry), environ)
        if entry.raw.get("disabled"):
            continue
        namespace = str(entry.raw.get("namespace", name))
        if "command" in entry.raw:
            found.append(
                MCPConnector.stdio(
                    entry.text("command"),
                    entry.texts("args"),
                    env=entry.strings("env") or None,
                    namespace=namespace,
                    cwd=entry.text("cwd") if "cwd" in entry.raw else None,
                )
            )
        elif "url" in entry.raw:
            found.append(
                MCPConnector.http(
                    entry.text("url"), headers=entry.strings("headers"), namespace=namespace
                )
            )
        else:
            raise ConfigurationError(
                f"{path}: mcpServers.{name} needs `command` (stdio) or `url` (HTTP)"
            )
    apis = data.get("openapi", {})
    if not isinstance(apis, Mapping):
        raise ConfigurationError(f"{path}: `openapi` must be a table of services")
    for name, entry in apis.items():
        where = f"openapi.{name}"
        entry = _Entry(path, where, _table(path, where, entry), environ)
        if "spec" not in entry.raw:
            raise ConfigurationError(f"{path}: openapi.{name} needs `spec` (a path or URL)")
        spec = entry.text("spec")
        if "://" not in spec and not Path(spec).is_absolute():
            spec = str((path.parent / spec).resolve())  # relative to the config file
        found.append(
            OpenAPIConnector(
                spec,
                base_url=entry.text("base_url") if "base_url" in entry.raw else None,
                headers=entry.strings("headers") or None,
                namespace=str(entry.raw.get("namespace", name)),
            )
        )
    return found


@dataclass
class _Entry:
    """One server or service table of a config file; its strings with `${VAR}` filled in,
    and every mistake named as `file: mcpServers.<name>.<key>`."""

    path: Path
    where: str
    raw: Mapping[str, Any]
    environ: Mapping[str, str] | None = None

    def text(self, key: str) -> str:
        return self._fill(self.raw[key], key)

    def texts(self, key: str) -> list[str]:
        values = self.raw.get(key, [])
        if not isinstance(values, list):
            raise ConfigurationError(f"{self.path}: {self.where}.{key} must be a list of strings")
        return [self._fill(value, key) for value in values]

    def strings(self, key: str) -> dict[str, str]:
        values = self.raw.get(key, {})
        if not isinstance(values, Mapping):
            raise ConfigurationError(f"{self.path}: {self.where}.{key} must be a table of strings")
        return {str(k): self._fill(v, f"{key}.{k}") for k, v in values.items()}

    def _fill(self, value: Any, key: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigurationError(
                f"{self.path}: {self.where}.{key} must be a string, got {value!r}"
            )
        return expand_env(str(value), f"{self.path}: {self.where}.{key}", self.environ)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the config file {path}: {exc}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"{path} is not valid {path.suffix[1:] or 'JSON'}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a table at the top")
    return data


def _table(path: Path, where: str, entry: Any) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{path}: {where} must be a table")
    return entry
