"""The PayQuicker API routes of the sandbox: token, list, create, retrieve, cancel."""

from __future__ import annotations

import base64
import math
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse

from airflow_provider_payjobs.sandbox.contract import (
    API_VERSION,
    API_VERSION_HEADER,
    LIST_PARAMETERS,
    RETRIEVE_PARAMETERS,
    JobStatus,
    TransferStatus,
    check_job_token,
    check_language,
    parse_job_request,
)
from airflow_provider_payjobs.sandbox.errors import Refusal, api_error, oauth_error
from airflow_provider_payjobs.sandbox.limits import (
    MAX_BODY_BYTES,
    MAX_PAGE_SIZE,
    MAX_QUERY_INTEGER,
    MAX_TOKEN_FORM_BYTES,
    describe,
)
from airflow_provider_payjobs.sandbox.money import ExactJSONResponse
from airflow_provider_payjobs.sandbox.state import SandboxState
from airflow_provider_payjobs.sandbox.store import CannotCancel, DuplicateClientPaymentId, Job, job_result
from airflow_provider_payjobs.sandbox.wire import (
    body_of,
    check_content_type,
    form_fields,
    parse_json,
    query_parameters,
    wire_integer,
)

FORM = "application/x-www-form-urlencoded"
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="PayQuicker sandbox"'}


async def token(request: Request, state: SandboxState) -> JSONResponse:
    """``POST /auth/connect/token``: OAuth 2.0 client credentials; errors as RFC 6749 spells them."""
    credentials = _basic_credentials(request.headers.get("authorization", ""))
    # Bytes: compare_digest refuses non-ASCII text, and a bad credential must be a 401, not a crash.
    if credentials is None or not (
        secrets.compare_digest(credentials[0], state.config.client_id.encode())
        & secrets.compare_digest(credentials[1], state.config.client_secret.encode())
    ):
        return oauth_error(401, "invalid_client", "Client authentication failed", BASIC_CHALLENGE)
    sent = check_content_type(request, FORM)
    if sent is not None:
        return oauth_error(400, "invalid_request", f"content-type: must be {FORM}, got {describe(sent)}")
    try:
        # Unknown fields are ignored, repeated ones refused (RFC 6749, section 3.2).
        form = form_fields(await body_of(request, MAX_TOKEN_FORM_BYTES))
    except Refusal as refusal:
        return oauth_error(refusal.status_code, "invalid_request", refusal.message)
    if "grant_type" not in form:
        return oauth_error(400, "invalid_request", "grant_type: is required (client_credentials)")
    if form["grant_type"] != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported")
    allowed = state.config.scopes
    requested = frozenset(form["scope"].split(" ")) - {""} if form.get("scope") else allowed
    refused = sorted(requested - allowed)
    if refused:
        shown = describe(" ".join(refused))
        return oauth_error(400, "invalid_scope", f"Scope not allowed for this client: {shown}")
    ttl = state.config.token_ttl
    access_token = state.tokens.issue(requested, ttl)
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(sorted(requested)),
        }
    )


def authorize(request: Request, state: SandboxState, scope: str) -> JSONResponse | None:
    """The error answer for a call without the version header, a live token or the scope; else None."""
    version = request.headers.get(API_VERSION_HEADER)
    if not version:
        return api_error(400, f"Missing required header {API_VERSION_HEADER} ({API_VERSION})")
    if version != API_VERSION:
        return api_error(
            400, f"{API_VERSION_HEADER}: the sandbox speaks {API_VERSION}, got {describe(version)}"
        )
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    granted = state.tokens.scopes_of(value.strip()) if scheme.lower() == "bearer" else None
    if granted is None:
        return api_error(401, "Missing, unknown or expired access token")
    if scope not in granted:
        return api_error(403, f"The access token lacks the '{scope}' scope")
    return None


