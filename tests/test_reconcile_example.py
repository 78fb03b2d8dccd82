"""The reconciliation example: its asset watcher as Airflow stores it, and what its task prints."""

from __future__ import annotations

import json
from types import SimpleNamespace

from conftest import EXAMPLE_DAGS, load_dag

from airflow_provider_payjobs.triggers.payjobs import PaymentJobEventTrigger

RECONCILE = EXAMPLE_DAGS / "example_payjobs_reconcile.py"


def test_the_dag_is_scheduled_on_an_asset_watched_by_the_payout_trigger() -> None:
    from airflow.serialization import serialized_objects
    from airflow.triggers.base import BaseEventTrigger

    # Airflow 3.3 names the serializer DagSerialization; 3.0 and 3.1, SerializedDAG.
    serializer = getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG
    dag = load_dag(RECONCILE, "example_payjobs_reconcile")
    stored = json.loads(json.dumps(serializer.to_dict(dag)))  # what the dag-processor saves
    found = list(values_of(stored, "watchers"))
    assert len(found) == 1
    watchers = found[0]
    assert [watcher["name"] for watcher in watchers] == ["payouts_finished"]
    trigger = watchers[0]["trigger"]
    assert trigger["classpath"] == "airflow_provider_payjobs.triggers.payjobs.PaymentJobEventTrigger"
    # The triggerer rebuilds it from these arguments, on every start.
    rebuilt = PaymentJobEventTrigger(**trigger["kwargs"])
    assert rebuilt.serialize() == (trigger["classpath"], trigger["kwargs"])
    assert BaseEventTrigger.hash(*rebuilt.serialize()) == BaseEventTrigger.hash(
        trigger["classpath"], dict(trigger["kwargs"])
    ), "the same arguments are the same trigger"


def test_the_task_reconciles_each_payout_event_and_skips_others(capsys) -> None:
    module = SimpleNamespace()
    exec(compile(RECONCILE.read_text(), str(RECONCILE), "exec"), module.__dict__)
    from_watcher = SimpleNamespace(
        extra={
            "from_trigger": True,
            "payload": {"job": "jobs-1", "status": "COMPLETED", "paid_per_currency": {"USD": "10.5"}},
        }
    )
    from_outlet = SimpleNamespace(extra={"job": "jobs-2", "status": "FAILED", "paid_per_currency": {}})
    unrelated = SimpleNamespace(extra={"rows": 3})
    assert module.reconcile_payouts([from_watcher, unrelated, from_outlet]) == [
        {"job": "jobs-1", "status": "COMPLETED"},
        {"job": "jobs-2", "status": "FAILED"},
    ]
    printed = capsys.readouterr().out
    assert "RECONCILED jobs-1 COMPLETED; paid: 10.5 USD" in printed
    assert "RECONCILED jobs-2 FAILED; paid: nothing" in printed


def values_of(data: object, key: str):
    """Every value under ``key`` anywhere in nested dicts and lists."""
    if isinstance(data, dict):
        for name, value in data.items():
            if name == key:
                yield value
            yield from values_of(value, key)
    elif isinstance(data, list):
        for value in data:
            yield from values_of(value, key)
