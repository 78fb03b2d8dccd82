"""Operator, sensor and trigger pieces against a real sandbox: kills, faults, templating, links."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pendulum
import pytest
import requests
from conftest import api_calls, connection_json, logged, wait_until
from payloads import gateway_item

from airflow_provider_payjobs.airflow_support.compat import AirflowException, AirflowFailException
from airflow_provider_payjobs.client.answers import encoded_body
from airflow_provider_payjobs.client.async_client import ASYNC_CLIENTS, SharedAsyncClient
from airflow_provider_payjobs.client.models import API_VERSION, API_VERSION_HEADER
from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.links.payjobs import job_url
from airflow_provider_payjobs.operators.payjobs import CancelPaymentJobOperator, CreatePaymentJobOperator
from airflow_provider_payjobs.payout.payment_ids import derive_client_payment_id
from airflow_provider_payjobs.sensors.payjobs import PaymentJobSensor
from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

VERSION_HEADER = {API_VERSION_HEADER: API_VERSION}


class FakeTaskInstance:
    """Only what execute() reads from ``ti``: ids, try number, and XCom pushes."""

    def __init__(self, try_number: int = 1, map_index: int = -1) -> None:
        self.dag_id, self.task_id, self.try_number, self.map_index = "dag", "pay", try_number, map_index
        self.xcoms: dict = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcoms[key] = value


def context(try_number: int = 1, run_id: str = "manual__1", store: dict | None = None) -> dict:
    class DictStore(dict):
        def set(self, key, value):
            self[key] = value

        def delete(self, key):
            self.pop(key, None)

    return {
        "ti": FakeTaskInstance(try_number),
        "run_id": run_id,
        "dag_run": None,
        "task_state_store": DictStore(store or {}),
    }


def test_body_templating_json_strings_and_schedules() -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay",
        body=json.dumps(
            {"notBefore": "2030-01-01T10:00:00+02:00", "items": [gateway_item(0, clientPaymentId=None)]}
        ),
    )
    body = operator.prepare_body(context())
    assert body["notBefore"] == "2030-01-01T08:00:00Z"
    assert body["items"][0]["clientPaymentId"] == derive_client_payment_id("dag", "pay", "manual__1", -1, 0)
    operator = CreatePaymentJobOperator(
        task_id="pay",
        body={
            "notBefore": pendulum.datetime(2030, 1, 1, tz="Europe/Paris"),
            "notAfter": "2030-01-03 00:00:00",
            "items": [gateway_item(0)],
        },
    )
    body = operator.prepare_body(context())
    assert (body["notBefore"], body["notAfter"]) == ("2029-12-31T23:00:00Z", "2030-01-03T00:00:00Z")
    assert body["items"][0]["clientPaymentId"] == "payment-0", "a user's own id is kept"


def test_jinja_renders_inside_the_body() -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay", body={"items": [gateway_item(0, memo="run {{ run_id }}")]}
    )
    operator.render_template_fields({"run_id": "manual__7", "params": {}})
    assert operator.body["items"][0]["memo"] == "run manual__7"


def test_derived_ids_are_stable_per_run_and_differ_across_runs() -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay", body={"items": [gateway_item(0, clientPaymentId=None)] * 2}
    )
    first = operator.prepare_body(context(try_number=1))["items"]
    retry = operator.prepare_body(context(try_number=3))["items"]
    other_run = operator.prepare_body(context(run_id="manual__2"))["items"]
    assert [item["clientPaymentId"] for item in first] == [item["clientPaymentId"] for item in retry]
    assert first[0]["clientPaymentId"] != first[1]["clientPaymentId"]
    assert {item["clientPaymentId"] for item in first}.isdisjoint(
        item["clientPaymentId"] for item in other_run
    )


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"max_items": 1}, "max_items is 1 but the job has 2 items"),
        ({"max_total_amount": {"USD": 20}}, "USD total 21.0 is over max_total_amount 20 USD"),
    ],
)
def test_guardrails_refuse_before_sending(sandbox, arguments: dict, words: str) -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay", body={"items": [gateway_item(0), gateway_item(1)]}, **arguments
    )
    with pytest.raises(AirflowFailException, match=words) as caught:  # no retry repeats it
        operator.execute(context())
    assert isinstance(caught.value.__cause__, PayJobsValidationError)
    assert api_calls(sandbox) == []


def test_repeated_client_payment_ids_in_one_body_are_refused(sandbox) -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay", body={"items": [gateway_item(0), gateway_item(1, clientPaymentId="payment-0")]}
    )
    with pytest.raises(AirflowFailException, match="'payment-0' is at items\\[0\\], items\\[1\\]"):
        operator.execute(context())
    assert api_calls(sandbox) == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"max_items": 0}, "max_items"),
        ({"max_total_amount": {"XYZ": 5}}, "max_total_amount['XYZ']"),
        ({"max_total_amount": {"USD": -1}}, "max_total_amount['USD']"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": -5}, "timeout"),
    ],
)
def test_bad_operator_arguments_fail_at_parse_time(arguments: dict, field: str) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        CreatePaymentJobOperator(task_id="pay", body={"items": []}, **arguments)
    assert caught.value.field == field


def test_dry_run_sends_nothing(sandbox, capsys) -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay", body={"items": [gateway_item(0), gateway_item(1)]}, dry_run=True
    )
    assert operator.execute(context()) is None
    assert "2 items; totals: 21.0 USD" in logged(capsys)
    assert api_calls(sandbox) == []


def test_execute_pushes_token_and_link_before_waiting(sandbox, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        connection_json(sandbox, portal_url="https://portal.example/jobs/{job_token}"),
    )
    ctx = context()
    token = CreatePaymentJobOperator(task_id="pay", body={"items": [gateway_item(0)]}).execute(ctx)
    url = f"https://portal.example/jobs/{token}"
    # Under the link's own key too, so that the UI shows the link while the task is deferred.
    assert ctx["ti"].xcoms == {"job_token": token, "job_url": url, "_link_PaymentJobLink": url}
    assert ctx["task_state_store"]["payjobs_job_token"] == token
    assert job_url(None, token) is None


def test_a_retry_after_a_failed_job_fails_naming_it_unless_resubmit(sandbox) -> None:
    body = {"items": [gateway_item(0, memo="SANDBOX_FAIL_JOB", clientPaymentId=None)]}
    first = context()
    failed_token = CreatePaymentJobOperator(task_id="pay", body=body).execute(first)
    sandbox.admin.advance_clock(100)
    with pytest.raises(AirflowFailException, match=f"{failed_token} from an earlier try ended FAILED"):
        CreatePaymentJobOperator(task_id="pay", body=body).execute(
            context(2, store=first["task_state_store"])
        )
    retry = context(2, store=first["task_state_store"])
    new_token = CreatePaymentJobOperator(task_id="pay", body=body, resubmit_failed=True).execute(retry)
    assert new_token != failed_token
    resubmission = retry["task_state_store"]["payjobs_resubmission"]
    assert (resubmission["generation"], resubmission["positions"]) == (1, [0])
    assert datetime.fromisoformat(resubmission["planned_at"]) <= datetime.now(timezone.utc)
    resubmitted = PayJobsHook().retrieve_payment_job(new_token)["items"][0]["clientPaymentId"]
    assert resubmitted == derive_client_payment_id("dag", "pay", "manual__1", -1, 0, generation=1)


@pytest.mark.parametrize("with_store", [True, False], ids=["task state store", "no store"])
def test_resubmit_pays_again_only_what_the_failed_job_did_not_pay(sandbox, with_store: bool) -> None:
    body = {
        "items": [
            gateway_item(0, clientPaymentId=None),
            gateway_item(1, clientPaymentId=None, memo="SANDBOX_FAIL_JOB_PARTLY"),
            gateway_item(2, clientPaymentId=None),
        ]
    }

    def run_try(try_number: int, store: dict) -> tuple[str, dict]:
        ctx = context(try_number, store=store)
        if not with_store:
            ctx["task_state_store"] = None
        token = CreatePaymentJobOperator(task_id="pay", body=body, resubmit_failed=True).execute(ctx)
        return token, dict(ctx["task_state_store"] or {})

    first_token, store = run_try(1, {})
    sandbox.admin.advance_clock(100)  # FAILED: items 0 and 2 paid, item 1 failed
    second_token, store = run_try(2, store)
    # A worker that died before the task ended, its token not kept: the next try finds that job.
    third_token, store = run_try(
        3, {key: value for key, value in store.items() if key != "payjobs_job_token"}
    )
    assert third_token == second_token != first_token
    resubmitted = PayJobsHook().retrieve_payment_job(second_token)
    assert [item["destinationToken"] for item in resubmitted["items"]] == [
        gateway_item(1)["destinationToken"]
    ]
    sandbox.admin.advance_clock(100)  # the resubmission fails too: the next one again pays only item 1
    fourth_token, _ = run_try(4, store)
    assert len({first_token, second_token, fourth_token}) == 3
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 3
    paid = [entry["clientPaymentId"] for entry in sandbox.admin.ledger()]
    first_ids = [item["clientPaymentId"] for item in PayJobsHook().retrieve_payment_job(first_token)["items"]]
    assert paid[:2] == [first_ids[0], first_ids[2]] and len(paid) == 3, (
        "items 0 and 2 paid once, item 1 pending"
    )


def test_a_retry_finds_its_job_on_the_server_without_a_store(sandbox) -> None:
    body = {"items": [gateway_item(0, clientPaymentId=None), gateway_item(1, clientPaymentId=None)]}
    first = context(try_number=1)
    first["task_state_store"] = None
    token = CreatePaymentJobOperator(task_id="pay", body=body).execute(first)
    retry = context(try_number=2)
    retry["task_state_store"] = None
    assert CreatePaymentJobOperator(task_id="pay", body=body).execute(retry) == token
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1


def test_sync_on_kill_cancels_best_effort(sandbox, capsys, monkeypatch) -> None:
    _marked(monkeypatch, "failed")  # what the task runner reads back: see test_user_action.py
    hook = PayJobsHook()
    token = hook.create_payment_job({"items": [gateway_item(0)]})["token"]
    operator = CreatePaymentJobOperator(task_id="pay", body={"items": []})
    operator.job_token = token
    operator._task_instance = SimpleNamespace(dag_id="dag", run_id="manual__1", task_id="pay", map_index=-1)
    operator.on_kill()
    assert hook.retrieve_payment_job(token)["status"] == "CANCELLED"
    operator.on_kill()  # already cancelled: a 400, logged, never raised
    assert "Could not cancel payment job" in logged(capsys)
    quiet = CreatePaymentJobOperator(task_id="pay", body={"items": []}, cancel_on_kill=False)
    quiet.job_token = hook.create_payment_job({"items": [gateway_item(1)]})["token"]
    quiet.on_kill()
    assert hook.retrieve_payment_job(quiet.job_token)["status"] == "SUBMITTED"


def _marked(monkeypatch: pytest.MonkeyPatch, state: str) -> None:
    """The server says every task instance is in ``state`` (as after a person marked it)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    def get_task_states(dag_id, map_index, task_ids, run_ids):
        return {run_ids[0]: {task_ids[0]: state}}

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(get_task_states))


