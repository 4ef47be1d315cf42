"""Read an OpenAPI 3.0/3.1 document into operations: what each call sends where, and its types.

Pure data work, no HTTP: every operation becomes an `Operation` holding its parameters (path,
query, header, cookie, and the JSON body, flattened into keyword arguments when it is an object
whose property names do not collide), a JSON Schema for those arguments and one for its success
response. `$ref`s to `#/components/...` are kept as references against one shared
`components` object, so a schema used by a hundred operations becomes one named stub type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from codemode_core.errors import ConnectorError

__all__ = [
    "BodyShape",
    "Operation",
    "Parameter",
    "load_document",
    "parse_document",
    "read_operations",
]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
Location = Literal["path", "query", "header", "cookie", "body"]
_MAX_DESCRIPTION = 600
_JSON_TYPES = re.compile(r"^application/([\w.+-]*\+)?json\b|^\*/\*$")


@dataclass(frozen=True, slots=True)
class Parameter:
    """One keyword argument of an operation and where its value goes in the request."""

    key: str
    """The argument name the tool's input schema uses (unique within the operation)."""
    name: str
    """The name on the wire (path placeholder, query or header name, or body property)."""
    location: Location
    style: str | None = None
    explode: bool = True


@dataclass(frozen=True, slots=True)
class BodyShape:
    """How the request body is built from the arguments."""

    content_type: str
    flattened: bool
    """True: the body is an object built from body-located parameters; False: one `body` arg."""
    key: str = "body"


@dataclass(frozen=True, slots=True)
class Operation:
    """One callable operation of the document."""

    name: str
    """operationId, or `<method>_<path>` when the document gives none."""
    method: str
    path: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    parameters: tuple[Parameter, ...]
    body: BodyShape | None
    tags: tuple[str, ...] = field(default=())


def load_document(source: str | Path) -> dict[str, Any]:
    """A spec file (JSON or YAML) as a dict; `ConnectorError` when it cannot be read."""
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConnectorError(f"cannot read OpenAPI document {path}: {exc.strerror}") from exc
    return parse_document(text, str(path))


