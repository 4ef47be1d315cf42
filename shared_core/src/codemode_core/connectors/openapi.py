"""OpenAPI services as tool namespaces: every operation a typed method, called with httpx.

`OpenAPIConnector(spec)` reads an OpenAPI 3.0/3.1 document (a dict, a JSON or YAML file, or a
URL), turns each operation into a `Tool` under one namespace (`tools.<namespace>.<operation>`),
and calls the service with an `httpx.AsyncClient` it owns. Credentials (`headers=`, `auth=`)
live in that client on the host side: they are not in the stubs or the description, plans never
hold the client, and any credential a service echoes back is masked before a plan sees it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from codemode_core._validation import JsonSchemaBinder
from codemode_core.connectors._openapi_spec import (
    Operation,
    load_document,
    parse_document,
    read_operations,
)
from codemode_core.errors import ConfigurationError, ConnectorError, ToolError
from codemode_core.tools import Tool

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError(
        "OpenAPIConnector needs httpx and PyYAML: pip install 'codemode-core[openapi]'"
    ) from exc

__all__ = ["OpenAPIConnector"]

_EXCERPT = 300
_MASK = "[redacted]"
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)


class OpenAPIConnector:
    """One OpenAPI 3.x service as one tool namespace.

    Args:
        spec: The document: a dict, a path to a JSON/YAML file, or an `http(s)://` URL.
        base_url: Where to send requests; defaults to the document's first `servers` entry
            (resolved against the document's URL when relative).
        headers: Sent with every request (API keys, tokens); parameters of the same name
            are dropped from the stubs, and the values never reach a plan.
        auth: Any `httpx.Auth` (e.g. `httpx.BasicAuth`, a bearer-token flow), host-side only.
        namespace: `tools.<namespace>`; defaults to the document's `info.title`.
        timeout: Seconds (or an `httpx.Timeout`) for each request.
        transport: An `httpx.AsyncBaseTransport` to use instead of the network (e.g.
            `httpx.ASGITransport(app)` or `httpx.MockTransport(handler)`).
    """

    def __init__(
        self,
        spec: Mapping[str, Any] | str | Path,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        namespace: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(spec, Mapping | str | Path):
            raise ConfigurationError(
                f"spec must be a dict, a file path or a URL, got {type(spec).__name__}"
            )
        if auth is not None and not isinstance(auth, httpx.Auth):
            raise ConfigurationError(f"auth must be an httpx.Auth, got {type(auth).__name__}")
        self._spec = spec
        self._base_url = base_url
        self._headers = dict(headers or {})
        self._auth = auth
        self._timeout = timeout
        self._transport = transport
        self.namespace = namespace
        """The namespace the tools live under (`tools.<namespace>`); known once connected."""
        self.description: str | None = None
        """The document's `info.title` (shown in the search-mode index); known once connected."""
        self._client: httpx.AsyncClient | None = None
        self._tools: tuple[Tool, ...] = ()
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        source = "<dict>" if isinstance(self._spec, Mapping) else str(self._spec)
        return f"OpenAPIConnector({source})"

    # Connector interface ---------------------------------------------------------------

    async def connect(self) -> Sequence[Tool]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._connect()

    async def _connect(self) -> Sequence[Tool]:
        if self._client is not None:
            return self._tools
        client = httpx.AsyncClient(
            headers=self._headers,
            auth=self._auth,
            timeout=self._timeout,
            transport=self._transport,
        )
        try:
            document, document_url = await self._document(client)
            where = document_url or (
                "<dict>" if isinstance(self._spec, Mapping) else str(self._spec)
            )
            operations = read_operations(document, where)
            client.base_url = httpx.URL(self._server_url(document, document_url, where))
        except BaseException:
            await client.aclose()
            raise
        info = document.get("info") or {}
        if self.namespace is None:
            self.namespace = _namespace_from_title(info.get("title"))
        title = " ".join(str(info.get("title") or "").split())
        self.description = title[:100] or None
        self._client = client
        if not self._tools:  # the same document gives the same tools: keep them
            self._tools = tuple(self.tool(op) for op in operations)
        return self._tools

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # Building tools --------------------------------------------------------------------

    def tool(self, operation: Operation) -> Tool:
        """The `Tool` for one operation (header parameters set by the host are left out)."""
        hidden = {k.lower() for k in self._headers}
        if self._auth is not None:
            hidden.add("authorization")
        schema = operation.input_schema
        dropped = [
            p.key
            for p in operation.parameters
            if p.location == "header" and p.name.lower() in hidden
        ]
        if dropped:
            properties = {k: v for k, v in schema["properties"].items() if k not in dropped}
            required = [k for k in schema.get("required", []) if k not in dropped]
            schema = {**schema, "properties": properties, "required": required}

        async def call(**arguments: Any) -> Any:
            return await self._send(operation, arguments)

        return Tool(
            operation.name,
            operation.description,
            schema,
            call,
            operation.output_schema,
            self.namespace,
            binder=_LazyBinder(schema, operation.name),
            metadata={"openapi": f"{operation.method} {operation.path}", "tags": operation.tags},
            # HTTP's safe methods only read: run again on takeover, may start while streamed.
            idempotent=operation.method in ("GET", "HEAD"),
            read_only=operation.method in ("GET", "HEAD"),
        )

    async def _document(self, client: httpx.AsyncClient) -> tuple[Mapping[str, Any], str | None]:
        spec = self._spec
        if isinstance(spec, Mapping):
            return spec, None
        text = str(spec)
        if text.startswith(("http://", "https://")):
            try:
                response = await client.get(text)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise ConnectorError(f"cannot fetch OpenAPI document {text}: {exc}") from exc
            return parse_document(response.text, text), text
        return load_document(spec), None

    def _server_url(self, document: Mapping[str, Any], document_url: str | None, where: str) -> str:
        if self._base_url:
            return self._base_url
        servers = document.get("servers")
        server = servers[0] if isinstance(servers, list) and servers else None
        url = str(server.get("url", "")) if isinstance(server, Mapping) else ""
        variables = server.get("variables") if isinstance(server, Mapping) else None
        if isinstance(variables, Mapping):
            for name, var in variables.items():
                default = var.get("default", "") if isinstance(var, Mapping) else ""
                url = url.replace("{" + str(name) + "}", str(default))
        if url.startswith(("http://", "https://")):
            return url
        if document_url is not None:
            return urljoin(document_url, url or "/")
        raise ConnectorError(
            f"{where} names no absolute server URL ({url or 'no servers'}): pass base_url="
        )

    # Calling ---------------------------------------------------------------------------

    async def _send(self, operation: Operation, arguments: dict[str, Any]) -> Any:
        client = self._client
        if client is None:
            raise ToolError(f"tools.{self.namespace} is closed; it reopens at the next run")
        path = operation.path
        query: list[tuple[str, Any]] = []
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        body: dict[str, Any] = {}
        for param in operation.parameters:
            if param.key not in arguments:
                continue
            value = arguments[param.key]
            if param.location == "path":
                path = path.replace("{" + param.name + "}", quote(_scalar(value), safe=""))
            elif param.location == "query":
                query.extend(_query_items(param.name, value, param.style, param.explode))
            elif param.location == "header":
                headers[param.name] = _scalar(value)
            elif param.location == "cookie":
                cookies[param.name] = _scalar(value)
            else:
                body[param.name] = value
        request_args: dict[str, Any] = {}
        shape = operation.body
        if shape is not None:
            payload: Any = body if shape.flattened else arguments.get(shape.key)
            if shape.flattened and not body:
                payload = None
            if payload is not None:
                if shape.content_type.endswith("form-urlencoded"):
                    request_args["data"] = payload
                elif "json" in shape.content_type or shape.content_type == "*/*":
                    request_args["json"] = payload
                else:
                    request_args["content"] = (
                        payload if isinstance(payload, str | bytes) else str(payload)
                    )
                headers.setdefault("Content-Type", shape.content_type)
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        label = f"{operation.method} {path}"
        try:
            response = await client.request(
                operation.method,
                path,  # httpx joins it under base_url's path
                params=query or None,
                headers=headers or None,
                **request_args,
            )
        except httpx.TimeoutException:
            raise ToolError(f"{label}: no response within the timeout") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"{label}: request failed ({type(exc).__name__})") from None
        secrets = self._secrets(response.request, from_plan=headers)
        if not response.is_success:
            excerpt = " ".join(response.text.split())[:_EXCERPT]
            raise ToolError(
                _mask(
                    f"{label} failed: HTTP {response.status_code} {response.reason_phrase}"
                    + (f": {excerpt}" if excerpt else ""),
                    secrets,
                )
            )
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            try:
                data = response.json()
            except ValueError:
                data = response.text
        else:
            data = response.text
        if secrets and any(s in response.text for s in secrets):
            return _mask_all(data, secrets)
        return data

    def _secrets(self, request: httpx.Request, from_plan: Mapping[str, str]) -> list[str]:
        """Credential values actually sent: configured headers and whatever `auth` added
        (sensitive headers the plan set itself, like a cookie parameter, are the plan's own)."""
        configured = {k.lower() for k in self._headers}
        own = {k.lower(): v for k, v in from_plan.items()}
        values = {
            value
            for name, value in request.headers.items()
            if name.lower() in configured
            or (name.lower() in _SENSITIVE_HEADERS and own.get(name.lower()) != value)
        }
        for value in list(values):  # `Bearer abc` → also mask `abc` when echoed alone
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():
                values.add(token)
        return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


