"""
Reconcile every payout that finishes, without a sensor or a deferred task per job.

``PAYOUTS_FINISHED`` is an asset watched by :class:`PaymentJobEventTrigger`: each payment job of
the account that finishes (COMPLETED, FAILED or CANCELLED), whoever created it (a DAG, the portal,
another system), becomes one asset event, and Airflow runs this DAG on it. Events that arrive
between two runs are handed to one run together: the task reconciles each of them.

The watcher starts once this DAG is unpaused and its file parsed. Jobs already finished then are
not reported; jobs open then, and every later job, are reported once when they finish.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_payjobs.triggers.payjobs import PaymentJobEventTrigger
from airflow_provider_payjobs.watcher.job_events import payout_from_asset_event

PAYOUTS_FINISHED = Asset(
    "payjobs://payjobs_default/jobs",
    watchers=[
        AssetWatcher(
            name="payouts_finished",
            # Every 5 seconds for the demo and the e2e run; a minute is plenty for a real account.
            trigger=PaymentJobEventTrigger(payjobs_conn_id="payjobs_default", poll_interval=5.0),
        )
    ],
)


def reconcile_payouts(events: Iterable[Any]) -> list[dict[str, Any]]:
    """One line per finished payout in ``events``; what was reconciled (events of no job are skipped)."""
    reconciled = []
    for event in events:
        payout = payout_from_asset_event(event)
        if payout is None:
            continue
        paid = ", ".join(f"{amount} {currency}" for currency, amount in payout["paid_per_currency"].items())
        print(f"RECONCILED {payout['job']} {payout['status']}; paid: {paid or 'nothing'}")
        reconciled.append({"job": payout["job"], "status": payout["status"]})
    return reconciled


with DAG(
    dag_id="example_payjobs_reconcile",
    schedule=[PAYOUTS_FINISHED],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "payjobs"],
) as dag:

    @task
    def reconcile(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """Book each payout that finished since the last run."""
        return reconcile_payouts((triggering_asset_events or {}).get(PAYOUTS_FINISHED, []))

    reconcile()