@pytest.mark.parametrize(("if_terminal", "raises"), [("fail", True), ("skip", False)])
def test_cancel_operator_on_a_finished_job(sandbox, if_terminal: str, raises: bool) -> None:
    token = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})["token"]
    sandbox.admin.advance_clock(100)
    operator = CancelPaymentJobOperator(task_id="cancel", job_token=token, if_terminal=if_terminal)
    if raises:
        with pytest.raises(AirflowFailException, match="already COMPLETED"):
            operator.execute({})
    else:
        assert operator.execute({})["status"] == "COMPLETED"


def test_cancel_operator_cancels(sandbox) -> None:
    token = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})["token"]
    summary = CancelPaymentJobOperator(task_id="cancel", job_token=token).execute({})
    assert summary["job"] == token and summary["status"] == "CANCELLED" and "items" not in summary


SUMMARY_KEYS = {"job", "status", "created", "items_by_status", "totals_per_currency", "paid_per_currency"}


@pytest.mark.parametrize("return_full_job", [False, True])
def test_the_whole_job_is_returned_only_when_asked(sandbox, return_full_job: bool) -> None:
    """The operators and the sensor return the summary (no payee) unless return_full_job=True."""
    waited = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})["token"]
    sandbox.admin.advance_clock(100)
    paying = context()
    helper = finish_once_created(sandbox, paying)
    created = CreatePaymentJobOperator(
        task_id="pay",
        body={"items": [gateway_item(2)]},
        wait_for_completion=True,
        poll_interval=0.01,
        timeout=30,
        return_full_job=return_full_job,
    ).execute(paying)
    helper.join()
    cancel = CancelPaymentJobOperator(
        task_id="cancel", job_token=waited, if_terminal="skip", return_full_job=return_full_job
    )
    sensor = PaymentJobSensor(task_id="wait", job_token=waited, return_full_job=return_full_job)
    for result in (created, cancel.execute({}), sensor.poke({}).xcom_value):
        if return_full_job:
            assert result["items"][0]["destinationToken"].startswith("dest-")
        else:
            assert set(result) == SUMMARY_KEYS


