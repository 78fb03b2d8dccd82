"""
The watcher's cursor and polls against servers the sandbox cannot be: lists that are not newest
first, refuse the sort, leave items or old jobs out, or repeat pages; late-visible jobs; the
cursor's size bound; the cursor store's conflict checks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from watching import StateStore, twice

from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.exceptions import PayJobsApiError
from airflow_provider_payjobs.watcher.cursor_store import CursorStore, CursorTaken
from airflow_provider_payjobs.watcher.job_cursor import (
    MAX_CURSOR_BYTES,
    JobCursor,
    UnreadableCursor,
    cursor_size,
)
from airflow_provider_payjobs.watcher.job_events import job_event_payload, payout_from_asset_event
from airflow_provider_payjobs.watcher.job_watch import JobWatch, UnusableJobList

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
LOG = logging.getLogger("test_job_watch_units")
KEY = "payjobs_cursor.test"


class JobList:
    """
    A job list in memory, newest first unless told otherwise, with whatever quirk a test needs.

    :param order: "newest" (honours ``-created``), "oldest" (ignores the sort), or "refuse"
        (answers 400 to any sort, lists newest first without one).
    """

    def __init__(self, order: str = "newest") -> None:
        self.order = order
        self.jobs: dict[str, dict[str, Any]] = {}
        self.clock = START
        self.hidden: set[str] = set()  # listed nowhere, retrievable
        self.without_items = False
        self.repeat_pages = False
        self.lists = 0
        self.lookups = 0

    def add(self, status: str = "PROCESSING", seconds: float = 1, created: datetime | None = None) -> str:
        self.clock += timedelta(seconds=seconds)
        token = f"jobs-{uuid.uuid4()}"
        moment = created or self.clock
        self.jobs[token] = {
            "token": token,
            "created": moment.isoformat().replace("+00:00", "Z"),
            "status": status,
            "count": 1,
            "items": [
                {"amount": 2, "currency": "USD", "status": "PENDING", "clientPaymentId": f"id-{token}"}
            ],
        }
        return token

    def finish(self, token: str, status: str = "COMPLETED") -> None:
        self.jobs[token]["status"] = status
        for item in self.jobs[token]["items"]:
            item["status"] = "COMPLETED" if status == "COMPLETED" else "FAILED"

    async def list_page(self, page: int, page_size: int, sort: str | None) -> dict[str, Any]:
        self.lists += 1
        if self.order == "refuse" and sort is not None:
            raise PayJobsApiError(400, method="GET", path="/payments/jobs", body_excerpt="sort: unknown")
        listed = sorted(
            (job for token, job in self.jobs.items() if token not in self.hidden),
            key=lambda job: job["created"],
            reverse=self.order != "oldest",
        )
        if self.repeat_pages:
            page = 1
        shown = listed[(page - 1) * page_size : page * page_size]
        if self.without_items:
            shown = [{key: value for key, value in job.items() if key != "items"} for job in shown]
        pages = max(1, -(-len(listed) // page_size))
        return {"payload": json.loads(json.dumps(shown)), "meta": {"pageCount": str(pages)}}

    async def retrieve(self, token: str) -> dict[str, Any]:
        self.lookups += 1
        if token not in self.jobs:
            raise PayJobsApiError(404, method="GET", path=f"/payments/jobs/{token}")
        return json.loads(json.dumps(self.jobs[token]))


def watch_of(jobs: JobList, **arguments: Any) -> JobWatch:
    return JobWatch(jobs.list_page, jobs.retrieve, RetryPolicy(), LOG, **arguments)


def polls(watch: JobWatch, cursor: JobCursor | None, count: int) -> tuple[JobCursor | None, list[str]]:
    reported: list[str] = []
    for _ in range(count):
        outcome = asyncio.run(watch.poll(cursor))
        cursor = outcome.cursor
        reported += [payload["job"] for payload in outcome.reported]
    return cursor, reported


def test_a_list_that_is_not_newest_first_is_read_whole_every_poll(caplog) -> None:
    jobs = JobList(order="oldest")
    done = [jobs.add("COMPLETED") for _ in range(70)]
    running = [jobs.add() for _ in range(70)]
    watch = watch_of(jobs)
    cursor, reported = polls(watch, None, 1)
    assert reported == [] and set(cursor.open) == set(running)
    for token in running:
        jobs.finish(token)
    new = jobs.add("COMPLETED")
    jobs.lists = 0
    cursor, reported = polls(watch, cursor, 3)
    assert sorted(reported) == sorted([*running, new]) and not set(done) & set(reported)
    assert jobs.lists == 3 * 3, "three pages on every poll"
    assert "not newest first" in caplog.text


def test_a_refused_sort_is_dropped(caplog) -> None:
    jobs = JobList(order="refuse")
    token = jobs.add()
    watch = watch_of(jobs)
    cursor, _ = polls(watch, None, 1)
    jobs.finish(token)
    assert polls(watch, cursor, 2)[1] == [token]
    assert watch.sort is None and "refused sort=-created" in caplog.text


def test_a_list_without_items_has_the_finished_job_retrieved_whole() -> None:
    jobs = JobList()
    jobs.without_items = True
    token = jobs.add()
    watch = watch_of(jobs, client_payment_id_prefix="id-")
    cursor, _ = polls(watch, None, 1)
    jobs.finish(token)
    jobs.lookups = 0
    outcome = asyncio.run(watch.poll(cursor))
    assert outcome.reported == [job_event_payload(jobs.jobs[token])]
    assert outcome.reported[0]["paid_per_currency"] == {"USD": "2"}
    assert jobs.lookups == 1


def test_jobs_the_list_leaves_out_are_looked_up_and_vanished_ones_dropped(caplog) -> None:
    jobs = JobList()
    old, gone = jobs.add(), jobs.add()
    watch = watch_of(jobs)
    cursor, _ = polls(watch, None, 1)
    jobs.hidden |= {old, gone}  # the list shows recent jobs only
    del jobs.jobs[gone]
    jobs.finish(old, "FAILED")
    cursor, reported = polls(watch, cursor, 2)
    assert reported == [old] and cursor.open == {}
    assert f"Payment job {gone} no longer exists" in caplog.text


def test_a_list_repeating_its_pages_fails_the_poll() -> None:
    jobs = JobList()
    for _ in range(60):
        jobs.add()
    jobs.repeat_pages = True
    with pytest.raises(UnusableJobList, match="repeats page 1 as page 2"):
        asyncio.run(watch_of(jobs).poll(None))


def test_a_late_job_is_new_within_the_margin_and_old_beyond_it() -> None:
    jobs = JobList()
    jobs.add("COMPLETED")
    watch = watch_of(jobs, clock_skew_margin=60)
    cursor, _ = polls(watch, None, 1)
    newest = jobs.clock
    within = jobs.add("COMPLETED", created=newest - timedelta(seconds=30))
    jobs.add("COMPLETED", created=newest - timedelta(seconds=90))  # beyond: taken for an old job
    assert polls(watch, cursor, 3)[1] == [within]


def test_an_empty_account_reports_every_job_that_finishes_later() -> None:
    jobs = JobList()
    watch = watch_of(jobs)
    cursor, _ = polls(watch, None, 1)
    token = jobs.add("COMPLETED")
    assert polls(watch, cursor, 3)[1] == [token]


def test_the_cursor_narrows_its_window_before_it_cuts_the_open_set() -> None:
    jobs = JobList()
    open_jobs = [jobs.add() for _ in range(1000)]
    finished = [jobs.add("COMPLETED", seconds=0.001) for _ in range(600)]  # all inside the window
    watch = watch_of(jobs)
    cursor, _ = polls(watch, None, 1)
    data = cursor.to_json("writer", 1)
    assert cursor_size(data) <= MAX_CURSOR_BYTES
    assert len(data["open"]) == 1000 and not data["open_incomplete"], "1,000 open jobs fit"
    assert 0 < len(data["seen"]) < 600, "the oldest of the window went, since moved past them"
    restored = JobCursor.from_json(data)
    assert all(created >= restored.since for created in restored.seen.values())
    assert polls(watch, restored, 2)[1] == [], "nothing it knew is reported"
    for token in open_jobs:
        jobs.finish(token)
    cursor, reported = polls(watch, restored, 3)
    assert sorted(reported) == sorted(open_jobs) and not set(finished) & set(reported)


def test_an_open_set_too_big_to_keep_is_found_again_by_reading_every_page(caplog) -> None:
    jobs = JobList()
    running = [jobs.add() for _ in range(1600)]
    watch = watch_of(jobs)
    cursor, _ = polls(watch, None, 1)
    store = StateStore()
    saver = CursorStore(store, LOG, KEY)
    asyncio.run(saver.save(cursor))
    asyncio.run(saver.save(cursor))
    data = store.values[KEY]
    assert data["open_incomplete"] and len(data["open"]) < 1600
    assert caplog.text.count("cursor holds") == 1, "said once"
    for token in running[:10]:
        jobs.finish(token)
    restarted = watch_of(jobs)  # a restart: only what was saved
    jobs.lists = 0
    cursor, reported = polls(restarted, JobCursor.from_json(data), 1)
    assert jobs.lists == 32, "every page, to find the open jobs that did not fit"
    assert set(cursor.open) == set(running[10:])
    kept = set(data["open"])
    assert set(reported) == kept & set(running[:10]), "those it kept; the others cannot be told apart"


def test_the_cursor_round_trips_and_refuses_what_it_did_not_write() -> None:
    cursor = JobCursor(
        prefix="p-",
        started_at=START,
        newest=START,
        since=START - timedelta(minutes=5),
        open={"jobs-1": 3},
        seen={"jobs-2": START},
        last_reported=["jobs-3"],
    )
    restored = JobCursor.from_json(json.loads(json.dumps(cursor.to_json("w", 2))))
    assert restored.same_state(cursor) and restored.open == {"jobs-1": 0}
    for junk in (
        None,
        [],
        {"version": 99},
        {"version": 1, "open": []},
        {**cursor.to_json("w", 1), "since": 5},
    ):
        with pytest.raises(UnreadableCursor):
            JobCursor.from_json(junk)


def test_the_store_steps_back_when_another_instance_saved_meanwhile() -> None:
    async def scenario() -> None:
        store = StateStore()
        one, two = CursorStore(store, LOG, KEY), CursorStore(store, LOG, KEY)
        assert await one.load() is None and await two.load() is None
        await one.save(JobCursor(newest=START))
        with pytest.raises(CursorTaken) as taken:
            await two.save(JobCursor())
        assert two.adopt(taken.value.stored).newest == START
        await two.save(JobCursor(newest=START + timedelta(seconds=1)))  # now it may
        with pytest.raises(CursorTaken):
            await one.save(JobCursor())
        # A write whose answer was lost but which landed is this instance's own: no conflict.
        three = CursorStore(store, LOG, KEY)
        await three.load()
        store.values[KEY] = {**store.values[KEY], "writer": three.writer, "generation": 7}
        assert (await three.save(JobCursor()))["generation"] == 8

    asyncio.run(scenario())


def test_one_trigger_watching_two_assets_keeps_its_cursor_in_memory(caplog) -> None:
    class TwoAssets:
        async def aget(self, key: str, default: Any = None) -> Any:
            raise ValueError("Task has 2 concrete inlets and outlets")

    store = CursorStore(TwoAssets(), LOG, KEY)
    assert asyncio.run(store.load()) is None and not store.durable
    assert "Give each asset's PaymentJobEventTrigger its own arguments" in caplog.text


def test_payout_from_asset_event_reads_watcher_and_outlet_events() -> None:
    payload = {"job": "jobs-1", "status": "COMPLETED"}
    assert payout_from_asset_event({"from_trigger": True, "payload": payload}) == payload
    assert payout_from_asset_event(type("Event", (), {"extra": payload})()) == payload
    assert payout_from_asset_event({"from_trigger": True, "payload": "text"}) is None
    assert payout_from_asset_event({"something": "else"}) is None
    assert payout_from_asset_event(None) is None


def test_many_jobs_finishing_at_once_are_each_reported_once() -> None:
    jobs = JobList()
    tokens = [jobs.add() for _ in range(500)]
    watch = watch_of(jobs, open_job_requests_per_poll=5)
    cursor, _ = polls(watch, None, 1)
    for token in tokens:
        jobs.finish(token, "CANCELLED")
    for _ in range(50):
        jobs.add("COMPLETED", seconds=0.01)
    cursor, reported = polls(watch, cursor, 30)
    assert twice(reported) == []
    assert set(tokens) <= set(reported)


def test_lookups_take_turns_longest_unchecked_first() -> None:
    jobs = JobList()
    hidden = [jobs.add() for _ in range(6)]
    watch = watch_of(jobs, open_job_requests_per_poll=2)
    cursor, _ = polls(watch, None, 1)
    jobs.hidden |= set(hidden)
    for token in hidden:
        jobs.finish(token)
    reported_per_poll = []
    for _ in range(4):
        jobs.lookups = 0
        cursor, reported = polls(watch, cursor, 1)
        reported_per_poll.append(len(reported))
        assert jobs.lookups <= 2, "the budget holds"
    assert reported_per_poll == [2, 2, 2, 0]
