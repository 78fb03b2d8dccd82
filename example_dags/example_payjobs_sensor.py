"""
Wait on a payment job created elsewhere (another system, another DAG), then act on its result.

Trigger with ``{"job_token": "jobs-..."}``. The sensor defers to the triggerer, so no worker
slot is held while the payout runs; a FAILED or CANCELLED job fails the task without retries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_payjobs.sensors.payjobs import PaymentJobSensor

with DAG(
    dag_id="example_payjobs_sensor",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"job_token": Param("jobs-00000000-0000-0000-0000-000000000000", type="string", minLength=41)},
    tags=["example", "payjobs"],
) as dag:
    wait = PaymentJobSensor(
        task_id="wait_for_payout",
        job_token="{{ params.job_token }}",
        deferrable=True,
        poke_interval=1,
        timeout=600,
    )

    # The sensor returns the job's summary (no payee), one XCom read whole: not one XCom per key.
    @task(multiple_outputs=False)
    def reconcile_books(summary: dict[str, Any]) -> dict[str, Any]:
        """Stand-in for booking the payout once it finished."""
        print(f"BOOKED {summary}")
        return summary

    reconcile_books(wait.output)