def test_sensor_pokes(sandbox) -> None:
    hook = PayJobsHook()
    token = hook.create_payment_job({"items": [gateway_item(0)]})["token"]
    sensor = PaymentJobSensor(task_id="wait", job_token=token)
    assert sensor.poke({}) is False
    sandbox.admin.advance_clock(100)
    sandbox.admin.script_faults({"fault": "503", "method": "GET", "times": 4})
    assert sensor.poke({}) is False, "5xx through all 4 attempts is a poke that found nothing"
    assert sensor.poke({}).xcom_value["status"] == "COMPLETED"
    cancelled = hook.create_payment_job({"items": [gateway_item(1)]})["token"]
    hook.cancel_payment_job(cancelled)
    with pytest.raises(AirflowFailException, match="CANCELLED"):
        PaymentJobSensor(task_id="wait", job_token=cancelled).poke({})


def run_trigger(trigger: PaymentJobTrigger) -> list[dict]:
    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_trigger_ends_in_success_under_injected_faults(live_sandbox) -> None:
    token = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})["token"]
    live_sandbox.admin.set_faults(
        error_500=0.3, error_502=0.1, error_429=0.1, retry_after_seconds=0.05, drop_connection=0.1, seed=7
    )
    events = run_trigger(
        PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 60, poll_interval=0.1)
    )
    assert [event["status"] for event in events] == ["success"]
    # What the task needs to decide, never the items: the triggerer logs every event it fires.
    assert events[0] == {
        "status": "success",
        "job_token": token,
        "message": f"Payment job {token} is COMPLETED",
        "job_status": "COMPLETED",
        "items_by_status": {"COMPLETED": 1},
    }
    assert any(entry.get("fault") for entry in live_sandbox.admin.requests()), "faults were injected"


