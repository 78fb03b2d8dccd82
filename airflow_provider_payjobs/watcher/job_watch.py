"""
One poll of a payout watcher: which payment jobs finished since the last poll.

A poll reads the job list newest first (``sort=-created``) from page 1 down to the first page
holding a job created before the cursor's window, then re-checks the open jobs those pages did
not show, within a budget of requests per poll: by reading further pages when there are more
such jobs than pages left (one page shows 50 jobs), else by looking them up one by one, the
longest unchecked first. Jobs created while the pages are read only push older jobs down the
list, so a job may show twice in a poll but never goes unseen. The first poll (no cursor yet)
reads every page: what is already finished then is not reported, what is open is watched.

Nothing here relies on the server honouring ``filter`` (never sent) or ``sort``: when the list
is not newest first, every poll reads every page; when the server refuses the sort, it is
dropped. Every status is checked here, whatever the server was asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_payjobs.client.answer_shapes import page_count
from airflow_provider_payjobs.client.models import TERMINAL_STATUSES, JobStatus
from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsError
from airflow_provider_payjobs.watcher.job_cursor import LAST_REPORTED_KEPT, JobCursor, created_of
from airflow_provider_payjobs.watcher.job_events import JOB_KEY, job_event_payload

PAGE_SIZE = 50  # the API's largest page
NEWEST_FIRST = "-created"
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
ListPage = Callable[[int, int, "str | None"], Awaitable[dict[str, Any]]]
Retrieve = Callable[[str], Awaitable[dict[str, Any]]]


class UnusableJobList(PayJobsError):
    """The server lists the same page twice in a row: its paging cannot be walked."""


class _ServerTrouble(Exception):
    """Lookups stop for this poll: the server keeps failing."""


class PollOutcome:
    """
    What one poll found.

    :param reported: the event payloads of the finished jobs to report, in the order found.
    :param cursor: the cursor after this poll.
    :param list_requests: list pages read.
    :param lookups: single jobs retrieved.
    """

    def __init__(
        self, reported: list[dict[str, Any]], cursor: JobCursor, list_requests: int, lookups: int
    ) -> None:
        self.reported = reported
        self.cursor = cursor
        self.list_requests = list_requests
        self.lookups = lookups

    @property
    def requests(self) -> int:
        return self.list_requests + self.lookups


class JobWatch:
    """
    Polls the job list for jobs that finish; keeps what helps between polls (sweep position,
    poll count, whether the server sorts) in memory, and what a restart needs in the cursor.

    :param list_page: ``(page, page_size, sort)`` to one checked page (the hook's ``alist_payment_jobs``).
    :param retrieve: a job token to the checked job (the hook's ``aretrieve_payment_job``).
    :param retry_policy: tells transient errors from lasting ones.
    :param log: where warnings go.
    :param statuses: the finished statuses to report.
    :param client_payment_id_prefix: report only jobs holding an item whose id starts with it.
    :param clock_skew_margin: how much older than the newest job seen a job may be and still be
        taken for new when it shows up late (jobs are saved and listed by the server's clock).
    :param open_job_requests_per_poll: requests per poll for re-checking open jobs the newest
        pages did not show.
    """

    def __init__(
        self,
        list_page: ListPage,
        retrieve: Retrieve,
        retry_policy: RetryPolicy,
        log: Any,
        *,
        statuses: Collection[JobStatus] = TERMINAL_STATUSES,
        client_payment_id_prefix: str | None = None,
        clock_skew_margin: float = 300.0,
        open_job_requests_per_poll: int = 50,
    ) -> None:
        self.list_page = list_page
        self.retrieve = retrieve
        self.retry_policy = retry_policy
        self.log = log
        self.statuses = frozenset(statuses)
        self.prefix = client_payment_id_prefix
        self.margin = timedelta(seconds=clock_skew_margin)
        self.budget = open_job_requests_per_poll
        self.polls = 0
        self.sweep_from = 0  # the page where the next sweep for open jobs goes on (0: after the top)
        self.sort: str | None = NEWEST_FIRST
        self.warned_unsorted = False

    async def poll(self, cursor: JobCursor | None) -> PollOutcome:
        """
        One poll from ``cursor`` (None: the first, which reports nothing already finished).

        :raises PayJobsError: a list page failed after the hook's retries; nothing is lost, the
            next poll starts from the same cursor.
        """
        self.polls += 1
        return await _Poll(self, cursor).run()

    def matches(self, job: dict[str, Any]) -> bool | None:
        """Whether the job holds an item with the prefix; None when the items shown cannot tell."""
        if self.prefix is None:
            return True
        items = job.get("items")
        if not isinstance(items, list):
            return None
        if any(str(item.get("clientPaymentId") or "").startswith(self.prefix) for item in items):
            return True
        return None if _shows_some_items_only(job) else False


class _Poll:
    """The state of one poll, on a copy of the cursor: nothing changes unless the poll ends."""

    def __init__(self, watch: JobWatch, cursor: JobCursor | None) -> None:
        self.watch = watch
        self.first = cursor is None
        self.cursor = cursor.copy() if cursor is not None else JobCursor(prefix=watch.prefix)
        # Every page is read on the first poll, after the open set was cut, or for a new prefix.
        self.read_all = self.first or self.cursor.open_incomplete or self.cursor.prefix != watch.prefix
        self.shown: set[str] = set()  # open jobs this poll saw (only those: memory stays small)
        self.any_job_seen = False
        self.gone: set[str] = set()  # jobs the server no longer knows (HTTP 404)
        self.ended: set[str] = set()  # jobs seen finished this poll, reported or not
        # What to report per job: the event payload, or None until the job is retrieved whole.
        self.finished: dict[str, dict[str, Any] | None] = {}
        self.window: dict[str, datetime] = {}  # finished jobs seen, with their created
        self.newest = self.cursor.newest
        self.sorted = True
        self.previous_created: datetime | None = None
        self.list_requests = 0
        self.lookups = 0

    async def run(self) -> PollOutcome:
        last_page, page_total, at_end = await self._read_top()
        unfound = [token for token in self.cursor.open if token not in self.shown]
        budget = self.watch.budget
        if unfound and not at_end:
            pages_left = None if page_total is None else page_total - last_page
            if pages_left is not None and len(unfound) > pages_left:
                budget -= await self._sweep(last_page + 1, budget)
        # Also after reading every page: a list may leave some jobs out (old ones, say).
        with suppress(_ServerTrouble):  # what was found stands; the rest waits for the next poll
            await self._look_up([t for t in unfound if t not in self.shown], budget)
        await self._complete_details()
        return self._outcome()

    # --- reading pages ----------------------------------------------------------------------------

    async def _read_top(self) -> tuple[int, int | None, bool]:
        """Pages from 1 until past the window (all of them when needed): last page, total, at end."""
        page, previous, older_seen = 0, None, False
        self.previous_created = None
        while True:
            page += 1
            result = await self._page(page)
            tokens = [job["token"] for job in result["payload"]]
            if tokens and tokens == previous:
                raise UnusableJobList(f"the job list repeats page {page - 1} as page {page}")
            previous = tokens
            older_seen = self._observe_page(result["payload"]) or older_seen
            total = page_count(result)
            if _is_last(result, page, total):
                return page, total, True
            if older_seen and self.sorted and not self.read_all:
                return page, total, False

    async def _sweep(self, first_page: int, budget: int) -> int:
        """
        Read pages below the top for open jobs, from where the last sweep stopped, wrapping
        round once to ``first_page``; the requests spent.
        """
        start = max(first_page, self.watch.sweep_from)
        page, wrapped, spent = start, start == first_page, 0
        while spent < budget and any(token not in self.shown for token in self.cursor.open):
            result = await self._page(page)
            spent += 1
            self._observe_page(result["payload"], check_order=False)
            if _is_last(result, page, page_count(result)):
                if wrapped:
                    page = first_page
                    break
                page, wrapped = first_page, True
            else:
                page += 1
            if wrapped and page >= start and start != first_page:
                break  # every page below the top was read once
        # Go on from here next time only if the budget ran out before every open job was seen.
        unseen = any(token not in self.shown for token in self.cursor.open)
        self.watch.sweep_from = page if unseen else 0
        return spent

    async def _page(self, page: int) -> dict[str, Any]:
        watch = self.watch
        self.list_requests += 1
        try:
            return await watch.list_page(page, PAGE_SIZE, watch.sort)
        except PayJobsApiError as error:
            if watch.sort is None or error.status_code != 400:
                raise
            watch.log.warning("The job list refused sort=%s (%s): listing without it", watch.sort, error)
            watch.sort = None
            self.list_requests += 1
            return await watch.list_page(page, PAGE_SIZE, None)

    def _observe_page(self, jobs: list[dict[str, Any]], check_order: bool = True) -> bool:
        """Observe each job; whether the page shows a job created before the window."""
        older_seen = False
        since = self.cursor.since
        for job in jobs:
            created = created_of(job)
            if check_order and created is not None:
                if self.previous_created is not None and created > self.previous_created:
                    self._unsorted()
                self.previous_created = created
            older_seen = older_seen or (created is not None and since is not None and created < since)
            self.observe(job, created)
        return older_seen

    def _unsorted(self) -> None:
        self.sorted = False
        if not self.watch.warned_unsorted:
            self.watch.warned_unsorted = True
            self.watch.log.warning(
                "The job list is not newest first: every poll reads every page (one request per "
                "%d jobs in the account)",
                PAGE_SIZE,
            )

    # --- one job ---------------------------------------------------------------------------------

    def observe(self, job: dict[str, Any], created: datetime | None) -> None:
        """Classify one sighting of a job (a job may show twice in one poll)."""
        token = job["token"]
        if token in self.ended:
            return
        self.any_job_seen = True
        if created is not None and (self.newest is None or created > self.newest):
            self.newest = created
        terminal = JobStatus.parse(job.get("status")) in TERMINAL_STATUSES
        matches = self.watch.matches(job)
        cursor = self.cursor
        # newest is set whenever created is (just above); the check only tells the type checkers.
        newest = self.newest
        if terminal and created is not None and newest is not None and created >= newest - self.watch.margin:
            self.window[token] = created  # older ones fall out of the window when the poll ends
        if token in cursor.open:
            self.shown.add(token)
            cursor.open[token] = self.watch.polls
            if matches is False:
                del cursor.open[token]
            elif terminal:
                self._finish(token, job)
            return
        if not terminal:
            if matches is not False:
                # Not finished, so never reported: watch it (this also heals a cut open set).
                cursor.open[token] = self.watch.polls
                self.shown.add(token)
            return
        new = cursor.since is not None and created is not None and created >= cursor.since
        if new and token not in cursor.seen and matches is not False:
            # Created after the last poll's window began, never seen, and finished already.
            self._finish(token, job)

    def _finish(self, token: str, job: dict[str, Any]) -> None:
        """Keep what the event needs (a few hundred bytes), not the job with all its items."""
        self.ended.add(token)
        if _shows_some_items_only(job):
            self.finished[token] = None  # retrieved whole before the poll ends
        elif self._reportable(job):
            self.finished[token] = job_event_payload(job)

    def _reportable(self, job: dict[str, Any]) -> bool:
        if JobStatus.parse(job.get("status")) not in self.watch.statuses:
            return False
        matches = self.watch.matches(job)
        if matches is None:
            self.watch.log.warning(
                "Payment job %s finished but does not show all its items: cannot tell whether it "
                "holds a clientPaymentId starting with %r; not reported",
                job.get("token"),
                self.watch.prefix,
            )
        return matches is True

    async def _look_up(self, tokens: list[str], budget: int) -> None:
        """Retrieve up to ``budget`` open jobs, the longest unchecked first."""
        chosen = sorted(tokens, key=lambda token: self.cursor.open[token])[: max(budget, 0)]
        for token in chosen:
            job = await self._retrieve(token)
            if job is None:
                if token in self.cursor.open:
                    self.cursor.open[token] = self.watch.polls  # let the others have their turn
                continue
            self.observe(job, created_of(job))

    async def _retrieve(self, token: str) -> dict[str, Any] | None:
        """
        The job; None when this job cannot be had (dropped from the open set when it is gone).

        :raises _ServerTrouble: a transient error outlasted the hook's retries: no more lookups now.
        """
        self.lookups += 1
        try:
            return await self.watch.retrieve(token)
        except PayJobsError as error:
            if isinstance(error, PayJobsApiError) and error.status_code == 404:
                self.watch.log.warning(
                    "Payment job %s no longer exists (HTTP 404): no longer watched, never reported", token
                )
                self.cursor.open.pop(token, None)
                self.gone.add(token)
                return None
            self.watch.log.warning("Could not look up payment job %s (%s): trying again later", token, error)
            if self.watch.retry_policy.should_retry(error, "GET"):
                raise _ServerTrouble() from error
        return None

    async def _complete_details(self) -> None:
        """A finished job whose list entry lacks items is retrieved whole before it is reported."""
        trouble = False
        for token in [token for token, payload in self.finished.items() if payload is None]:
            whole = None
            if not trouble:
                try:
                    whole = await self._retrieve(token)
                except _ServerTrouble:
                    trouble = True
            del self.finished[token]
            if whole is not None and JobStatus.parse(whole.get("status")) in TERMINAL_STATUSES:
                if _shows_some_items_only(whole):
                    self.watch.log.warning(
                        "Payment job %s shows %s of its %s items even when retrieved: its event "
                        "counts only those",
                        token,
                        len(whole.get("items") or []),
                        whole.get("count"),
                    )
                if self._reportable(whole):
                    self.finished[token] = job_event_payload(whole)
                continue
            self.ended.discard(token)
            if token not in self.gone:  # watched on: reported by a later poll
                self.cursor.open.setdefault(token, self.watch.polls)

    # --- the end of the poll ---------------------------------------------------------------------

    def _outcome(self) -> PollOutcome:
        cursor, watch = self.cursor, self.watch
        for token in self.ended:
            cursor.open.pop(token, None)
        reported = [payload for payload in self.finished.values() if payload is not None]
        cursor.prefix = watch.prefix
        cursor.open_incomplete = False
        cursor.newest = self.newest
        if self.newest is not None:
            moved = self.newest - watch.margin
            cursor.since = moved if cursor.since is None else max(cursor.since, moved)
        elif self.first and not self.any_job_seen:
            # An account without jobs: whatever shows up later was created after this poll.
            cursor.since = EARLIEST
        if self.first:
            cursor.started_at = datetime.now(timezone.utc)
        window = {**cursor.seen, **self.window}
        cursor.seen = {t: c for t, c in window.items() if cursor.since is not None and c >= cursor.since}
        cursor.last_reported = [*cursor.last_reported, *(payload[JOB_KEY] for payload in reported)]
        cursor.last_reported = cursor.last_reported[-LAST_REPORTED_KEPT:]
        return PollOutcome(reported, cursor, self.list_requests, self.lookups)


def _is_last(result: dict[str, Any], page: int, total: int | None) -> bool:
    payload = result["payload"]
    return not payload or (len(payload) < PAGE_SIZE if total is None else page >= total)


def _shows_some_items_only(job: dict[str, Any]) -> bool:
    """The job says it has more items than its entry shows (a list may leave items out)."""
    items = job.get("items")
    count = job.get("count")
    if not isinstance(items, list):
        return True
    return isinstance(count, int) and not isinstance(count, bool) and count > len(items)
