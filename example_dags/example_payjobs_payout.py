"""
Payout DAG: build payment items from an upstream task, create the job, wait deferrably, report.

The payees come from the Airflow Variable ``payjobs_payout_payees``, a JSON list of
``{"destination", "amount", "currency"}`` (amounts as strings, e.g. ``"125.00"``; an optional
``memo``), or the three below when it is unset. Never from the run's conf or params: Airflow keeps
those in the run and its audit log, where every Viewer reads who is paid how much. ``pay``
returns the job's summary (no payee) as its XCom, so ``report`` renders no payee either.

Every item gets a clientPaymentId derived from the
run, so retries of ``pay`` never pay twice. A new DAG run is a new payout. Clearing ``pay``
resumes its job; marking it failed cancels the job; marking it success lets the job go on, and
``report`` then shows the job as it stands, saying that ``pay`` was marked success.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Variable, task

from airflow_provider_payjobs.airflow_support.compat import AirflowFailException
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.watcher.job_events import job_event_payload

PAYEES_VARIABLE = "payjobs_payout_payees"
SOURCE_ACCOUNT = "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"
DEFAULT_PAYEES = [
    {"destination": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d", "amount": "125.00", "currency": "USD"},
    {"destination": "dest-1c4e2a7b-9f3d-4e8a-b6c5-0d2f8e7a9b14", "amount": "80.50", "currency": "USD"},
    {"destination": "dest-7a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", "amount": "60.00", "currency": "EUR"},
]

with DAG(
    dag_id="example_payjobs_payout",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "payjobs"],
) as dag:
    # Each task's result is one XCom, passed on whole: nothing reads its keys one by one. The body
    # holds the payees: Airflow must not print it in the task's log, which every Viewer reads.
    @task(multiple_outputs=False, show_return_value_in_logs=False)
    def build_items() -> dict[str, Any]:
        """The create body: one gateway payment per payee of the Variable (or the defaults)."""
        payees = Variable.get(PAYEES_VARIABLE, default=DEFAULT_PAYEES, deserialize_json=True)
        return {
            "items": [
                {
                    "amount": payee["amount"],
                    "currency": payee["currency"],
                    "sourceToken": SOURCE_ACCOUNT,
                    "destinationToken": payee["destination"],
                    "purpose": "INCOME",
                    "note": "Monthly payout",
                    "memo": payee.get("memo", "example payout"),
                }
                for payee in payees
            ]
        }

    pay = CreatePaymentJobOperator(
        task_id="pay",
        body=build_items(),
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1.0,
        max_items=500,
        max_total_amount={"USD": 10_000, "EUR": 10_000},
        retries=2,
    )

    @task(multiple_outputs=False)
    def report(summary: dict[str, Any] | None, ti: Any = None) -> dict[str, Any]:
        """Print and return the payout summary (what ``pay`` returned: no item, no payee)."""
        if summary is None:
            return report_marked_success(ti)
        print(f"PAYOUT SUMMARY {summary}")
        return summary

    report(pay.output)


def report_marked_success(ti: Any) -> dict[str, Any]:
    """
    ``pay`` returned no job: a person marked it success before its job finished.

    Marking success lets the job go on (it is never cancelled): report the job as it stands now,
    saying so, rather than a final result nobody has seen.
    """
    token = ti.xcom_pull(task_ids="pay", key="job_token")
    if not token:
        raise AirflowFailException(
            "pay returned no job and published no job token: it was marked success before it created "
            "a job, so nothing was paid in this run. Trigger a new run to pay."
        )
    job = PayJobsHook().retrieve_payment_job(token)
    summary = {**job_event_payload(job), "pay_marked_success": True}
    print(
        f"pay was marked success by hand while payment job {token} was still running; the job goes on "
        f"and is {job.get('status')} now. This summary shows it as it stands and may change: "
        f"check the job in PayQuicker. PAYOUT SUMMARY {summary}"
    )
    return summary
