"""Status model, trigger serialization and event handling: pure logic, no server needed."""

from __future__ import annotations

import pytest

from airflow_provider_payjobs.airflow_support.compat import AirflowException, AirflowFailException
from airflow_provider_payjobs.airflow_support.waiting import job_from_event
from airflow_provider_payjobs.client.job_status import (
    Outcome,
    StatusSets,
    describe_progress,
    paid_per_currency,
    summarize_job,
)
from airflow_provider_payjobs.client.models import (
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    TERMINAL_STATUSES,
    JobStatus,
)
from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

TOKEN = "jobs-2bbfc967-d12e-4647-a887-d905172fb4bc"


def job(status: str, *item_statuses: str) -> dict:
    return {
        "token": TOKEN,
        "status": status,
        "items": [
            {
                "clientPaymentId": f"p{n}",
                "amount": 10.1,
                "currency": "USD" if n % 2 == 0 else "EUR",
                "status": s,
            }
            for n, s in enumerate(item_statuses)
        ],
    }


def test_status_sets_are_exact() -> None:
    assert {JobStatus.COMPLETED} == SUCCESS_STATUSES
    assert {JobStatus.FAILED, JobStatus.CANCELLED} == FAILURE_STATUSES
    assert TERMINAL_STATUSES == SUCCESS_STATUSES | FAILURE_STATUSES


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("COMPLETED", Outcome.SUCCESS),
        ("completed", Outcome.SUCCESS),
        ("FAILED", Outcome.FAILED),
        ("CANCELLED", Outcome.FAILED),
        ("PROCESSING", Outcome.RUNNING),
        ("SCHEDULED", Outcome.RUNNING),
        ("REFUNDED", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
    ],
)
def test_classification_fails_closed(status: object, outcome: Outcome) -> None:
    assert StatusSets().classify(status) is outcome


def test_custom_sets_never_make_failure_a_success() -> None:
    with pytest.raises(ValueError, match="must not include failure statuses \\(CANCELLED\\)"):
        StatusSets.from_names(success=["COMPLETED", "CANCELLED"])
    with pytest.raises(ValueError, match="is not a job status"):
        StatusSets.from_names(success=["DONE"])
    sets = StatusSets.from_names(success=["APPROVED"], failure=["PENDING_REVIEW"])
    assert sets.classify("APPROVED") is Outcome.SUCCESS
    assert sets.classify("PENDING_REVIEW") is Outcome.FAILED
    assert sets.classify("CANCELLED") is Outcome.FAILED, "always a failure"
    assert sets.classify("COMPLETED") is Outcome.RUNNING


