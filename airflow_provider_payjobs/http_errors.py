"""Maps what requests and httpx raise, and non-2xx answers, onto the provider's typed errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import requests
from urllib3.exceptions import NewConnectionError

from airflow_provider_payjobs.auth import AccessToken, parse_token_answer
from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsTransportError
from airflow_provider_payjobs.retries import parse_retry_after

BODY_EXCERPT_CHARS = 200


def from_requests_error(error: requests.RequestException, method: str, path: str) -> PayJobsTransportError:
    """The typed error for a requests failure, telling whether the request may have been sent."""
    if isinstance(error, requests.exceptions.SSLError):
        kind, text = "tls", "TLS handshake or certificate verification failed"
    elif isinstance(error, requests.exceptions.ConnectTimeout):
        kind, text = "connect_timeout", "timed out while connecting"
    elif isinstance(error, requests.exceptions.Timeout):
        kind, text = "read_timeout", "timed out waiting for the answer"
    elif isinstance(error, requests.exceptions.ConnectionError) and _never_connected(error):
        kind, text = "refused", "could not connect (refused or unreachable)"
    else:
        kind, text = "dropped", "the connection was dropped before an answer came"
    return PayJobsTransportError(f"{text}: {type(error).__name__}", kind=kind, method=method, path=path)


def from_httpx_error(error: httpx.TransportError, method: str, path: str) -> PayJobsTransportError:
    """The typed error for an httpx failure, telling whether the request may have been sent."""
    if isinstance(error, httpx.ConnectTimeout):
        kind, text = "connect_timeout", "timed out while connecting"
    elif isinstance(error, httpx.ConnectError):
        is_tls = "ssl" in str(error).lower() or "certificate" in str(error).lower()
        kind = "tls" if is_tls else "refused"
        text = "TLS handshake or certificate verification failed" if is_tls else "could not connect"
    elif isinstance(error, httpx.TimeoutException):
        kind, text = "read_timeout", "timed out waiting for the answer"
    else:
        kind, text = "dropped", "the connection was dropped before an answer came"
    return PayJobsTransportError(f"{text}: {type(error).__name__}", kind=kind, method=method, path=path)


def api_error(
    status_code: int, body_text: str, headers: Mapping[str, str], method: str, path: str
) -> PayJobsApiError:
    """The typed error for a non-2xx answer, with ``Retry-After`` when the server sent one."""
    return PayJobsApiError.from_response(
        status_code,
        body_text,
        method=method,
        path=path,
        retry_after=parse_retry_after(headers.get("Retry-After")),
    )


def token_from_answer(status_code: int, body_text: str, headers: Mapping[str, str], path: str) -> AccessToken:
    """The token of a token endpoint answer; a 5xx or 429 is an API error, so the retry policy applies."""
    if status_code >= 500 or status_code == 429:
        raise api_error(status_code, body_text, headers, "POST", path)
    return parse_token_answer(status_code, body_text)


def decode_json(status_code: int, body_text: str, method: str, path: str) -> Any:
    """The decoded body of a 2xx answer; a body that is not JSON is an API error, not a crash."""
    try:
        return json.loads(body_text)
    except ValueError:
        excerpt = body_text[:BODY_EXCERPT_CHARS] or "<empty body>"
        raise PayJobsApiError(status_code, method=method, path=path, body_excerpt=excerpt) from None


def _never_connected(error: BaseException) -> bool:
    """Whether a requests ConnectionError comes from a connection that was never established."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else (current.__cause__ or current.__context__)
    return isinstance(error.args[0] if error.args else None, NewConnectionError)
