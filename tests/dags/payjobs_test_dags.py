"""DAGs for the tests: sync waits, deadlines, dry runs, and tries that die at chosen points."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG

from airflow_provider_payjobs.airflow_support.compat import AirflowException
from airflow_provider_payjobs.operators.payjobs import STATE_CREATE_STARTED, CreatePaymentJobOperator

START = datetime(2026, 1, 1)
BODY = {
    "items": [
        {
            "amount": 12.5,
            "currency": "USD",
            "destinationToken": f"dest-631b200f-665d-4dbe-bd01-{number:012d}",
            "memo": "{{ params.memo }}",
        }
        for number in range(3)
    ]
}


class DyingCreateOperator(CreatePaymentJobOperator):
    """Dies on its first try at ``death_point``, as a worker killed there would; later tries run normally."""

    def __init__(self, *, death_point: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.death_point = death_point

    def _create(self, context: Any, state: Any, body: dict[str, Any]) -> dict[str, Any]:
        if self.death_point == "before_token_stored" and context["ti"].try_number == 1:
            state.set(STATE_CREATE_STARTED, datetime.now(timezone.utc).isoformat())
            self.hook.create_payment_job(body)
            raise AirflowException("simulated death after the create, before the job token was stored")
        return super()._create(context, state, body)

    def _publish(self, context: Any, token: str) -> None:
        super()._publish(context, token)
        if self.death_point == "after_token_stored" and context["ti"].try_number == 1:
            raise AirflowException("simulated death after the job token was stored")


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, params={"memo": "test"})


with dag("payjobs_test_sync_wait") as sync_wait:
    CreatePaymentJobOperator(
        task_id="pay", body=BODY, wait_for_completion=True, deferrable=False, poll_interval=0.1
    )

with dag("payjobs_test_full_job") as full_job:
    CreatePaymentJobOperator(
        task_id="pay",
        body=BODY,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.1,
        return_full_job=True,
    )

with dag("payjobs_test_deferred_deadline") as deferred_deadline:
    CreatePaymentJobOperator(
        task_id="pay",
        body={**BODY, "notBefore": "{{ (dag_run.run_after + macros.timedelta(days=30)).isoformat() }}"},
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.2,
        timeout=timedelta(seconds=1),
    )

with dag("payjobs_test_dry_run") as dry_run:
    CreatePaymentJobOperator(task_id="pay", body=BODY, dry_run=True)

for point in ("before_token_stored", "after_token_stored"):
    with dag(f"payjobs_test_dies_{point}") as dying:
        DyingCreateOperator(
            task_id="pay",
            body=BODY,
            death_point=point,
            wait_for_completion=True,
            deferrable=True,
            poll_interval=0.1,
            retries=1,
            retry_delay=timedelta(seconds=0),
        )
    globals()[f"dies_{point}"] = dying
