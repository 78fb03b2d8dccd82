"""The hook's reconciling create: one job per set of clientPaymentIds, whether or not the server dedupes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import api_calls, connection_json, wait_until
from payloads import gateway_item

from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsConflictError,
    PayJobsReconcileError,
    PayJobsTransportError,
)
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

JOBS = "/api/v2/payments/jobs"
BODY = {"items": [gateway_item(0), gateway_item(1), gateway_item(2)]}


@pytest.fixture(params=["dedupe", "no-dedupe"])
def server_mode(request, sandbox) -> str:
    sandbox.admin.set_config(accept_duplicate_client_ids=request.param == "no-dedupe")
    return request.param


def paid_ids(sandbox) -> list[str]:
    return sorted(entry["clientPaymentId"] for entry in sandbox.admin.ledger())


@pytest.mark.parametrize("fault", ["commit_then_fail_500", "commit_then_fail_drop"])
def test_unknown_outcome_after_commit_adopts_the_job(sandbox, server_mode: str, fault: str) -> None:
    hook = PayJobsHook()
    sandbox.admin.script_faults({"fault": fault, "method": "POST", "path": JOBS})
    job = hook.create_payment_job(BODY)
    assert paid_ids(sandbox) == ["payment-0", "payment-1", "payment-2"], "paid once"
    assert {entry["job_token"] for entry in sandbox.admin.ledger()} == {job["token"]}
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1, "found, not posted again"


@pytest.mark.parametrize("fault", ["500", "503", "drop", "429"])
def test_failure_before_commit_posts_again(sandbox, server_mode: str, fault: str) -> None:
    sandbox.admin.set_faults(retry_after_seconds=0)
    sandbox.admin.script_faults({"fault": fault, "method": "POST", "path": JOBS})
    job = PayJobsHook().create_payment_job(BODY)
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 2
    assert paid_ids(sandbox) == ["payment-0", "payment-1", "payment-2"]
    assert job["token"] == sandbox.admin.ledger()[0]["job_token"]


def test_many_unknown_outcomes_in_a_row_still_pay_once(sandbox, server_mode: str, monkeypatch) -> None:
    # Six failed requests (two POSTs, the looks' GETs) in one budget: the call gets 7 attempts.
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, retry_limit=7))
    sandbox.admin.script_faults(
        {"fault": "503", "method": "POST", "path": JOBS},
        {"fault": "commit_then_fail_drop", "method": "POST", "path": JOBS},
        {"fault": "500", "method": "GET", "path": JOBS, "times": 2},
    )
    PayJobsHook().create_payment_job(BODY)
    assert paid_ids(sandbox) == ["payment-0", "payment-1", "payment-2"]


def test_a_repeat_create_adopts_the_existing_job(sandbox) -> None:
    hook = PayJobsHook()
    first = hook.create_payment_job(BODY)
    again = hook.create_payment_job(BODY)
    assert again["token"] == first["token"]
    # Looked for before posting: the repeat never reaches the server as a POST.
    assert [entry["status"] for entry in api_calls(sandbox, "POST", "/payments/jobs")] == [200]
    assert len(sandbox.admin.ledger()) == 3


def test_a_job_older_than_the_window_is_not_adopted_silently(sandbox) -> None:
    hook = PayJobsHook()
    first = hook.create_payment_job(BODY)
    much_later = datetime.now(timezone.utc) + timedelta(hours=1)
    with pytest.raises(PayJobsApiError, match="already used"):
        hook.create_payment_job(BODY, created_since=much_later)  # refused by the server, and not paid
    earlier = datetime.now(timezone.utc) - timedelta(hours=2)
    assert hook.create_payment_job(BODY, created_since=earlier)["token"] == first["token"]
    assert len(sandbox.admin.ledger()) == 3


def test_partly_used_ids_raise_a_conflict_naming_them(sandbox) -> None:
    hook = PayJobsHook()
    first = hook.create_payment_job({"items": [gateway_item(0)]})
    with pytest.raises(PayJobsConflictError) as caught:
        hook.create_payment_job(BODY)
    assert caught.value.holders == {"payment-0": [first["token"]]}
    assert "payment-0 in " + first["token"] in str(caught.value)
    assert len(sandbox.admin.ledger()) == 1, "nothing more paid"


def test_without_ids_a_sent_create_is_never_repeated(sandbox, server_mode: str) -> None:
    sandbox.admin.script_faults({"fault": "commit_then_fail_drop", "method": "POST", "path": JOBS})
    with pytest.raises(PayJobsTransportError):
        PayJobsHook().create_payment_job({"items": [gateway_item(0, clientPaymentId=None)]})
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1
    assert len(sandbox.admin.ledger()) == 1, "paid once; the error says the outcome was not seen"


def test_reconciliation_reads_many_pages(sandbox) -> None:
    hook = PayJobsHook()
    target = hook.create_payment_job(BODY)
    for number in range(3, 130):
        hook.create_payment_job({"items": [gateway_item(number)]})
    assert (
        hook.find_job_holding(["payment-0", "payment-1", "payment-2"], datetime.now(timezone.utc))["token"]
        == (target["token"])
    )
    assert hook.find_job_holding(["nobody"], datetime.now(timezone.utc)) is None


@pytest.mark.parametrize(("settle", "jobs"), [(3.0, 1), (0.0, 2)], ids=["settles", "without settling"])
def test_an_unanswered_create_gets_time_to_land_before_posting_again(
    sandbox, monkeypatch, settle: float, jobs: int
) -> None:
    """The POST outlives the client's timeout and is saved later; a server that does not dedupe."""
    sandbox.admin.set_config(accept_duplicate_client_ids=True)
    sandbox.admin.set_faults(slow_seconds=2.0)  # lands at 2 s; looks again at 3.6 s, the control at 0.6 s
    sandbox.admin.script_faults({"fault": "slow", "method": "POST", "path": JOBS})
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, timeout=0.3, create_settle_seconds=settle)
    )
    PayJobsHook().create_payment_job(BODY)
    wait_until(lambda: any(entry.get("fault") == "slow" for entry in api_calls(sandbox)), "the slow create")
    # Settling finds the late job; without it (the control) the same ids are paid twice.
    assert len({entry["job_token"] for entry in sandbox.admin.ledger()}) == jobs


