"""Progress lines only on change (plus a reminder), and the job link built without any XCom lookup."""

from __future__ import annotations

import pytest
from conftest import connection_json

from airflow_provider_payjobs.airflow_support import waiting
from airflow_provider_payjobs.airflow_support.waiting import JobWait
from airflow_provider_payjobs.client.job_status import StatusSets
from airflow_provider_payjobs.links.payjobs import PaymentJobLink
from airflow_provider_payjobs.operators.payjobs import CancelPaymentJobOperator, CreatePaymentJobOperator
from airflow_provider_payjobs.sensors.payjobs import PaymentJobSensor

TOKEN = "jobs-2bbfc967-d12e-4647-a887-d905172fb4bc"


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: object) -> None:
        self.lines.append(message % args if args else message)

    warning = info


def job(status: str, *items: str) -> dict:
    return {
        "token": TOKEN,
        "status": status,
        "items": [{"status": s, "amount": 1, "currency": "USD"} for s in items],
    }


def test_a_line_when_status_or_item_counts_change_and_a_reminder_while_nothing_does(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(waiting.time, "monotonic", lambda: clock[0])
    log = Lines()
    wait = JobWait(TOKEN, StatusSets(), end_time=float("inf"), log=log)
    polls = [job("SUBMITTED", "PENDING", "PENDING")] * 120  # two minutes of 1-second polls
    polls += [job("PROCESSING", "ACCEPTED", "PENDING")] * 3
    polls += [job("PROCESSING", "ACCEPTED", "ACCEPTED")] * 400  # nearly 7 minutes unchanged
    for polled in polls:
        wait.observe(polled)
        clock[0] += 1
    assert log.lines == [
        f"Payment job {TOKEN} is SUBMITTED; items: 2 PENDING; paid: nothing yet",
        f"Payment job {TOKEN} is PROCESSING; items: 1 ACCEPTED, 1 PENDING; paid: nothing yet",
        f"Payment job {TOKEN} is PROCESSING; items: 2 ACCEPTED; paid: nothing yet",
        f"Payment job {TOKEN} is PROCESSING; items: 2 ACCEPTED; paid: nothing yet (no change for 5 min)",
    ]
    wait.observe(job("COMPLETED", "COMPLETED", "COMPLETED"))
    assert log.lines[-1].startswith(f"Payment job {TOKEN} is COMPLETED; items: 2 COMPLETED")


@pytest.fixture
def no_xcom_lookups(monkeypatch):
    from airflow_provider_payjobs.links import payjobs as links

    def refuse(**kwargs):
        raise AssertionError(f"looked up an XCom: {kwargs}")

    monkeypatch.setattr(links.XCom, "get_value", staticmethod(refuse))


@pytest.mark.parametrize(
    "make",
    [
        lambda: CreatePaymentJobOperator(task_id="pay", body={"items": []}),
        lambda: PaymentJobSensor(task_id="wait", job_token=TOKEN),
        lambda: CancelPaymentJobOperator(task_id="cancel", job_token=TOKEN),
    ],
)
@pytest.mark.parametrize("portal_url", ["https://portal.example/jobs/{job_token}/view", None])
def test_the_link_is_built_from_the_operator_with_no_xcom_lookup(
    sandbox, monkeypatch, no_xcom_lookups, make, portal_url
) -> None:
    extra = {"portal_url": portal_url} if portal_url else {}
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, **extra))
    operator = make()
    operator.job_token = TOKEN
    expected = f"https://portal.example/jobs/{TOKEN}/view" if portal_url else ""
    assert PaymentJobLink().get_link(operator, ti_key=None) == expected


def test_no_link_before_a_job_exists_or_with_a_broken_connection(sandbox, monkeypatch, no_xcom_lookups):
    operator = CreatePaymentJobOperator(task_id="pay", body={"items": []})
    assert PaymentJobLink().get_link(operator, ti_key=None) == ""  # failed before creating a job
    broken = CreatePaymentJobOperator(task_id="pay", body={"items": []}, payjobs_conn_id="missing")
    broken.job_token = TOKEN
    assert PaymentJobLink().get_link(broken, ti_key=None) == ""


def test_other_operators_get_what_was_pushed(monkeypatch) -> None:
    from airflow_provider_payjobs.links import payjobs as links

    monkeypatch.setattr(links.XCom, "get_value", staticmethod(lambda key, ti_key: f"pushed:{key}"))
    assert PaymentJobLink().get_link(object(), ti_key=None) == "pushed:job_url"
