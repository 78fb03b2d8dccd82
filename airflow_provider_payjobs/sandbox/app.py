"""The Starlette application: API routes wrapped with faults and logging, plus ``/_sandbox/`` admin routes."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_payjobs.sandbox import api
from airflow_provider_payjobs.sandbox.admin_api import admin_endpoints
from airflow_provider_payjobs.sandbox.errors import Refusal, api_error, oauth_error
from airflow_provider_payjobs.sandbox.state import SandboxState
from airflow_provider_payjobs.sandbox.wire import check_accept, check_host, receive_body

Handler = Callable[[Request, SandboxState], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]
# Set by the server's protocol to the request's connection, so a fault can drop it (server.py).
CURRENT_TRANSPORT: contextvars.ContextVar[asyncio.Transport | None] = contextvars.ContextVar(
    "payjobs_sandbox_transport", default=None
)
PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
TOKEN_PATH = "/api/v2/auth/connect/token"


def api_endpoint(handler: Handler, scope: str | None, is_create: bool = False) -> Endpoint:
    """An API endpoint: faults, then the version/auth/scope checks, then ``handler``; every call logged."""

    async def endpoint(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        try:
            check_host(request)  # links in answers are built from it
        except Refusal as refusal:
            state.log_request(request, refusal.status_code, None)
            return await _after_reading_body(request, _refused(request, refusal))
        fault = state.faults.choose(request.method, request.scope["path"], is_create=is_create)
        if state.faults.settings.latency_ms:
            await asyncio.sleep(state.faults.settings.latency_ms / 1000)
        if fault == "late_commit_504":  # a gateway gives up; the service behind it saves later
            unauthorized = api.authorize(request, state, scope) if scope else None
            if unauthorized is None:
                await receive_body(request)
                _LATE_WORK.add(asyncio.create_task(_handle_late(request, state, handler)))
            gateway_answer = unauthorized or api_error(504, "Gateway timeout")
            state.log_request(request, gateway_answer.status_code, fault)
            return await _after_reading_body(request, gateway_answer)
        slow = fault == "slow"
        if slow:  # a server that takes its time, then acts: the client may have given up by then
            await receive_body(request)  # received in full before the wait, as a real server would have it
            await asyncio.sleep(state.faults.settings.slow_seconds)
            fault = None
        response: Response | None
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
        if response is None:
            return await _drop_connection()
        return await _after_reading_body(request, response)

    return endpoint


async def _after_reading_body(request: Request, response: Response) -> Response:
    """
    ``response``, once the request body is read to its end (up to a bound).

    A server that answers and closes with request bytes still unread makes the kernel reset the
    connection, and the client may lose the answer: an early refusal must still be seen.
    """
    await receive_body(request)
    return response


def grouped_routes(endpoints: list[tuple[str, str, Endpoint]]) -> list[Route]:
    """One route per path, dispatching on the method, so that a 405's ``Allow`` lists every method."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for path, method, endpoint in endpoints:
        by_path.setdefault(path, {})[method] = endpoint

    def route(path: str, methods: dict[str, Endpoint]) -> Route:
        async def dispatch(request: Request) -> Response:
            return await methods["GET" if request.method == "HEAD" else request.method](request)

        return Route(path, dispatch, methods=list(methods))

    return [route(path, methods) for path, methods in by_path.items()]


async def _answer(request: Request, state: SandboxState, handler: Handler, scope: str | None) -> Response:
    refusal = api.authorize(request, state, scope) if scope else None
    if refusal is not None:
        return refusal
    try:
        if scope:
            check_accept(request)
        return await handler(request, state)
    except Refusal as refused:
        return _refused(request, refused)


def _refused(request: Request, refusal: Refusal) -> Response:
    """A refusal as the path answers errors: RFC 6749 on the token endpoint, else ApiErrorResult."""
    if request.scope["path"] == TOKEN_PATH:
        return oauth_error(refusal.status_code, "invalid_request", refusal.message, refusal.headers)
    return api_error(refusal.status_code, refusal.message, refusal.headers)


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
        _LATE_WORK.discard(asyncio.current_task())


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


async def _http_error(request: Request, error: HTTPException) -> Response:
    """Unknown paths (404) and wrong methods (405, with ``Allow``), answered as the path's errors are."""
    refusal = Refusal(error.status_code, str(error.detail), dict(error.headers or {}))
    return await _after_reading_body(request, _refused(request, refusal))


async def _unexpected_error(request: Request, error: Exception) -> Response:
    # A bug of the sandbox: no input may lead here (the property tests hold it to that).
    return api_error(500, f"Unexpected sandbox error ({type(error).__name__})")


def build_app(state: SandboxState) -> Starlette:
    """The sandbox as an ASGI application."""
    jobs = "/api/v2/payments/jobs"
    routes = grouped_routes(
        [
            (TOKEN_PATH, "POST", api_endpoint(api.token, scope=None)),
            (jobs, "GET", api_endpoint(api.list_jobs, scope="readonly")),
            (jobs, "POST", api_endpoint(api.create_job, scope="modify", is_create=True)),
            (jobs + "/{job_token}", "GET", api_endpoint(api.retrieve_job, scope="readonly")),
            (jobs + "/{job_token}", "DELETE", api_endpoint(api.cancel_job, scope="modify")),
            *admin_endpoints(),
        ]
    )
    # Unknown paths, wrong methods and crashes answer an ApiErrorResult too, as every non-2xx must.
    app = Starlette(
        routes=routes,
        # Starlette types a handler as taking any Exception; one for HTTPException is what its docs show.
        exception_handlers={HTTPException: _http_error, Exception: _unexpected_error},  # type: ignore[dict-item]
    )
    # No 307 to the path with or without a trailing slash (its Location would come from Host): a 404.
    app.router.redirect_slashes = False
    app.state.sandbox = state
    return app
