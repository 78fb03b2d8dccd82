"""The PayQuicker API routes of the sandbox: token, list, create, retrieve, cancel."""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.models import API_VERSION_HEADER, JobStatus, TransferStatus
from airflow_provider_payjobs.sandbox.state import SandboxState, api_error
from airflow_provider_payjobs.sandbox.store import CannotCancel, DuplicateClientPaymentId, job_result
from airflow_provider_payjobs.validation import (
    validate_create_body,
    validate_job_token,
    validate_language,
    validate_page,
)


async def token(request: Request, state: SandboxState) -> JSONResponse:
    """``POST /auth/connect/token``: OAuth 2.0 client credentials."""
    client_id, client_secret = _basic_credentials(request.headers.get("authorization", ""))
    # Bytes: compare_digest refuses non-ASCII text, and a bad credential must be a 401, not a crash.
    valid_id = secrets.compare_digest(client_id.encode(), state.config.client_id.encode())
    if not (valid_id and secrets.compare_digest(client_secret.encode(), state.config.client_secret.encode())):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    form = {
        key: values[-1] for key, values in parse_qs((await request.body()).decode(errors="replace")).items()
    }
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported")
    allowed = state.config.scopes
    requested = frozenset(form["scope"].split()) if form.get("scope") else allowed
    refused = sorted(requested - allowed)
    if refused:
        return _oauth_error(400, "invalid_scope", f"Scope not allowed for this client: {' '.join(refused)}")
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
    if not request.headers.get(API_VERSION_HEADER):
        return api_error(400, f"Missing required header {API_VERSION_HEADER}")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    granted = state.tokens.scopes_of(value.strip()) if scheme.lower() == "bearer" else None
    if granted is None:
        return api_error(401, "Missing, unknown or expired access token")
    if scope not in granted:
        return api_error(403, f"The access token lacks the '{scope}' scope")
    return None


async def list_jobs(request: Request, state: SandboxState) -> JSONResponse:
    query = request.query_params
    page = _integer(query.get("page"), "page")
    page_size = _integer(query.get("pageSize"), "pageSize")
    validate_page(page, page_size, page_size_field="pageSize")
    _check_language(query.get("language"))
    jobs = _filtered(state.store.newest_first(), query.get("filter"), state)
    if (query.get("sort") or "-created") == "created":
        jobs.reverse()
    elif query.get("sort") not in (None, "", "-created"):
        raise PayJobsValidationError("sort", "must be 'created' or '-created'", query.get("sort"))
    page_count = max(1, math.ceil(len(jobs) / page_size))
    shown = jobs[(page - 1) * page_size : page * page_size]
    now = state.clock.now()
    base = state.base_url(request)
    links = [{"href": f"{base}/payments/jobs?page={page}&pageSize={page_size}", "params": {"rel": "self"}}]
    if page < page_count:
        links.append(
            {"href": f"{base}/payments/jobs?page={page + 1}&pageSize={page_size}", "params": {"rel": "next"}}
        )
    return JSONResponse(
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
    try:
        body = json.loads(await request.body())
    except ValueError:
        return api_error(400, "The request body is not valid JSON")
    validate_create_body(body)
    try:
        job = state.store.create(
            body,
            step_seconds=state.config.step_seconds,
            deduplicate=not state.config.accept_duplicate_client_ids,
        )
    except DuplicateClientPaymentId as error:
        return api_error(400, str(error))
    return _job_answer(request, state, job.token)


async def retrieve_job(request: Request, state: SandboxState) -> JSONResponse:
    token = validate_job_token(request.path_params["job_token"])
    _check_language(request.query_params.get("language"))
    item_filter = _item_filter(request.query_params.get("filter"))
    if token not in state.store.jobs:
        return api_error(404, f"Job {token} was not found")
    return _job_answer(request, state, token, item_filter)


async def cancel_job(request: Request, state: SandboxState) -> JSONResponse:
    token = validate_job_token(request.path_params["job_token"])
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
    return JSONResponse({**result, "meta": {"timezone": "UTC", "requestRef": state.request_ref()}})


def _filtered(jobs: list, filter_text: str | None, state: SandboxState) -> list:
    """The list filter: comma-separated terms, ``status:<JobStatus>`` or ``clientPaymentId:<id>``."""
    now = state.clock.now()
    for term in (part.strip() for part in (filter_text or "").split(",") if part.strip()):
        name, _, value = term.partition(":")
        if name == "status" and JobStatus.parse(value):
            jobs = [job for job in jobs if job.status_at(now).value == value.upper()]
        elif name == "clientPaymentId" and value:
            jobs = [job for job in jobs if any(item.get("clientPaymentId") == value for item in job.items)]
        else:
            raise PayJobsValidationError(
                "filter", "terms are status:<JobStatus> or clientPaymentId:<id>", term
            )
    return jobs


def _item_filter(filter_text: str | None) -> str | None:
    if not filter_text:
        return None
    name, _, value = filter_text.partition(":")
    if name != "status" or value.upper() not in {status.value for status in TransferStatus}:
        raise PayJobsValidationError("filter", "on retrieve is status:<TransferStatus>", filter_text)
    return value.upper()


def _integer(text: str | None, field: str) -> Any:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return text  # validate_page names the field and the rule


def _check_language(value: str | None) -> None:
    """The wire takes the Languages values exactly; the hook's upper-casing is a client courtesy."""
    if value is not None and validate_language(value) != value:
        raise PayJobsValidationError("language", "must be one of the Languages values, in capitals", value)


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        client_id, _, client_secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return client_id, client_secret


def _oauth_error(status_code: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status_code)
