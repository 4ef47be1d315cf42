"""A real HTTP service on loopback for the OpenAPI connector tests, and its OpenAPI documents.

A small pet store on the standard library's `ThreadingHTTPServer`: path, query, header and
JSON-body parameters, 201/204/404 answers, a bearer token it checks, a route that echoes the
request headers back (a careless service leaking credentials), and a slow route.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "pet-store-secret-token-42"

SPEC_30_YAML = """\
openapi: 3.0.3
info: {title: Pet Store, version: "1.0"}
servers: [{url: "http://127.0.0.1:{port}/api", variables: {port: {default: "1"}}}]
paths:
  /pets:
    get:
      operationId: listPets
      summary: List the pets in the store, optionally by tag.
      parameters:
        - {name: tag, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, default: 20}}
        - {name: ids, in: query, schema: {type: array, items: {type: integer}}}
      responses:
        "200":
          description: the pets
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}
    post:
      operationId: createPet
      summary: Add a pet.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewPet"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
  /pets/{petId}:
    parameters:
      - $ref: "#/components/parameters/PetId"
    get:
      operationId: getPet
      summary: One pet by id.
      parameters:
        - {name: X-Request-Id, in: header, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
      responses:
        "200":
          description: the pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "404": {$ref: "#/components/responses/NotFound"}
    delete:
      summary: Remove a pet.
      responses:
        "204": {description: gone}
  /echo:
    get:
      operationId: echoHeaders
      summary: The request headers as the service saw them.
      parameters:
        - {name: Authorization, in: header, schema: {type: string}}
      responses:
        "200":
          description: headers
          content:
            application/json:
              schema: {type: object, additionalProperties: {type: string}}
  /slow:
    get:
      operationId: slow
      responses:
        "200": {description: eventually}
components:
  parameters:
    PetId: {name: petId, in: path, required: true, schema: {type: integer}}
  responses:
    NotFound:
      description: no such pet
      content:
        application/json:
          schema: {type: object, properties: {error: {type: string}}}
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        tag: {type: string, nullable: true}
    Pet:
      allOf:
        - $ref: "#/components/schemas/NewPet"
        - type: object
          required: [id]
          properties:
            id: {type: integer}
"""


def spec_31() -> dict[str, Any]:
    """The same store as an OpenAPI 3.1 dict (type lists for null, no servers)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pets 3.1", "version": "1"},
        "paths": {
            "/pets/{petId}": {
                "get": {
                    "operationId": "getPet",
                    "parameters": [
                        {
                            "name": "petId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                            },
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Pet": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "tag": {"type": ["string", "null"]},
                    },
                }
            }
        },
    }


class _Store:
    def __init__(self) -> None:
        self.pets: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Rex", "tag": "dog"},
            2: {"id": 2, "name": "Tom", "tag": "cat"},
        }
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    store: _Store

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/api/pets":
            pets = list(self.store.pets.values())
            if "tag" in query:
                pets = [p for p in pets if p["tag"] == query["tag"][0]]
            if "ids" in query:
                wanted = {int(i) for i in query["ids"]}
                pets = [p for p in pets if p["id"] in wanted]
            return self._send(200, pets[: int(query.get("limit", ["20"])[0])])
        if url.path.startswith("/api/pets/"):
            pet = self.store.pets.get(int(url.path.rsplit("/", 1)[1]))
            if pet is None:
                return self._send(404, {"error": f"pet {url.path.rsplit('/', 1)[1]} not found"})
            extra = {"request_id": self.headers.get("X-Request-Id")}
            if self.headers.get("Cookie"):
                extra["cookie"] = self.headers["Cookie"]
            return self._send(200, {**pet, **extra})
        if url.path == "/openapi.yaml":  # the document itself, with a relative server URL
            text = SPEC_30_YAML.replace('"http://127.0.0.1:{port}/api"', "/api").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return None
        if url.path == "/api/echo":
            return self._send(200, dict(self.headers.items()))
        if url.path == "/api/slow":
            time.sleep(1.5)
            return self._send(200, "late")
        return self._send(404, {"error": "no route"})

    def do_POST(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            got = self.headers.get("Authorization")
            return self._send(401, {"error": f"bad credentials: {got}"})
        length = int(self.headers.get("Content-Length", "0"))
        data = json.loads(self.rfile.read(length))
        with self.store.lock:
            pet = {"id": max(self.store.pets) + 1, "name": data["name"], "tag": data.get("tag")}
            self.store.pets[pet["id"]] = pet
        return self._send(201, pet)

    def do_DELETE(self) -> None:
        pet_id = int(urlsplit(self.path).path.rsplit("/", 1)[1])
        if self.store.pets.pop(pet_id, None) is None:
            return self._send(404, {"error": "not found"})
        return self._send(204)


@contextmanager
def pet_store() -> Iterator[tuple[str, str]]:
    """Serve the store on 127.0.0.1 (a free port); yields (base URL, spec text for it)."""
    handler = type("Handler", (_Handler,), {"store": _Store()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (
            f"http://127.0.0.1:{port}/api",
            SPEC_30_YAML.replace('default: "1"', f'default: "{port}"'),
        )
    finally:
        server.shutdown()
        server.server_close()
