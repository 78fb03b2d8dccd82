"""The payout watcher (PaymentJobEventTrigger) against a real sandbox: first start, restarts,
paging while jobs are created, jobs finishing between pages, faults, and each job once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from conftest import api_calls, logged, wait_until
from payloads import gateway_item, portal_item
from watching import StateStore, Watcher, twice

from airflow_provider_payjobs.client.auth import TOKEN_CACHE
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.triggers.payjobs import PaymentJobEventTrigger

FINISH = 40  # sandbox seconds that take a job through its lifecycle (3 steps of 10 s)


@pytest.fixture(autouse=True)
def no_token_left_behind() -> Iterator[None]:
    """
    Forget this test's tokens afterwards: the soak harness forks workers that inherit this
    process's token cache, and it revokes every token when it starts.
    """
    yield
    TOKEN_CACHE.clear()


def create(hook: PayJobsHook, number: int, not_before: str | None = None, **fields: object) -> str:
    body: dict = {"items": [gateway_item(number, **fields)]}
    if not_before:
        body["notBefore"] = not_before
    return hook.create_payment_job(body)["token"]


def finished_above(sandbox, hook: PayJobsHook, count: int, first_number: int = 1000) -> None:
    """``count`` newer jobs, finished, above the jobs so far; the top page holds one older job
    than the rest of it, so that with no margin a poll reads that page alone for what is new."""
    sandbox.admin.advance_clock(1)
    create_many(hook, first_number, count - 49)
    sandbox.admin.advance_clock(1)
    create_many(hook, first_number + count, 49)
    sandbox.admin.advance_clock(FINISH)


def later(hours: float = 1) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=3, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_first_start_reports_only_what_finishes_after_it(sandbox) -> None:
    hook = PayJobsHook()
    finished_before = create(hook, 1)
    sandbox.admin.advance_clock(FINISH)
    open_at_start = create(hook, 2)
    watcher = Watcher(StateStore())

    async def scenario() -> None:
        assert await watcher.poll() == [], "nothing finished since the start"
        created_later = create(hook, 3)
        assert await watcher.poll() == []
        sandbox.admin.advance_clock(FINISH)
        assert sorted(await watcher.poll()) == sorted([open_at_start, created_later])
        # Created and finished between two polls: it was never seen open, and still counts.
        quick = create(hook, 4)
        sandbox.admin.advance_clock(FINISH)
        assert await watcher.poll() == [quick]
        assert await watcher.polls(3) == [], "each job once"

    asyncio.run(scenario())
    assert finished_before not in watcher.jobs
    assert {payload["status"] for payload in watcher.fired} == {"COMPLETED"}
    assert watcher.fired[-1]["paid_per_currency"] == {"USD": "10.5"}


def test_the_payload_is_small_and_names_the_job_readably(sandbox) -> None:
    hook = PayJobsHook()
    watcher = Watcher(StateStore())
    asyncio.run(watcher.poll())
    token = hook.create_payment_job({"items": [portal_item(1), portal_item(2, currency="USD")]})["token"]
    sandbox.admin.advance_clock(FINISH)
    asyncio.run(watcher.poll())
    assert watcher.fired == [
        {
            "job": token,
            "status": "COMPLETED",
            "created": hook.retrieve_payment_job(token)["created"],
            "items_by_status": {"COMPLETED": 2},
            "totals_per_currency": {"EUR": "5", "USD": "5"},
            "paid_per_currency": {"EUR": "5", "USD": "5"},
        }
    ]
    assert "@" not in repr(watcher.fired), "no payee emails"
    assert not [key for key in watcher.fired[0] if "token" in key], "Airflow would mask such a key"


def test_a_restart_resumes_from_the_stored_cursor(sandbox) -> None:
    hook = PayJobsHook()
    store = StateStore()
    first = Watcher(store)
    asyncio.run(first.poll())
    reported_before = create(hook, 1)
    open_at_restart = create(hook, 2, not_before=later())  # SCHEDULED: still open after FINISH
    sandbox.admin.advance_clock(FINISH)
    assert asyncio.run(first.poll()) == [reported_before]
    finishes_while_down = create(hook, 3)
    assert asyncio.run(first.poll()) == []
    assert finishes_while_down in store.cursor["open"], "saved before the restart"

    sandbox.admin.advance_clock(FINISH)  # the triggerer is down
    hook.cancel_payment_job(open_at_restart)
    second = Watcher(store)  # the triggerer rebuilds the trigger from its arguments
    assert sorted(asyncio.run(second.polls(3))) == sorted([finishes_while_down, open_at_restart])
    assert reported_before not in second.jobs, "reported before the restart: never again"
    assert {p["job"]: p["status"] for p in second.fired}[open_at_restart] == "CANCELLED"


def test_without_a_store_a_restart_starts_afresh_and_repeats_nothing(sandbox, capsys) -> None:
    hook = PayJobsHook()
    first = Watcher(None)
    asyncio.run(first.poll())
    token = create(hook, 1)
    assert asyncio.run(first.poll()) == []
    sandbox.admin.advance_clock(FINISH)  # finishes while the triggerer is down
    second = Watcher(None)
    assert asyncio.run(second.polls(2)) == [], "Airflow before 3.3: lost, never reported twice"
    assert "No asset state store" in logged(capsys)
    third_job = create(hook, 2)
    sandbox.admin.advance_clock(FINISH)
    assert asyncio.run(second.poll()) == [third_job]
    assert token not in second.jobs


def test_jobs_created_while_the_pages_are_read_are_neither_missed_nor_repeated(sandbox) -> None:
    hook = PayJobsHook()
    before = [create(hook, number) for number in range(120)]  # three pages, all open
    created_while_reading: list[str] = []
    watcher = Watcher(StateStore())

    async def scenario() -> None:
        watcher.after_first_page = lambda: created_while_reading.extend(create_many(hook, 200, 30))
        await watcher.poll()  # the first scan, while 30 new jobs push the others down the list
        assert set(before) <= set(watcher.cursor.open), "none of the jobs open at the start was missed"
        sandbox.admin.advance_clock(FINISH)
        watcher.after_first_page = lambda: created_while_reading.extend(create_many(hook, 300, 10))
        await watcher.poll()
        sandbox.admin.advance_clock(FINISH)
        await watcher.polls(3)

    asyncio.run(scenario())
    assert twice(watcher.jobs) == []
    assert set(watcher.jobs) == set(before) | set(created_while_reading)
    assert watcher.cursor.open == {}


def create_many(hook: PayJobsHook, first: int, count: int) -> list[str]:
    return [create(hook, number) for number in range(first, first + count)]


def test_a_job_that_finishes_between_two_pages_is_reported_once(sandbox) -> None:
    hook = PayJobsHook()
    jobs = [create(hook, number) for number in range(60)]  # two pages
    watcher = Watcher(StateStore())

    async def scenario() -> None:
        await watcher.poll()
        watcher.after_first_page = lambda: sandbox.admin.advance_clock(FINISH)
        first = await watcher.poll()  # page 1 seen still open, page 2 seen finished
        assert 0 < len(first) < 60
        await watcher.polls(2)

    asyncio.run(scenario())
    assert sorted(watcher.jobs) == sorted(jobs) and twice(watcher.jobs) == []


def one_job_finished_after_the_first_poll(sandbox) -> tuple[StateStore, Watcher, str]:
    """A watcher that polled once, then one job that was created and finished."""
    store = StateStore()
    watcher = Watcher(store)
    asyncio.run(watcher.poll())
    token = create(PayJobsHook(), 1)
    sandbox.admin.advance_clock(FINISH)
    return store, watcher, token


def test_transient_errors_delay_reports_and_lose_nothing(sandbox, capsys) -> None:
    store, watcher, token = one_job_finished_after_the_first_poll(sandbox)
    # Every attempt of one list call fails (the hook tries 4 times): the poll fails as a whole.
    sandbox.admin.script_faults(
        {"fault": "503", "method": "GET", "path": "/api/v2/payments/jobs", "times": 4}
    )
    saved = store.cursor
    assert asyncio.run(watcher.poll()) == []
    assert store.cursor == saved, "a failed poll saves nothing"
    assert "Polling the payment job list failed" in logged(capsys)
    assert asyncio.run(watcher.poll()) == [token]
    assert asyncio.run(watcher.polls(2)) == []


def test_a_lookup_that_keeps_failing_stops_the_lookups_of_that_poll_only(sandbox) -> None:
    hook = PayJobsHook()
    old_open = [create(hook, number, not_before=later()) for number in range(3)]
    finished_above(sandbox, hook, 200)  # four pages above them
    watcher = Watcher(StateStore(), clock_skew_margin=0)

    async def scenario() -> None:
        await watcher.poll()
        assert set(old_open) <= set(watcher.cursor.open)
        for token in old_open:
            hook.cancel_payment_job(token)
        sandbox.admin.clear_requests()
        first = min(old_open, key=lambda token: list(watcher.cursor.open).index(token))
        path = f"/api/v2/payments/jobs/{first}"
        sandbox.admin.script_faults({"fault": "503", "method": "GET", "path": path, "times": 4})
        assert await watcher.poll() == [], "the server keeps failing: no more lookups this poll"
        looked_up = {call["path"] for call in api_calls(sandbox, "GET") if "/jobs/" in call["path"]}
        assert looked_up == {path}
        assert sorted(await watcher.poll()) == sorted(old_open), "all three on the next poll"
        assert await watcher.polls(2) == []

    asyncio.run(scenario())


def test_open_jobs_below_the_window_are_found_within_the_request_budget(sandbox) -> None:
    hook = PayJobsHook()
    old_open = [create(hook, number, not_before=later()) for number in range(60)]  # pages 3 and 4
    finished_above(sandbox, hook, 100)  # pages 1 and 2
    watcher = Watcher(StateStore(), clock_skew_margin=0, open_job_requests_per_poll=2)

    async def scenario() -> list[int]:
        await watcher.poll()
        lists = []
        for _ in range(3):
            sandbox.admin.clear_requests()
            await watcher.poll()
            lists.append(len(api_calls(sandbox, "GET", "/payments/jobs")))
            assert len(api_calls(sandbox, "GET")) == lists[-1], "paging is cheaper than 60 lookups"
        return lists

    lists = asyncio.run(scenario())
    # The top page, then 2 further pages per poll, going on where the last poll stopped.
    assert lists == [3, 3, 3]
    # Pages 2, 3; then 4, 2; then 3, 4, which showed every open job: the next sweep starts at the top.
    assert watcher.watch.sweep_from == 0
    for token in old_open:
        hook.cancel_payment_job(token)
    asyncio.run(watcher.polls(2))
    assert sorted(watcher.jobs) == sorted(old_open)


def test_a_few_open_jobs_below_the_window_are_looked_up_one_by_one(sandbox) -> None:
    hook = PayJobsHook()
    old_open = [create(hook, number, not_before=later()) for number in range(2)]
    finished_above(sandbox, hook, 150)
    watcher = Watcher(StateStore(), clock_skew_margin=0)
    asyncio.run(watcher.poll())
    sandbox.admin.clear_requests()
    asyncio.run(watcher.poll())
    lookups = [
        call["path"].rsplit("/", 1)[1] for call in api_calls(sandbox, "GET") if "/jobs/" in call["path"]
    ]
    assert sorted(lookups) == sorted(old_open)
    assert len(api_calls(sandbox, "GET", "/payments/jobs")) == 1, "one page for the top of the list"


def test_two_instances_of_one_watcher_report_each_job_once(sandbox, capsys) -> None:
    hook = PayJobsHook()
    store = StateStore()
    old, new = Watcher(store), Watcher(store)  # a triggerer handing over while still running

    async def scenario() -> None:
        await old.poll()
        await new.poll()
        tokens = [create(hook, number) for number in range(5)]
        await asyncio.gather(old.poll(), new.poll())
        sandbox.admin.advance_clock(FINISH)
        await asyncio.gather(old.poll(), new.poll())
        await asyncio.gather(old.poll(), new.poll())
        more = create(hook, 9)
        sandbox.admin.advance_clock(FINISH)
        for _ in range(3):
            await asyncio.gather(old.poll(), new.poll())
        assert sorted(old.jobs + new.jobs) == sorted([*tokens, more])

    asyncio.run(scenario())
    assert twice(old.jobs + new.jobs) == []
    assert "Another instance of this payout watcher saved its cursor" in logged(capsys)


def test_watchers_of_one_asset_with_other_arguments_keep_their_own_cursors(sandbox, capsys) -> None:
    hook = PayJobsHook()
    store = StateStore()  # one asset, two watchers
    payroll = Watcher(store, client_payment_id_prefix="payroll-")
    failures = Watcher(store, statuses=["FAILED"])

    async def scenario() -> None:
        await asyncio.gather(payroll.poll(), failures.poll())
        create(hook, 1, clientPaymentId="payroll-1")
        create(hook, 2, memo="SANDBOX_FAIL_JOB")
        sandbox.admin.advance_clock(FINISH)
        for _ in range(3):
            await asyncio.gather(payroll.poll(), failures.poll())

    asyncio.run(scenario())
    assert len(store.values) == 2, "one cursor each"
    assert [p["status"] for p in payroll.fired] == ["COMPLETED"]
    assert [p["status"] for p in failures.fired] == ["FAILED"]
    assert "Another instance" not in logged(capsys)


def test_nothing_fires_until_the_cursor_is_saved(sandbox, capsys) -> None:
    store, watcher, token = one_job_finished_after_the_first_poll(sandbox)
    store.fail_sets = 2
    assert asyncio.run(watcher.polls(2)) == [], "not saved: not fired"
    assert "not reported now, so that none is ever reported twice" in logged(capsys)
    assert asyncio.run(watcher.polls(3)) == [token]


def test_statuses_and_prefix_narrow_what_is_reported(sandbox) -> None:
    hook = PayJobsHook()
    watcher = Watcher(StateStore(), statuses=["FAILED", "CANCELLED"], client_payment_id_prefix="payroll-")
    asyncio.run(watcher.poll())
    failed = create(hook, 1, clientPaymentId="payroll-1", memo="SANDBOX_FAIL_JOB")
    completed = create(hook, 2, clientPaymentId="payroll-2")
    other_prefix = create(hook, 3, clientPaymentId="bonus-3", memo="SANDBOX_FAIL_JOB")
    cancelled = create(hook, 4, clientPaymentId="payroll-4")
    hook.cancel_payment_job(cancelled)
    sandbox.admin.advance_clock(FINISH)
    asyncio.run(watcher.polls(2))
    assert sorted(watcher.jobs) == sorted([failed, cancelled])
    assert completed not in watcher.jobs and other_prefix not in watcher.jobs


def test_the_run_loop_fires_events_until_cancelled(sandbox) -> None:
    hook = PayJobsHook()
    trigger = PaymentJobEventTrigger(poll_interval=0.05)
    trigger.asset_state_store = StateStore()
    fired: list[str] = []

    async def scenario() -> None:
        async def consume() -> None:
            async for event in trigger.run():
                fired.append(event.payload["job"])

        task = asyncio.create_task(consume())
        await asyncio.to_thread(
            wait_until, lambda: len(api_calls(sandbox, "GET", "/payments/jobs")) >= 2, "polls"
        )
        token = await asyncio.to_thread(create, hook, 1)
        await asyncio.to_thread(sandbox.admin.advance_clock, FINISH)
        await asyncio.to_thread(wait_until, lambda: fired == [token], "the event")
        calls = len(api_calls(sandbox, "GET", "/payments/jobs"))
        await asyncio.to_thread(
            wait_until, lambda: len(api_calls(sandbox, "GET", "/payments/jobs")) > calls + 3, "polls"
        )
        task.cancel()

    asyncio.run(scenario())
    assert len(fired) == 1


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"statuses": ["COMPLETED", "PROCESSING"]}, "statuses"),
        ({"statuses": []}, "statuses"),
        ({"statuses": ["DONE"]}, "statuses"),
        ({"client_payment_id_prefix": ""}, "client_payment_id_prefix"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"clock_skew_margin": -1}, "clock_skew_margin"),
        ({"open_job_requests_per_poll": 0}, "open_job_requests_per_poll"),
        ({"open_job_requests_per_poll": True}, "open_job_requests_per_poll"),
        ({"payjobs_conn_id": ""}, "payjobs_conn_id"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(arguments: dict, field: str) -> None:
    from airflow_provider_payjobs.exceptions import PayJobsValidationError

    with pytest.raises(PayJobsValidationError, match=field):
        PaymentJobEventTrigger(**arguments)


def test_serialize_gives_the_same_arguments_back() -> None:
    trigger = PaymentJobEventTrigger(statuses=["FAILED", "COMPLETED"], client_payment_id_prefix="p-")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_payjobs.triggers.payjobs.PaymentJobEventTrigger"
    assert kwargs["statuses"] == ["COMPLETED", "FAILED"]
    rebuilt = PaymentJobEventTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