def parse_document(text: str, where: str) -> dict[str, Any]:
    """Spec text as a dict: JSON when it parses as JSON, otherwise YAML."""
    stripped = text.lstrip()
    document: Any
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConnectorError(f"{where} is not valid JSON: {exc}") from exc
    else:
        import yaml

        try:
            document = yaml.load(text, Loader=_yaml_loader())
        except yaml.YAMLError as exc:
            raise ConnectorError(f"{where} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ConnectorError(f"{where} is not an OpenAPI document (not a mapping)")
    return document


@cache
def _yaml_loader() -> Any:
    """PyYAML's safe loader (the C one when built), reading dates as the strings JSON has.

    YAML turns `2024-01-01` into a `datetime`; an OpenAPI document means the string (JSON
    Schema `format: date`), and a `datetime` default would not survive into a stub or a call.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolvers = {
        first: [r for r in found if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, found in base.yaml_implicit_resolvers.items()
    }
    return type("JsonCompatibleLoader", (base,), {"yaml_implicit_resolvers": resolvers})


def read_operations(document: Mapping[str, Any], where: str) -> list[Operation]:
    """Every operation of an OpenAPI 3.x document, in document order."""
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        found = f"swagger {document['swagger']}" if "swagger" in document else repr(version)
        raise ConnectorError(f"{where}: only OpenAPI 3.0/3.1 documents are supported, got {found}")
    components = document.get("components")
    shared = {"components": components} if isinstance(components, Mapping) else {}
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise ConnectorError(f"{where}: the document has no `paths`")
    reader = _Reader(document, shared)
    operations = []
    for path, item in paths.items():
        item = reader.resolve(item)
        if not isinstance(item, Mapping):
            continue
        common = item.get("parameters") or []
        for method in METHODS:
            spec = item.get(method)
            if isinstance(spec, Mapping):
                operations.append(reader.operation(str(path), method, spec, common))
    return operations


class _Reader:
    def __init__(self, document: Mapping[str, Any], shared: dict[str, Any]) -> None:
        self._document = document
        self._shared = shared

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """Follow `$ref`s to components (parameters, bodies, responses) up to a fixed depth."""
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < 20:
            target = _pointer(self._document, node["$ref"])
            if target is None:
                return {}
            node, depth = target, depth + 1
        return node

    def operation(self, path: str, method: str, spec: Mapping[str, Any], common: Any) -> Operation:
        name = spec.get("operationId") or f"{method}_{path}"
        merged: dict[tuple[str, str], Mapping[str, Any]] = {}
        for raw in [*(common if isinstance(common, list) else []), *(spec.get("parameters") or [])]:
            param = self.resolve(raw)
            if isinstance(param, Mapping) and "name" in param and "in" in param:
                merged[(str(param["in"]), str(param["name"]))] = param
        properties: dict[str, Any] = {}
        required: list[str] = []
        parameters: list[Parameter] = []
        for (location, wire), param in merged.items():
            if location not in ("path", "query", "header", "cookie"):
                continue
            key = _unique_key(wire, properties)
            properties[key] = _with_description(param.get("schema") or {}, param.get("description"))
            if param.get("required") or location == "path":
                required.append(key)
            parameters.append(
                Parameter(
                    key,
                    wire,
                    location,  # type: ignore[arg-type]
                    style=param.get("style"),
                    explode=bool(param.get("explode", param.get("style", "form") == "form")),
                )
            )
        body = self._body(spec.get("requestBody"), properties, required, parameters)
        schema: dict[str, Any] = {"type": "object", "properties": properties, **self._shared}
        if required:
            schema["required"] = required
        return Operation(
            name=str(name),
            method=method.upper(),
            path=path,
            description=_description(spec),
            input_schema=schema,
            output_schema=self._response_schema(spec.get("responses")),
            parameters=tuple(parameters),
            body=body,
            tags=tuple(str(t) for t in spec.get("tags") or ()),
        )

    def _body(
        self,
        raw: Any,
        properties: dict[str, Any],
        required: list[str],
        parameters: list[Parameter],
    ) -> BodyShape | None:
        body = self.resolve(raw)
        if not isinstance(body, Mapping):
            return None
        content = body.get("content")
        if not isinstance(content, Mapping) or not content:
            return None
        content_type = _pick_content_type(content)
        media = content[content_type] if isinstance(content[content_type], Mapping) else {}
        schema = media.get("schema") or {}
        target = self.resolve(schema)
        body_required = bool(body.get("required"))
        props = target.get("properties") if isinstance(target, Mapping) else None
        flattenable = (
            isinstance(props, Mapping)
            and props
            and not any(k in properties for k in props)
            and not target.get("oneOf")
            and not target.get("anyOf")
            and (_JSON_TYPES.match(content_type) or content_type.endswith("form-urlencoded"))
        )
        if flattenable:
            assert isinstance(props, Mapping) and isinstance(target, Mapping)
            inner_required = target.get("required") or []
            for key, prop in props.items():
                properties[str(key)] = prop
                if body_required and key in inner_required:
                    required.append(str(key))
                parameters.append(Parameter(str(key), str(key), "body"))
            return BodyShape(content_type, flattened=True)
        key = _unique_key("body", properties)
        properties[key] = _with_description(schema, body.get("description"))
        if body_required:
            required.append(key)
        return BodyShape(content_type, flattened=False, key=key)

    def _response_schema(self, responses: Any) -> dict[str, Any] | None:
        if not isinstance(responses, Mapping):
            return None
        codes = sorted(str(c) for c in responses if str(c).startswith("2"))
        for code in codes:
            response = self.resolve(responses[code] if code in responses else responses[int(code)])
            content = response.get("content") if isinstance(response, Mapping) else None
            if not isinstance(content, Mapping) or not content:
                if code == "204":
                    return {"type": "null"}
                continue
            media = content.get(_pick_content_type(content))
            schema = media.get("schema") if isinstance(media, Mapping) else None
            if isinstance(schema, Mapping) and schema:
                if not self._shared or "$ref" in schema:
                    return {**schema, **self._shared}
                # Wrapped, so the stub renderer never treats the shared components as part of
                # this one schema (it compares inline object schemas by their full text).
                return {"allOf": [schema], **self._shared}
        return None


def _pick_content_type(content: Mapping[str, Any]) -> str:
    for content_type in content:
        if _JSON_TYPES.match(str(content_type)):
            return str(content_type)
    return str(next(iter(content)))


def _unique_key(name: str, taken: Mapping[str, Any]) -> str:
    key, n = name, 2
    while key in taken:
        key, n = f"{name}_{n}", n + 1
    return key


def _with_description(schema: Any, description: Any) -> Any:
    if not description or not isinstance(schema, Mapping) or "description" in schema:
        return schema
    if "$ref" in schema:  # siblings of $ref are ignored by 3.0 tools: wrap instead
        return {"allOf": [schema], "description": str(description)}
    return {**schema, "description": str(description)}


def _description(spec: Mapping[str, Any]) -> str:
    summary = str(spec.get("summary") or "").strip()
    details = str(spec.get("description") or "").strip()
    if details.startswith(summary):
        summary = ""
    text = "\n\n".join(part for part in (summary, details) if part)
    if len(text) > _MAX_DESCRIPTION:
        text = text[: _MAX_DESCRIPTION - 1].rstrip() + "…"
    return text


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node