def test_trigger_times_out_at_its_deadline(sandbox) -> None:
    token = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})["token"]
    events = run_trigger(
        PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 0.3, poll_interval=0.1)
    )
    assert [event["status"] for event in events] == ["timeout"] and events[0]["job_status"] == "SUBMITTED"


def test_trigger_reports_a_permanent_error(sandbox) -> None:
    events = run_trigger(
        PaymentJobTrigger(
            "jobs-00000000-0000-0000-0000-000000000000", "payjobs_default", end_time=time.time() + 30
        )
    )
    assert events[0]["status"] == "error" and "404" in events[0]["message"]


def test_triggers_share_one_client_and_one_token(sandbox, monkeypatch) -> None:
    from airflow_provider_payjobs.client import async_client
    from airflow_provider_payjobs.hooks import payjobs as hook_module

    created, lookups = [], []
    monkeypatch.setattr(
        async_client,
        "SharedAsyncClient",
        lambda settings: created.append(settings) or SharedAsyncClient(settings),
    )
    look_up = hook_module.get_connection_async
    monkeypatch.setattr(
        hook_module,
        "get_connection_async",
        lambda hook, conn_id: lookups.append(conn_id) or look_up(hook, conn_id),
    )
    hook = PayJobsHook()
    tokens = [hook.create_payment_job({"items": [gateway_item(number)]})["token"] for number in range(20)]
    sandbox.admin.advance_clock(100)
    sandbox.admin.clear_requests()
    from airflow_provider_payjobs.client.auth import TOKEN_CACHE

    TOKEN_CACHE.clear()

    async def all_triggers() -> tuple[list, int]:
        triggers = [
            PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 30, poll_interval=0.1)
            for token in tokens
        ]
        results = await asyncio.gather(*[_first_event(trigger) for trigger in triggers])
        return results, len(ASYNC_CLIENTS.get(asyncio.get_running_loop(), {}))

    events, clients_left = asyncio.run(all_triggers())
    assert {event["status"] for event in events} == {"success"}
    assert len(created) == 1, "one session for all 20 triggers"
    assert lookups == ["payjobs_default"], "one connection lookup for all 20 triggers"
    assert clients_left == 0, "the last trigger to finish closed it"
    assert len(api_calls(sandbox, "POST", "/auth/connect/token")) == 1


