"""on_kill follows what the person did: the decision table, the state lookup, and both on_kill paths."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest
from conftest import logged
from payloads import gateway_item

from airflow_provider_payjobs.airflow_support import user_action
from airflow_provider_payjobs.airflow_support.compat import AirflowTaskTimeout
from airflow_provider_payjobs.airflow_support.user_action import MISSING, decide, read_task_state
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

TI = SimpleNamespace(dag_id="payouts", run_id="manual__1", task_id="pay", map_index=-1)


# --- the table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "cancel"),
    [
        ("failed", True),  # mark failed, the task or its run
        ("skipped", True),  # mark skipped
        ("success", False),  # mark success, the task or its run
        (None, False),  # cleared
        ("scheduled", False),
        ("queued", False),
        ("running", False),  # cleared: the new try already runs
        ("restarting", False),
        ("deferred", False),  # the new try deferred again, or the trigger moved
        ("up_for_retry", False),
        ("up_for_reschedule", False),
    ],
)
def test_the_trigger_cancels_only_when_the_person_wanted_the_work_stopped(state, cancel: bool) -> None:
    verdict = decide(state)
    assert verdict.cancel is cancel and verdict.certain


@pytest.mark.parametrize(
    ("state", "timed_out", "cancel"),
    [
        ("failed", False, True),
        ("skipped", False, True),
        ("success", False, False),
        ("restarting", False, False),  # cleared while running in the worker
        (None, False, False),
        ("running", True, True),  # execution_timeout: a deadline
        ("running", False, False),  # the worker shuts down: the next try resumes the job
    ],
)
def test_the_worker_table(state, timed_out: bool, cancel: bool) -> None:
    assert decide(state, in_worker=True, timed_out=timed_out).cancel is cancel


@pytest.mark.parametrize(
    "state", [RuntimeError("no supervisor"), MISSING, "removed", "upstream_failed", "??"]
)
def test_when_in_doubt_the_payout_goes_on_and_says_how_to_stop_it(state) -> None:
    verdict = decide(state)
    assert not verdict.cancel and not verdict.certain
    line = verdict.describe("jobs-1")
    assert "Payment job jobs-1 goes on, not cancelled" in line and "cancel it in PayQuicker" in line


def test_enum_states_read_like_their_values() -> None:
    from airflow.utils.state import TaskInstanceState

    assert decide(TaskInstanceState.FAILED).cancel and not decide(TaskInstanceState.SUCCESS).cancel


# --- reading the state back -------------------------------------------------------------------------


@pytest.fixture
def server_states(monkeypatch: pytest.MonkeyPatch):
    """Stands in for the Task SDK's call to the API server: answers from a dict, records the queries."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    answer: dict = {}
    queries: list[dict] = []

    def get_task_states(**query):
        queries.append(query)
        if isinstance(answer.get("raise"), BaseException):
            raise answer["raise"]
        if answer.get("block"):
            answer["block"].wait(10)
        return answer.get("states", {})

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(get_task_states))
    return SimpleNamespace(answer=answer, queries=queries)


def test_the_state_is_read_for_exactly_this_task_instance(server_states) -> None:
    server_states.answer["states"] = {"manual__1": {"pay": "failed"}}
    assert read_task_state(TI) == "failed"
    assert server_states.queries == [
        {"dag_id": "payouts", "map_index": -1, "task_ids": ["pay"], "run_ids": ["manual__1"]}
    ]
    mapped = SimpleNamespace(**{**vars(TI), "map_index": 2})
    server_states.answer["states"] = {"manual__1": {"pay_2": "success"}}
    assert read_task_state(mapped) == "success"
    server_states.answer["states"] = {"manual__1": {"pay": None}}
    assert read_task_state(TI) is None
    server_states.answer["states"] = {}
    assert read_task_state(TI) == MISSING
    with pytest.raises(LookupError):
        read_task_state(None)


