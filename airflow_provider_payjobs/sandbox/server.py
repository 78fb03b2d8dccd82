"""Serving the sandbox with uvicorn, in this process or in a child process for tests, demo and soak."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from airflow_provider_payjobs.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SECRET_VARIABLE
from airflow_provider_payjobs.sandbox.admin import SandboxAdmin
from airflow_provider_payjobs.sandbox.app import CURRENT_TRANSPORT, build_app
from airflow_provider_payjobs.sandbox.errors import api_error_body
from airflow_provider_payjobs.sandbox.state import SandboxState

READY_PREFIX = "PayQuicker sandbox ready at "
EXPORT_PREFIX = "export AIRFLOW_CONN_PAYJOBS_DEFAULT="
START_TIMEOUT_SECONDS = 30.0
LINGER_SECONDS = 2.0


class DroppableH11Protocol(H11Protocol):
    """
    uvicorn's h11 protocol, exposing each request's connection so a fault can drop it.

    A request that is not even valid HTTP/1.1 (non-ASCII bytes in the request line, a header too
    long) is refused here, before the application: with an ApiErrorResult, as every error is.
    """

    def handle_events(self) -> None:
        # The request task created inside copies this context, and with it the transport.
        marker = CURRENT_TRANSPORT.set(self.transport)
        try:
            super().handle_events()
        finally:
            CURRENT_TRANSPORT.reset(marker)

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(api_error_body(400, f"request: not valid HTTP/1.1 ({msg})")).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        # A lingering close: closing with the rest of the request unread would make the kernel
        # reset the connection, and the client could lose the answer. Half-close, drop what still
        # comes, and close when the client does (or after a moment).
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if not getattr(self, "_lingering", False):
            super().data_received(data)


class ListenError(Exception):
    """The sandbox cannot listen where it was told; the message says why and what to do, in one line."""


def bind(host: str, port: int) -> socket.socket:
    """
    A listening socket; port 0 picks a free one, with no window for another process to take it.

    :raises ListenError: when the address cannot be had (a port in use, an address not of this host).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ListenError(_why_not(error, host, port)) from None
    return sock


def _why_not(error: OSError, host: str, port: int) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use; choose another with --port PORT "
            "(--port 0 picks a free one)"
        )
    if error.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges here; choose one above 1023 with --port PORT"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: it is not an address of this machine (see --host)"
    return f"cannot listen on {host} port {port}: {error.strerror or error} (see --host and --port)"


def connection_json(base_url: str, client_id: str, client_secret: str) -> str:
    """The ``AIRFLOW_CONN_PAYJOBS_DEFAULT`` value that points Airflow at a sandbox."""
    return json.dumps(
        {"conn_type": "payjobs", "login": client_id, "password": client_secret, "host": base_url}
    )


def serve(
    state: SandboxState,
    host: str,
    port: int,
    *,
    shown_secret: str | None = None,
    secret_source: str | None = None,
) -> None:
    """
    Serve until interrupted, printing the base URL and a ready-made connection first.

    :param shown_secret: what the printed connection gives as the password; the secret itself when None.
    :param secret_source: where the secret came from, printed beside a ``shown_secret`` that stands in for it.
    :raises ListenError: when the address cannot be had.
    """
    sock = bind(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown_host}:{sock.getsockname()[1]}/api/v2"
    config = uvicorn.Config(
        build_app(state), http=DroppableH11Protocol, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    print(READY_PREFIX + base_url, flush=True)
    password = state.config.client_secret if shown_secret is None else shown_secret
    if secret_source is not None:
        print(f"# put the client secret from {secret_source} in place of {password} below", flush=True)
    conn = connection_json(base_url, state.config.client_id, password)
    print(f"{EXPORT_PREFIX}'{conn}'", flush=True)  # the last line before serving (SandboxProcess)
    server.run(sockets=[sock])


class SandboxProcess:
    """
    A sandbox running in a child process; a context manager that always stops it.

    :param cli_args: extra command-line flags, e.g. ``("--frozen-clock",)``.
    :param environment: variables for the child on top of this process's, which never passes
        on its own ``PAYJOBS_SANDBOX_CLIENT_SECRET``: the secret is what ``cli_args`` and
        ``environment`` say.
    """

    def __init__(self, *cli_args: str, environment: dict[str, str] | None = None) -> None:
        child_environment = {name: value for name, value in os.environ.items() if name != SECRET_VARIABLE}
        child_environment.update(environment or {})
        self.client_id = _flag(cli_args, "--client-id", DEFAULT_CLIENT_ID)
        self.client_secret = _secret(cli_args, child_environment)
        command = [sys.executable, "-m", "airflow_provider_payjobs.sandbox", "--port", "0", *cli_args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_environment
        )
        self.startup_output: list[str] = []  # every line up to the printed connection
        self.base_url = self._wait_until_ready()
        self.root_url = self.base_url.removesuffix("/api/v2")
        self.admin = SandboxAdmin(self.root_url)
        # Keep reading its output so that a chatty sandbox never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        seen = self.startup_output
        base_url = None
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith(READY_PREFIX):
                base_url = line[len(READY_PREFIX) :].strip()
            if base_url and line.startswith(EXPORT_PREFIX):  # printed right after, before serving
                return base_url
        self.stop()
        raise RuntimeError("the sandbox did not start:\n" + "".join(seen[-20:]))

    def _drain(self) -> None:
        stream = self.process.stdout
        if stream is not None:
            for _ in stream:
                pass

    def connection_json(self, **extra: Any) -> str:
        """The ``AIRFLOW_CONN_PAYJOBS_DEFAULT`` value for this sandbox, with optional extras."""
        conn = json.loads(connection_json(self.base_url, self.client_id, self.client_secret))
        if extra:
            conn["extra"] = extra
        return json.dumps(conn)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); calling it again does nothing."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def start_sandbox(*cli_args: str, environment: dict[str, str] | None = None) -> SandboxProcess:
    """
    Start a sandbox on a free loopback port in a child process and wait until it answers.

    :param cli_args: extra command-line flags, e.g. ``("--frozen-clock",)``.
    :param environment: variables for the child on top of this process's (see :class:`SandboxProcess`).
    """
    return SandboxProcess(*cli_args, environment=environment)


def _flag(arguments: tuple[str, ...], name: str, default: str) -> str:
    return arguments[arguments.index(name) + 1] if name in arguments else default


def _secret(arguments: tuple[str, ...], environment: dict[str, str]) -> str:
    """The client secret a child started with ``arguments`` and ``environment`` takes."""
    if "--client-secret-file" in arguments:
        text = Path(_flag(arguments, "--client-secret-file", "")).read_text(encoding="utf-8")
        return text.removesuffix("\n").removesuffix("\r")
    return _flag(arguments, "--client-secret", environment.get(SECRET_VARIABLE, DEFAULT_CLIENT_SECRET))