async def _first_event(trigger: PaymentJobTrigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("no event")


def test_trigger_on_kill_cancels(sandbox, monkeypatch) -> None:
    _marked(monkeypatch, "failed")
    token = PayJobsHook().create_payment_job({"items": [gateway_item(0)]})["token"]
    trigger = PaymentJobTrigger(token, "payjobs_default", end_time=time.time() + 30)
    trigger.task_instance = SimpleNamespace(dag_id="dag", run_id="manual__1", task_id="pay", map_index=-1)
    asyncio.run(trigger.on_kill())
    assert PayJobsHook().retrieve_payment_job(token)["status"] == "CANCELLED"
    asyncio.run(trigger.on_kill())  # logs, no raise


def test_naive_datetimes_are_utc() -> None:
    operator = CreatePaymentJobOperator(
        task_id="pay", body={"notBefore": datetime(2030, 1, 1, 9), "items": [gateway_item(0)]}
    )
    assert operator.prepare_body(context())["notBefore"] == "2030-01-01T09:00:00Z"
    aware = CreatePaymentJobOperator(
        task_id="pay",
        body={"notBefore": datetime(2030, 1, 1, 9, tzinfo=timezone.utc), "items": [gateway_item(0)]},
    )
    assert aware.prepare_body(context())["notBefore"] == "2030-01-01T09:00:00Z"


def test_deferrable_sensor_soft_fail_skips_on_a_failed_job(sandbox) -> None:
    from airflow_provider_payjobs.airflow_support.compat import AirflowSkipException

    hook = PayJobsHook()
    cancelled = hook.create_payment_job({"items": [gateway_item(0)]})["token"]
    hook.cancel_payment_job(cancelled)
    sensor = PaymentJobSensor(task_id="wait", job_token=cancelled, deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException, match="CANCELLED"):
        sensor.execute({})
    never = PaymentJobSensor(task_id="wait", job_token=cancelled, deferrable=True, never_fail=True)
    with pytest.raises(AirflowSkipException, match="never_fail"):
        never.execute({})
    strict = PaymentJobSensor(task_id="wait", job_token=cancelled, deferrable=True)
    with pytest.raises(AirflowFailException, match="CANCELLED"):
        strict.execute({})


def test_sensor_and_cancel_operator_link_to_their_job(sandbox, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, portal_url="https://portal.example/jobs")
    )
    hook = PayJobsHook()
    done = hook.create_payment_job({"items": [gateway_item(0)]})["token"]
    sandbox.admin.advance_clock(100)
    sensed = context()
    PaymentJobSensor(task_id="wait", job_token=done, deferrable=True).execute(sensed)
    assert sensed["ti"].xcoms["job_url"] == f"https://portal.example/jobs/{done}"
    running = hook.create_payment_job({"items": [gateway_item(1)]})["token"]
    cancelled = context()
    CancelPaymentJobOperator(task_id="cancel", job_token=running).execute(cancelled)
    assert cancelled["ti"].xcoms["job_url"] == f"https://portal.example/jobs/{running}"


def test_the_connection_id_is_templated() -> None:
    for task in (
        CreatePaymentJobOperator(task_id="pay", body={"items": []}),
        CancelPaymentJobOperator(task_id="cancel", job_token="x"),
        PaymentJobSensor(task_id="wait", job_token="x"),
    ):
        assert "payjobs_conn_id" in task.template_fields


