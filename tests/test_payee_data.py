"""
Where payee data goes in a real ``airflow dags test`` run: only where the user's own body put it.

Canary values (a destination token, an email, a program user id, memos, notes) are paid by
``payjobs_test_canary_payout``, whose body is rendered from a Variable into ``pay``'s body. Then
every place Airflow keeps something is searched: the run's whole output (task and trigger logs),
log files, and every row of every table of the metadata database (XCom, rendered fields,
``task_instance.next_kwargs``, triggers, the audit log). The one allowed place is ``pay``'s
rendered ``body``, the user's own.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import airflow_dags_test

pytestmark = pytest.mark.dag

CANARIES = {
    "destinationToken": "dest-c0ffee00-cafe-4bad-beef-000000c0ffee",
    "email": "canary.payee.93f1@example.com",
    "programUserId": "canary-user-93f1",
    "memo": "canary-memo-5e7a",
    "note": "canary-note-81b2",
    "portal_memo": "canary-memo-portal-2c4d",
}
DAG_ID = "payjobs_test_canary_payout"


def canary_body(fail_job: bool = False) -> dict[str, Any]:
    gateway = {
        "amount": "12.50",
        "currency": "USD",
        "sourceToken": "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860",
        "destinationToken": CANARIES["destinationToken"],
        "memo": "SANDBOX_FAIL_JOB" if fail_job else CANARIES["memo"],
        "note": CANARIES["note"],
        "purpose": "INCOME",
    }
    portal = {
        "amount": "7.25",
        "currency": "EUR",
        "email": CANARIES["email"],
        "programUserId": CANARIES["programUserId"],
        "memo": CANARIES["portal_memo"],
    }
    # A job is either gateway or portal: one job per kind, the same canaries in both runs.
    return {"items": [gateway]} if fail_job else {"items": [portal]}


def run_dags_test(variables: dict[str, Any], dag_id: str = DAG_ID) -> subprocess.CompletedProcess[str]:
    return airflow_dags_test(dag_id, variables)


def found_in(text: str) -> list[str]:
    return [name for name, value in CANARIES.items() if value in text]


def logged_outside_the_users_body(output: str) -> list[str]:
    """
    The canaries in a run's output, leaving out Airflow's own DEBUG lines of the messages a task
    sends its supervisor (Airflow 3.0 logs them under ``dags test``): rendered fields and XComs,
    whose stored values the database search checks place by place.
    """
    carried = ("msg=SetRenderedFields(", "msg=SetXCom(")
    lines = [line for line in output.splitlines() if not any(message in line for message in carried)]
    return found_in("\n".join(lines))


def database_rows(home: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table of the metadata database, as (table, row)."""
    with sqlite3.connect(home / "airflow.db") as database:
        database.row_factory = sqlite3.Row
        tables = [row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            (table, dict(row))
            for table in tables
            for row in database.execute(f'SELECT * FROM "{table}"')  # names from sqlite_master
        ]


def canaries_outside_the_users_body(home: Path, users_task: str | None = None) -> dict[str, list[str]]:
    """
    Where canaries were found, by place, leaving out ``pay``'s rendered ``body`` and the XCom of
    ``users_task`` (the user's task that reads the payees and returns the body).
    """
    places: dict[str, list[str]] = {}
    for table, row in database_rows(home):
        if table == "xcom" and row.get("task_id") == users_task:
            continue
        if table == "rendered_task_instance_fields" and row.get("task_id") == "pay":
            fields = json.loads(row["rendered_fields"])
            fields.pop("body", None)  # the user's own body: it may hold them
            row = {**row, "rendered_fields": fields}
        text = " ".join(str(value) for value in row.values())
        if found_in(text):
            places.setdefault(table, []).extend(found_in(text))
    for log_file in (home / "logs").rglob("*") if (home / "logs").exists() else ():
        if log_file.is_file() and found_in(log_file.read_text(errors="replace")):
            places[str(log_file.relative_to(home))] = found_in(log_file.read_text(errors="replace"))
    return places