class _LazyBinder:
    """Validates against the operation's schema, compiled on first call.

    Compiling validators for every operation of a 1,000-operation spec up front would cost
    seconds for tools most plans never call.
    """

    __slots__ = ("_binder", "_name", "_schema")

    def __init__(self, schema: Mapping[str, Any], name: str) -> None:
        self._schema = schema
        self._name = name
        self._binder: JsonSchemaBinder | None = None

    def __call__(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if self._binder is None:
            self._binder = JsonSchemaBinder(self._schema, self._name)
        return self._binder(arguments)


def _namespace_from_title(title: Any) -> str:
    """`Pet Store` → `pet_store`; a long title keeps its first word (`GitHub's ...` → `github`)."""
    words = re.findall(r"[A-Za-z0-9]+(?:\.[0-9]+)*", str(title or ""))
    if len(words) > 3:
        words = words[:1]
    return re.sub(r"\W+", "_", "_".join(words)).lower() or "api"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_scalar(v) for v in value)
    return "" if value is None else str(value)


def _query_items(name: str, value: Any, style: str | None, explode: bool) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        if style == "deepObject":
            return [(f"{name}[{k}]", _scalar(v)) for k, v in value.items()]
        if explode:
            return [(str(k), _scalar(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{_scalar(v)}" for k, v in value.items()))]
    if isinstance(value, list | tuple):
        if explode and style in (None, "form"):
            return [(name, _scalar(v)) for v in value]
        separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style or "", ",")
        return [(name, separator.join(_scalar(v) for v in value))]
    return [(name, _scalar(value))]


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


def _mask_all(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        return _mask(value, secrets)
    if isinstance(value, list):
        return [_mask_all(v, secrets) for v in value]
    if isinstance(value, dict):
        return {_mask(str(k), secrets): _mask_all(v, secrets) for k, v in value.items()}
    return value