def test_no_ids_match_nothing(sandbox) -> None:
    PayJobsHook().create_payment_job({"items": [gateway_item(0)]})
    assert PayJobsHook().find_job_holding([], datetime.now(timezone.utc)) is None


def test_a_completed_job_with_a_failed_item_fails_the_wait_and_resubmits_only_that_item(sandbox) -> None:
    body = {
        "items": [
            gateway_item(0, clientPaymentId=None),
            gateway_item(1, clientPaymentId=None, memo="SANDBOX_FAIL_ITEM"),
        ]
    }
    first = context()
    helper = finish_once_created(sandbox, first)  # COMPLETED, item 1 FAILED
    waiting = CreatePaymentJobOperator(
        task_id="pay", body=body, wait_for_completion=True, poll_interval=0.01, timeout=30
    )
    with pytest.raises(AirflowFailException, match="not every item was paid") as caught:
        waiting.execute(first)
    helper.join()
    token = first["ti"].xcoms["job_token"]
    assert token in str(caught.value) and "FAILED" in str(caught.value)
    accepting = CreatePaymentJobOperator(
        task_id="pay", body=body, wait_for_completion=True, fail_on_failed_items=False
    )
    assert accepting.execute(context(2, store=first["task_state_store"]))["job"] == token
    retry = context(3, store=first["task_state_store"])
    new_token = CreatePaymentJobOperator(task_id="pay", body=body, resubmit_failed=True).execute(retry)
    resubmitted = PayJobsHook().retrieve_payment_job(new_token)["items"]
    assert [item["destinationToken"] for item in resubmitted] == [gateway_item(1)["destinationToken"]]


def finish_once_created(sandbox, ctx: dict) -> threading.Thread:
    """Move the sandbox clock past the lifecycle as soon as the task in ``ctx`` created its job."""

    def advance() -> None:
        wait_until(lambda: "job_token" in ctx["ti"].xcoms, "the job to be created")
        sandbox.admin.advance_clock(100)

    helper = threading.Thread(target=advance, daemon=True)
    helper.start()
    return helper


@pytest.mark.parametrize(
    ("memo", "own_ids", "cancel", "retryable"),
    [
        ("SANDBOX_FAIL_JOB_PARTLY", False, False, True),
        ("SANDBOX_FAIL_JOB_PARTLY", True, False, False),  # new ids are the user's to choose
        ("payout", False, True, False),  # someone cancelled it: a person decides
    ],
    ids=["failed", "own ids", "cancelled"],
)
def test_a_failed_wait_with_resubmit_failed_is_left_to_airflow_retries(
    sandbox, memo: str, own_ids: bool, cancel: bool, retryable: bool
) -> None:
    item = gateway_item(0, memo=memo) if own_ids else gateway_item(0, clientPaymentId=None, memo=memo)
    first = context()

    def finish_or_cancel() -> None:
        wait_until(lambda: "job_token" in first["ti"].xcoms, "the job to be created")
        if cancel:
            PayJobsHook().cancel_payment_job(first["ti"].xcoms["job_token"])
        sandbox.admin.advance_clock(100)

    helper = threading.Thread(target=finish_or_cancel, daemon=True)
    helper.start()
    operator = CreatePaymentJobOperator(
        task_id="pay",
        body={"items": [item]},
        wait_for_completion=True,
        poll_interval=0.01,
        timeout=30,
        resubmit_failed=True,
    )
    with pytest.raises(AirflowException) as caught:
        operator.execute(first)
    helper.join()
    # AirflowFailException skips Airflow's retries; a plain AirflowException gets them.
    assert isinstance(caught.value, AirflowFailException) is not retryable
    assert ("a retry pays its unpaid items" in str(caught.value)) is retryable


