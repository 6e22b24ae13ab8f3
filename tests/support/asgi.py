"""One HTTP request straight to an ASGI app, in the test's own thread: no server, no socket."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import orjson
from starlette.applications import Starlette


def call(app: Starlette, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    """One request straight to the app: the status, the headers and the JSON answer (None: no body)."""
    data = b"" if body is None else orjson.dumps(body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"mock"), (b"content-length", str(len(data)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("mock", 80),
    }
    messages = [{"type": "http.request", "body": data, "more_body": False}]
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], dict(message["headers"])
        else:
            answer["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    headers = {key.decode(): value.decode() for key, value in answer["headers"].items()}
    return answer["status"], headers, orjson.loads(answer["body"]) if answer["body"] else None