def test_a_payout_keeps_payee_data_to_the_users_own_body(airflow_db, live_sandbox) -> None:
    result = run_dags_test({"payjobs_canary_body": canary_body()})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "CANARY REPORT" in output and "Trigger" in output, "the run deferred and reported"
    assert logged_outside_the_users_body(output) == [], "payee data in the task or trigger logs"
    places = canaries_outside_the_users_body(airflow_db)
    assert places == {}, places
    # The search can find: the user's body is stored as pay's rendered field, canaries and all.
    rendered = [row for table, row in database_rows(airflow_db) if table == "rendered_task_instance_fields"]
    assert any(CANARIES["email"] in str(row) for row in rendered)


def test_a_failed_payout_names_no_payee_in_its_errors(airflow_db, live_sandbox) -> None:
    result = run_dags_test({"payjobs_canary_body": canary_body(fail_job=True)})
    output = result.stdout + result.stderr
    # pay failed on the job's failure (not on anything else), naming the unpaid item.
    assert result.returncode != 0 and "is FAILED; items: 1 FAILED" in output, output[-3000:]
    assert "unpaid items: " in output and "(12.5 USD: FAILED)" in output, output[-3000:]
    assert logged_outside_the_users_body(output) == [], "payee data in the failure's log lines"
    assert canaries_outside_the_users_body(airflow_db) == {}
    # The search can find: this run's body is pay's rendered field, its note included (Airflow's
    # masker shows the destination token as *** there: its key holds "token").
    rendered = [
        str(row) for table, row in database_rows(airflow_db) if table == "rendered_task_instance_fields"
    ]
    assert any(CANARIES["note"] in row and "SANDBOX_FAIL_JOB" in row for row in rendered)


def test_an_error_quoting_a_job_answer_hides_its_payee_values() -> None:
    from airflow_provider_payjobs.client.answers import Answer, malformed

    body = json.dumps(
        {"token": "jobs-x", "items": [{"amount": 5, "email": CANARIES["email"], "memo": CANARIES["memo"]}]}
    )
    error = malformed(Answer(200, {}, body.encode()), "GET", "/payments/jobs/jobs-x", "no status")
    assert found_in(str(error)) == [] and found_in(repr(error)) == [] and '"email": "***"' in str(error)


@pytest.mark.parametrize("fail_job", [False, True], ids=["success", "failed"])
def test_the_trigger_event_carries_no_payee(live_sandbox, fail_job: bool) -> None:
    """The triggerer logs each event it fires, and Airflow keeps it as next_kwargs for a while."""
    import asyncio
    import time

    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
    from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

    token = PayJobsHook().create_payment_job(canary_body(fail_job))["token"]
    trigger = PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 60, poll_interval=0.1)

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    events = asyncio.run(collect())
    assert [event["status"] for event in events] == ["failed" if fail_job else "success"]
    assert found_in(json.dumps(events)) == [], events


def test_the_payout_example_keeps_its_payees_out_of_logs_and_downstream(airflow_db, live_sandbox) -> None:
    """The example reads payees in a task whose return value Airflow must not print in its log."""
    payees = [
        {
            "destination": CANARIES["destinationToken"],
            "amount": "4.75",
            "currency": "USD",
            "memo": CANARIES["memo"],
        }
    ]
    result = run_dags_test({"payjobs_payout_payees": payees}, "example_payjobs_payout")
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "PAYOUT SUMMARY" in output, output[-3000:]
    assert logged_outside_the_users_body(output) == [], (
        "payee data in a task's log (show_return_value_in_logs)"
    )
    assert canaries_outside_the_users_body(airflow_db, users_task="build_items") == {}
    xcoms = [
        row for table, row in database_rows(airflow_db) if table == "xcom" and row["task_id"] == "build_items"
    ]
    assert any(CANARIES["memo"] in str(row) for row in xcoms), "the search finds the user's own XCom"
