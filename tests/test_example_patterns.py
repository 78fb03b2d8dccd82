"""The TaskFlow and mapped payout examples, run whole on real Airflow against a live sandbox."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from conftest import EXAMPLE_DAGS, api_calls, load_dag, logged
from test_dags import task_states, xcom

from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.payout.payment_ids import derive_client_payment_id
from airflow_provider_payjobs.sandbox.server import SandboxProcess

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

pytestmark = pytest.mark.dag

TASKFLOW = EXAMPLE_DAGS / "example_payjobs_taskflow.py"
MAPPED = EXAMPLE_DAGS / "example_payjobs_mapped.py"
PAYEES = json.loads((EXAMPLE_DAGS / "data" / "example_payees.json").read_text(encoding="utf-8"))
# Written out, not summed from the file: the test knows what the file should pay.
PAYOUT_TOTALS = {"EUR": Decimal("175.00"), "USD": Decimal("557.85")}
PAYOUT_DATE = datetime.fromisoformat("2026-11-01T00:00:00+00:00")


def payees_paid() -> Counter[tuple[str, str, Decimal]]:
    """What the payees file asks to pay: (destination, currency, amount) of each payee."""
    return Counter((payee["destination"], payee["currency"], Decimal(payee["amount"])) for payee in PAYEES)


def exact_ledger(sandbox: SandboxProcess) -> list[dict[str, Any]]:
    """The sandbox's ledger, its amounts read as exact decimals (not the floats ``.json()`` gives)."""
    answer = sandbox.admin.session.get(f"{sandbox.admin.root_url}/_sandbox/ledger", timeout=30)
    answer.raise_for_status()
    return cast("list[dict[str, Any]]", answer.json(parse_float=Decimal))


def totals(entries: list[dict[str, Any]]) -> dict[str, Decimal]:
    summed: dict[str, Decimal] = {}
    for entry in entries:
        summed[entry["currency"]] = summed.get(entry["currency"], Decimal(0)) + Decimal(entry["amount"])
    return summed


def succeeded(run: DagRun) -> bool:
    return str(run.state) in ("success", "DagRunState.SUCCESS")


def mapped_instances(run: DagRun, task_id: str) -> dict[int, Any]:
    """The task instances of the mapped task ``task_id`` in ``run``, by map index."""
    return {ti.map_index: ti for ti in run.get_task_instances() if ti.task_id == task_id}


