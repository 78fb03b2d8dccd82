"""DAGs for the outlet tests: the operator and the sensor announce a finished payout on an asset."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset

from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.sensors.payjobs import PaymentJobSensor

PAYOUT_DONE = Asset("payjobs://payjobs_default/test-payouts")
BODY = {
    "items": [
        {
            "amount": 12.5,
            "currency": "USD",
            "destinationToken": f"dest-631b200f-665d-4dbe-bd01-{number:012d}",
            "memo": "{{ params.memo }}",
        }
        for number in range(2)
    ]
}


def dag(dag_id: str, **params: object) -> DAG:
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, params=params)


with dag("payjobs_test_outlet_operator", memo="paid") as outlet_operator:
    CreatePaymentJobOperator(
        task_id="pay",
        body=BODY,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.2,
        outlets=[PAYOUT_DONE],
    )

with dag(
    "payjobs_test_outlet_sensor", job_token="jobs-00000000-0000-0000-0000-000000000000"
) as outlet_sensor:
    PaymentJobSensor(
        task_id="wait",
        job_token="{{ params.job_token }}",
        poke_interval=0.2,
        timeout=60,
        outlets=[PAYOUT_DONE],
    )
