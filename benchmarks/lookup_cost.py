"""
What a create spends looking for a job that already holds its clientPaymentIds, by account size.

    .venv/bin/python benchmarks/lookup_cost.py [--sizes 100,10000,100000]

Before the first POST of a body whose items carry clientPaymentIds, the hook lists jobs newest
first (pages of 50) back to ``created_since`` less ``CLOCK_SKEW_MARGIN``, reading at most
``lookup_max_pages`` pages, and fails closed (PayJobsReconcileError) when the window holds more.

The sandbox runs in this process, served by uvicorn in a thread on a loopback port: the hook
talks real HTTP to it, while its job store is seeded directly (the admin API has no bulk
seeding, and one POST per job is measured below and is too slow for 100,000 jobs). Seeded jobs
are made by the store itself, then dated back (the job's and its items' ``created``).

For each account size N (jobs with three items each, their own ids) two cases:

- ``older``: every job is older than the payout look-back window (35 days, the operator's
  default): the usual account, where the search stops on the first page;
- ``inside``: every job lies inside the window (one a second, the newest a minute ago): a busy
  account, where the search reads pages until the window's start or its page budget.

Each case runs ``hook.find_job_holding(ids, created_since)`` for ids no job holds (``--repeats``
times, the median printed), then one real ``hook.create_payment_job(body, created_since=...)`` of
those ids (look, then POST), and, when that posted, the same create again (a retried task: its
look has to find the job just made, and adopt it), all with the default budget (``reconcile.MAX_LIST_PAGES``);
``inside`` is also looked through with a budget raised to cover the whole window
(``--no-full-scan`` skips that). ``created_since`` is the window's start, as a payout key's
create has it. Requests are counted from the sandbox's own request log. The sandbox shares this
process's interpreter: the seconds include its work, which a real server does elsewhere (the
requests are sequential, so nothing overlaps).
Printed: a Markdown table and the machine it ran on.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Airflow reads this at import time: keep the benchmark away from the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="payjobs-lookup-cost-airflow-"))

import uvicorn
from airflow.sdk.log import configure_logging

from airflow_provider_payjobs.exceptions import PayJobsReconcileError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.operators.payjobs import DEFAULT_PAYOUT_LOOKBACK
from airflow_provider_payjobs.payout import reconcile
from airflow_provider_payjobs.sandbox.app import build_app
from airflow_provider_payjobs.sandbox.contract import JobRequest
from airflow_provider_payjobs.sandbox.faults import FaultSettings
from airflow_provider_payjobs.sandbox.server import DroppableH11Protocol, bind
from airflow_provider_payjobs.sandbox.state import SandboxConfig, SandboxState

JOBS_PATH = "/api/v2/payments/jobs"
ITEMS_PER_JOB = 3
DESTINATION = "dest-631b200f-665d-4dbe-bd01-{:012d}"
HTTP_SEEDING_SAMPLE = 200  # POSTs timed to tell what seeding over HTTP would cost
START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Row:
    """One measured call: what it asked the sandbox and how it ended."""

    jobs: int
    case: str
    call: str
    budget: int
    lists: int
    retrievals: int
    posts: int
    seconds: float
    outcome: str


@dataclass(frozen=True)
class Measure:
    """The requests one call made, its seconds, and what it returned or that it failed closed."""

    lists: int
    retrievals: int
    posts: int
    seconds: float
    result: Any
    failed_closed: bool


@contextmanager
def sandbox_in_this_process() -> Iterator[tuple[SandboxState, str]]:
    """The sandbox app served by uvicorn in a thread; yields its state and its API base URL."""
    # step_seconds 0: every job is COMPLETED at once, as the old jobs of an account are.
    state = SandboxState(SandboxConfig(step_seconds=0.0), FaultSettings(), frozen_clock=False)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(
        build_app(state), http=DroppableH11Protocol, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the in-process sandbox did not start")
        time.sleep(0.01)
    try:
        yield state, f"http://127.0.0.1:{sock.getsockname()[1]}/api/v2"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_SECONDS)
        sock.close()


def connection_json(base_url: str, state: SandboxState) -> str:
    """``AIRFLOW_CONN_PAYJOBS_DEFAULT`` for the sandbox, built as tests/conftest.py builds it."""
    return json.dumps(
        {
            "conn_type": "payjobs",
            "login": state.config.client_id,
            "password": state.config.client_secret,
            "host": base_url,
            "extra": {"timeout": 30},
        }
    )


def items(prefix: str | None, count: int = ITEMS_PER_JOB) -> list[dict[str, Any]]:
    """``count`` items of 25.00 USD; with clientPaymentIds ``{prefix}-{n}`` unless ``prefix`` is None."""
    made: list[dict[str, Any]] = []
    for position in range(count):
        item: dict[str, Any] = {
            "amount": Decimal("25.00"),
            "currency": "USD",
            "destinationToken": DESTINATION.format(position),
        }
        if prefix is not None:
            item["clientPaymentId"] = f"{prefix}-{position}"
        made.append(item)
    return made


def seed(state: SandboxState, count: int, newest: datetime, spacing: timedelta) -> None:
    """
    ``count`` jobs in the store, one every ``spacing``, the newest created at ``newest``.

    The store makes each job (its tokens, items and holders); only its dates are moved back.
    Inserted oldest first: the store lists jobs newest first by insertion order.
    """
    store = state.store
    for number in range(count):
        created = newest - spacing * (count - 1 - number)
        request = JobRequest(not_before=None, not_after=None, items=items(f"seed-{number}"))
        job = store.create(request, step_seconds=0.0, deduplicate=False)
        job.created = job.starts = created
        for item in job.items:
            item["created"] = created


def http_seeding_rate(hook: PayJobsHook, state: SandboxState) -> float:
    """Jobs a second that one-by-one creates over HTTP reach (no ids: no look before each)."""
    body = {"items": [{**item, "amount": "25.00"} for item in items(None)]}
    started = time.perf_counter()
    for _ in range(HTTP_SEEDING_SAMPLE):
        hook.create_payment_job(body)
    rate = HTTP_SEEDING_SAMPLE / (time.perf_counter() - started)
    state.reset()
    return rate


def measured(state: SandboxState, call: Callable[[], Any], repeats: int = 1) -> Measure:
    """
    What ``call()`` asked the sandbox, how long it took, and how it ended.

    :param repeats: runs of ``call``; the median time is kept, and the requests of the last run
        (every run makes the same).
    """
    times = []
    for _ in range(repeats):
        state.clear_requests()
        started = time.perf_counter()
        try:
            result, failed_closed = call(), False
        except PayJobsReconcileError:
            result, failed_closed = None, True
        times.append(time.perf_counter() - started)
    log = state.requests()
    return Measure(
        lists=sum(1 for entry in log if entry["method"] == "GET" and entry["path"] == JOBS_PATH),
        retrievals=sum(
            1 for entry in log if entry["method"] == "GET" and entry["path"].startswith(JOBS_PATH + "/")
        ),
        posts=sum(1 for entry in log if entry["method"] == "POST" and entry["path"] == JOBS_PATH),
        seconds=statistics.median(times),
        result=result,
        failed_closed=failed_closed,
    )


def look_outcome(measure: Measure) -> str:
    if measure.failed_closed:
        return "failed closed (PayJobsReconcileError)"
    return "decided: no job holds them" if measure.result is None else "found the job holding them"


def create_outcome(measure: Measure) -> str:
    if measure.failed_closed:
        return "failed closed before posting (PayJobsReconcileError)"
    return "none held them: posted" if measure.posts else "adopted the job holding them"


def seed_case(state: SandboxState, jobs: int, case: str) -> datetime:
    """A fresh account of ``jobs`` jobs for ``case``; returns the window's start (35 days back)."""
    state.reset()
    now = state.clock.now()
    window_start = now - DEFAULT_PAYOUT_LOOKBACK
    started = time.perf_counter()
    if case == "older":  # the newest job a day before the window, and its margin, begins
        seed(state, jobs, window_start - timedelta(days=1), timedelta(seconds=1))
    else:
        seed(state, jobs, now - timedelta(minutes=1), timedelta(seconds=1))
    print(f"{case}: seeded {jobs:,} jobs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return window_start


def run_case(
    state: SandboxState, hook: PayJobsHook, jobs: int, case: str, *, full_scan: bool, repeats: int
) -> list[Row]:
    """The look and the create of ids no job holds, then the create again, on a fresh account."""
    window_start = seed_case(state, jobs, case)
    hook.get_access_token(force_refresh=True)  # the token request stays out of the counts
    prefix = f"bench-{case}-{jobs}"
    ids = [f"{prefix}-{position}" for position in range(ITEMS_PER_JOB)]
    default = reconcile.MAX_LIST_PAGES

    def row(call: str, budget: int, measure: Measure, outcome: Callable[[Measure], str]) -> Row:
        return Row(jobs, case, call, budget, measure.lists, measure.retrievals, measure.posts,
                   measure.seconds, outcome(measure))  # fmt: skip

    def look(budget: int) -> Row:
        search = functools.partial(hook.find_job_holding, ids, window_start, max_pages=budget)
        return row("`find_job_holding`", budget, measured(state, search, repeats), look_outcome)

    rows = [look(default)]
    if full_scan and case == "inside":  # the budget an operator would need to search it all
        rows.append(look(math.ceil(jobs / reconcile.PAGE_SIZE) + 1))
    body = {"items": [{**item, "amount": "25.00"} for item in items(prefix)]}
    create = functools.partial(hook.create_payment_job, body, created_since=window_start)
    first = measured(state, create)
    rows.append(row("`create_payment_job`", default, first, create_outcome))
    if not first.failed_closed:  # a retried task: the job just made is found and adopted
        rows.append(row("`create_payment_job` again", default, measured(state, create), create_outcome))
    return rows


def markdown(rows: list[Row]) -> str:
    lines = [
        "| N jobs | case | call | page budget | list requests | retrievals | POSTs | seconds | outcome |",
        "|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.jobs:,} | {row.case} | {row.call} | {row.budget} | {row.lists} | {row.retrievals} "
            f"| {row.posts} | {row.seconds:.3f} | {row.outcome} |"
        )
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    """``--sizes``: comma-separated job counts, each an integer >= 1."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes: must be integers separated by commas, got {text!r}"
        ) from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"--sizes: every size must be an integer >= 1, got {text!r}")
    return values


def positive(text: str) -> int:
    """``--repeats``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=sizes, default=[100, 10_000, 100_000], help="jobs in the account")
    parser.add_argument(
        "--no-full-scan", dest="full_scan", action="store_false",
        help="skip the look with a page budget raised to cover the whole window",
    )  # fmt: skip
    parser.add_argument(
        "--repeats", type=positive, default=3, help="runs of each look; the median time is printed"
    )
    arguments = parser.parse_args(argv)
    # Adoptions and failed-closed searches are expected here: their log lines would break the table.
    configure_logging(log_level="CRITICAL", cache_logger_on_first_use=False)
    logging.getLogger("airflow_provider_payjobs").setLevel(logging.CRITICAL)

    rows: list[Row] = []
    with sandbox_in_this_process() as (state, base_url):
        os.environ["AIRFLOW_CONN_PAYJOBS_DEFAULT"] = connection_json(base_url, state)
        hook = PayJobsHook()
        rate = http_seeding_rate(hook, state)
        for jobs in arguments.sizes:
            for case in ("older", "inside"):
                rows.extend(
                    run_case(
                        state, hook, jobs, case, full_scan=arguments.full_scan, repeats=arguments.repeats
                    )
                )
        hook.close()

    print(markdown(rows))
    print()
    print(
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; sandbox in the same process (uvicorn thread, loopback HTTP). "
        f"Page size {reconcile.PAGE_SIZE}, default budget {reconcile.MAX_LIST_PAGES} pages, look-back "
        f"{DEFAULT_PAYOUT_LOOKBACK.days} days, {ITEMS_PER_JOB} items per job. One-by-one creates over "
        f"HTTP reached {rate:.0f} jobs/s here ({100_000 / rate:.0f} s for 100,000 jobs)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
