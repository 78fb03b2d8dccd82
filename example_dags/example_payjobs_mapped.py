"""
One payout in batches: one payment job per batch, each created and waited for by a mapped task.

``split_into_batches`` reads the payees in a task, from ``data/example_payees.json`` beside this
file (never from the run's conf, which Airflow keeps in the run and the audit log, where every
Viewer can read who is paid how much), and returns one create body per batch of at most
``BATCH_SIZE`` payees: the seven payees of the file make three batches.
``CreatePaymentJobOperator.partial(...).expand(body=...)`` makes one ``pay_batch`` task instance
per body. Each creates its own job and waits for it in the triggerer; the batches run side by
side and fail, retry and finish apart. ``max_items`` and ``max_total_amount`` hold for each
batch's job, not for the whole payout.

Each item's clientPaymentId derives from the DAG, the task, the run, the map index and the
item's position in its batch: no two batches share an id, and a retry or a clear of one
instance finds its own job and pays none of its items again, leaving the other batches alone.
So the split must be deterministic: the same payees give the same batches in the same order
(here, the file's order). A retried instance whose batch came out different fails without
paying.

``report`` gets the job token each instance published (``XComArg(pay_batch, key="job_token")``:
the XCom ``job_token`` of every instance, in map index order), retrieves each job and adds up
what was paid per currency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, XComArg, task

from airflow_provider_payjobs.client.job_status import paid_per_currency
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator

PAYEES_FILE = Path(__file__).parent / "data" / "example_payees.json"
SOURCE_ACCOUNT = "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"
BATCH_SIZE = 3


def read_payees() -> list[dict[str, str]]:
    """
    The payees of ``data/example_payees.json``: destination, amount and currency of each.

    Amounts are read as exact decimals (a JSON number too) and passed on as strings.
    """
    payees = json.loads(PAYEES_FILE.read_text(encoding="utf-8"), parse_float=Decimal)
    return [
        {
            "destination": str(payee["destination"]),
            "amount": str(payee["amount"]),
            "currency": str(payee["currency"]),
        }
        for payee in payees
    ]


def batch_body(payees: list[dict[str, str]]) -> dict[str, Any]:
    """The create body of one batch: one gateway payment per payee."""
    return {
        "items": [
            {
                "amount": payee["amount"],
                "currency": payee["currency"],
                "sourceToken": SOURCE_ACCOUNT,
                "destinationToken": payee["destination"],
                "purpose": "INCOME",
                "memo": "example batched payout",
            }
            for payee in payees
        ]
    }


with DAG(
    dag_id="example_payjobs_mapped",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "payjobs"],
) as dag:

    @task(show_return_value_in_logs=False)  # the batches hold payees: not in the task's log
    def split_into_batches() -> list[dict[str, Any]]:
        """One create body per batch of ``BATCH_SIZE`` payees, in the file's order."""
        payees = read_payees()
        return [batch_body(payees[start : start + BATCH_SIZE]) for start in range(0, len(payees), BATCH_SIZE)]

    pay_batch = CreatePaymentJobOperator.partial(
        task_id="pay_batch",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1.0,
        max_items=BATCH_SIZE,
        max_total_amount={"USD": 1_000, "EUR": 1_000},
        retries=2,
    ).expand(body=split_into_batches())

    @task(multiple_outputs=False)  # one XCom, the whole summary: not one per key
    def report(job_tokens: Sequence[str]) -> dict[str, Any]:
        """Print and return what each batch's job paid, and the payout's totals per currency."""
        hook = PayJobsHook()
        batches = []
        totals: dict[str, Decimal] = {}
        # A slice reads every instance's token in one request; iterating would ask for one past
        # the last and log "XCom not found" for it.
        for token in job_tokens[:]:
            job = hook.retrieve_payment_job(token)
            paid = paid_per_currency(job)
            for currency, amount in paid.items():
                totals[currency] = totals.get(currency, Decimal(0)) + amount
            batches.append(
                {
                    "job": token,
                    "status": job.get("status"),
                    "paid_per_currency": {currency: str(amount) for currency, amount in paid.items()},
                }
            )
        summary = {
            "batches": batches,
            "paid_per_currency": {currency: str(amount) for currency, amount in sorted(totals.items())},
        }
        print(f"BATCHED PAYOUT SUMMARY {summary}")
        return summary

    report(XComArg(pay_batch, key="job_token"))