def test_sensor_and_trigger_fail_on_a_completed_job_with_a_failed_item(sandbox) -> None:
    hook = PayJobsHook()
    token = hook.create_payment_job({"items": [gateway_item(0), gateway_item(1, memo="SANDBOX_FAIL_ITEM")]})[
        "token"
    ]
    sandbox.admin.advance_clock(100)
    with pytest.raises(AirflowFailException, match="not every item was paid"):
        PaymentJobSensor(task_id="wait", job_token=token).poke({})
    assert PaymentJobSensor(task_id="wait", job_token=token, fail_on_failed_items=False).poke({})
    trigger = PaymentJobTrigger(token, "payjobs_default", time.time() + 60, poll_interval=0.01)

    async def first_event() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    assert asyncio.run(first_event())["status"] == "failed"


@pytest.mark.parametrize(
    "changed",
    [
        [gateway_item(0, clientPaymentId=None, amount=99.0)],  # a corrected amount
        [gateway_item(7, clientPaymentId=None)],  # another payee
    ],
    ids=["amount", "payee"],
)
@pytest.mark.parametrize("with_store", [True, False], ids=["task state store", "no store"])
def test_a_retry_whose_body_renders_differently_fails_and_sends_nothing(sandbox, changed, with_store) -> None:
    first = context()
    if not with_store:
        first["task_state_store"] = None
    token = CreatePaymentJobOperator(
        task_id="pay", body={"items": [gateway_item(0, clientPaymentId=None)]}
    ).execute(first)
    retry = context(2, store=first["task_state_store"] or {})
    if not with_store:
        retry["task_state_store"] = None
    with pytest.raises(AirflowFailException, match=rf"{token}.*does not pay what the body says"):
        CreatePaymentJobOperator(task_id="pay", body={"items": changed}).execute(retry)
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1
    assert len(sandbox.admin.ledger()) == 1


def test_reordered_items_never_resubmit_a_paid_payee(sandbox) -> None:
    alice = gateway_item(1, clientPaymentId=None)
    bob = gateway_item(2, clientPaymentId=None, memo="SANDBOX_FAIL_JOB_PARTLY")
    first = context()
    CreatePaymentJobOperator(task_id="pay", body={"items": [alice, bob]}).execute(first)
    sandbox.admin.advance_clock(100)  # FAILED: alice paid, bob not
    retry = context(2, store=first["task_state_store"])
    reordered = {"items": [{**bob, "memo": "payout"}, alice]}
    with pytest.raises(AirflowFailException, match="does not pay what the body says"):
        CreatePaymentJobOperator(task_id="pay", body=reordered, resubmit_failed=True).execute(retry)
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1


def test_a_run_cleared_long_after_it_paid_finds_its_job(sandbox) -> None:
    """No task state left (expired, or older Airflow) and a start_date moved by clearing the run."""
    sandbox.admin.set_config(accept_duplicate_client_ids=True)
    body = {"items": [gateway_item(0, clientPaymentId=None)]}
    token = CreatePaymentJobOperator(task_id="pay", body=body).execute(context())
    sandbox.admin.advance_clock(2 * 3600)
    cleared = context(try_number=2)
    cleared["task_state_store"] = None
    now = datetime.now(timezone.utc)
    cleared["dag_run"] = SimpleNamespace(
        run_after=now - timedelta(minutes=1), start_date=now + timedelta(hours=2)
    )
    assert CreatePaymentJobOperator(task_id="pay", body=body).execute(cleared) == token
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1


