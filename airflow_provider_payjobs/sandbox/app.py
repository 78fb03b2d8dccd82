"""The Starlette application: API routes wrapped with faults and logging, plus ``/_sandbox/`` admin routes."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.sandbox import api
from airflow_provider_payjobs.sandbox.clock import rfc3339
from airflow_provider_payjobs.sandbox.faults import InvalidFaults
from airflow_provider_payjobs.sandbox.state import SandboxState, api_error

Handler = Callable[[Request, SandboxState], Awaitable[Response]]
# Set by the server's protocol to the request's connection, so a fault can drop it (server.py).
CURRENT_TRANSPORT: contextvars.ContextVar[asyncio.Transport | None] = contextvars.ContextVar(
    "payjobs_sandbox_transport", default=None
)
PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
LOOPBACK_HOSTS = ("127.", "::1", "localhost")


def api_route(path: str, handler: Handler, method: str, scope: str | None, is_create: bool = False) -> Route:
    """An API route: faults, then the version/auth/scope checks, then ``handler``; every call logged."""

    async def endpoint(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        fault = state.faults.choose(request.method, request.url.path, is_create=is_create)
        if state.faults.settings.latency_ms:
            await asyncio.sleep(state.faults.settings.latency_ms / 1000)
        if fault == "late_commit_504":  # a gateway gives up; the service behind it saves later
            refusal = api.authorize(request, state, scope) if scope else None
            if refusal is None:
                await request.body()
                _LATE_WORK.add(asyncio.create_task(_handle_late(request, state, handler)))
            response = refusal or api_error(504, "Gateway timeout")
            state.log_request(request, response.status_code, fault)
            return response
        slow = fault == "slow"
        if slow:  # a server that takes its time, then acts: the client may have given up by then
            await request.body()  # received in full before the wait, as a real server would have it
            await asyncio.sleep(state.faults.settings.slow_seconds)
            fault = None
        if fault and not fault.startswith("commit_then_"):
            response = _fault_answer(fault, state)
        else:
            response = await _answer(request, state, handler, scope)
            if fault and response.status_code < 300:
                response = _after_commit(fault, response)
            else:
                fault = None  # nothing was committed, so nothing to fail after
        logged_fault = "slow" if slow else fault
        state.log_request(request, None if response is None else response.status_code, logged_fault)
        return response if response is not None else await _drop_connection()

    return Route(path, endpoint, methods=[method])


async def _answer(request: Request, state: SandboxState, handler: Handler, scope: str | None) -> Response:
    refusal = api.authorize(request, state, scope) if scope else None
    if refusal is not None:
        return refusal
    try:
        return await handler(request, state)
    except PayJobsValidationError as error:
        return api_error(400, str(error))


_LATE_WORK: set[asyncio.Task[None]] = set()  # strong references until the late work is done


async def _handle_late(request: Request, state: SandboxState, handler: Handler) -> None:
    """The request a gateway gave up on, handled later; dropped when the sandbox was reset meanwhile."""
    generation = state.generation
    try:
        await asyncio.sleep(state.faults.settings.slow_seconds)
        if state.generation != generation:
            return
        response = await _answer(request, state, handler, scope=None)  # authorized on arrival
        state.log_request(request, response.status_code, "late_commit")
    except Exception:
        state.log_request(request, 500, "late_commit")
        raise
    finally:
        _LATE_WORK.discard(asyncio.current_task())  # type: ignore[arg-type]


def _after_commit(fault: str, saved: Response) -> Response | None:
    """The answer of a request that was acted on, spoiled: dropped, a 500, or a 200 cut short."""
    if fault.endswith("drop"):
        return None
    if fault.endswith("truncated_200"):
        return Response(bytes(saved.body)[:25], status_code=200, media_type="application/json")
    return api_error(500, "Internal error after the job was saved")


def _fault_answer(fault: str, state: SandboxState) -> Response | None:
    if fault == "drop":
        return None
    if fault == "429":
        response = api_error(429, "Too many requests")
        response.headers["Retry-After"] = f"{state.faults.settings.retry_after_seconds:g}"
        return response
    if fault == "html_502":
        return Response(PROXY_PAGE, status_code=502, media_type="text/html")
    if fault == "empty_500":
        return Response(b"", status_code=500)
    if fault == "truncated_json_500":
        return Response(
            b'{"severity": "ERROR", "error": "Internal Ser', status_code=500, media_type="application/json"
        )
    return api_error(int(fault), "Injected fault")


async def _drop_connection() -> Response:
    """Close the TCP connection with no answer; the response returned is never sent."""
    transport = CURRENT_TRANSPORT.get()
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)  # let the protocol see the connection is gone before the app returns
    return Response(status_code=500)


def admin_route(path: str, handler: Callable[[Request, SandboxState], Awaitable[Any]], method: str) -> Route:
    """A ``/_sandbox/`` route: loopback clients only, no auth, bad values answer 400."""

    async def endpoint(request: Request) -> Response:
        client = request.client.host if request.client else ""
        if not client.startswith(LOOPBACK_HOSTS):
            return JSONResponse({"error": "admin endpoints answer loopback clients only"}, status_code=403)
        try:
            return JSONResponse(await handler(request, request.app.state.sandbox))
        except (InvalidFaults, ValueError, TypeError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)

    return Route(path, endpoint, methods=[method])


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    value = json.loads(body) if body else {}
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


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
    changes = await _json_object(request)
    if "frozen" in changes:
        state.clock.freeze(bool(changes["frozen"]))
    advance = changes.get("advance", 0)
    if isinstance(advance, bool) or not isinstance(advance, (int, float)) or advance < 0:
        raise ValueError(f"advance must be a number of seconds >= 0, got {advance!r}")
    return {"now": rfc3339(state.clock.advance(advance)), "frozen": state.clock.frozen}


async def get_requests(request: Request, state: SandboxState) -> list[dict[str, Any]]:
    return state.requests()


async def delete_requests(request: Request, state: SandboxState) -> dict[str, Any]:
    state.clear_requests()
    return {"cleared": True}


async def get_ledger(request: Request, state: SandboxState) -> list[dict[str, Any]]:
    return state.store.ledger()


async def expire_tokens(request: Request, state: SandboxState) -> dict[str, Any]:
    state.tokens.expire_all()
    return {"expired": True}


async def reset(request: Request, state: SandboxState) -> dict[str, Any]:
    state.reset()
    return {"reset": True}


async def _http_error(request: Request, error: HTTPException) -> Response:
    return api_error(error.status_code, str(error.detail))


async def _unexpected_error(request: Request, error: Exception) -> Response:
    return api_error(500, f"Unexpected sandbox error ({type(error).__name__})")


def build_app(state: SandboxState) -> Starlette:
    """The sandbox as an ASGI application."""
    jobs = "/api/v2/payments/jobs"
    routes = [
        api_route("/api/v2/auth/connect/token", api.token, "POST", scope=None),
        api_route(jobs, api.list_jobs, "GET", scope="readonly"),
        api_route(jobs, api.create_job, "POST", scope="modify", is_create=True),
        api_route(jobs + "/{job_token}", api.retrieve_job, "GET", scope="readonly"),
        api_route(jobs + "/{job_token}", api.cancel_job, "DELETE", scope="modify"),
        admin_route("/_sandbox/faults", get_faults, "GET"),
        admin_route("/_sandbox/faults", put_faults, "PUT"),
        admin_route("/_sandbox/config", get_config, "GET"),
        admin_route("/_sandbox/config", put_config, "PUT"),
        admin_route("/_sandbox/clock", post_clock, "POST"),
        admin_route("/_sandbox/requests", get_requests, "GET"),
        admin_route("/_sandbox/requests", delete_requests, "DELETE"),
        admin_route("/_sandbox/ledger", get_ledger, "GET"),
        admin_route("/_sandbox/tokens/expire", expire_tokens, "POST"),
        admin_route("/_sandbox/reset", reset, "POST"),
    ]
    # Unknown paths, wrong methods and crashes answer an ApiErrorResult too, as every non-2xx must.
    app = Starlette(
        routes=routes, exception_handlers={HTTPException: _http_error, Exception: _unexpected_error}
    )
    app.state.sandbox = state
    return app
