"""
The create body from an upstream TaskFlow task, handed to the operator in the two ways that work.

``build_body`` reads the payees in a task, from ``data/example_payees.json`` beside this file
(yours would come from a table, a file in storage or a Variable; never from the run's conf,
which Airflow keeps in the run and the audit log, where every Viewer can read who is paid how
much), and returns the body as a dict, amounts as decimal strings. Two DAGs pass it on:

- ``example_payjobs_taskflow``: ``body=build_body()``. The XComArg itself is the body: Airflow
  resolves it to the dict the task returned before ``pay`` runs, no template is rendered, and
  the XComArg makes ``build_body`` upstream of ``pay``.
- ``example_payjobs_taskflow_template``:
  ``body="{{ ti.xcom_pull(task_ids='build_body') | tojson }}"``. A template renders to a string;
  ``tojson`` writes the dict as JSON, which the operator parses (amounts as exact decimals). A
  template sets no dependency: ``build >> pay`` does.

Without ``| tojson`` the template renders ``str()`` of the dict, Python's repr:
``{'items': [{'amount': '125.00', ...}]}``, with single quotes (and ``True``/``None`` where JSON
has ``true``/``null``). That is not JSON: ``pay`` fails at once, without retries, with
``body: is not valid JSON (...)``, and sends nothing. ``tojson`` cannot write a Decimal or a
datetime: return amounts as strings, as ``build_body`` does.

``render_template_as_native_obj=True`` on the DAG renders every template with Jinja's native
environment, which returns Python objects instead of strings: there,
``"{{ ti.xcom_pull(task_ids='build_body') }}"`` is the dict itself and needs no ``tojson``. But
it applies to every templated field of every task of the DAG: a field that must stay a string
may then come out as a number, a list or a dict (``"{{ ds_nodash }}"`` renders the int
``20261101``, which a ``payout_key`` refuses). Airflow 3.3 also takes it on one operator. The
XComArg needs none of this.

Each DAG run pays everyone in the file once; a new run is a new payout.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator

PAYEES_FILE = Path(__file__).parent / "data" / "example_payees.json"
SOURCE_ACCOUNT = "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"


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


# One XCom, the whole body (not one per key), kept out of the task's log: it holds the payees.
@task(multiple_outputs=False, show_return_value_in_logs=False)
def build_body() -> dict[str, Any]:
    """The create body: one gateway payment per payee of the file."""
    return {
        "items": [
            {
                "amount": payee["amount"],
                "currency": payee["currency"],
                "sourceToken": SOURCE_ACCOUNT,
                "destinationToken": payee["destination"],
                "purpose": "INCOME",
                "memo": "example taskflow payout",
            }
            for payee in read_payees()
        ]
    }


with DAG(
    dag_id="example_payjobs_taskflow",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "payjobs"],
) as taskflow_dag:
    CreatePaymentJobOperator(
        task_id="pay",
        body=build_body(),
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1.0,
        # A body that grew by mistake is refused before anything is sent.
        max_items=50,
        max_total_amount={"USD": 1_000, "EUR": 1_000},
        retries=2,
    )

with DAG(
    dag_id="example_payjobs_taskflow_template",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "payjobs"],
) as template_dag:
    build = build_body()
    pay = CreatePaymentJobOperator(
        task_id="pay",
        body="{{ ti.xcom_pull(task_ids='build_body') | tojson }}",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1.0,
        # A body that grew by mistake is refused before anything is sent.
        max_items=50,
        max_total_amount={"USD": 1_000, "EUR": 1_000},
        retries=2,
    )
    build >> pay