@pytest.mark.parametrize(("last_post", "jobs"), [(True, 1), (False, 2)], ids=["waits", "control"])
def test_a_retry_waits_for_the_create_a_dead_try_left_in_flight(
    sandbox, monkeypatch, last_post: bool, jobs: int
) -> None:
    """
    A try posted again and was killed while the server (not deduplicating) still worked on it.

    The first create attempt was long ago; the wait runs from the last POST, which the control
    does not record, so the control posts a second time.
    """
    sandbox.admin.set_config(accept_duplicate_client_ids=True)
    # The dead try's POST lands at 2 s; with its last POST recorded the retry looks again at 4 s.
    sandbox.admin.set_faults(slow_seconds=2.0)
    sandbox.admin.script_faults({"fault": "slow", "method": "POST", "path": "/api/v2/payments/jobs"})
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, timeout=0.5, create_settle_seconds=3.0)
    )
    body = {"items": [gateway_item(0, clientPaymentId=None)]}
    operator = CreatePaymentJobOperator(task_id="pay", body=body)
    in_flight = operator.prepare_body(context())  # what the dead try had sent
    headers = {"Authorization": f"Bearer {PayJobsHook().get_access_token().value}", **VERSION_HEADER}
    data, headers = encoded_body(in_flight, None, headers)  # exact decimals, as the hook sends them
    dead_try = threading.Thread(
        target=requests.post,
        args=(sandbox.base_url + "/payments/jobs",),
        kwargs={"data": data, "headers": headers, "timeout": 10},
    )
    now = datetime.now(timezone.utc)
    store = {"payjobs_create_started_at": (now - timedelta(seconds=10)).isoformat()}
    if last_post:
        store["payjobs_last_post_at"] = now.isoformat()
    dead_try.start()
    wait_until(lambda: not sandbox.admin.faults()["script"], "the dead try's POST to reach the server")
    CreatePaymentJobOperator(task_id="pay", body=body).execute(context(2, store=store))
    dead_try.join()
    assert len({entry["job_token"] for entry in sandbox.admin.ledger()}) == jobs


def test_a_resubmission_searches_from_when_it_was_planned(sandbox, monkeypatch) -> None:
    """Not from the run's start: a busy account would push that search past its bound."""
    body = {"items": [gateway_item(0, clientPaymentId=None, memo="SANDBOX_FAIL_JOB")]}
    first = context()
    first["dag_run"] = SimpleNamespace(run_after=datetime.now(timezone.utc) - timedelta(days=3))
    CreatePaymentJobOperator(task_id="pay", body=body).execute(first)
    sandbox.admin.advance_clock(100)
    searched_since = []
    find = PayJobsHook._find_job_holding  # every search, the create's own look included

    def spy(self, ids, created_since, **options):
        searched_since.append(created_since)
        return find(self, ids, created_since, **options)

    monkeypatch.setattr(PayJobsHook, "_find_job_holding", spy)
    retry = context(2, store=first["task_state_store"])
    retry["dag_run"] = first["dag_run"]
    CreatePaymentJobOperator(task_id="pay", body=body, resubmit_failed=True).execute(retry)
    planned_at = datetime.fromisoformat(retry["task_state_store"]["payjobs_resubmission"]["planned_at"])
    assert searched_since[-1] == planned_at


def test_the_first_create_bounds_the_search_and_every_post_is_recorded(sandbox) -> None:
    long_ago = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    sandbox.admin.script_faults({"fault": "503", "method": "POST", "path": "/api/v2/payments/jobs"})
    retry = context(2, store={"payjobs_create_started_at": long_ago})
    CreatePaymentJobOperator(task_id="pay", body={"items": [gateway_item(0, clientPaymentId=None)]}).execute(
        retry
    )
    store = retry["task_state_store"]
    assert store["payjobs_create_started_at"] == long_ago, "an earlier try's first attempt stays the bound"
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 2
    assert datetime.fromisoformat(store["payjobs_last_post_at"]) > datetime.fromisoformat(long_ago)


def test_the_last_post_is_recorded_when_the_request_leaves(sandbox, monkeypatch) -> None:
    """After the token is in hand, and again for the send that follows a 401."""
    import requests

    sent_at = []
    send = requests.Session.request

    def spy(self, method, url, *args, **kwargs):
        if method == "POST" and url.endswith("/payments/jobs"):
            sent_at.append(datetime.now(timezone.utc))
        return send(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    find = PayJobsHook._find_job_holding

    def look_then_expire(self, *args, **kwargs):
        found = find(self, *args, **kwargs)
        sandbox.admin.expire_tokens()  # the first POST is answered 401, then sent again
        return found

    monkeypatch.setattr(PayJobsHook, "_find_job_holding", look_then_expire)
    ctx = context()
    CreatePaymentJobOperator(task_id="pay", body={"items": [gateway_item(0, clientPaymentId=None)]}).execute(
        ctx
    )
    assert len(sent_at) == 2
    recorded = datetime.fromisoformat(ctx["task_state_store"]["payjobs_last_post_at"])
    assert sent_at[0] < recorded <= sent_at[1]
