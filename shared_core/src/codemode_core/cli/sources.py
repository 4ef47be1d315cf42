"""Where the command line's tools come from: options and config files → connectors.

The config file has the shape MCP clients already use (`mcpServers`), plus `openapi`:

    {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"], "env": {}},
                    "notes": {"url": "http://127.0.0.1:8000/mcp", "headers": {}}},
     "openapi": {"shop": {"spec": "shop.yaml", "base_url": "...", "headers": {}}}}

JSON or TOML (by extension). Credentials (`env`, `headers`) stay in this process: connectors
use them on the host side, and plans never see them.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from codemode_core.connectors.base import Connector
from codemode_core.errors import ConfigurationError

__all__ = ["connectors_from_config", "connectors_from_options", "split_named"]


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
    from codemode_core.connectors import MCPConnector, OpenAPIConnector

    spare = iter(list(namespaces))

    def named(value: str) -> tuple[str | None, str]:
        namespace, rest = split_named(value)
        return (namespace or next(spare, None)), rest

    found: list[Connector] = []
    for value in mcp_stdio:
        namespace, command = named(value)
        words = shlex.split(command)
        if not words:
            raise ConfigurationError(f"--mcp-stdio {value!r}: give a command, e.g. 'uvx server'")
        found.append(MCPConnector.stdio(words[0], words[1:], namespace=namespace))
    for value in mcp_http:
        namespace, url = named(value)
        found.append(MCPConnector.http(url, namespace=namespace))
    for value in openapi:
        namespace, spec = named(value)
        found.append(OpenAPIConnector(spec, namespace=namespace))
    return found


def connectors_from_config(path: Path) -> list[Connector]:
    from codemode_core.connectors import MCPConnector, OpenAPIConnector

    data = _read(path)
    found: list[Connector] = []
    servers = data.get("mcpServers", data.get("mcp_servers", {}))
    if not isinstance(servers, Mapping):
        raise ConfigurationError(f"{path}: `mcpServers` must be a table of servers")
    for name, entry in servers.items():
        entry = _table(path, f"mcpServers.{name}", entry)
        if entry.get("disabled"):
            continue
        if "command" in entry:
            found.append(
                MCPConnector.stdio(
                    str(entry["command"]),
                    [str(a) for a in entry.get("args", [])],
                    env={str(k): str(v) for k, v in entry.get("env", {}).items()} or None,
                    namespace=str(entry.get("namespace", name)),
                    cwd=entry.get("cwd"),
                )
            )
        elif "url" in entry:
            found.append(
                MCPConnector.http(
                    str(entry["url"]),
                    headers={str(k): str(v) for k, v in entry.get("headers", {}).items()},
                    namespace=str(entry.get("namespace", name)),
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
        entry = _table(path, f"openapi.{name}", entry)
        if "spec" not in entry:
            raise ConfigurationError(f"{path}: openapi.{name} needs `spec` (a path or URL)")
        spec = str(entry["spec"])
        if "://" not in spec and not Path(spec).is_absolute():
            spec = str((path.parent / spec).resolve())  # relative to the config file
        found.append(
            OpenAPIConnector(
                spec,
                base_url=entry.get("base_url"),
                headers={str(k): str(v) for k, v in entry.get("headers", {}).items()} or None,
                namespace=str(entry.get("namespace", name)),
            )
        )
    return found


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