def test_a_worker_gives_up_on_a_lookup_that_hangs(server_states, monkeypatch) -> None:
    monkeypatch.setattr(user_action, "WORKER_LOOKUP_SECONDS", 0.2)
    release = threading.Event()
    server_states.answer["block"] = release
    started = time.monotonic()
    verdict = user_action.decide_in_worker(TI, timed_out=False)
    release.set()
    assert time.monotonic() - started < 2
    assert not verdict.cancel and not verdict.certain and "no answer within 0.2 s" in verdict.reason


# --- both on_kill paths against the sandbox -------------------------------------------------------


def _job(hook: PayJobsHook, position: int = 0) -> str:
    return hook.create_payment_job({"items": [gateway_item(position)]})["token"]


def _trigger(token: str) -> PaymentJobTrigger:
    trigger = PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 30)
    trigger.task_instance = TI
    return trigger


@pytest.mark.parametrize(
    ("state", "status"),
    [("failed", "CANCELLED"), ("success", "SUBMITTED"), (None, "SUBMITTED"), ("deferred", "SUBMITTED")],
)
def test_trigger_on_kill_follows_the_person(sandbox, server_states, capsys, state, status: str) -> None:
    hook = PayJobsHook()
    token = _job(hook)
    server_states.answer["states"] = {"manual__1": {"pay": state}}
    asyncio.run(_trigger(token).on_kill())
    assert hook.retrieve_payment_job(token)["status"] == status
    assert ("Cancelling payment job" if status == "CANCELLED" else "goes on, not cancelled") in logged(capsys)


def test_trigger_on_kill_keeps_the_job_when_the_state_cannot_be_read(sandbox, server_states, capsys) -> None:
    hook = PayJobsHook()
    token = _job(hook)
    server_states.answer["raise"] = RuntimeError("supervisor went away")
    asyncio.run(_trigger(token).on_kill())
    assert hook.retrieve_payment_job(token)["status"] == "SUBMITTED"
    assert "could not be read (supervisor went away)" in logged(capsys)


def test_trigger_on_kill_of_an_already_cancelled_job_logs_and_never_raises(sandbox, server_states, capsys):
    hook = PayJobsHook()
    token = _job(hook)
    hook.cancel_payment_job(token)
    server_states.answer["states"] = {"manual__1": {"pay": "failed"}}
    asyncio.run(_trigger(token).on_kill())
    assert "Could not cancel payment job" in logged(capsys)


def _operator(token: str, **kwargs) -> CreatePaymentJobOperator:
    operator = CreatePaymentJobOperator(task_id="pay", body={"items": []}, **kwargs)
    operator.job_token = token
    operator._task_instance = TI
    return operator


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("failed", "CANCELLED"),
        ("success", "SUBMITTED"),
        ("restarting", "SUBMITTED"),
        ("running", "SUBMITTED"),
    ],
)
def test_worker_on_kill_follows_the_person(sandbox, server_states, state, status: str) -> None:
    hook = PayJobsHook()
    token = _job(hook)
    server_states.answer["states"] = {"manual__1": {"pay": state}}
    _operator(token).on_kill()
    assert hook.retrieve_payment_job(token)["status"] == status


def test_worker_on_kill_cancels_on_execution_timeout(sandbox, server_states) -> None:
    hook = PayJobsHook()
    token = _job(hook)
    server_states.answer["states"] = {"manual__1": {"pay": "running"}}
    try:  # the task runner calls on_kill while handling the timeout, as here
        raise AirflowTaskTimeout()
    except AirflowTaskTimeout:
        _operator(token).on_kill()
    assert hook.retrieve_payment_job(token)["status"] == "CANCELLED"


def test_cancel_on_kill_off_never_looks_or_cancels(sandbox, server_states) -> None:
    hook = PayJobsHook()
    token = _job(hook)
    server_states.answer["states"] = {"manual__1": {"pay": "failed"}}
    _operator(token, cancel_on_kill=False).on_kill()
    asyncio.run(
        PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 30, cancel_on_kill=False).on_kill()
    )
    assert hook.retrieve_payment_job(token)["status"] == "SUBMITTED"
    assert server_states.queries == []