def test_an_accepted_create_with_an_unreadable_answer_is_adopted(sandbox, server_mode: str) -> None:
    sandbox.admin.script_faults({"fault": "commit_then_truncated_200", "method": "POST", "path": JOBS})
    job = PayJobsHook().create_payment_job(BODY)
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1, "the job exists: never posted again"
    assert {entry["job_token"] for entry in sandbox.admin.ledger()} == {job["token"]}


def test_list_summaries_without_items_are_read_in_full(sandbox, server_mode: str, monkeypatch) -> None:
    """A server whose list shows jobs without their items: each candidate job is retrieved."""
    listed = PayJobsHook.list_payment_jobs

    def summaries(self, *args, **kwargs):
        answer = listed(self, *args, **kwargs)
        for job in answer["payload"]:
            job["items"] = []
        return answer

    monkeypatch.setattr(PayJobsHook, "list_payment_jobs", summaries)
    sandbox.admin.script_faults({"fault": "commit_then_fail_500", "method": "POST", "path": JOBS})
    job = PayJobsHook().create_payment_job(BODY)
    assert {entry["job_token"] for entry in sandbox.admin.ledger()} == {job["token"]}
    assert len(sandbox.admin.ledger()) == 3


def test_a_job_holding_the_ids_but_paying_otherwise_is_not_adopted(sandbox) -> None:
    hook = PayJobsHook()
    first = hook.create_payment_job(BODY)
    changed = {"items": [gateway_item(0), gateway_item(1, amount=99.5), gateway_item(2)]}
    with pytest.raises(
        PayJobsReconcileError, match=r"items\[1\]\.amount is 99\.5, the job has 10\.5"
    ) as caught:
        hook.create_payment_job(changed)
    assert first["token"] in str(caught.value)
    assert len(sandbox.admin.ledger()) == 3, "nothing more paid"


@pytest.mark.parametrize(
    ("timeout", "settle", "jobs"), [(0.5, 2.0, 1), (0.2, 0.0, 2)], ids=["waits", "control"]
)
def test_a_gateway_timeout_gets_time_to_land_before_posting_again(
    sandbox, monkeypatch, timeout: float, settle: float, jobs: int
) -> None:
    """A 504 at once while the service behind it saves the job 1.5 s later; no dedupe."""
    sandbox.admin.set_config(accept_duplicate_client_ids=True)
    sandbox.admin.set_faults(slow_seconds=1.5)
    sandbox.admin.script_faults({"fault": "late_commit_504", "method": "POST", "path": JOBS})
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        connection_json(sandbox, timeout=timeout, create_settle_seconds=settle),
    )
    PayJobsHook().create_payment_job(BODY)  # looks again 3 s after the POST; the control at 0.4 s
    wait_until(
        lambda: any(
            entry.get("fault") == "late_commit" and entry["status"] == 200 for entry in api_calls(sandbox)
        ),
        "the late save",
    )
    assert len({entry["job_token"] for entry in sandbox.admin.ledger()}) == jobs
