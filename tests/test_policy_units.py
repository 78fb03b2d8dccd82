"""Units where a real server adds nothing: retry decisions, error parsing, settings resolution."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import pytest

from airflow_provider_payjobs.client.auth import ClientCredentials, parse_token_answer
from airflow_provider_payjobs.client.connection_settings import PayJobsSettings, resolve_base_url
from airflow_provider_payjobs.client.retries import RetryPolicy, parse_retry_after
from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsAuthError,
    PayJobsReconcileError,
    PayJobsTransportError,
    PayJobsValidationError,
)
from airflow_provider_payjobs.payout.reconcile import (
    MAX_LIST_PAGES,
    PAGE_SIZE,
    find_job_holding,
    payment_differences,
)

POLICY = RetryPolicy()


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_reads_and_cancels_retry_transient_statuses(status: int, method: str) -> None:
    assert POLICY.should_retry(PayJobsApiError(status), method)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_client_errors_never_retry(status: int) -> None:
    assert not POLICY.should_retry(PayJobsApiError(status), "GET")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_post_never_retries_an_answer(status: int) -> None:
    assert not POLICY.should_retry(PayJobsApiError(status), "POST")


@pytest.mark.parametrize(
    ("kind", "post_retried", "get_retried"),
    [
        ("refused", True, True),
        ("connect_timeout", True, True),
        ("dropped", False, True),
        ("read_timeout", False, True),
        ("tls", False, False),
    ],
)
def test_transport_failures(kind: str, post_retried: bool, get_retried: bool) -> None:
    error = PayJobsTransportError("x", kind=kind)
    assert POLICY.should_retry(error, "POST") is post_retried
    assert POLICY.should_retry(error, "GET") is get_retried


def test_token_request_is_retried_as_idempotent() -> None:
    assert POLICY.should_retry(PayJobsApiError(503), "POST", idempotent=True)


def test_unexpected_errors_are_not_retried() -> None:
    assert not POLICY.should_retry(KeyError("x"), "GET")


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 31
    earlier = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier) == 0.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="min_wait"):
        RetryPolicy(min_wait=5, max_wait=1)


def test_api_error_from_an_api_error_result() -> None:
    body = (
        '{"severity":"ERROR","error":"Bad Request","code":400,"message":"items[0].amount: bad",'
        '"referenceId":"r-1","timestamp":"2026-01-01T00:00:00Z","requestRef":"q-1"}'
    )
    error = PayJobsApiError.from_response(400, body, method="POST", path="/payments/jobs")
    assert (error.status_code, error.severity, error.error, error.code) == (400, "ERROR", "Bad Request", 400)
    assert (error.message, error.reference_id, error.timestamp, error.request_ref) == (
        "items[0].amount: bad",
        "r-1",
        "2026-01-01T00:00:00Z",
        "q-1",
    )
    assert "HTTP 400 on POST /payments/jobs" in str(error) and "items[0].amount: bad" in str(error)


@pytest.mark.parametrize(
    "body", ["<html><body>Bad gateway</body></html>", "", '{"severity": "ERR', "[1, 2]", "null"]
)
def test_api_error_from_a_body_that_is_not_an_api_error_result(body: str) -> None:
    error = PayJobsApiError.from_response(502, body)
    assert error.status_code == 502 and error.message is None
    assert error.body_excerpt == (body[:200] or "<empty body>")


def test_token_answers() -> None:
    token = parse_token_answer(200, '{"access_token": "abc", "token_type": "Bearer", "expires_in": 3600}')
    assert token.value == "abc" and token.is_fresh() and "abc" not in repr(token)
    assert not parse_token_answer(
        200, '{"access_token": "abc", "token_type": "bearer", "expires_in": 0}'
    ).is_fresh()
    with pytest.raises(PayJobsAuthError) as caught:
        parse_token_answer(401, '{"error": "INVALID_CLIENT", "error_description": "nope"}')
    assert (caught.value.oauth_error, caught.value.status_code, caught.value.description) == (
        "invalid_client",
        401,
        "nope",
    )
    with pytest.raises(PayJobsAuthError, match=r"unexpected token answer: '<html>'"):
        parse_token_answer(502, "<html>")
    assert parse_token_answer(201, '{"access_token": "abc", "token_type": "Bearer"}').value == "abc", (
        "any 2xx"
    )
    # Answers in shapes not expected may still carry a token: it never reaches the message.
    odd_answers = (
        '{"access_token": 123456789, "x": "s3cr3t-tok"}',
        '["s3cr3t-tok"]',
        "access_token=s3cr3t-tok",
    )
    for odd in (*odd_answers, "eyJhbGciOi.s3cr3t-jwt"):
        with pytest.raises(PayJobsAuthError) as caught:
            parse_token_answer(200, odd)
        assert "s3cr3t" not in str(caught.value) and "123456789" not in str(caught.value)


def test_credentials_hide_the_secret_and_key_by_its_digest() -> None:
    credentials = ClientCredentials("https://x/api/v2", "client", "s3cret-value", "readonly")
    assert "s3cret-value" not in repr(credentials) and "s3cret-value" not in str(credentials.cache_key)
    other = ClientCredentials("https://x/api/v2", "client", "other-secret", "readonly")
    assert credentials.cache_key != other.cache_key


def connection(host: str = "", extra: dict | None = None, **fields: object) -> SimpleNamespace:
    values = {"login": "client", "password": "secret-value", "port": None, "schema": None, **fields}
    return SimpleNamespace(host=host, extra_dejson=extra or {}, **values)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "https://api.sandbox.payquicker.io/api/v2"),
        ({"environment": "sandbox", "sandbox_instance": "sbx2"}, "https://api.sbx2.payquicker.io/api/v2"),
        ({"environment": "production"}, "https://api.payquicker.io/api/v2"),
        ({"environment": "UAT"}, "https://api.uat1.payquicker.io/api/v2"),
        ({"environment": "uat", "uat_instance": "uat3"}, "https://api.uat3.payquicker.io/api/v2"),
        ({"environment": "development"}, "https://api.local.payquicker.io/api/v2"),
    ],
)
def test_environments(extra: dict, expected: str) -> None:
    assert resolve_base_url(connection(), extra) == expected


def test_host_overrides_environment() -> None:
    assert resolve_base_url(connection("http://127.0.0.1:8023/api/v2/"), {"environment": "production"}) == (
        "http://127.0.0.1:8023/api/v2"
    )
    assert (
        resolve_base_url(connection("proxy.internal", port=8443), {}) == "https://proxy.internal:8443/api/v2"
    )
    assert (
        resolve_base_url(connection("proxy.internal", schema="pq/api/v2"), {})
        == "https://proxy.internal/pq/api/v2"
    )


def test_settings_defaults_and_overrides() -> None:
    settings = PayJobsSettings.from_connection(connection())
    assert settings.api_version == "2026.02.01" and settings.credentials.scopes == "readonly modify"
    assert settings.retry_policy == RetryPolicy() and settings.verify is True and settings.timeout == 30.0
    tuned = PayJobsSettings.from_connection(
        connection(extra={"retry_limit": "3", "timeout": "5", "verify": "false", "scopes": " readonly "}),
        {"api_version": "2027.01.01", "retry_max_wait": None},
    )
    assert tuned.retry_policy.attempts == 3 and tuned.timeout == 5.0 and tuned.verify is False
    assert tuned.api_version == "2027.01.01" and tuned.credentials.scopes == "readonly"
    # What the connection form saves for fields left empty: null or "", meaning "not set".
    from_form = PayJobsSettings.from_connection(
        connection(extra={"timeout": None, "verify": None, "create_settle_seconds": "", "portal_url": None})
    )
    assert (from_form.timeout, from_form.verify, from_form.create_settle_seconds) == (30.0, True, 30.0)


@pytest.mark.parametrize(
    ("fields", "extra", "field"),
    [
        ({}, {"environment": "staging"}, "extra.environment"),
        ({}, {"timout": 3}, "extra.timout"),
        ({}, {"timeout": "soon"}, "extra.timeout"),
        ({}, {"retry_limit": 0}, "extra.retry_limit"),
        ({"login": None}, {}, "login/password"),
        ({"password": ""}, {}, "login/password"),
    ],
)
def test_bad_connections_name_the_field(fields: dict, extra: dict, field: str) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        PayJobsSettings.from_connection(connection(extra=extra, **fields))
    assert caught.value.field == field


def listing(jobs, page_size: int = 50):
    """The list endpoint over ``jobs`` (newest first), one page per call, as find_job_holding reads it."""
    jobs = list(jobs)
    pages = str(max(1, -(-len(jobs) // page_size)))

    def list_page(page: int, size: int) -> dict:
        return {"payload": jobs[(page - 1) * page_size : page * page_size], "meta": {"pageCount": pages}}

    return list_page


def test_reconciliation_reads_a_server_time_without_offset_at_its_latest() -> None:
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def newest_first(*jobs: tuple[str, str]):
        for number, (moment, payment_id) in enumerate(jobs):
            yield {"token": f"jobs-{number}", "created": moment, "items": [{"clientPaymentId": payment_id}]}

    # 20:00 without offset may be as late as 10:00 UTC the next day: still within the bound, so
    # it is looked at and found. A day earlier cannot be; one more, older still, confirms the order.
    jobs = newest_first(
        ("2025-12-31T20:00:00", "mine"), ("2025-12-30T00:00:00", "x"), ("2025-12-29T00:00:00", "y")
    )
    assert find_job_holding(["mine"], since, listing(jobs), dict)["token"] == "jobs-0"


def test_a_job_without_a_readable_time_is_looked_at_without_breaking_the_order() -> None:
    now = datetime.now(timezone.utc)
    listed = [
        {"token": "a", "created": now.isoformat(), "items": [{"clientPaymentId": "x"}]},
        {"token": "b", "created": "yesterday-ish", "items": [{"clientPaymentId": "p"}]},
        {"token": "c", "created": (now - timedelta(days=1)).isoformat(), "items": [{"clientPaymentId": "y"}]},
        {"token": "d", "created": (now - timedelta(days=2)).isoformat(), "items": [{"clientPaymentId": "z"}]},
    ]
    assert find_job_holding(["p"], now - timedelta(minutes=1), listing(listed), dict)["token"] == "b"


def test_list_entries_with_only_some_of_their_items_are_read_in_full() -> None:
    now = datetime.now(timezone.utc).isoformat()
    summary = {"token": "jobs-1", "created": now, "count": 3, "items": [{"clientPaymentId": "a"}]}
    full = {**summary, "items": [{"clientPaymentId": payment_id} for payment_id in "abc"]}
    found = find_job_holding(
        ["a", "b", "c"], datetime.now(timezone.utc), listing([summary]), lambda token: full
    )
    assert found["items"] == full["items"]


def test_a_search_that_hits_its_bound_refuses_to_guess() -> None:
    recent = datetime.now(timezone.utc).isoformat()
    jobs = (
        {"token": f"jobs-{n}", "created": recent, "items": [{"clientPaymentId": "x"}], "count": 1}
        for n in range(MAX_LIST_PAGES * PAGE_SIZE + 1)
    )
    with pytest.raises(PayJobsReconcileError, match="cannot tell whether a job already holds"):
        find_job_holding(["id-1"], datetime.now(timezone.utc), listing(jobs), dict)


def test_payment_differences_name_each_field_that_changed() -> None:
    body = {
        "items": [
            {"clientPaymentId": "a", "amount": 10.5, "currency": "USD", "destinationToken": "dest-1"},
            {"clientPaymentId": "b", "amount": 5, "currency": "EUR", "destinationToken": "dest-2"},
            {"clientPaymentId": "c", "amount": 1, "currency": "EUR"},
        ]
    }
    job = {
        "items": [
            {"clientPaymentId": "a", "amount": 10.50, "currency": "usd", "destinationToken": "dest-1"},
            {"clientPaymentId": "b", "amount": 6, "currency": "EUR", "destinationToken": "dest-9"},
            {"clientPaymentId": "z", "amount": 1, "currency": "EUR"},
        ]
    }
    assert payment_differences(body, job) == [
        "items[1].amount is 5, the job has 6",
        "items[1].destinationToken names another payee than the job's",  # payees never in messages
        "items[2] (c) is not in the job",
        "the job also pays z",
    ]
    assert payment_differences(body, {"items": body["items"]}) == []


def test_a_list_that_is_not_newest_first_is_refused() -> None:
    now = datetime.now(timezone.utc)
    oldest_first = [
        {
            "token": "jobs-old",
            "created": (now - timedelta(days=30)).isoformat(),
            "items": [{"clientPaymentId": "x"}],
        },
        {"token": "jobs-new", "created": now.isoformat(), "items": [{"clientPaymentId": "p"}], "count": 1},
    ]
    with pytest.raises(PayJobsReconcileError, match="not newest first"):
        find_job_holding(["p"], now - timedelta(minutes=1), listing(oldest_first), dict)


def test_fields_a_server_fills_in_are_not_differences_but_a_changed_payee_is() -> None:
    portal = {"items": [{"clientPaymentId": "a", "amount": 5, "currency": "USD", "email": "x@example.com"}]}
    resolved = {"items": [{**portal["items"][0], "programUserId": "user-1", "sourceToken": "acct-1"}]}
    assert payment_differences(portal, resolved) == []
    gateway = {
        "items": [{"clientPaymentId": "a", "amount": 5, "currency": "USD", "destinationToken": "dest-1"}]
    }
    assert payment_differences(portal, gateway) == [
        "items[0].destinationToken names another payee than the job's"
    ]


def test_jobs_repeated_by_paging_while_jobs_are_created_are_not_an_order_violation() -> None:
    now = datetime.now(timezone.utc)

    def job(token: str, minutes_ago: int, payment_id: str) -> dict:
        created = (now - timedelta(minutes=minutes_ago)).isoformat()
        return {"token": token, "created": created, "items": [{"clientPaymentId": payment_id}], "count": 1}

    # Page 1 ends with jobs a and b; two new jobs pushed both onto page 2, which repeats them.
    listed = [job("n", 0, "x"), job("a", 1, "x"), job("b", 2, "x"), job("a", 1, "x"), job("b", 2, "x")]
    listed += [job("c", 3, "p"), job("d", 60, "y"), job("e", 61, "z")]
    found = find_job_holding(["p"], now - timedelta(minutes=5), listing(listed, page_size=3), dict)
    assert found["token"] == "c"


def test_an_undated_job_after_the_bound_is_still_looked_at() -> None:
    now = datetime.now(timezone.utc)
    listed = [
        {"token": "a", "created": now.isoformat(), "items": [{"clientPaymentId": "x"}]},
        {"token": "b", "created": (now - timedelta(days=1)).isoformat(), "items": [{"clientPaymentId": "y"}]},
        {"token": "c", "created": None, "items": [{"clientPaymentId": "p"}]},
        {"token": "d", "created": (now - timedelta(days=2)).isoformat(), "items": [{"clientPaymentId": "z"}]},
    ]
    assert find_job_holding(["p"], now - timedelta(minutes=1), listing(listed), dict)["token"] == "c"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("failures", "error", "calls", "raises"),
    [
        (0, None, 1, False),
        (2, PayJobsApiError(503), 3, False),
        (9, PayJobsApiError(503), 4, True),
        (9, PayJobsApiError(400), 1, True),
        (9, KeyError("not ours"), 1, True),
    ],
    ids=["at once", "after two failures", "gives up after the attempts", "never retries a 400", "nor a bug"],
)
def test_call_runs_the_first_attempt_bare_and_then_the_same_policy(
    asynchronous: bool, failures: int, error: Exception | None, calls: int, raises: bool
) -> None:
    import asyncio
    import logging

    policy = RetryPolicy(attempts=4, min_wait=0, max_wait=0)
    made = []

    def attempt() -> str:
        made.append(1)
        if len(made) <= failures:
            raise error
        return "done"

    async def async_attempt() -> str:
        return attempt()

    def run() -> str:
        if asynchronous:
            return asyncio.run(policy.acall("GET", "/x", logging.getLogger("test"), async_attempt))
        return policy.call("GET", "/x", logging.getLogger("test"), attempt)

    if raises:
        with pytest.raises(type(error)):
            run()
    else:
        assert run() == "done"
    assert len(made) == calls