def test_progress_line_and_summary() -> None:
    finished = job("COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "COMPLETED")
    line = describe_progress(finished)
    assert line == f"Payment job {TOKEN} is COMPLETED; items: 3 COMPLETED, 1 FAILED; paid: 20.2 EUR, 10.1 USD"
    assert str(paid_per_currency(finished)["EUR"]) == "20.2", "Decimal totals, no float drift"
    summary = summarize_job(finished)
    assert summary["items_by_status"] == {"COMPLETED": 3, "FAILED": 1}
    assert summary["totals_per_currency"] == {"EUR": "20.2", "USD": "20.2"}


def test_trigger_serialize_round_trip_holds_primitives_only() -> None:
    trigger = PaymentJobTrigger(
        job_token=TOKEN,
        payjobs_conn_id="payjobs_default",
        end_time=1_900_000_000.5,
        poll_interval=5,
        success_statuses=["APPROVED", "COMPLETED"],
        cancel_on_kill=False,
        fail_on_failed_items=False,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_payjobs.triggers.payjobs.PaymentJobTrigger"
    assert kwargs == {
        "job_token": TOKEN,
        "payjobs_conn_id": "payjobs_default",
        "end_time": 1_900_000_000.5,
        "poll_interval": 5.0,
        "success_statuses": ["APPROVED", "COMPLETED"],
        "failure_statuses": ["CANCELLED", "FAILED"],
        "cancel_on_kill": False,
        "fail_on_failed_items": False,
    }
    primitive = (str, int, float, bool, list, type(None))
    assert all(isinstance(value, primitive) for value in kwargs.values())
    again = PaymentJobTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)


def read_as(answer: dict | None):
    """A job reader that answers ``answer`` for the token of the job() helper, and records the call."""

    def read(token: str) -> dict:
        read.tokens.append(token)  # type: ignore[attr-defined]
        assert answer is not None, "nothing should be read"
        return answer

    read.tokens = []  # type: ignore[attr-defined]
    return read


def test_success_event_returns_the_job_read_again() -> None:
    done = job("COMPLETED", "COMPLETED")
    reader = read_as(done)
    event = {"status": "success", "job_token": done["token"], "job_status": "COMPLETED", "message": "done"}
    assert job_from_event(event, StatusSets(), reader) == done
    assert reader.tokens == [done["token"]]


@pytest.mark.parametrize(
    ("event", "read_again", "error"),
    [
        ({"status": "failed", "job_token": TOKEN, "message": "ended FAILED"}, None, AirflowFailException),
        ({"status": "failed", "job_token": TOKEN, "message": "ended CANCELLED"}, None, AirflowFailException),
        ({"status": "timeout", "job_token": TOKEN, "message": "deadline"}, None, AirflowFailException),
        # The event says success; the job read again says otherwise: the job wins.
        ({"status": "success", "job_token": TOKEN}, job("CANCELLED"), AirflowFailException),
        ({"status": "success", "job_token": TOKEN}, job("SOMETHING_NEW"), AirflowFailException),
        ({"status": "success"}, None, AirflowException),
        ({"status": "error", "message": "HTTP 404"}, None, AirflowException),
        ({"status": "banana"}, None, AirflowException),
        ({}, None, AirflowException),
        (None, None, AirflowException),
    ],
)
def test_every_event_but_a_real_success_fails_the_task(
    event: dict | None, read_again: dict | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        job_from_event(event, StatusSets(), read_as(read_again))


def test_a_completed_job_with_failed_items_is_a_failure_unless_accepted() -> None:
    partly = job("COMPLETED", "COMPLETED", "RETURNED")
    assert StatusSets().classify_job(partly) is Outcome.FAILED
    assert StatusSets(fail_on_failed_items=False).classify_job(partly) is Outcome.SUCCESS
    assert StatusSets().classify_job(job("COMPLETED", "COMPLETED", "PENDING_ACCEPTANCE")) is Outcome.SUCCESS
    with pytest.raises(AirflowFailException, match="not every item was paid"):
        job_from_event({"status": "success", "job_token": partly["token"]}, StatusSets(), read_as(partly))


@pytest.mark.parametrize(
    ("event", "resubmits"),
    [
        ({"status": "failed", "job_status": "FAILED"}, True),
        ({"status": "failed", "job_status": "COMPLETED"}, True),  # an item failed: pay it again
        ({"status": "failed", "job_status": "CANCELLED"}, False),  # someone meant it
        # Fired by an earlier version of the provider, still waiting in the database at an upgrade.
        ({"status": "failed", "job": job("CANCELLED")}, False),
        ({"status": "failed", "job": job("FAILED", "FAILED")}, True),
        ({"status": "failed", "job": "garbage"}, False),
        ({"status": "failed"}, False),  # no status known: fail closed
        ({"status": "timeout", "job_status": "FAILED"}, False),
    ],
)
def test_a_retry_resubmits_only_a_job_known_to_have_failed(event: dict, resubmits: bool) -> None:
    from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator

    operator = CreatePaymentJobOperator(
        task_id="pay", body={"items": []}, wait_for_completion=True, resubmit_failed=True
    )
    assert operator._retry_resubmits(event) is resubmits
