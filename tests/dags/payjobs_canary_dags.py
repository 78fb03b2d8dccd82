"""
A payout whose payees carry canary values, to find where payee data goes (tests/test_payee_data.py).

The body is the Variable ``payjobs_canary_body``, rendered into ``pay``'s body: the user's own
body is the one place the canaries belong. Everything the provider adds (its XCom, the trigger's
event, its log lines, ``report``'s rendered fields) must hold none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator

with DAG(
    dag_id="payjobs_test_canary_payout",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["test"],
) as dag:
    pay = CreatePaymentJobOperator(
        task_id="pay",
        body="{{ var.json.payjobs_canary_body | tojson }}",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.2,
        timeout=120,
    )

    @task(multiple_outputs=False)
    def report(summary: dict[str, Any]) -> dict[str, Any]:
        print(f"CANARY REPORT {summary}")
        return summary

    report(pay.output)
