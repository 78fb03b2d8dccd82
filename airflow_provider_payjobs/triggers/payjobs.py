"""
PaymentJobTrigger waits in the triggerer until one payment job reaches a terminal status;
PaymentJobEventTrigger watches the whole account and fires once per job that finishes (an
asset watcher, for DAGs scheduled on "payouts finished").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider_payjobs.airflow_support.user_action import decide_in_triggerer
from airflow_provider_payjobs.airflow_support.waiting import ERROR, JobWait
from airflow_provider_payjobs.client.job_status import StatusSets
from airflow_provider_payjobs.client.models import TERMINAL_STATUSES, JobStatus
from airflow_provider_payjobs.exceptions import PayJobsError, PayJobsValidationError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.watcher.cursor_store import CursorStore, CursorTaken
from airflow_provider_payjobs.watcher.job_cursor import JobCursor, cursor_key
from airflow_provider_payjobs.watcher.job_events import JOB_KEY
from airflow_provider_payjobs.watcher.job_watch import JobWatch, PollOutcome


class PaymentJobTrigger(BaseTrigger):
    """
    Polls a payment job asynchronously and yields exactly one event.

    The event is ``{"status": "success" | "failed" | "timeout" | "error", "job_token": ...,
    "job": <last job dict or None>, "message": ...}``. Transient API errors are retried with the
    hook's policy and then polled through until the deadline; they never become a failure event.
    Triggers of one connection share one HTTP session and one token in the triggerer's loop.

    :param job_token: the job to wait for.
    :param payjobs_conn_id: the Airflow connection.
    :param end_time: absolute deadline, seconds since the epoch.
    :param poll_interval: seconds between polls.
    :param success_statuses: statuses that count as success (default COMPLETED).
    :param failure_statuses: statuses that fail (FAILED and CANCELLED always do).
    :param cancel_on_kill: cancel the job when a user kills the deferred task (Airflow 3.3+).
    :param fail_on_failed_items: a COMPLETED job with failed items yields "failed", not "success".
    """

    def __init__(
        self,
        job_token: str,
        payjobs_conn_id: str,
        end_time: float,
        poll_interval: float = 30.0,
        success_statuses: Sequence[str] | None = None,
        failure_statuses: Sequence[str] | None = None,
        cancel_on_kill: bool = True,
        fail_on_failed_items: bool = True,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's BaseTrigger.__init__ is unannotated
        self.job_token = job_token
        self.payjobs_conn_id = payjobs_conn_id
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.status_sets = StatusSets.from_names(success_statuses, failure_statuses, fail_on_failed_items)
        self.cancel_on_kill = bool(cancel_on_kill)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the constructor's arguments, primitives only, for the triggerer."""
        success, failure = self.status_sets.names()
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_token": self.job_token,
                "payjobs_conn_id": self.payjobs_conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "success_statuses": success,
                "failure_statuses": failure,
                "cancel_on_kill": self.cancel_on_kill,
                "fail_on_failed_items": self.status_sets.fail_on_failed_items,
            },
        )

    def _hook(self) -> PayJobsHook:
        return PayJobsHook(self.payjobs_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job ends or the deadline passes, then yield the one event."""
        hook = self._hook()
        wait = JobWait(self.job_token, self.status_sets, self.end_time, self.log)
        try:
            # Held for the whole wait: every poll (of every trigger of the connection) reuses one session.
            async with hook.shared_async_session():
                event = await self._poll_until_done(hook, wait)
        except PayJobsError as error:  # the connection's settings are unusable: polling cannot start
            event = wait.event(ERROR, f"Cannot poll payment job {self.job_token}: {error}")
        yield TriggerEvent(event)  # type: ignore[no-untyped-call]  # Airflow's TriggerEvent is unannotated

    async def _poll_until_done(self, hook: PayJobsHook, wait: JobWait) -> dict[str, Any]:
        policy = (await hook.asettings()).retry_policy
        while True:
            try:
                event = wait.observe(await hook.aretrieve_payment_job(self.job_token))
            except PayJobsError as error:
                event = wait.observe_error(error, policy)
            if event is not None:
                return event
            await asyncio.sleep(wait.sleep_seconds(self.poll_interval))

    async def on_kill(self) -> None:
        """
        The triggerer took this trigger away (Airflow 3.3+): cancel the job only if a person
        marked the task failed or skipped; clear and mark success let it go on (see user_action).
        """
        if not self.cancel_on_kill:
            self.log.info("Payment job %s goes on: cancel_on_kill is off", self.job_token)
            return
        verdict = await decide_in_triggerer(self.task_instance)
        if not verdict.cancel:
            log = self.log.info if verdict.certain else self.log.error
            log(verdict.describe(self.job_token))
            return
        self.log.warning(verdict.describe(self.job_token))
        try:
            await self._hook().acancel_payment_job(self.job_token)
            self.log.info("Cancelled payment job %s because %s", self.job_token, verdict.reason)
        except Exception as error:
            self.log.warning("Could not cancel payment job %s on kill: %s", self.job_token, error)


class PaymentJobEventTrigger(BaseEventTrigger):
    """
    Fires one event per payment job of the account that finishes (COMPLETED, FAILED or
    CANCELLED), whoever created it: a DAG, the portal or another system. For an asset watcher::

        Asset("payjobs://payjobs_default/jobs", watchers=[AssetWatcher(name="payouts_finished",
              trigger=PaymentJobEventTrigger(payjobs_conn_id="payjobs_default"))])

    Each event's payload is :func:`~airflow_provider_payjobs.watcher.job_events.job_event_payload`:
    ``{"job": "jobs-…", "status", "created", "items_by_status", "totals_per_currency",
    "paid_per_currency"}``; ``job`` is its identity (one event per job, never two).

    It polls the job list (see ``airflow_provider_payjobs.watcher.job_watch``) and keeps its cursor
    in Airflow's asset state store (3.3+). The cursor is saved *before* the events are fired: a
    crash between the two loses those events rather than repeat them, since a DAG that pays
    people must never hear of a job twice. Without the store (Airflow 3.0 to 3.2) the cursor
    lives in memory: after a triggerer restart it starts afresh, and jobs that finished while it
    was down are not reported. On its first start, jobs already finished are not reported; those
    open then, and every job created later, are reported when they finish.

    :param payjobs_conn_id: the Airflow connection.
    :param statuses: the finished statuses to report (default all three).
    :param client_payment_id_prefix: report only jobs holding an item whose ``clientPaymentId``
        starts with it (checked here: the list's ``filter`` is not relied on).
    :param poll_interval: seconds between polls.
    :param clock_skew_margin: seconds; a job that shows up in the list after newer ones is still
        reported when it is at most this much older than the newest job seen before it.
    :param open_job_requests_per_poll: requests per poll spent re-checking open jobs that the
        newest pages did not show (further pages, or single lookups).
    """

    def __init__(
        self,
        payjobs_conn_id: str = PayJobsHook.default_conn_name,
        statuses: Sequence[str] | None = None,
        client_payment_id_prefix: str | None = None,
        poll_interval: float = 60.0,
        clock_skew_margin: float = 300.0,
        open_job_requests_per_poll: int = 50,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's BaseTrigger.__init__ is unannotated
        if not isinstance(payjobs_conn_id, str) or not payjobs_conn_id:
            raise PayJobsValidationError("payjobs_conn_id", "must be a non-empty string", payjobs_conn_id)
        self.payjobs_conn_id = payjobs_conn_id
        self.statuses = _finished_statuses(statuses)
        if client_payment_id_prefix is not None and (
            not isinstance(client_payment_id_prefix, str) or not client_payment_id_prefix
        ):
            raise PayJobsValidationError(
                "client_payment_id_prefix", "must be a non-empty string or None", client_payment_id_prefix
            )
        self.client_payment_id_prefix = client_payment_id_prefix
        self.poll_interval = _seconds(poll_interval, "poll_interval", allow_zero=False)
        self.clock_skew_margin = _seconds(clock_skew_margin, "clock_skew_margin", allow_zero=True)
        budget = open_job_requests_per_poll
        if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 10_000:
            raise PayJobsValidationError(
                "open_job_requests_per_poll", "must be a whole number from 1 to 10000", budget
            )
        self.open_job_requests_per_poll = budget

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """
        The class path and the arguments, as Airflow stores them when the DAG is parsed; the same
        arguments are the same trigger (Airflow hashes them), rebuilt on every triggerer start.
        """
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "payjobs_conn_id": self.payjobs_conn_id,
                "statuses": sorted(status.value for status in self.statuses),
                "client_payment_id_prefix": self.client_payment_id_prefix,
                "poll_interval": self.poll_interval,
                "clock_skew_margin": self.clock_skew_margin,
                "open_job_requests_per_poll": self.open_job_requests_per_poll,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """
        Poll every ``poll_interval`` seconds, for as long as the triggerer runs the watcher; fire
        one event per job that finished since the last poll, after saving the cursor.
        """
        hook = PayJobsHook(self.payjobs_conn_id)
        store = self._store()
        cursor = await self._load(store)
        watch: JobWatch | None = None
        while True:
            try:
                # Held for the whole watch: every poll reuses one HTTP session and one token.
                async with hook.shared_async_session():
                    watch = watch or await self._new_watch(hook)
                    while True:
                        cursor, payloads = await self._poll_once(watch, store, cursor)
                        for payload in payloads:
                            self.log.info(
                                "Payment job %s finished %s: reporting it",
                                payload[JOB_KEY],
                                payload["status"],
                            )
                            yield TriggerEvent(payload)  # type: ignore[no-untyped-call]  # as above
                        await asyncio.sleep(self.poll_interval)
            except Exception as error:  # the connection is missing or unusable: it may be fixed
                self.log.error(
                    "The payout watcher cannot poll with connection %r (%s); trying again in %.0f s",
                    self.payjobs_conn_id,
                    error,
                    self.poll_interval,
                    exc_info=not isinstance(error, PayJobsError),
                )
                await asyncio.sleep(self.poll_interval)

    def _store(self) -> CursorStore:
        """Where the cursor lives: its own key in the watched asset's state store (3.3+), or memory."""
        _, arguments = self.serialize()
        key = cursor_key(self.payjobs_conn_id, self.client_payment_id_prefix, arguments["statuses"])
        return CursorStore(getattr(self, "asset_state_store", None), self.log, key, about=arguments)

    async def _new_watch(self, hook: PayJobsHook) -> JobWatch:
        async def list_page(page: int, page_size: int, sort: str | None) -> dict[str, Any]:
            return await hook.alist_payment_jobs(page, page_size, sort=sort)

        return JobWatch(
            list_page,
            hook.aretrieve_payment_job,
            (await hook.asettings()).retry_policy,
            self.log,
            statuses=self.statuses,
            client_payment_id_prefix=self.client_payment_id_prefix,
            clock_skew_margin=self.clock_skew_margin,
            open_job_requests_per_poll=self.open_job_requests_per_poll,
        )

    async def _load(self, store: CursorStore) -> JobCursor | None:
        """The saved cursor, read again until the store answers (a guess could report a job twice)."""
        if not store.durable:
            self.log.warning(
                "No asset state store (it needs Airflow 3.3+ and a watched asset): the payout "
                "watcher keeps its cursor in memory. After a triggerer restart it starts afresh: "
                "jobs that finished while it was down are not reported (none is reported twice)"
            )
        while True:
            try:
                cursor = await store.load()
                break
            except Exception as error:
                self.log.warning(
                    "Cannot read the payout watcher's cursor (%s); trying again in %.0f s",
                    error,
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        if cursor is None:
            self.log.info(
                "Payout watcher starting afresh: jobs already finished are not reported; jobs open "
                "now and every job created from now on are reported when they finish"
            )
        else:
            self.log.info(
                "Payout watcher resuming: %d open jobs watched, newest job created %s; last "
                "reported before the restart: %s",
                len(cursor.open),
                cursor.newest.isoformat() if cursor.newest else "never",
                ", ".join(cursor.last_reported[-5:]) or "none",
            )
        return cursor

    async def _poll_once(
        self, watch: JobWatch, store: CursorStore, cursor: JobCursor | None
    ) -> tuple[JobCursor | None, list[dict[str, Any]]]:
        """One poll; the cursor to go on from and the payloads to fire (already saved as fired)."""
        try:
            outcome = await watch.poll(cursor)
        except PayJobsError as error:
            self.log.warning(
                "Polling the payment job list failed (%s); trying again in %.0f s", error, self.poll_interval
            )
            return cursor, []
        if outcome.reported or cursor is None or not outcome.cursor.same_state(cursor):
            try:
                # Saved before the events fire: a crash in between loses them, never repeats them.
                await store.save(outcome.cursor)
            except CursorTaken as taken:
                self.log.warning(
                    "Another instance of this payout watcher saved its cursor meanwhile (a triggerer "
                    "handing over?): going on from its cursor; the %d jobs this poll found are left to it",
                    len(outcome.reported),
                )
                return store.adopt(taken.stored), []
            except Exception as error:
                self.log.warning(
                    "Could not save the payout watcher's cursor (%s): the %d finished jobs found are "
                    "not reported now, so that none is ever reported twice; trying again next poll",
                    error,
                    len(outcome.reported),
                )
                return cursor, []
        self._log_poll(outcome, first=cursor is None)
        return outcome.cursor, outcome.reported

    def _log_poll(self, outcome: PollOutcome, first: bool) -> None:
        log = self.log.info if first else self.log.debug
        log(
            "Payout watcher poll: %d list pages, %d job lookups; %d open jobs watched, %d to report",
            outcome.list_requests,
            outcome.lookups,
            len(outcome.cursor.open),
            len(outcome.reported),
        )


def _finished_statuses(statuses: Sequence[str] | None) -> frozenset[JobStatus]:
    if statuses is None:
        return TERMINAL_STATUSES
    names = [statuses] if isinstance(statuses, str) else statuses
    rule = "must name one or more of COMPLETED, FAILED, CANCELLED (the statuses a job ends in)"
    try:
        parsed = {JobStatus.parse(getattr(name, "value", name)) for name in names}
    except TypeError:
        raise PayJobsValidationError("statuses", rule, statuses) from None
    if not parsed or not parsed <= TERMINAL_STATUSES:
        raise PayJobsValidationError("statuses", rule, statuses)
    return frozenset(cast("set[JobStatus]", parsed))  # parsed <= TERMINAL_STATUSES: no None in it


def _seconds(value: Any, field: str, *, allow_zero: bool) -> float:
    valid = not isinstance(value, bool) and isinstance(value, (int, float))
    # Compared, not converted: NaN and inf fail the comparison.
    lowest_ok = valid and (value >= 0 if allow_zero else value > 0)
    if not lowest_ok or not value < 1e9:
        kind = "a non-negative" if allow_zero else "a positive"
        raise PayJobsValidationError(field, f"must be {kind}, finite number of seconds", value)
    return float(value)
