"""PayJobsHook against a real sandbox over loopback: endpoints, parameters, pagination, validation."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from conftest import api_calls
from payloads import gateway_item, portal_item

from airflow_provider_payjobs.client.models import Languages
from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsValidationError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

MISSING_JOB = "jobs-00000000-0000-0000-0000-000000000000"


def test_create_retrieve_cancel_round_trip(sandbox) -> None:
    hook = PayJobsHook()
    created = hook.create_payment_job({"items": [gateway_item(0), gateway_item(1)]})
    assert created["token"].startswith("jobs-") and len(created["token"]) == 41
    assert created["status"] == "SUBMITTED" and created["count"] == 2
    assert [item["clientPaymentId"] for item in created["items"]] == ["payment-0", "payment-1"]
    retrieved = hook.retrieve_payment_job(created["token"])
    assert retrieved["token"] == created["token"] and retrieved["items"][0]["amount"] == 10.5
    cancelled = hook.cancel_payment_job(created["token"])
    assert cancelled["status"] == "CANCELLED"
    assert {item["status"] for item in cancelled["items"]} == {"CANCELLED"}


def test_every_call_carries_version_accept_and_bearer(sandbox) -> None:
    hook = PayJobsHook()
    hook.list_payment_jobs(1, 5)
    headers = hook.transport.session.headers
    assert headers["X-MyPayQuicker-Version"] == "2026.02.01" and headers["accept"] == "application/json"
    # The sandbox answers 400 without the version header and 401 without a bearer token:
    assert [entry["status"] for entry in api_calls(sandbox)] == [200, 200]


def test_portal_job_with_schedule_as_datetimes(sandbox) -> None:
    hook = PayJobsHook()
    body = {
        "notBefore": datetime(2030, 1, 1, tzinfo=timezone.utc),
        "notAfter": datetime(2030, 1, 2, tzinfo=timezone.utc),
        "items": [portal_item(0)],
    }
    created = hook.create_payment_job(body)
    assert created["status"] == "SCHEDULED"
    assert created["notBefore"].startswith("2030-01-01T00:00:00")
    assert created["items"][0]["email"] == "payee0@example.com"


def test_list_passes_every_parameter_with_wire_names(sandbox) -> None:
    hook = PayJobsHook()
    hook.create_payment_job({"items": [gateway_item(0)]})
    result = hook.list_payment_jobs(
        1, 10, filter="status:SUBMITTED", sort="-created", language=Languages.ENUS
    )
    assert len(result["payload"]) == 1
    assert result["meta"]["pageNo"] == "1" and result["meta"]["recordCount"] == "1"
    query = api_calls(sandbox, "GET", "/payments/jobs")[-1]["query"]
    for expected in ("page=1", "pageSize=10", "filter=status%3ASUBMITTED", "sort=-created", "language=en-US"):
        assert expected in query


def test_retrieve_passes_filter_and_language(sandbox) -> None:
    hook = PayJobsHook()
    token = hook.create_payment_job({"items": [gateway_item(0)]})["token"]
    hook.retrieve_payment_job(token, filter="status:PENDING", language="frca")
    query = api_calls(sandbox, "GET", token)[-1]["query"]
    assert "filter=status%3APENDING" in query and "language=fr-CA" in query


def test_pagination_across_many_pages(sandbox) -> None:
    hook = PayJobsHook()
    tokens = [hook.create_payment_job({"items": [gateway_item(number)]})["token"] for number in range(23)]
    creates_looked = len(api_calls(sandbox, "GET", "/payments/jobs"))  # each create looks first
    first = hook.list_payment_jobs(1, 5)
    assert first["meta"] == {**first["meta"], "pageSize": "5", "pageCount": "5", "recordCount": "23"}
    listed = [job["token"] for job in hook.iter_payment_jobs(page_size=5)]
    assert listed == list(reversed(tokens)), "newest first, each job exactly once"
    assert len(api_calls(sandbox, "GET", "/payments/jobs")) - creates_looked == 1 + 5


def test_pagination_without_a_page_count_reads_until_a_short_page(sandbox, monkeypatch) -> None:
    hook = PayJobsHook()
    tokens = [hook.create_payment_job({"items": [gateway_item(number)]})["token"] for number in range(10)]
    listed = PayJobsHook.list_payment_jobs

    def without_page_count(self, *args, **kwargs):
        answer = listed(self, *args, **kwargs)
        del answer["meta"]["pageCount"]
        return answer

    monkeypatch.setattr(PayJobsHook, "list_payment_jobs", without_page_count)
    creates_looked = len(api_calls(sandbox, "GET", "/payments/jobs"))  # each create looks first
    assert [job["token"] for job in hook.iter_payment_jobs(page_size=5)] == list(reversed(tokens))
    listed = len(api_calls(sandbox, "GET", "/payments/jobs")) - creates_looked
    assert listed == 3, "two full pages, then an empty one"


def test_iter_on_an_empty_account(sandbox) -> None:
    assert list(PayJobsHook().iter_payment_jobs()) == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda hook: hook.list_payment_jobs(0, 10), "page"),
        (lambda hook: hook.list_payment_jobs(1, 51), "page_size"),
        (lambda hook: hook.list_payment_jobs(1, 10, language="KLINGON"), "language"),
        (lambda hook: hook.retrieve_payment_job("jobs-123"), "job_token"),
        (lambda hook: hook.retrieve_payment_job(MISSING_JOB, language="xx"), "language"),
        (lambda hook: hook.cancel_payment_job("../payments"), "job_token"),
        (lambda hook: hook.create_payment_job({"items": [gateway_item(0), portal_item(1)]}), "items[1]"),
        (
            lambda hook: hook.create_payment_job(
                {"items": [gateway_item(0), gateway_item(1, currency="XYZ")]}
            ),
            "items[1].currency",
        ),
        (
            lambda hook: hook.create_payment_job({"items": [gateway_item(amount=float("nan"))]}),
            "items[0].amount",
        ),
        (lambda hook: hook.create_payment_job({"items": []}), "items"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(sandbox, call, field: str) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        call(PayJobsHook())
    assert caught.value.field == field
    assert api_calls(sandbox) == [], "no token request and no API call"


def test_api_error_result_fields(sandbox) -> None:
    hook = PayJobsHook()
    with pytest.raises(PayJobsApiError) as caught:
        hook.retrieve_payment_job(MISSING_JOB)
    error = caught.value
    assert error.status_code == 404 and error.code == 404 and error.severity
    assert error.message and error.reference_id and error.timestamp and error.request_ref
    assert "HTTP 404 on GET /payments/jobs/" in str(error)


def test_cancel_of_a_finished_job_is_a_400_and_not_retried(sandbox) -> None:
    hook = PayJobsHook()
    token = hook.create_payment_job({"items": [gateway_item(0)]})["token"]
    sandbox.admin.advance_clock(60)
    assert hook.retrieve_payment_job(token)["status"] == "COMPLETED"
    with pytest.raises(PayJobsApiError) as caught:
        hook.cancel_payment_job(token)
    assert caught.value.status_code == 400 and "COMPLETED" in caught.value.message
    assert len(api_calls(sandbox, "DELETE")) == 1


def test_hook_results_are_plain_json_for_xcom(sandbox) -> None:
    created = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})
    assert json.loads(json.dumps(created)) == created


def test_async_list_matches_the_sync_list(sandbox) -> None:
    import asyncio

    hook = PayJobsHook()
    tokens = [hook.create_payment_job({"items": [gateway_item(number)]})["token"] for number in range(3)]
    page = asyncio.run(hook.alist_payment_jobs(1, 2, sort="-created"))
    assert [job["token"] for job in page["payload"]] == tokens[::-1][:2]
    assert page["meta"]["pageCount"] == "2"
    query = api_calls(sandbox, "GET", "/payments/jobs")[-1]["query"]
    assert "page=1" in query and "pageSize=2" in query