def mapped_xcoms(run: DagRun, task_id: str, key: str) -> dict[int, Any]:
    """The XCom ``key`` of each instance of the mapped task ``task_id`` in ``run``, by map index."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(
            dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key=key
        )
        return {row.map_index: XComModel.deserialize_value(row) for row in rows}


def test_the_payees_file_pays_the_totals_the_tests_expect() -> None:
    assert all(isinstance(payee["amount"], str) for payee in PAYEES), "amounts as strings, never floats"
    assert totals(PAYEES) == PAYOUT_TOTALS


# --- the TaskFlow example: the body from an upstream task ------------------------------------------


@pytest.mark.parametrize("dag_id", ["example_payjobs_taskflow", "example_payjobs_taskflow_template"])
def test_taskflow_example_pays_the_body_of_its_upstream_task(
    airflow_db: Path, live_sandbox: SandboxProcess, dag_id: str
) -> None:
    run = load_dag(TASKFLOW, dag_id).test()
    assert succeeded(run), task_states(run)
    assert task_states(run) == {"build_body": "success", "pay": "success"}
    token = xcom(run, "pay", "job_token")
    assert isinstance(token, str), "pay published its job token"
    job = PayJobsHook().retrieve_payment_job(token)
    assert job["status"] == "COMPLETED"
    assert {item["status"] for item in job["items"]} == {"COMPLETED"}
    paid = Counter(
        (item["destinationToken"], item["currency"], Decimal(str(item["amount"]))) for item in job["items"]
    )
    assert paid == payees_paid(), "each payee of the file, its amount exact"
    ledger = exact_ledger(live_sandbox)
    assert {entry["job_token"] for entry in ledger} == {token}
    assert len(ledger) == len(PAYEES) and len({entry["clientPaymentId"] for entry in ledger}) == len(PAYEES)
    assert totals(ledger) == PAYOUT_TOTALS
    assert len(api_calls(live_sandbox, "POST", "/payments/jobs")) == 1


def test_taskflow_template_without_tojson_fails_naming_the_body_and_sends_nothing(
    airflow_db: Path, live_sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    dag = load_dag(TASKFLOW, "example_payjobs_taskflow_template")
    pay = dag.get_task("pay")
    assert pay.body == "{{ ti.xcom_pull(task_ids='build_body') | tojson }}"
    # The example's DAG, as it would be written without the filter: the XCom renders as its repr.
    pay.body = "{{ ti.xcom_pull(task_ids='build_body') }}"
    logged(capsys)
    run = dag.test()
    log = logged(capsys)
    # Failed for good at the first try, although pay has retries (a retryable failure would leave
    # it up_for_retry): the same body would fail again.
    assert task_states(run) == {"build_body": "success", "pay": "failed"}
    assert "body: is not valid JSON" in log
    assert "Expecting property name enclosed in double quotes" in log, "Python's single quotes"
    assert live_sandbox.admin.requests() == [], "nothing sent: no token, no create"
    assert live_sandbox.admin.ledger() == []


# --- the mapped example: one job per batch ------------------------------------------------------------


def test_mapped_example_pays_each_batch_in_its_own_job_once(
    airflow_db: Path, live_sandbox: SandboxProcess
) -> None:
    run = load_dag(MAPPED, "example_payjobs_mapped").test()
    assert succeeded(run), task_states(run)
    instances = mapped_instances(run, "pay_batch")
    assert sorted(instances) == [0, 1, 2]
    assert {str(getattr(ti.state, "value", ti.state)) for ti in instances.values()} == {"success"}
    tokens = mapped_xcoms(run, "pay_batch", "job_token")
    assert sorted(tokens) == [0, 1, 2] and len(set(tokens.values())) == 3, "one job per batch"

    ledger = exact_ledger(live_sandbox)
    by_job = {token: [entry for entry in ledger if entry["job_token"] == token] for token in tokens.values()}
    assert sum(len(entries) for entries in by_job.values()) == len(ledger), "no job but the batches'"
    assert [len(by_job[tokens[index]]) for index in range(3)] == [3, 3, 1], "batches of 3, in file order"
    assert len({entry["clientPaymentId"] for entry in ledger}) == len(ledger) == len(PAYEES), "each once"
    assert Counter((entry["currency"], Decimal(entry["amount"])) for entry in ledger) == Counter(
        (currency, amount) for _, currency, amount in payees_paid().elements()
    )
    assert totals(ledger) == PAYOUT_TOTALS
    for map_index, token in tokens.items():
        # Derived from the map index: the same position in two batches gets two ids.
        expected = {
            derive_client_payment_id("example_payjobs_mapped", "pay_batch", run.run_id, map_index, position)
            for position in range(len(by_job[token]))
        }
        assert {entry["clientPaymentId"] for entry in by_job[token]} == expected, map_index
    assert len(api_calls(live_sandbox, "POST", "/payments/jobs")) == 3

    summary = xcom(run, "report")
    assert summary is not None
    assert [batch["job"] for batch in summary["batches"]] == [tokens[index] for index in range(3)]
    assert {batch["status"] for batch in summary["batches"]} == {"COMPLETED"}
    assert {currency: Decimal(amount) for currency, amount in summary["paid_per_currency"].items()} == (
        PAYOUT_TOTALS
    )


def test_mapped_example_run_again_finds_each_batchs_job_and_pays_nothing_again(
    airflow_db: Path, live_sandbox: SandboxProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    # A server that does not deduplicate clientPaymentIds: only the operator's look-up keeps a
    # second try of a batch from paying it again.
    live_sandbox.admin.set_config(accept_duplicate_client_ids=True)
    dag = load_dag(MAPPED, "example_payjobs_mapped")
    first = dag.test(logical_date=PAYOUT_DATE)
    assert succeeded(first), task_states(first)
    tokens = mapped_xcoms(first, "pay_batch", "job_token")
    paid_first = exact_ledger(live_sandbox)
    logged(capsys)
    # The same run once more (same run id, so the same clientPaymentIds): dag.test deletes the
    # run and its task state, so every pay_batch instance runs again knowing nothing of its job.
    again = dag.test(logical_date=PAYOUT_DATE, run_after=first.run_after)
    log = logged(capsys)
    assert again.run_id == first.run_id
    assert succeeded(again), task_states(again)
    assert mapped_xcoms(again, "pay_batch", "job_token") == tokens, "each batch found its own job"
    for token in tokens.values():
        assert f"Payment job {token} already holds these" in log
    assert exact_ledger(live_sandbox) == paid_first, "nothing paid again"
    assert len(api_calls(live_sandbox, "POST", "/payments/jobs")) == 3
