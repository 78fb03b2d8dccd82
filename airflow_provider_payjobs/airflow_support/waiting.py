"""
The decisions of waiting on a payment job, shared by the operator, the sensor and the trigger.

Each poll either ends the wait with one event (success, failed, timeout, error) or continues it;
the loops that call :class:`JobWait` only fetch, sleep, and act on that event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_payjobs.airflow_support.compat import AirflowException, AirflowFailException
from airflow_provider_payjobs.client.job_status import (
    Outcome,
    StatusSets,
    describe_progress,
    failed_items,
    items_by_status,
)
from airflow_provider_payjobs.client.models import SUCCESS_STATUSES, JobStatus
from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.exceptions import PayJobsError

SUCCESS, FAILED, TIMEOUT, ERROR = "success", "failed", "timeout", "error"
PROGRESS_REMINDER_SECONDS = 300.0  # while a job does not change, one progress line per this


@dataclass
class JobWait:
    """
    One wait on one job until ``end_time`` (seconds since the epoch).

    :param job_token: the job waited on.
    :param status_sets: which statuses succeed and which fail.
    :param end_time: absolute deadline.
    :param log: where progress lines and warnings go.
    """

    job_token: str
    status_sets: StatusSets
    end_time: float
    log: Any
    last_job: dict[str, Any] | None = None
    # What the last progress line said, and when (monotonic): a line only when it changes.
    _logged_progress: tuple[Any, ...] | None = field(default=None, repr=False)
    _logged_at: float = field(default=0.0, repr=False)

    def observe(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """Log progress when it changed; the event that ends the wait, or None to keep waiting."""
        self.last_job = job
        self.log_progress(job)
        outcome = self.status_sets.classify_job(job)
        if outcome is Outcome.SUCCESS:
            return self.event(SUCCESS, f"Payment job {self.job_token} is {job.get('status')}")
        if outcome is Outcome.FAILED:
            return self.event(FAILED, failure_message(job))
        if outcome is Outcome.UNKNOWN:
            self.log.warning(
                "Payment job %s has status %r, which the API never documented: still waiting",
                self.job_token,
                job.get("status"),
            )
        return self.deadline_event()

    def log_progress(self, job: dict[str, Any]) -> None:
        """
        One line when the status or the item counts change, and a reminder every
        :data:`PROGRESS_REMINDER_SECONDS` while nothing does: a 1-second poll of a 3-minute job
        logs a handful of lines, not 180 identical ones.
        """
        # Cheap to compare on every poll of a thousand waits; the line itself is only built when
        # the log level lets it out (Progress formats lazily).
        items = job.get("items") or ()
        progress = (job.get("status"), tuple(item.get("status") for item in items))
        now = time.monotonic()
        if progress != self._logged_progress:
            self.log.info("%s", Progress(job))
        elif now - self._logged_at >= PROGRESS_REMINDER_SECONDS:
            minutes = (now - self._logged_at) / 60
            self.log.info("%s (no change for %.0f min)", Progress(job), minutes)
        else:
            return
        self._logged_progress, self._logged_at = progress, now

    def observe_error(self, error: PayJobsError, policy: RetryPolicy) -> dict[str, Any] | None:
        """A poll failed after the hook's retries: transient errors keep the wait going until the deadline."""
        if not policy.should_retry(error, "GET"):
            return self.event(ERROR, f"Polling payment job {self.job_token} failed: {error}")
        self.log.warning(
            "Polling payment job %s failed after retries (%s); polling on", self.job_token, error
        )
        return self.deadline_event()

    def deadline_event(self) -> dict[str, Any] | None:
        if time.time() < self.end_time:
            return None
        status = self.last_job.get("status") if self.last_job else "unknown"
        return self.event(TIMEOUT, f"Payment job {self.job_token} is still {status} at the deadline")

    def sleep_seconds(self, poll_interval: float) -> float:
        return max(0.0, min(poll_interval, self.end_time - time.time()))

    def event(self, status: str, message: str) -> dict[str, Any]:
        """
        The one event of the wait: what the task needs to decide, never the job's items or payees
        (the triggerer logs its events, and Airflow keeps them in the task instance for a while).
        """
        job = self.last_job or {}
        return {
            "status": status,
            "job_token": self.job_token,
            "message": message,
            "job_status": job.get("status"),
            "items_by_status": items_by_status(job),
        }


class Progress:
    """A job's progress line, built only if a log line is really written."""

    __slots__ = ("job",)

    def __init__(self, job: Mapping[str, Any]) -> None:
        self.job = job

    def __str__(self) -> str:
        return describe_progress(self.job)


def failure_message(job: Mapping[str, Any]) -> str:
    """The status, the items by status, and which items failed."""
    failed = [item for item in job.get("items") or [] if item.get("status") not in ("COMPLETED", "ACCEPTED")]
    shown = ", ".join(
        f"{item.get('clientPaymentId') or item.get('token')} ({item.get('amount')} {item.get('currency')}: "
        f"{item.get('status')})"
        for item in failed[:20]
    )
    more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
    ended = describe_progress(job)
    if failed_items(job) and JobStatus.parse(job.get("status")) in SUCCESS_STATUSES:
        ended += " but not every item was paid (fail_on_failed_items=False accepts that)"
    return f"{ended}; unpaid items: {shown or 'none'}{more}"


def job_from_event(
    event: Mapping[str, Any] | None, status_sets: StatusSets, read_job: Callable[[str], Mapping[str, Any]]
) -> dict[str, Any]:
    """
    The final job of a success event, read with ``read_job(job_token)``; any other event fails
    the task (fail closed).

    A "failed" or "timeout" event raises :class:`AirflowFailException` (retrying cannot help);
    "error" and anything unexpected raise :class:`AirflowException`, so task retries apply.

    :param event: the wait's event (see :meth:`JobWait.event`).
    :param status_sets: which statuses succeed and which fail.
    :param read_job: the job by its token: the last job polled, or the job read again after
        deferring (the event carries no items).
    """
    event = dict(event or {})
    message = event.get("message") or f"unexpected trigger event {event!r}"
    token = event.get("job_token")
    if event.get("status") == SUCCESS and isinstance(token, str):
        # Trust the job, not only the label: a cancelled job is never a success.
        job = read_job(token)
        if status_sets.classify_job(job) is Outcome.SUCCESS:
            return dict(job)
        raise AirflowFailException(
            f"Trigger reported success but the job says otherwise: {failure_message(job)}"
        )
    if event.get("status") in (FAILED, TIMEOUT):
        raise AirflowFailException(message)
    raise AirflowException(message)
