"""The operator and the sensor with an outlet asset: a finished payout's summary on its asset event."""

from __future__ import annotations

import pytest
from conftest import TEST_DAGS, load_dag
from payloads import gateway_item

from airflow_provider_payjobs.airflow_support.compat import AirflowFailException
from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.watcher.job_events import payout_from_asset_event

OUTLET_DAGS = TEST_DAGS / "payjobs_outlet_dags.py"
URI = "payjobs://payjobs_default/test-payouts"


def asset_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == URI)
            .order_by(AssetEvent.id)
            .all()
        )
        return [dict(row.extra or {}) for row in rows]


def activate_the_outlet_asset() -> None:
    """
    Make the outlet asset known and active, as the dag-processor does when it parses the file.

    ``dag.test()`` writes the DAG's assets on Airflow 3.1+, not on 3.0, where a task whose outlet
    is not active fails at its start (``AirflowInactiveAssetInInletOrOutletException``).
    """
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = session.query(AssetModel).filter_by(name=URI, uri=URI).one_or_none()
        if asset is None:
            asset = AssetModel(name=URI, uri=URI, group="asset")
            session.add(asset)
            session.flush()
        if session.query(AssetActive).filter_by(name=URI, uri=URI).one_or_none() is None:
            session.add(AssetActive.for_asset(asset))


def task_state(run, task_id: str) -> str:
    ti = next(ti for ti in run.get_task_instances() if ti.task_id == task_id)
    return str(getattr(ti.state, "value", ti.state))


@pytest.mark.dag
def test_the_operator_announces_its_finished_payout(airflow_db, live_sandbox) -> None:
    activate_the_outlet_asset()
    before = len(asset_events())
    run = load_dag(OUTLET_DAGS, "payjobs_test_outlet_operator").test()
    assert task_state(run, "pay") == "success"
    events = asset_events()[before:]
    assert len(events) == 1
    payout = payout_from_asset_event(events[0])
    token = live_sandbox.admin.ledger()[0]["job_token"]
    assert payout == {
        "job": token,
        "status": "COMPLETED",
        "created": PayJobsHook().retrieve_payment_job(token)["created"],
        "items_by_status": {"COMPLETED": 2},
        "totals_per_currency": {"USD": "25.0"},
        "paid_per_currency": {"USD": "25.0"},
    }


@pytest.mark.dag
def test_a_failed_payout_announces_nothing(airflow_db, live_sandbox) -> None:
    activate_the_outlet_asset()
    before = len(asset_events())
    run = load_dag(OUTLET_DAGS, "payjobs_test_outlet_operator").test(run_conf={"memo": "SANDBOX_FAIL_JOB"})
    assert task_state(run, "pay") == "failed"
    assert asset_events()[before:] == []


@pytest.mark.dag
def test_the_sensor_announces_the_payout_it_waited_for(airflow_db, live_sandbox) -> None:
    token = PayJobsHook().create_payment_job({"items": [gateway_item(1)]})["token"]
    activate_the_outlet_asset()
    before = len(asset_events())
    run = load_dag(OUTLET_DAGS, "payjobs_test_outlet_sensor").test(run_conf={"job_token": token})
    assert task_state(run, "wait") == "success"
    events = asset_events()[before:]
    assert [payout_from_asset_event(event)["job"] for event in events] == [token]
    assert payout_from_asset_event(events[0])["paid_per_currency"] == {"USD": "10.5"}


def test_outlets_need_a_wait(sandbox) -> None:
    from airflow.sdk import Asset

    with pytest.raises(PayJobsValidationError, match="outlets: need wait_for_completion=True"):
        CreatePaymentJobOperator(
            task_id="pay", body={"items": [gateway_item(1)]}, outlets=[Asset("payjobs://x/y")]
        )
    operator = CreatePaymentJobOperator(task_id="pay", body={"items": [gateway_item(1)]})
    operator.outlets.append(Asset("payjobs://x/y"))  # as `pay >> asset` would, after init
    with pytest.raises(AirflowFailException, match=r"outlets.*not retried") as caught:
        operator.execute({})
    assert isinstance(caught.value.__cause__, PayJobsValidationError)
    assert sandbox.admin.requests() == [], "nothing sent"
