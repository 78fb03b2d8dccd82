"""
Payroll DAG: pay each payee once per payroll date, however often the date is run.

``pay`` has ``payout_key="payroll-{{ ds }}"``: the clientPaymentIds come from the DAG, the task,
the key and each item's payee, not from the DAG run. Before its first POST, ``pay`` looks for a job
that already holds those ids (over the last 35 days) and adopts it instead of paying again. So a
re-run of a date, a manual run for a date already paid, or a backfill pays nobody twice, also on a
server that does not deduplicate clientPaymentIds. Trigger it with a logical date (the UI's trigger
form gives one): ``ds`` names the payroll. ``schedule="@monthly"`` would pay on the first of each
month. A run without a logical date has no ``ds``: its ``pay`` fails rendering the key, before
paying anything.

The payees come from the Airflow Variable ``payjobs_payroll_payees``, a JSON list of
``{"destination", "amount", "currency"}`` (amounts as strings, e.g. ``"1250.00"``), or the three
below when it is unset. Not from the run's conf: conf is kept in the run and the audit log, where
every Viewer can read who is paid how much.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from airflow.sdk import DAG, Variable, task

from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator

PAYEES_VARIABLE = "payjobs_payroll_payees"
SOURCE_ACCOUNT = "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"
DEFAULT_PAYEES = [
    {"destination": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d", "amount": "1250.00", "currency": "USD"},
    {"destination": "dest-1c4e2a7b-9f3d-4e8a-b6c5-0d2f8e7a9b14", "amount": "980.50", "currency": "USD"},
    {"destination": "dest-7a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", "amount": "1100.00", "currency": "USD"},
]
PAYEE_FIELDS = ("destination", "amount", "currency")

with DAG(
    dag_id="example_payjobs_payroll",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Two runs of one payroll date paying at once could both look for the key's job, both find
    # none, and both post: one run at a time, so the second always finds the first one's job.
    max_active_runs=1,
    tags=["example", "payjobs"],
) as dag:
    # Each task's result is one XCom, passed on whole: nothing reads its keys one by one. The body
    # holds the payees: Airflow must not print it in the task's log, which every Viewer reads.
    @task(multiple_outputs=False, show_return_value_in_logs=False)
    def build_payroll() -> dict[str, Any]:
        """The create body: one gateway payment per payee of the Variable (or the defaults)."""
        return {
            "items": [
                {
                    "amount": payee["amount"],
                    "currency": payee["currency"],
                    "sourceToken": SOURCE_ACCOUNT,
                    "destinationToken": payee["destination"],
                    "purpose": "INCOME",
                    "note": "Monthly payroll",
                    "memo": "example payroll",
                }
                for payee in read_payees()
            ]
        }

    pay = CreatePaymentJobOperator(
        task_id="pay",
        body=build_payroll(),
        payout_key="payroll-{{ ds }}",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1.0,
        max_items=500,
        max_total_amount={"USD": "10000"},
        retries=2,
    )

    @task(multiple_outputs=False)
    def report(summary: dict[str, Any]) -> dict[str, Any]:
        """Print and return the payroll summary (what ``pay`` returned: no item, no payee)."""
        print(f"PAYROLL SUMMARY {summary}")
        return summary

    report(pay.output)


def read_payees() -> list[dict[str, str]]:
    """
    The payees of the Variable ``payjobs_payroll_payees``, or the defaults when it is unset.

    Amounts are read as exact decimals (a JSON number too) and passed on as strings.
    """
    text = Variable.get(PAYEES_VARIABLE, default=None)
    if text is None:
        return DEFAULT_PAYEES
    try:
        payees = json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise ValueError(f"Variable {PAYEES_VARIABLE} is not valid JSON: {error}") from None
    if not isinstance(payees, list) or not payees:
        raise ValueError(f"Variable {PAYEES_VARIABLE} must be a non-empty JSON list of payees")
    return [_checked_payee(position, payee) for position, payee in enumerate(payees)]


def _checked_payee(position: int, payee: Any) -> dict[str, str]:
    where = f"Variable {PAYEES_VARIABLE}[{position}]"
    if not isinstance(payee, dict):
        raise ValueError(f"{where} must be an object with {', '.join(PAYEE_FIELDS)}")
    missing = [name for name in PAYEE_FIELDS if name not in payee]
    if missing:
        raise ValueError(f"{where} has no {', '.join(missing)}")
    if isinstance(payee["amount"], bool) or not isinstance(payee["amount"], (str, int, Decimal)):
        raise ValueError(f'{where}.amount must be a decimal string such as "1250.00"')
    try:
        amount = Decimal(str(payee["amount"]))
    except InvalidOperation:
        raise ValueError(f'{where}.amount must be a decimal string such as "1250.00"') from None
    return {
        "destination": str(payee["destination"]),
        "amount": str(amount),
        "currency": str(payee["currency"]),
    }
