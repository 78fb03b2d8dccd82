"""Talking to the sandbox over HTTP without the hook: plain requests, and raw http.client for odd bytes."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

VERSION = {"X-MyPayQuicker-Version": "2026.02.01"}
API_ERROR_FIELDS = {"severity", "error", "code", "message", "referenceId", "timestamp", "requestRef"}
TOKEN_PATH = "/api/v2/auth/connect/token"


def token(sandbox, scope: str = "readonly modify", secret: str | None = None) -> requests.Response:
    return requests.post(
        sandbox.base_url + "/auth/connect/token",
        auth=(sandbox.client_id, secret or sandbox.client_secret),
        data={"grant_type": "client_credentials", "scope": scope},
        timeout=10,
    )


def bearer(sandbox, scope: str = "readonly modify") -> dict[str, str]:
    """The headers of an authorized API call: version and a fresh bearer token."""
    return {**VERSION, "Authorization": f"Bearer {token(sandbox, scope).json()['access_token']}"}


def call(sandbox, method: str, path: str, scope: str = "readonly modify", **kwargs: Any) -> requests.Response:
    headers = {**bearer(sandbox, scope), **kwargs.pop("headers", {})}
    return requests.request(method, sandbox.base_url + path, headers=headers, timeout=10, **kwargs)


def create(sandbox, body: dict) -> dict:
    answer = call(sandbox, "POST", "/payments/jobs", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_api_error(answer: requests.Response, status: int, words: str) -> None:
    body = answer.json()
    assert answer.status_code == status and body["code"] == status, (answer.status_code, body)
    assert set(body) == API_ERROR_FIELDS
    assert words in body["message"], body["message"]


def assert_oauth_error(answer: requests.Response, status: int, error: str) -> None:
    body = answer.json()
    assert (answer.status_code, body.get("error")) == (status, error), (answer.status_code, body)
    assert set(body) == {"error", "error_description"}


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    sandbox,
    method: str,
    target: str,
    headers: list[tuple[str | bytes, str | bytes]] = (),
    body: bytes | None = None,
    host: bool = True,
) -> RawAnswer:
    """
    One request through http.client, headers exactly as given (bytes allowed, nothing added but Host).

    :param target: the request target, e.g. ``/api/v2/payments/jobs?page=1``.
    """
    address = urlsplit(sandbox.root_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=not host, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return RawAnswer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        connection.close()


def error_shape_problem(path: str, status: int, body: bytes) -> str | None:
    """Why a non-2xx answer is not the contract's error shape for ``path``; None when it is."""
    try:
        value = json.loads(body)
    except ValueError:
        return f"{status} answer is not JSON: {body[:200]!r}"
    on_token_path = path.split("?")[0] == TOKEN_PATH
    if on_token_path and isinstance(value, dict) and set(value) == {"error", "error_description"}:
        return None
    if not isinstance(value, dict) or set(value) != API_ERROR_FIELDS:
        return f"{status} answer is not an ApiErrorResult: {value!r}"[:400]
    if value["code"] != status or not isinstance(value["message"], str) or value["severity"] != "ERROR":
        return f"{status} answer's fields are off: {value!r}"[:400]
    return None
