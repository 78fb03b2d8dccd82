"""The ``/_sandbox/`` admin routes: loopback clients only, no auth, values checked against their bounds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_payjobs.sandbox.clock import rfc3339
from airflow_provider_payjobs.sandbox.errors import Refusal, api_error
from airflow_provider_payjobs.sandbox.limits import MAX_CLOCK_ADVANCE_SECONDS, OutOfBounds, bounded_number
from airflow_provider_payjobs.sandbox.money import ExactJSONResponse
from airflow_provider_payjobs.sandbox.state import SandboxState
from airflow_provider_payjobs.sandbox.wire import body_of, check_host, parse_json, receive_body

LOOPBACK_HOSTS = ("127.", "::1", "localhost")
AdminHandler = Callable[[Request, SandboxState], Awaitable[Any]]


def admin_endpoint(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    """A ``/_sandbox/`` endpoint; a refused request answers an ApiErrorResult and changes nothing."""

    async def endpoint(request: Request) -> Response:
        try:
            check_host(request)
            client = request.client.host if request.client else ""
            if not client.startswith(LOOPBACK_HOSTS):
                raise Refusal(403, "admin endpoints answer loopback clients only")
            response: Response = ExactJSONResponse(await handler(request, request.app.state.sandbox))
        except Refusal as refusal:
            response = api_error(refusal.status_code, refusal.message)
        except OutOfBounds as error:
            response = api_error(400, str(error))
        await receive_body(request)  # read to its end, so that the client gets the answer (app.py)
        return response

    return endpoint


async def _json_object(request: Request) -> dict[str, Any]:
    body = await body_of(request)
    value = parse_json(body) if body.strip() else {}
    if not isinstance(value, dict):
        raise Refusal(400, "body: must be a JSON object")
    if not _encodable(value):  # settings are answered back as JSON: they must be text UTF-8 holds
        raise Refusal(400, "body: holds text UTF-8 cannot encode (a lone surrogate such as \\ud800)")
    return value


def _encodable(value: Any) -> bool:
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


async def get_faults(request: Request, state: SandboxState) -> dict[str, Any]:
    return asdict(state.faults.settings)


async def put_faults(request: Request, state: SandboxState) -> dict[str, Any]:
    return asdict(state.faults.update(await _json_object(request)))


async def get_config(request: Request, state: SandboxState) -> dict[str, Any]:
    return state.config.public()


async def put_config(request: Request, state: SandboxState) -> dict[str, Any]:
    state.config = state.config.updated(await _json_object(request))
    return state.config.public()


async def post_clock(request: Request, state: SandboxState) -> dict[str, Any]:
    """``{"advance": seconds}`` and/or ``{"frozen": bool}``, both checked before either acts."""
    changes = await _json_object(request)
    unknown = sorted(set(changes) - {"advance", "frozen"})
    if unknown:
        raise OutOfBounds(f"the clock takes advance and frozen, got {unknown[0]!r}")
    if "frozen" in changes and not isinstance(changes["frozen"], bool):
        raise OutOfBounds("frozen must be true or false")
    advance = bounded_number("advance (seconds)", changes.get("advance", 0), 0, MAX_CLOCK_ADVANCE_SECONDS)
    state.clock.advance(advance)  # refused, with nothing changed, where it would pass the clock's end
    if "frozen" in changes:  # freezing or thawing leaves the time as it is: the order does not matter
        state.clock.freeze(changes["frozen"])
    return {"now": rfc3339(state.clock.now()), "frozen": state.clock.frozen}


async def get_requests(request: Request, state: SandboxState) -> list[dict[str, Any]]:
    return state.requests()


async def delete_requests(request: Request, state: SandboxState) -> dict[str, Any]:
    state.clear_requests()
    return {"cleared": True}


async def get_ledger(request: Request, state: SandboxState) -> list[dict[str, Any]]:
    return state.store.ledger()


async def expire_tokens(request: Request, state: SandboxState) -> dict[str, Any]:
    """Every token, or with ``{"older_than_seconds": s}`` those issued more than ``s`` ago (sandbox clock)."""
    changes = await _json_object(request)
    unknown = sorted(set(changes) - {"older_than_seconds"})
    if unknown:
        raise OutOfBounds(f"tokens/expire takes older_than_seconds, got {unknown[0]!r}")
    older_than = changes.get("older_than_seconds")
    if older_than is None:
        state.tokens.expire_all()
    else:
        seconds = bounded_number("older_than_seconds", older_than, 0, MAX_CLOCK_ADVANCE_SECONDS)
        state.tokens.expire_issued_before(state.clock.now() - timedelta(seconds=seconds))
    return {"expired": True}


async def reset(request: Request, state: SandboxState) -> dict[str, Any]:
    state.reset()
    return {"reset": True}


def admin_endpoints() -> list[tuple[str, str, Callable[[Request], Awaitable[Response]]]]:
    """Every ``/_sandbox/`` endpoint: path, method, endpoint."""
    return [
        (f"/_sandbox/{path}", method, admin_endpoint(handler))
        for path, method, handler in (
            ("faults", "GET", get_faults),
            ("faults", "PUT", put_faults),
            ("config", "GET", get_config),
            ("config", "PUT", put_config),
            ("clock", "POST", post_clock),
            ("requests", "GET", get_requests),
            ("requests", "DELETE", delete_requests),
            ("ledger", "GET", get_ledger),
            ("tokens/expire", "POST", expire_tokens),
            ("reset", "POST", reset),
        )
    ]
