"""
Schedule a payout for later, and cancel it when a condition says so (here: the ``cancel`` param).

Shows ``notBefore`` as a template, a short-circuit condition, and ``if_terminal="skip"``,
which makes cancelling a job that already finished a no-op instead of a failure.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, Param

from airflow_provider_payjobs.operators.payjobs import CancelPaymentJobOperator, CreatePaymentJobOperator

with DAG(
    dag_id="example_payjobs_cancel",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"cancel": Param(True, type="boolean")},
    tags=["example", "payjobs"],
) as dag:
    schedule = CreatePaymentJobOperator(
        task_id="schedule_payout",
        body={
            # Held in SCHEDULED until a day after the run.
            "notBefore": "{{ (dag_run.run_after + macros.timedelta(days=1)).isoformat() }}",
            "items": [
                {
                    "amount": 250,
                    "currency": "USD",
                    "sourceToken": "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860",
                    "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
                    "purpose": "BONUS",
                }
            ],
        },
    )

    should_cancel = ShortCircuitOperator(
        task_id="should_cancel", python_callable=lambda params: bool(params["cancel"])
    )

    cancel = CancelPaymentJobOperator(
        task_id="cancel_payout",
        job_token="{{ ti.xcom_pull(task_ids='schedule_payout', key='job_token') }}",
        if_terminal="skip",
    )

    schedule >> should_cancel >> cancel