async def list_jobs(request: Request, state: SandboxState) -> JSONResponse:
    query = query_parameters(request, LIST_PARAMETERS)
    page = wire_integer("page", query.get("page"), 1, MAX_QUERY_INTEGER)
    page_size = wire_integer("pageSize", query.get("pageSize"), 1, MAX_PAGE_SIZE)
    check_language(query.get("language"))
    jobs = _filtered(state.store.newest_first(), query.get("filter"), state)
    sort = query.get("sort") or "-created"
    if sort not in ("created", "-created"):
        raise Refusal(400, f"sort: must be 'created' or '-created', got {describe(sort)}")
    if sort == "created":
        jobs.reverse()
    page_count = max(1, math.ceil(len(jobs) / page_size))
    shown = jobs[(page - 1) * page_size : page * page_size]
    now = state.clock.now()
    base = state.base_url(request)
    links = [{"href": f"{base}/payments/jobs?page={page}&pageSize={page_size}", "params": {"rel": "self"}}]
    if page < page_count:
        links.append(
            {"href": f"{base}/payments/jobs?page={page + 1}&pageSize={page_size}", "params": {"rel": "next"}}
        )
    return ExactJSONResponse(
        {
            "payload": [job_result(job, now, base) for job in shown],
            "meta": {
                "pageNo": str(page),
                "pageSize": str(page_size),
                "pageCount": str(page_count),
                "recordCount": str(len(jobs)),
                "timezone": "UTC",
                "requestRef": state.request_ref(),
            },
            "links": links,
        }
    )


async def create_job(request: Request, state: SandboxState) -> JSONResponse:
    query_parameters(request, ())
    sent = check_content_type(request, "application/json")
    if sent is not None:
        raise Refusal(415, f"Content-Type: must be application/json, got {describe(sent)}")
    job_request = parse_job_request(parse_json(await body_of(request, MAX_BODY_BYTES), exact_numbers=True))
    try:
        job = state.store.create(
            job_request,
            step_seconds=state.config.step_seconds,
            deduplicate=not state.config.accept_duplicate_client_ids,
        )
    except DuplicateClientPaymentId as error:
        return api_error(400, str(error))
    return _job_answer(request, state, job.token)


async def retrieve_job(request: Request, state: SandboxState) -> JSONResponse:
    token = check_job_token(request.path_params["job_token"])
    query = query_parameters(request, RETRIEVE_PARAMETERS)
    check_language(query.get("language"))
    item_filter = _item_filter(query.get("filter"))
    if token not in state.store.jobs:
        return api_error(404, f"Job {token} was not found")
    return _job_answer(request, state, token, item_filter)


async def cancel_job(request: Request, state: SandboxState) -> JSONResponse:
    token = check_job_token(request.path_params["job_token"])
    query_parameters(request, ())
    if token not in state.store.jobs:
        return api_error(404, f"Job {token} was not found")
    try:
        state.store.cancel(token)
    except CannotCancel as error:
        return api_error(400, str(error))
    return _job_answer(request, state, token)


def _job_answer(
    request: Request, state: SandboxState, token: str, item_filter: str | None = None
) -> JSONResponse:
    job = state.store.jobs[token]
    result = job_result(job, state.clock.now(), state.base_url(request), item_status_filter=item_filter)
    return ExactJSONResponse({**result, "meta": {"timezone": "UTC", "requestRef": state.request_ref()}})


def _filtered(jobs: list[Job], filter_text: str | None, state: SandboxState) -> list[Job]:
    """The list filter: comma-separated terms, ``status:<JobStatus>`` or ``clientPaymentId:<id>``."""
    now = state.clock.now()
    for term in (part.strip() for part in (filter_text or "").split(",") if part.strip()):
        name, _, value = term.partition(":")
        if name == "status" and value.upper() in JobStatus.__members__:
            jobs = [job for job in jobs if job.status_at(now).value == value.upper()]
        elif name == "clientPaymentId" and value:
            jobs = [job for job in jobs if any(item.get("clientPaymentId") == value for item in job.items)]
        else:
            raise Refusal(
                400, f"filter: terms are status:<JobStatus> or clientPaymentId:<id>, got {describe(term)}"
            )
    return jobs


def _item_filter(filter_text: str | None) -> str | None:
    if not filter_text:
        return None
    name, _, value = filter_text.partition(":")
    if name != "status" or value.upper() not in TransferStatus.__members__:
        raise Refusal(400, f"filter: on retrieve is status:<TransferStatus>, got {describe(filter_text)}")
    return value.upper()


def _basic_credentials(header: str) -> tuple[bytes, bytes] | None:
    """The client id and secret of a ``Basic`` header, as UTF-8 bytes; None when it is not one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip().encode("ascii"), validate=True)
        decoded.decode("utf-8")
    except ValueError:  # not ASCII, not base64, not UTF-8: no credential of ours
        return None
    client_id, colon, client_secret = decoded.partition(b":")
    return (client_id, client_secret) if colon else None
