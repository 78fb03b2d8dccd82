"""
The payout watcher (PaymentJobEventTrigger) on a large account: requests per poll and memory.

    python benchmarks/event_trigger_scale.py [--jobs 10000] [--open 1000] [--budget 50]

The account (its jobs made over ``--days``) lives in the sandbox's own job store, in this
process (the same jobs, statuses and answers the sandbox serves, without HTTP), so that every
list page and lookup the watcher asks for is counted exactly. Scenarios, each on a fresh account
of ``--jobs`` jobs with ``--open`` open:

- ``newest open``: the open jobs are the newest (payouts still running);
- ``spread open``: every n-th job is open, from the newest to the oldest (held, scheduled ones);
- ``few old open``: 20 open jobs, all among the oldest.

Printed per scenario: the first scan (requests, peak memory); a steady poll with 10 new jobs
(requests: list pages and lookups, peak memory during the poll, the watcher's state after it,
the saved cursor's bytes); how many polls until every open job was looked at again; and, once
every open job finished, the polls until all were reported and whether any was reported twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
import tracemalloc
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.exceptions import PayJobsApiError
from airflow_provider_payjobs.sandbox.clock import SandboxClock
from airflow_provider_payjobs.sandbox.contract import parse_job_request
from airflow_provider_payjobs.sandbox.store import JobStore, job_result
from airflow_provider_payjobs.watcher.job_cursor import JobCursor, cursor_size
from airflow_provider_payjobs.watcher.job_watch import JobWatch

BASE = "http://sandbox.invalid/api/v2"
ITEMS = [
    {
        "amount": Decimal("25.00"),
        "currency": "USD",
        "destinationToken": f"dest-631b200f-665d-4dbe-bd01-{n:012d}",
    }
    for n in range(3)
]
FAR_AWAY = (datetime.now(timezone.utc) + timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Account:
    """The sandbox's job store with the list and lookup the watcher calls, counting each call."""

    def __init__(self) -> None:
        self.clock = SandboxClock(frozen=True)
        self.store = JobStore(self.clock)
        self.lists = 0
        self.lookups = 0

    def create(self, open_job: bool, seconds_after: float = 1) -> str:
        body: dict[str, Any] = {"items": [dict(item) for item in ITEMS]}
        if open_job:
            body["notBefore"] = FAR_AWAY  # SCHEDULED until it is cancelled
        self.clock.advance(seconds_after)
        return self.store.create(parse_job_request(body), step_seconds=2, deduplicate=False).token

    async def list_page(self, page: int, page_size: int, sort: str | None) -> dict[str, Any]:
        self.lists += 1
        jobs = self.store.newest_first()
        shown = jobs[(page - 1) * page_size : page * page_size]
        now = self.clock.now()
        pages = max(1, math.ceil(len(jobs) / page_size))
        return {"payload": [job_result(job, now, BASE) for job in shown], "meta": {"pageCount": str(pages)}}

    async def retrieve(self, token: str) -> dict[str, Any]:
        self.lookups += 1
        if token not in self.store.jobs:
            raise PayJobsApiError(404)
        return job_result(self.store.jobs[token], self.clock.now(), BASE)

    def counted(self) -> tuple[int, int]:
        counts = (self.lists, self.lookups)
        self.lists = self.lookups = 0
        return counts


def build(open_jobs: list[bool], days: float) -> tuple[Account, list[str]]:
    account = Account()
    spacing = days * 86400 / len(open_jobs)
    tokens = [account.create(open_job, spacing) for open_job in open_jobs]
    account.clock.advance(60)  # every job not held has completed
    return account, [token for token, is_open in zip(tokens, open_jobs, strict=True) if is_open]


