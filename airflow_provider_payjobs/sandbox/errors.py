"""Error answers: the contract's ApiErrorResult, and RFC 6749 errors on the token endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

from airflow_provider_payjobs.sandbox.clock import rfc3339


class Refusal(Exception):
    """
    A request the sandbox refuses; becomes an ApiErrorResult (or an OAuth error on the token path).

    :param status_code: a 4xx status.
    :param message: names the field and the rule, e.g. ``items[3].currency: must be ...``.
    :param headers: extra answer headers (``Allow`` on a 405).
    """

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}


def api_error_body(status_code: int, message: str) -> dict[str, Any]:
    """The ApiErrorResult fields, as the contract spells them."""
    return {
        "severity": "ERROR",
        "error": HTTPStatus(status_code).phrase,
        "code": status_code,
        "message": message,
        "referenceId": str(uuid.uuid4()),
        "timestamp": rfc3339(datetime.now(timezone.utc)),
        "requestRef": str(uuid.uuid4()),
    }


def api_error(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An ApiErrorResult answer."""
    return JSONResponse(api_error_body(status_code, message), status_code=status_code, headers=headers)


def oauth_error(
    status_code: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An RFC 6749 section 5.2 error answer of the token endpoint."""
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status_code, headers=headers
    )
