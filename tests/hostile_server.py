"""
A small HTTP server that misbehaves on purpose, scenario by scenario.

Unlike the sandbox, it speaks raw HTTP/1.1 over a socket, so it can send anything: statuses the
standard library refuses to build, redirects, bodies that drip a byte at a time, corrupt gzip,
lies in Content-Length, echoes of the credentials it was sent. Each request is recorded.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

JOB_PATH_PREFIX = "/api/v2/payments/jobs"
TOKEN_PATH = "/api/v2/auth/connect/token"
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 500: "Internal Server Error"}


@dataclass
class Request:
    """One request as the server read it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def job_token(self) -> str | None:
        """The job a call is about; None for the list, a create and the token endpoint."""
        if not self.path.startswith(JOB_PATH_PREFIX):
            return None
        return self.path.removeprefix(JOB_PATH_PREFIX).strip("/") or None


@dataclass
class Reply:
    """
    What to send back.

    :param body: bytes or text as they are; anything else is sent as JSON.
    :param drip_seconds: send the answer one byte at a time, pausing this long between bytes.
    :param drip_head: drip the head too; otherwise the head comes at once and the body drips.
    :param cut_after: close the connection after this many bytes of the body.
    :param raw: send exactly these bytes instead of an answer built from the fields.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_seconds: float | None = None
    drip_head: bool = True
    cut_after: int | None = None
    raw: bytes | None = None

    def encoded(self) -> tuple[bytes, bytes]:
        if self.raw is not None:
            return self.raw, b""
        body = self.body
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **self.headers}
        head = f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Whatever')}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items() if value is not None)
        head += "Connection: close\r\n\r\n"
        return head.encode("utf-8"), body


Scenario = Callable[[Request], "Reply | None"]


def a_job(token: str | None = None, status: str = "PROCESSING", **fields: Any) -> dict[str, Any]:
    """A well-formed PaymentJobResult."""
    token = token or f"jobs-{uuid.uuid4()}"
    return {
        "token": token,
        "status": status,
        "created": "2026-01-01T00:00:00Z",
        "count": 1,
        "items": [
            {
                "token": "pmnt-1",
                "amount": 10.5,
                "currency": "USD",
                "status": "ACCEPTED",
                "clientPaymentId": "p-0",
            }
        ],
        **fields,
    }


class HostileServer:
    """
    Serves on a free loopback port in a thread; ``scenario`` decides each answer.

    A scenario returns a :class:`Reply`, or None for the well-behaved default: a token for the
    token endpoint, a job for job calls, an empty page for the list.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scenario: Scenario = lambda request: None
        self.tokens_issued: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = _read_request(self.rfile)
                if request is None:
                    return
                outer.requests.append(request)
                reply = outer.scenario(request) or outer.default_reply(request)
                _send(self.connection, reply)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def default_reply(self, request: Request) -> Reply:
        if request.path == TOKEN_PATH:
            token = f"hostile-token-{uuid.uuid4().hex}"
            self.tokens_issued.append(token)
            return Reply(body={"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        if request.path.rstrip("/") == JOB_PATH_PREFIX and request.method == "GET":
            return Reply(body={"payload": [], "meta": {"pageCount": "1", "recordCount": "0"}})
        if request.path.rstrip("/") == JOB_PATH_PREFIX and request.method == "POST":
            return Reply(body=a_job(status="SUBMITTED"))
        status = "CANCELLED" if request.method == "DELETE" else "PROCESSING"
        return Reply(body=a_job(request.job_token, status=status))

    def calls(self, method: str | None = None, path_end: str = "") -> list[Request]:
        return [
            request
            for request in self.requests
            if (method is None or request.method == method) and request.path.endswith(path_end)
        ]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _read_request(stream: Any) -> Request | None:
    line = stream.readline(65537).decode("latin-1").strip()
    if not line:
        return None
    method, target, _ = line.split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = stream.readline(65537).decode("latin-1")
        if header in ("\r\n", "\n", ""):
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", "0") or 0))
    parts = urlsplit(target)
    return Request(method, parts.path, parse_qs(parts.query), headers, body)


def _send(connection: socket.socket, reply: Reply) -> None:
    head, body = reply.encoded()
    if reply.cut_after is not None:
        body = body[: reply.cut_after]
    try:
        if reply.drip_seconds is None:
            connection.sendall(head + body)
            return
        dripped = head + body if reply.drip_head else body
        if not reply.drip_head:
            connection.sendall(head)
        for byte in dripped:
            connection.sendall(bytes([byte]))
            time.sleep(reply.drip_seconds)
    except OSError:
        pass  # the client gave up: that is what a drip is for