def layouts(jobs: int, open_count: int) -> dict[str, list[bool]]:
    every = max(1, jobs // open_count)
    return {
        "newest open": [index >= jobs - open_count for index in range(jobs)],
        "spread open": [index % every == every - 1 for index in range(jobs)][:jobs],
        "few old open": [index < 20 for index in range(jobs)],
    }


async def measured_poll(watch: JobWatch, cursor: JobCursor | None) -> tuple[Any, int, int]:
    """One poll; its outcome, the peak bytes allocated during it, the bytes it left behind."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    outcome = await watch.poll(cursor)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return outcome, peak - before, current - before


def state_bytes(cursor: JobCursor) -> int:
    """What the watcher keeps between polls (the cursor in memory), measured by building a copy."""
    text = json.dumps(cursor.to_json("w", 1, max_bytes=10**9))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    copy = JobCursor.from_json(json.loads(text))  # new strings, as after a restart
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del copy
    return size


async def scenario(name: str, layout: list[bool], budget: int, days: float) -> None:
    account, open_tokens = build(layout, days)
    watch = JobWatch(account.list_page, account.retrieve, RetryPolicy(), logging.getLogger("bench"),
                     open_job_requests_per_poll=budget)  # fmt: skip
    outcome, peak, _ = await measured_poll(watch, None)
    lists, lookups = account.counted()
    cursor = outcome.cursor
    print(f"\n{name}: {len(layout)} jobs, {len(open_tokens)} open, budget {budget} requests per poll")
    print(f"  first scan      {lists:4d} list pages, {lookups:4d} lookups; peak {peak / 1e6:6.2f} MB; "
          f"watching {len(cursor.open)} open jobs")  # fmt: skip

    for _ in range(10):
        account.create(open_job=False)  # new jobs since the last poll (a second apart), still running
    outcome, peak, _ = await measured_poll(watch, cursor)
    lists, lookups = account.counted()
    cursor = outcome.cursor
    reported = [payload["job"] for payload in outcome.reported]  # new ones that finished already
    saved = cursor_size(cursor.to_json("writer", 1))
    print(f"  steady poll     {lists:4d} list pages, {lookups:4d} lookups; peak {peak / 1e6:6.2f} MB; "
          f"state kept {state_bytes(cursor) / 1e3:7.1f} kB; cursor saved {saved / 1e3:5.1f} kB")  # fmt: skip

    checked: set[str] = set()
    polls, worst = 0, 0
    original_retrieve, original_list = account.retrieve, account.list_page

    async def noting_retrieve(token: str) -> dict[str, Any]:
        checked.add(token)
        return await original_retrieve(token)

    async def noting_list(page: int, page_size: int, sort: str | None) -> dict[str, Any]:
        result = await original_list(page, page_size, sort)
        checked.update(job["token"] for job in result["payload"])
        return result

    watch.retrieve, watch.list_page = noting_retrieve, noting_list
    while not set(open_tokens) <= checked and polls < 500:
        outcome = await watch.poll(cursor)
        cursor = outcome.cursor
        reported += [payload["job"] for payload in outcome.reported]
        worst = max(worst, sum(account.counted()))
        polls += 1
    print(f"  re-check cycle  every open job looked at again within {polls} polls "
          f"(at most {worst} requests in any of them)")  # fmt: skip

    watch.retrieve, watch.list_page = original_retrieve, original_list
    for token in open_tokens:
        account.store.cancel(token)
    account.clock.advance(60)  # the 10 new ones complete
    polls = 0
    while len(set(reported)) < len(open_tokens) + 10 and polls < 500:
        outcome = await watch.poll(cursor)
        cursor = outcome.cursor
        reported += [payload["job"] for payload in outcome.reported]
        polls += 1
    twice = sum(1 for count in Counter(reported).values() if count > 1)
    print(f"  all finished    {len(set(reported))} of {len(open_tokens) + 10} reported (the last in "
          f"{polls} polls), {twice} reported twice")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--days", type=float, default=90, help="how long the account took to make its jobs")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for name, layout in layouts(arguments.jobs, arguments.open).items():
        asyncio.run(scenario(name, layout, arguments.budget, arguments.days))


if __name__ == "__main__":
    main()
