"""
Every hook method, sync and async, against a server that misbehaves on purpose.

Whatever the server does, a call ends in a result or a ``PayJobsError`` subclass, within a bounded
time, never following a redirect, never quoting a secret.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from conftest import logged
from hostile_server import JOB_PATH_PREFIX, TOKEN_PATH, HostileServer, Reply, Request, a_job
from payloads import gateway_item

from airflow_provider_payjobs.client.auth import TOKEN_CACHE
from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsAuthError,
    PayJobsError,
    PayJobsMalformedAnswerError,
    PayJobsReconcileError,
    PayJobsTransportError,
)
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.payout.reconcile import MAX_LIST_PAGES

JOB = "jobs-2bbfc967-d12e-4647-a887-d905172fb4bc"
SECRET = "hostile-test-secret"
TIMEOUT = 1.0
EXTRAS = {
    "retry_limit": 2,
    "retry_min_wait": 0.01,
    "retry_max_wait": 0.05,
    "retry_after_cap": 0.2,
    "timeout": TIMEOUT,
    "create_settle_seconds": 0.05,
    "max_answer_bytes": 65536,
}


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileServer]:
    server = HostileServer()
    TOKEN_CACHE.clear()
    connection = {
        "conn_type": "payjobs",
        "login": "hostile-client",
        "password": SECRET,
        "host": server.base_url,
    }
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", json.dumps({**connection, "extra": EXTRAS}))
    yield server
    server.stop()


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """Another origin a redirect points at: it must never be asked anything."""
    server = HostileServer()
    yield server
    server.stop()


def body_with_ids() -> dict[str, Any]:
    return {"items": [gateway_item(0)]}


# Every hook method: (name, what the misbehaving endpoint is, the call).
CALLS: dict[str, tuple[Callable[[Request], bool], Callable[[PayJobsHook], Any]]] = {
    "list": (lambda r: r.method == "GET" and r.job_token is None, lambda hook: hook.list_payment_jobs(1, 50)),
    "iter": (
        lambda r: r.method == "GET" and r.job_token is None,
        lambda hook: list(hook.iter_payment_jobs()),
    ),
    "create": (
        lambda r: r.method == "POST" and r.path != TOKEN_PATH,
        lambda h: h.create_payment_job(body_with_ids()),
    ),
    "create without ids": (
        lambda r: r.method == "POST" and r.path != TOKEN_PATH,
        lambda hook: hook.create_payment_job({"items": [gateway_item(0, clientPaymentId=None)]}),
    ),
    "retrieve": (
        lambda r: r.method == "GET" and r.job_token is not None,
        lambda h: h.retrieve_payment_job(JOB),
    ),
    "cancel": (lambda r: r.method == "DELETE", lambda hook: hook.cancel_payment_job(JOB)),
    "async retrieve": (
        lambda r: r.method == "GET" and r.job_token is not None,
        lambda hook: asyncio.run(hook.aretrieve_payment_job(JOB)),
    ),
    "async cancel": (lambda r: r.method == "DELETE", lambda hook: asyncio.run(hook.acancel_payment_job(JOB))),
}


# 50 MB of spaces in about 50 KB: small on the wire, far over the cap once decoded.
GZIP_BOMB = gzip.compress(b" " * 50_000_000)


# Misbehaviours of an endpoint, and the error each must give.
SCENARIOS: dict[str, tuple[Callable[[HostileServer, HostileServer], Reply], type[PayJobsError]]] = {
    **{
        f"redirect {status}": (
            lambda server, other, status=status: Reply(
                status, a_job(JOB), {"Location": other.base_url + "/payments/jobs"}
            ),
            PayJobsApiError,
        )
        for status in (301, 302, 303, 307, 308)
    },
    **{
        f"status {status}": (lambda server, other, status=status: Reply(status, a_job(JOB)), PayJobsApiError)
        for status in (300, 600, 999)
    },
    "one byte every quarter second": (
        lambda s, o: Reply(200, a_job(JOB), drip_seconds=0.25),
        PayJobsTransportError,
    ),
    "a JSON list": (lambda s, o: Reply(200, [a_job(JOB)]), PayJobsMalformedAnswerError),
    "JSON null": (lambda s, o: Reply(200, None), PayJobsMalformedAnswerError),
    "a JSON number": (lambda s, o: Reply(200, 42), PayJobsMalformedAnswerError),
    "a JSON string": (lambda s, o: Reply(200, "done"), PayJobsMalformedAnswerError),
    "not JSON": (lambda s, o: Reply(200, "<html>ok</html>"), PayJobsMalformedAnswerError),
    "NaN": (lambda s, o: Reply(200, '{"token": NaN}'), PayJobsMalformedAnswerError),
    "nested 100,000 deep": (
        lambda s, o: Reply(200, "[" * 100_000 + "]" * 100_000),
        PayJobsMalformedAnswerError,
    ),
    "larger than the cap": (
        lambda s, o: Reply(200, a_job(JOB, filler="x" * 200_000)),
        PayJobsMalformedAnswerError,
    ),
    "a gzip bomb": (
        lambda s, o: Reply(200, GZIP_BOMB, {"Content-Encoding": "gzip"}),
        PayJobsMalformedAnswerError,
    ),
    "corrupt gzip": (
        lambda s, o: Reply(200, b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
        PayJobsMalformedAnswerError,
    ),
    "an encoding never asked for": (
        lambda s, o: Reply(200, json.dumps(a_job(JOB)), {"Content-Encoding": "br"}),
        PayJobsMalformedAnswerError,
    ),
    "cut after a few bytes": (lambda s, o: Reply(200, a_job(JOB), cut_after=10), PayJobsTransportError),
    "garbage instead of HTTP": (lambda s, o: Reply(raw=b"SMTP ready\r\n\r\n"), PayJobsTransportError),
    "a job without a token": (
        lambda s, o: Reply(200, {**a_job(JOB), "token": None}),
        PayJobsMalformedAnswerError,
    ),
    "a corrupt 500": (
        lambda s, o: Reply(500, b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
        PayJobsApiError,
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_call_ends_in_a_typed_error_in_bounded_time(
    hostile, elsewhere, call: str, scenario: str
) -> None:
    misbehaving, invoke = CALLS[call]
    reply, expected = SCENARIOS[scenario]
    list_endpoint = call in ("list", "iter")
    if list_endpoint and expected is PayJobsMalformedAnswerError and "token" in scenario:
        reply = lambda s, o: Reply(200, {"payload": [{**a_job(JOB), "token": None}]})  # noqa: E731
    hostile.scenario = lambda request: reply(hostile, elsewhere) if misbehaving(request) else None
    started = time.monotonic()
    with pytest.raises(PayJobsError) as caught:
        invoke(PayJobsHook())
    elapsed = time.monotonic() - started
    assert isinstance(caught.value, expected), f"{type(caught.value).__name__}: {caught.value}"
    assert elapsed < 12, f"took {elapsed:.1f} s"
    assert elsewhere.requests == [], "a redirect was followed"
    text = f"{caught.value!r} {caught.value}"
    assert SECRET not in text and not any(token in text for token in hostile.tokens_issued)
    if scenario.startswith("redirect"):
        assert f"HTTP {scenario.split()[1]}" in str(caught.value)
        assert elsewhere.base_url in str(caught.value), "the error names where it would have gone"
    if call.startswith("create"):
        assert len(hostile.calls("POST", "/payments/jobs")) <= EXTRAS["retry_limit"]
        if scenario.startswith(("redirect", "status")):
            assert len(hostile.calls("POST", "/payments/jobs")) == 1, "nothing is sent again"


def test_test_connection_names_a_redirect_and_follows_nothing(hostile, elsewhere) -> None:
    hostile.scenario = lambda request: (
        Reply(302, {}, {"Location": elsewhere.base_url}) if request.path != TOKEN_PATH else None
    )
    ok, message = PayJobsHook().test_connection()
    assert not ok and "302" in message and elsewhere.base_url in message
    assert elsewhere.requests == []


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_drip_never_holds_a_call_past_its_timeout(hostile, monkeypatch, asynchronous: bool) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        json.dumps(
            {
                "conn_type": "payjobs",
                "login": "c",
                "password": SECRET,
                "host": hostile.base_url,
                "extra": {**EXTRAS, "retry_limit": 1},
            }
        ),
    )
    hook = PayJobsHook()
    hook.get_access_token()  # the token comes quickly: the drip is on the call itself
    for drip_head in (True, False):
        hostile.scenario = lambda request, drip_head=drip_head: Reply(
            200, a_job(JOB), drip_seconds=0.25, drip_head=drip_head
        )
        started = time.monotonic()
        with pytest.raises(PayJobsTransportError) as caught:
            if asynchronous:
                asyncio.run(hook.aretrieve_payment_job(JOB))
            else:
                hook.retrieve_payment_job(JOB)
        elapsed = time.monotonic() - started
        assert caught.value.kind == "read_timeout" and caught.value.request_sent
        what = "head and body" if drip_head else "body"
        # Without the deadline the drip would take a minute; the margin is for a busy machine.
        assert TIMEOUT - 0.05 <= elapsed < TIMEOUT + 2.0, f"{what}: {elapsed:.2f} s for a {TIMEOUT} s timeout"


def test_a_slow_but_steady_answer_within_the_timeout_is_fine(hostile) -> None:
    hostile.scenario = lambda request: (
        Reply(200, a_job(JOB), drip_seconds=0.001) if request.job_token else None
    )
    assert PayJobsHook().retrieve_payment_job(JOB)["token"] == JOB


@pytest.mark.parametrize(
    "page",
    [
        {"payload": [a_job(JOB)], "meta": None},
        {"payload": [a_job(JOB)]},
        {"payload": [a_job(JOB)], "meta": {"pageCount": 1, "recordCount": "1"}},
    ],
    ids=["meta null", "no meta", "numeric counters"],
)
def test_pages_with_odd_but_usable_meta_are_read(hostile, page: dict) -> None:
    hostile.scenario = lambda request: (
        Reply(200, page) if request.method == "GET" and not request.job_token else None
    )
    assert [job["token"] for job in PayJobsHook().iter_payment_jobs()] == [JOB]


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ({"payload": "jobs"}, "payload must be a list"),
        ({"payload": {"token": JOB}}, "payload must be a list"),
        ({"payload": [1, 2]}, "payload[0]: a job must be a JSON object"),
        ({"payload": [a_job(JOB)], "meta": []}, "meta must be an object"),
        ({"payload": [a_job(JOB)], "meta": {"pageCount": "many"}}, "meta.pageCount is not a whole number"),
        ({"payload": [a_job(JOB)], "meta": {"pageCount": "\u0661"}}, "meta.pageCount is not a whole number"),
        ({"payload": [{**a_job(JOB), "items": "all"}]}, "items must be a list"),
        ({"payload": [{**a_job(JOB), "items": [{"amount": "ten"}]}]}, "items[0].amount must be a number"),
    ],
)
def test_malformed_pages_are_malformed_answers(hostile, page: dict, why: str) -> None:
    hostile.scenario = lambda request: (
        Reply(200, page) if request.method == "GET" and not request.job_token else None
    )
    with pytest.raises(PayJobsMalformedAnswerError, match="malformed answer") as caught:
        list(PayJobsHook().iter_payment_jobs())
    assert why in caught.value.why


def test_a_job_answer_about_another_job_is_malformed(hostile) -> None:
    other = "jobs-00000000-0000-0000-0000-000000000001"
    hostile.scenario = lambda request: Reply(200, a_job(other)) if request.job_token else None
    with pytest.raises(PayJobsMalformedAnswerError, match=f"it is job {other}"):
        PayJobsHook().retrieve_payment_job(JOB)


def test_iteration_stops_on_a_repeated_page(hostile, capsys) -> None:
    page = {"payload": [a_job(f"jobs-00000000-0000-0000-0000-{n:012d}") for n in range(50)]}
    page["meta"] = {"pageCount": "1000000"}
    hostile.scenario = lambda request: (
        Reply(200, page) if request.method == "GET" and not request.job_token else None
    )
    jobs = list(PayJobsHook().iter_payment_jobs())
    assert len(jobs) == 50 and len(hostile.calls("GET", "/payments/jobs")) == 2
    assert "page 2 lists the same jobs as page 1" in logged(capsys)


# --- reconciliation after a create whose outcome is unknown ----------------------------------------


def reconcile_against(hostile: HostileServer, list_page: Callable[[int], Any]) -> BaseException:
    """Create with ids: the hook searches the list before its first POST (which would answer 500)."""

    def scenario(request: Request) -> Reply | None:
        if request.method == "POST" and request.path.startswith(JOB_PATH_PREFIX):
            return Reply(500, {"message": "try later"})
        if request.method == "GET" and not request.job_token:
            return Reply(200, list_page(int(request.query["page"][0])))
        return None

    hostile.scenario = scenario
    with pytest.raises(PayJobsError) as caught:
        PayJobsHook().create_payment_job(body_with_ids())
    return caught.value


LISTED_FROM: list[datetime] = [datetime.now(timezone.utc)]


@pytest.fixture(autouse=True)
def _listed_jobs_are_recent() -> None:
    LISTED_FROM[0] = datetime.now(timezone.utc)


def listed_job(number: int = 0, **fields: Any) -> dict[str, Any]:
    """A job created just now; a higher number is an older one, so numbered lists are newest first."""
    created = (LISTED_FROM[0] - timedelta(milliseconds=number)).isoformat()
    return a_job(f"jobs-00000000-0000-0000-0000-{number:012d}", created=created, **fields)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"created": "2026-01-01T00:00:00Z"}, "token must be jobs-<uuid>"),
        ({**listed_job(), "items": {"a": 1}}, "items must be a list"),
        ({**listed_job(), "items": [{"clientPaymentId": ["payment-0"]}]}, "clientPaymentId must be a string"),
        ({**listed_job(), "items": ["payment-0"]}, "items[0] must be an object"),
    ],
)
def test_malformed_listed_jobs_fail_reconciliation_closed(hostile, entry: dict, why: str) -> None:
    error = reconcile_against(hostile, lambda page: {"payload": [entry], "meta": {"pageCount": "1"}})
    assert isinstance(error, PayJobsReconcileError) and why in str(error)
    # The look before the first POST failed closed: nothing was posted at all.
    assert len(hostile.calls("POST", "/payments/jobs")) == 0, "no POST after a failed search"


@pytest.mark.parametrize(
    "created", ["P1D", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", 12, None]
)
def test_odd_creation_times_are_looked_at_not_crashed_on(hostile, created: Any) -> None:
    holder = {
        **listed_job(),
        "created": created,
        "items": [
            {
                "clientPaymentId": "payment-0",
                "amount": 10.5,
                "currency": "USD",
                "destinationToken": gateway_item(0)["destinationToken"],
            }
        ],
    }

    def scenario(request: Request) -> Reply | None:
        if request.method == "POST" and request.path.startswith(JOB_PATH_PREFIX):
            return Reply(500, {"message": "try later"})
        if request.method == "GET" and not request.job_token:
            return Reply(200, {"payload": [holder], "meta": {"pageCount": "1"}})
        return None

    hostile.scenario = scenario
    adopted = PayJobsHook().create_payment_job(body_with_ids())
    assert adopted["token"] == holder["token"]
    assert len(hostile.calls("POST", "/payments/jobs")) == 0, "found by the look before posting"


def test_a_server_repeating_its_first_page_fails_reconciliation_after_two_pages(hostile) -> None:
    page = {"payload": [listed_job(n) for n in range(50)], "meta": {"pageCount": "1000000"}}
    error = reconcile_against(hostile, lambda number: page)
    assert isinstance(error, PayJobsReconcileError) and "repeats its job list" in str(error)
    assert len(hostile.calls("GET", "/payments/jobs")) == 2


def test_a_list_without_end_fails_reconciliation_after_its_page_bound(hostile) -> None:
    def fresh_page(number: int) -> dict:
        return {
            "payload": [listed_job(number * 100 + n) for n in range(50)],
            "meta": {"pageCount": "1000000"},
        }

    error = reconcile_against(hostile, fresh_page)
    assert isinstance(error, PayJobsReconcileError) and f"{MAX_LIST_PAGES} pages" in str(error)
    assert len(hostile.calls("GET", "/payments/jobs")) == MAX_LIST_PAGES


def test_listed_jobs_without_items_are_looked_up_within_a_bound(hostile) -> None:
    summaries = [{**listed_job(n), "items": None, "count": 3} for n in range(50)]
    pages = {n: {"payload": summaries, "meta": {"pageCount": "3"}} for n in (1, 2, 3)}
    for number in (2, 3):  # other jobs on the other pages, so no page repeats
        pages[number] = {
            "payload": [{**listed_job(number * 100 + n), "items": None, "count": 3} for n in range(50)],
            "meta": {"pageCount": "3"},
        }
    error = reconcile_against(hostile, lambda number: pages[number])
    assert isinstance(error, PayJobsReconcileError) and "without their items" in str(error)
    assert len(hostile.calls("GET")) - len(hostile.calls("GET", "/payments/jobs")) == 100


# --- Retry-After and token answers ----------------------------------------------------------------


def http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(timezone.utc) + delta, usegmt=True)


@pytest.mark.parametrize(
    "retry_after",
    [
        "nan",
        "inf",
        "-inf",
        "-5",
        "1e400",
        "99999999999999999999",
        "soon",
        "",
        pytest.param(http_date(timedelta(days=3650)), id="a date ten years ahead"),
        pytest.param(http_date(-timedelta(days=1)), id="a date in the past"),
        "Mon, 99 Foo 99999 99:99:99 GMT",
        "0x10",
        "\u0661\u0660",  # Arabic-Indic digits
    ],
)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_any_retry_after_waits_between_zero_and_the_cap(
    hostile, capsys, asynchronous: bool, retry_after: str
) -> None:
    answered = []

    def scenario(request: Request) -> Reply | None:
        if request.job_token and not answered:
            answered.append(request)
            return Reply(429, {"message": "slow down"}, {"Retry-After": retry_after})
        return None

    hostile.scenario = scenario
    hook = PayJobsHook()
    job = asyncio.run(hook.aretrieve_payment_job(JOB)) if asynchronous else hook.retrieve_payment_job(JOB)
    assert job["token"] == JOB
    waits = [float(wait) for wait in re.findall(r"retrying in ([0-9.]+) s", logged(capsys))]
    assert len(waits) == 1 and 0 <= waits[0] <= EXTRAS["retry_after_cap"], waits


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"token_type": "Bearer", "expires_in": 60}, "unexpected token answer"),
        ({"access_token": 12345, "token_type": "Bearer"}, "not a usable token (int)"),
        ({"access_token": "", "token_type": "Bearer"}, "not a usable token"),
        ({"access_token": "has space", "token_type": "Bearer"}, "not a usable token"),
        ({"access_token": "line\r\nX-Evil: 1", "token_type": "Bearer"}, "not a usable token"),
        ({"access_token": "abc", "token_type": "mac"}, "not Bearer"),
        ({"access_token": "abc"}, "not Bearer"),
        ([1, 2], "unexpected token answer of type list"),
        ("<html>welcome</html>", "unexpected token answer"),
    ],
)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_bad_token_answers_are_auth_errors(hostile, asynchronous: bool, answer: Any, words: str) -> None:
    hostile.scenario = lambda request: Reply(200, answer) if request.path == TOKEN_PATH else None
    hook = PayJobsHook()
    with pytest.raises(PayJobsAuthError, match=words.replace("(", r"\(").replace(")", r"\)")):
        asyncio.run(hook.aretrieve_payment_job(JOB)) if asynchronous else hook.retrieve_payment_job(JOB)
    assert hostile.calls(path_end=JOB) == [], "no call is made without a usable token"


@pytest.mark.parametrize("expires_in", [10**400, -(10**400), 1e308, -1, "3600", True, None])
def test_absurd_token_lifetimes_are_bounded(hostile, expires_in: Any) -> None:
    body = (
        json.dumps({"access_token": "tok-1", "token_type": "Bearer"})[:-1]
        + f', "expires_in": {json.dumps(expires_in)}}}'
    )
    hostile.scenario = lambda request: Reply(200, body) if request.path == TOKEN_PATH else None
    hook = PayJobsHook()
    token = hook.get_access_token()
    assert token.refresh_at - time.monotonic() <= 24 * 3600
    assert hook.retrieve_payment_job(JOB)["token"] == JOB


def test_redirected_token_requests_are_api_errors_and_not_followed(hostile, elsewhere) -> None:
    hostile.scenario = lambda request: (
        Reply(307, {}, {"Location": elsewhere.base_url + "/auth/connect/token"})
        if request.path == TOKEN_PATH
        else None
    )
    with pytest.raises(PayJobsApiError, match="HTTP 307"):
        PayJobsHook().get_access_token()
    assert elsewhere.requests == []


# --- secrets echoed by the server ------------------------------------------------------------------


def test_secrets_echoed_by_the_token_endpoint_are_never_shown(hostile, capsys) -> None:
    def echo(request: Request) -> Reply | None:
        if request.path == TOKEN_PATH:
            header = request.headers["authorization"]
            return Reply(
                401, {"error": "invalid_client", "error_description": f"bad credentials: {header} ({SECRET})"}
            )
        return None

    hostile.scenario = echo
    with pytest.raises(PayJobsAuthError) as caught:
        PayJobsHook().retrieve_payment_job(JOB)
    ok, message = PayJobsHook().test_connection()
    basic = hostile.requests[0].headers["authorization"].split()[1]
    shown = f"{caught.value} {caught.value!r} {caught.value.description} {message} {logged(capsys)}"
    assert not ok and "bad credentials: Basic *** (***)" in str(caught.value)
    assert SECRET not in shown and basic not in shown


def test_access_tokens_echoed_by_the_api_are_never_shown(hostile, capsys) -> None:
    def echo(request: Request) -> Reply | None:
        if request.job_token:
            header = request.headers["authorization"]
            return Reply(503, {"message": f"overloaded; you sent Authorization: {header}"})
        return None

    hostile.scenario = echo
    with pytest.raises(PayJobsApiError) as caught:
        PayJobsHook().retrieve_payment_job(JOB)
    with pytest.raises(PayJobsApiError) as caught_async:
        asyncio.run(PayJobsHook().aretrieve_payment_job(JOB))
    shown = f"{caught.value} {caught.value!r} {caught_async.value} {logged(capsys)}"
    assert "overloaded; you sent Authorization: Bearer ***" in shown, (
        "retry warnings and errors are kept, cleaned"
    )
    assert hostile.tokens_issued and not any(token in shown for token in hostile.tokens_issued)


def _drip_in_a_fork(result: Any) -> None:
    hook = PayJobsHook()
    started = time.monotonic()
    try:
        hook.retrieve_payment_job(JOB)
        result.put(("answered", time.monotonic() - started))
    except PayJobsTransportError as error:
        result.put((error.kind, time.monotonic() - started))


def test_a_forked_worker_keeps_its_deadline(hostile, monkeypatch) -> None:
    """Airflow forks task processes: a parent's watchdog thread does not exist in the child."""
    import multiprocessing

    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        json.dumps(
            {"conn_type": "payjobs", "login": "c", "password": SECRET, "host": hostile.base_url,
             "extra": {**EXTRAS, "retry_limit": 1}}
        ),
    )  # fmt: skip
    hook = PayJobsHook()
    hook.retrieve_payment_job(JOB)  # the parent's watchdog thread is running now
    hostile.scenario = lambda request: Reply(200, a_job(JOB), drip_seconds=0.25, drip_head=False)
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    child = context.Process(target=_drip_in_a_fork, args=(result,))
    child.start()
    kind, elapsed = result.get(timeout=30)
    child.join(10)
    assert kind == "read_timeout" and elapsed < TIMEOUT + 2.0, (kind, elapsed)


def test_a_token_answer_over_the_cap_is_refused_without_quoting_it(hostile) -> None:
    secret_token = "tok-" + "x" * 100_000
    answer = {"access_token": secret_token, "token_type": "Bearer"}
    hostile.scenario = lambda request: Reply(200, answer) if request.path == TOKEN_PATH else None
    with pytest.raises(PayJobsMalformedAnswerError, match="the token answer is too large") as caught:
        PayJobsHook().get_access_token()
    assert "tok-x" not in f"{caught.value} {caught.value!r}"
