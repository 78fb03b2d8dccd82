"""Whole DAG runs on real Airflow (dag.test and `airflow dags test`) against a live sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE_DAGS, TEST_DAGS, airflow_dags_test, connection_json, load_dag, logged

from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

pytestmark = pytest.mark.dag


def task_states(run) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def run_dag(path: Path, dag_id: str, **conf):
    return load_dag(path, dag_id).test(run_conf=conf or None)


def test_payout_example_end_to_end_deferrable(airflow_db, live_sandbox) -> None:
    run = run_dag(EXAMPLE_DAGS / "example_payjobs_payout.py", "example_payjobs_payout")
    assert str(run.state) in ("success", "DagRunState.SUCCESS"), task_states(run)
    summary = xcom(run, "report")
    assert summary["status"] == "COMPLETED"
    assert summary["items_by_status"] == {"COMPLETED": 3}
    assert summary["paid_per_currency"] == {"EUR": "60", "USD": "205.5"}
    ledger = live_sandbox.admin.ledger()
    assert len(ledger) == 3 and {entry["job_token"] for entry in ledger} == {summary["job"]}
    assert xcom(run, "pay", "job_token") == summary["job"]
    # pay's XCom is the summary: no item, no payee reaches report's rendered fields.
    assert xcom(run, "pay") == summary and "items" not in summary


def test_payout_example_with_a_failing_job_fails_the_task(airflow_db, live_sandbox, monkeypatch) -> None:
    import json

    payees = [
        {
            "destination": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
            "amount": "5.00",
            "currency": "USD",
            "memo": "SANDBOX_FAIL_JOB",
        }
    ]
    monkeypatch.setenv("AIRFLOW_VAR_PAYJOBS_PAYOUT_PAYEES", json.dumps(payees))
    run = run_dag(EXAMPLE_DAGS / "example_payjobs_payout.py", "example_payjobs_payout")
    states = task_states(run)
    assert states["pay"] == "failed" and states["report"] == "upstream_failed"
    assert live_sandbox.admin.ledger() == [], "nothing paid"


def test_sensor_example_waits_for_a_job_created_elsewhere(airflow_db, live_sandbox) -> None:
    token = PayJobsHook().create_payment_job(
        {
            "items": [
                {
                    "amount": 3,
                    "currency": "GBP",
                    "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
                }
            ]
        }
    )["token"]
    run = run_dag(EXAMPLE_DAGS / "example_payjobs_sensor.py", "example_payjobs_sensor", job_token=token)
    assert task_states(run) == {"wait_for_payout": "success", "reconcile_books": "success"}
    assert xcom(run, "wait_for_payout")["status"] == "COMPLETED"


def test_sensor_example_fails_on_a_cancelled_job(airflow_db, live_sandbox) -> None:
    hook = PayJobsHook()
    body = {
        "notBefore": "2099-01-01T00:00:00Z",
        "items": [
            {"amount": 3, "currency": "GBP", "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d"}
        ],
    }
    token = hook.create_payment_job(body)["token"]
    hook.cancel_payment_job(token)
    run = run_dag(EXAMPLE_DAGS / "example_payjobs_sensor.py", "example_payjobs_sensor", job_token=token)
    assert task_states(run)["wait_for_payout"] == "failed"


@pytest.mark.parametrize(
    ("cancel", "job_status", "cancel_state"),
    [(True, "CANCELLED", "success"), (False, "SCHEDULED", "skipped")],
)
def test_cancel_example(airflow_db, live_sandbox, cancel: bool, job_status: str, cancel_state: str) -> None:
    run = run_dag(EXAMPLE_DAGS / "example_payjobs_cancel.py", "example_payjobs_cancel", cancel=cancel)
    assert task_states(run)["cancel_payout"] == cancel_state
    token = xcom(run, "schedule_payout", "job_token")
    assert PayJobsHook().retrieve_payment_job(token)["status"] == job_status


def test_sync_wait_returns_the_final_jobs_summary(airflow_db, live_sandbox) -> None:
    run = run_dag(TEST_DAGS / "payjobs_test_dags.py", "payjobs_test_sync_wait")
    assert task_states(run) == {"pay": "success"}
    summary = xcom(run, "pay")
    token = xcom(run, "pay", "job_token")
    assert summary == {
        "job": token,
        "status": "COMPLETED",
        "created": PayJobsHook().retrieve_payment_job(token)["created"],
        "items_by_status": {"COMPLETED": 3},
        "totals_per_currency": {"USD": "37.5"},
        "paid_per_currency": {"USD": "37.5"},
    }


def test_return_full_job_returns_the_job_read_again_after_deferring(airflow_db, live_sandbox) -> None:
    run = run_dag(TEST_DAGS / "payjobs_test_dags.py", "payjobs_test_full_job")
    assert task_states(run) == {"pay": "success"}
    job = xcom(run, "pay")
    assert job["status"] == "COMPLETED" and len(job["items"]) == 3
    assert all(item["clientPaymentId"] for item in job["items"]), "derived ids on every item"


@pytest.mark.parametrize("portal_url", ["https://portal.example/jobs/{job_token}/view", None])
def test_extra_link_is_recorded_from_the_portal_url(
    airflow_db, live_sandbox, monkeypatch, capsys, portal_url
) -> None:
    from airflow_provider_payjobs.links.payjobs import PaymentJobLink

    extra = {"portal_url": portal_url} if portal_url else {}
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(live_sandbox, **extra))
    run = run_dag(TEST_DAGS / "payjobs_test_dags.py", "payjobs_test_sync_wait")
    token = xcom(run, "pay", "job_token")
    # The task runner stores each extra link's URL when the task ends; the UI shows that value.
    link = xcom(run, "pay", PaymentJobLink().xcom_key)
    assert link == (f"https://portal.example/jobs/{token}/view" if portal_url else "")
    # Building the link looks nothing up: no "XCom not found ... key='job_url'" error in the log.
    errors = [line for line in logged(capsys).splitlines() if "XCom not found" in line and "job_url" in line]
    assert errors == []


def test_deadline_in_the_trigger_times_out_and_cancels(airflow_db, live_sandbox) -> None:
    run = run_dag(TEST_DAGS / "payjobs_test_dags.py", "payjobs_test_deferred_deadline")
    assert task_states(run) == {"pay": "failed"}
    token = xcom(run, "pay", "job_token")
    assert PayJobsHook().retrieve_payment_job(token)["status"] == "CANCELLED"


def test_dry_run_creates_nothing(airflow_db, live_sandbox) -> None:
    run = run_dag(TEST_DAGS / "payjobs_test_dags.py", "payjobs_test_dry_run")
    assert task_states(run) == {"pay": "success"}
    assert live_sandbox.admin.requests() == []


@pytest.mark.parametrize("point", ["before_token_stored", "after_token_stored"])
def test_a_retried_task_reconnects_to_its_job(airflow_db, live_sandbox, point: str) -> None:
    run = run_dag(TEST_DAGS / "payjobs_test_dags.py", f"payjobs_test_dies_{point}")
    assert task_states(run) == {"pay": "success"}
    ledger = live_sandbox.admin.ledger()
    assert len(ledger) == 3 and len({entry["job_token"] for entry in ledger}) == 1, "one job, paid once"
    creates = [
        entry
        for entry in live_sandbox.admin.requests()
        if entry["method"] == "POST" and entry["path"].endswith("/payments/jobs")
    ]
    assert len(creates) == 1, "the retry did not post again"


def test_airflow_dags_test_cli(airflow_db, live_sandbox) -> None:
    result = airflow_dags_test("example_payjobs_payout")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "PAYOUT SUMMARY" in result.stdout + result.stderr
    assert len(live_sandbox.admin.ledger()) == 3


# --- the payroll example: one payout per payroll date, however often the date is run -------------

PAYROLL_DATE = "2026-11-01T00:00:00+00:00"


def test_payroll_example_pays_each_payee_once_per_payroll_date(airflow_db, live_sandbox, capsys) -> None:
    from datetime import datetime, timedelta

    from conftest import api_calls

    # A server that does not deduplicate clientPaymentIds: only the payout key's look-up keeps a
    # second run of the date from paying again.
    live_sandbox.admin.set_config(accept_duplicate_client_ids=True)
    dag = load_dag(EXAMPLE_DAGS / "example_payjobs_payroll.py", "example_payjobs_payroll")
    payroll_date = datetime.fromisoformat(PAYROLL_DATE)
    first = dag.test(logical_date=payroll_date)
    assert str(first.state) in ("success", "DagRunState.SUCCESS"), task_states(first)
    token = xcom(first, "pay", "job_token")
    logged(capsys)
    # The same date again (dag.test clears and re-runs its run), then a manual run of the same ds.
    again = dag.test(logical_date=payroll_date)
    again_log = logged(capsys)
    later = dag.test(logical_date=payroll_date + timedelta(hours=6))
    later_log = logged(capsys)
    for run in (again, later):
        assert str(run.state) in ("success", "DagRunState.SUCCESS"), task_states(run)
        assert xcom(run, "pay", "job_token") == token, "a later run of the date adopted the first one's job"
        assert xcom(run, "report")["status"] == "COMPLETED"
    for log in (again_log, later_log):
        assert f"Payment job {token} already holds these 3 clientPaymentIds: adopting it" in log
    ledger = live_sandbox.admin.ledger()
    assert len(ledger) == 3 and {entry["job_token"] for entry in ledger} == {token}, ledger
    assert len({entry["clientPaymentId"] for entry in ledger}) == 3
    creates = api_calls(live_sandbox, "POST", "/payments/jobs")
    assert len(creates) == 1, "no run posted again"


def test_payroll_example_pays_the_payees_of_its_variable(airflow_db, live_sandbox, monkeypatch) -> None:
    import json
    from datetime import datetime
    from decimal import Decimal

    payees = [
        {"destination": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d", "amount": "2100.00", "currency": "USD"},
        {"destination": "dest-1c4e2a7b-9f3d-4e8a-b6c5-0d2f8e7a9b14", "amount": 75.5, "currency": "USD"},
    ]
    monkeypatch.setenv("AIRFLOW_VAR_PAYJOBS_PAYROLL_PAYEES", json.dumps(payees))
    dag = load_dag(EXAMPLE_DAGS / "example_payjobs_payroll.py", "example_payjobs_payroll")
    run = dag.test(logical_date=datetime.fromisoformat("2026-10-01T00:00:00+00:00"))
    assert str(run.state) in ("success", "DagRunState.SUCCESS"), task_states(run)
    paid = sorted((Decimal(str(entry["amount"])), entry["currency"]) for entry in live_sandbox.admin.ledger())
    assert paid == [(Decimal("75.5"), "USD"), (Decimal("2100"), "USD")], paid
