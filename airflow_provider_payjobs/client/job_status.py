"""
Classifying a job's status, failing closed, and the one-line progress summary shown on every poll.

A status outside the documented enum is never success: it keeps the wait going and, once the
deadline passes, fails the task.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from airflow_provider_payjobs.client.models import (
    FAILED_TRANSFER_STATUSES,
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    JobStatus,
    TransferStatus,
)


class Outcome(str, Enum):
    """Where a job stands for a waiting task."""

    SUCCESS = "success"
    FAILED = "failed"
    RUNNING = "running"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StatusSets:
    """
    Which statuses end a wait, and how.

    :param success: statuses that count as success; never CANCELLED or FAILED.
    :param failure: statuses that fail the task.
    :param fail_on_failed_items: a job in a success status with an item FAILED, CANCELLED,
        EXPIRED, VOIDED or RETURNED fails too: someone was not paid.
    """

    success: frozenset[JobStatus] = SUCCESS_STATUSES
    failure: frozenset[JobStatus] = FAILURE_STATUSES
    fail_on_failed_items: bool = True

    @classmethod
    def from_names(
        cls,
        success: Iterable[str | JobStatus] | None = None,
        failure: Iterable[str | JobStatus] | None = None,
        fail_on_failed_items: bool = True,
    ) -> StatusSets:
        """
        Build from status names, refusing unknown names and any overlap with the failure statuses.

        :param success: names or members of the success statuses; None for COMPLETED.
        :param failure: names or members of the failure statuses; FAILED and CANCELLED are added.
        :param fail_on_failed_items: a success with an unpaid item is a failure.
        """
        success_set = _statuses(success, "success_statuses") if success is not None else SUCCESS_STATUSES
        failure_set = _statuses(failure, "failure_statuses") if failure is not None else FAILURE_STATUSES
        # A cancelled or failed job is never reported as success, whatever the caller asks.
        forbidden = success_set & (failure_set | FAILURE_STATUSES)
        if forbidden:
            names = ", ".join(sorted(status.value for status in forbidden))
            raise ValueError(f"success_statuses must not include failure statuses ({names})")
        if not success_set:
            raise ValueError("success_statuses must name at least one status")
        return cls(success_set, failure_set | FAILURE_STATUSES, bool(fail_on_failed_items))

    def classify(self, status: Any) -> Outcome:
        """
        What a job status means for the wait; a status outside the enum is UNKNOWN, never success.

        :param status: the job's ``status`` as the API sent it.
        """
        parsed = JobStatus.parse(status)
        if parsed is None:
            return Outcome.UNKNOWN
        if parsed in self.success:
            return Outcome.SUCCESS
        if parsed in self.failure:
            return Outcome.FAILED
        return Outcome.RUNNING

    def classify_job(self, job: Mapping[str, Any]) -> Outcome:
        """
        :meth:`classify` of the job's status, where a success with failed items is a failure.

        :param job: a job as the API returns it (PaymentJobResult).
        """
        outcome = self.classify(job.get("status"))
        if outcome is Outcome.SUCCESS and self.fail_on_failed_items and failed_items(job):
            return Outcome.FAILED
        return outcome

    def names(self) -> tuple[list[str], list[str]]:
        """The sets as sorted status names (for serializing a trigger)."""
        return sorted(status.value for status in self.success), sorted(
            status.value for status in self.failure
        )


def failed_items(job: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """
    The items whose money did not reach the payee (FAILED, CANCELLED, EXPIRED, VOIDED, RETURNED).

    :param job: a job as the API returns it (PaymentJobResult).
    """
    return [
        item
        for item in job.get("items") or []
        if isinstance(item, Mapping) and str(item.get("status")) in FAILED_TRANSFER_STATUSES
    ]


def items_by_status(job: Mapping[str, Any]) -> dict[str, int]:
    """
    How many items of the job are in each transfer status.

    :param job: a job as the API returns it (PaymentJobResult).
    """
    return dict(sorted(Counter(str(item.get("status")) for item in job.get("items") or []).items()))


def paid_per_currency(job: Mapping[str, Any]) -> dict[str, Decimal]:
    """
    Amount of the COMPLETED items, per currency (Decimal: no float drift in totals).

    :param job: a job as the API returns it (PaymentJobResult).
    """
    return _totals(
        item for item in job.get("items") or [] if item.get("status") == TransferStatus.COMPLETED.value
    )


def totals_per_currency(items: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """
    Amount of all ``items``, per currency.

    :param items: payment items, each with ``amount`` and ``currency``.
    """
    return _totals(items)


def describe_progress(job: Mapping[str, Any]) -> str:
    """
    ``jobs-… is PROCESSING; items: 2 ACCEPTED, 1 PENDING; paid: 0 USD``: one readable line.

    :param job: a job as the API returns it (PaymentJobResult).
    """
    counts = ", ".join(f"{count} {status}" for status, count in items_by_status(job).items()) or "none"
    paid = (
        ", ".join(f"{amount} {currency}" for currency, amount in paid_per_currency(job).items())
        or "nothing yet"
    )
    return f"Payment job {job.get('token')} is {job.get('status')}; items: {counts}; paid: {paid}"


def _totals(items: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        totals[str(item.get("currency"))] += Decimal(str(item.get("amount", 0)))
    return dict(sorted(totals.items()))


def _statuses(names: Iterable[str | JobStatus], field: str) -> frozenset[JobStatus]:
    if isinstance(names, (str, JobStatus)):
        names = [names]
    statuses = set()
    for name in names:
        status = JobStatus.parse(getattr(name, "value", name))
        if status is None:
            allowed = ", ".join(member.value for member in JobStatus)
            raise ValueError(f"{field}: {name!r} is not a job status (allowed: {allowed})")
        statuses.add(status)
    return frozenset(statuses)


def summarize_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """
    A JSON-ready summary: token, status, items by status, totals and paid amounts per currency.

    :param job: a job as the API returns it (PaymentJobResult).
    """
    items = job.get("items") or []
    return {
        "job_token": job.get("token"),
        "status": job.get("status"),
        "items_by_status": items_by_status(job),
        "totals_per_currency": {
            currency: str(amount) for currency, amount in totals_per_currency(items).items()
        },
        "paid_per_currency": {currency: str(amount) for currency, amount in paid_per_currency(job).items()},
    }
