"""Jobs in memory: creation, the status lifecycle on the sandbox clock, cancellation, the ledger."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_payjobs.sandbox.clock import SandboxClock, rfc3339
from airflow_provider_payjobs.sandbox.contract import (
    TERMINAL_JOB_STATUSES,
    JobRequest,
    JobStatus,
    TransferStatus,
)

PORTAL_ID = "sandbox-portal"
# Documented magic memos (docs/sandbox.md).
FAIL_JOB_MEMO = "SANDBOX_FAIL_JOB"
FAIL_ITEM_MEMO = "SANDBOX_FAIL_ITEM"
FAIL_JOB_PARTLY_MEMO = "SANDBOX_FAIL_JOB_PARTLY"  # the job fails after paying its other items
ITEM_FIELDS = ("amount", "clientPaymentId", "currency", "destinationToken", "programUserId", "email", "memo",
               "note", "purpose", "sourceToken")  # fmt: skip
# Where a job is in its lifecycle after 0, 1, 2 and 3 steps.
LIFECYCLE = (JobStatus.SUBMITTED, JobStatus.PARSING, JobStatus.PROCESSING)
ITEM_STATUS_BY_JOB_STATUS = {
    JobStatus.SCHEDULED: TransferStatus.SCHEDULED,
    JobStatus.SUBMITTED: TransferStatus.PENDING,
    JobStatus.PARSING: TransferStatus.PENDING,
    JobStatus.PROCESSING: TransferStatus.ACCEPTED,
    JobStatus.COMPLETED: TransferStatus.COMPLETED,
    JobStatus.FAILED: TransferStatus.FAILED,
}


class DuplicateClientPaymentId(ValueError):
    """A clientPaymentId the deduplicating server has already seen."""


class CannotCancel(ValueError):
    """The job is already terminal."""


@dataclass
class Job:
    token: str
    created: datetime
    starts: datetime  # created, or notBefore when later
    not_before: datetime | None
    step_seconds: float  # fixed at creation: config changes do not rewrite history
    items: list[dict[str, Any]]
    cancelled_at: datetime | None = None

    def status_at(self, now: datetime) -> JobStatus:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return JobStatus.CANCELLED
        if now < self.starts:
            return JobStatus.SCHEDULED
        steps = (
            (now - self.starts).total_seconds() / self.step_seconds
            if self.step_seconds > 0
            else len(LIFECYCLE)
        )
        if steps < len(LIFECYCLE):
            return LIFECYCLE[int(steps)]
        partly = any(item.get("memo") == FAIL_JOB_PARTLY_MEMO for item in self.items)
        return JobStatus.FAILED if partly or self._fails_whole() else JobStatus.COMPLETED

    def item_status(self, item: dict[str, Any], job_status: JobStatus) -> TransferStatus:
        if job_status is JobStatus.CANCELLED:
            return TransferStatus.CANCELLED
        if job_status is JobStatus.COMPLETED and item.get("memo") == FAIL_ITEM_MEMO:
            return TransferStatus.FAILED
        if job_status is JobStatus.FAILED and not self._fails_whole():
            # Failed partly: only the marked items failed, the others were paid.
            return (
                TransferStatus.FAILED
                if item.get("memo") == FAIL_JOB_PARTLY_MEMO
                else TransferStatus.COMPLETED
            )
        return ITEM_STATUS_BY_JOB_STATUS[job_status]

    def _fails_whole(self) -> bool:
        return any(item.get("memo") == FAIL_JOB_MEMO for item in self.items)


@dataclass
class JobStore:
    """
    Every job and token of one sandbox.

    :param clock: the sandbox clock.
    """

    clock: SandboxClock
    jobs: dict[str, Job] = field(default_factory=dict)
    holders: dict[str, str] = field(default_factory=dict)  # clientPaymentId -> first job holding it
    lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, request: JobRequest, *, step_seconds: float, deduplicate: bool) -> Job:
        with self.lock:
            ids = [item["clientPaymentId"] for item in request.items if item.get("clientPaymentId")]
            if deduplicate:
                seen: set[str] = set()
                for payment_id in ids:
                    if payment_id in seen:
                        raise DuplicateClientPaymentId(
                            f"clientPaymentId '{payment_id}' is repeated in this request"
                        )
                    if payment_id in self.holders:
                        holder = self.holders[payment_id]
                        raise DuplicateClientPaymentId(
                            f"clientPaymentId '{payment_id}' is already used by job {holder}"
                        )
                    seen.add(payment_id)
            now = self.clock.now()
            not_before = request.not_before
            job = Job(
                token=f"jobs-{uuid.uuid4()}",
                created=now,
                starts=max(now, not_before) if not_before else now,
                not_before=not_before,
                step_seconds=step_seconds,
                items=[_new_item(item, now) for item in request.items],
            )
            self.jobs[job.token] = job
            for payment_id in ids:
                self.holders.setdefault(payment_id, job.token)
            return job

    def cancel(self, token: str) -> Job:
        with self.lock:
            job = self.jobs[token]
            status = job.status_at(self.clock.now())
            if status in TERMINAL_JOB_STATUSES:
                raise CannotCancel(f"Job {token} is {status.value} and can no longer be cancelled")
            job.cancelled_at = self.clock.now()
            return job

    def newest_first(self) -> list[Job]:
        with self.lock:
            return list(reversed(self.jobs.values()))

    def ledger(self) -> list[dict[str, Any]]:
        """One entry per item accepted for payment that is not cancelled or failed."""
        now = self.clock.now()
        entries = []
        with self.lock:
            for job in self.jobs.values():
                status = job.status_at(now)
                for item in job.items:
                    item_status = job.item_status(item, status)
                    if item_status in (TransferStatus.CANCELLED, TransferStatus.FAILED):
                        continue
                    entries.append(
                        {
                            "job_token": job.token,
                            "item_token": item["token"],
                            "clientPaymentId": item.get("clientPaymentId"),
                            "amount": item["amount"],
                            "currency": item["currency"],
                            "status": item_status.value,
                        }
                    )
        return entries

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.holders.clear()


def _new_item(quote: dict[str, Any], now: datetime) -> dict[str, Any]:
    item = {name: quote.get(name) for name in ITEM_FIELDS}
    item.update({"token": f"pmnt-{uuid.uuid4()}", "receiptToken": f"rcpt-{uuid.uuid4()}", "created": now})
    return item


def job_result(
    job: Job, now: datetime, base_url: str, *, item_status_filter: str | None = None
) -> dict[str, Any]:
    """The PaymentJobObject of ``job`` as it stands at ``now`` (the caller adds ``meta``)."""
    status = job.status_at(now)
    href = f"{base_url}/payments/jobs/{job.token}"
    items = []
    for item in job.items:
        item_status = job.item_status(item, status)
        if item_status_filter and item_status.value != item_status_filter:
            continue
        items.append(
            {
                "token": item["token"],
                "portalId": PORTAL_ID,
                # Absent fields stay absent: the contract types them as strings, never null.
                **{name: item[name] for name in ITEM_FIELDS if item[name] is not None},
                "created": rfc3339(item["created"]),
                "status": item_status.value,
                "receiptToken": item["receiptToken"],
                "links": [{"href": f"{href}#{item['token']}", "params": {"rel": "self"}}],
            }
        )
    return {
        "token": job.token,
        "portalId": PORTAL_ID,
        "filename": f"api-{job.token}.json",
        "fileToken": f"docu-{uuid.uuid5(uuid.NAMESPACE_URL, job.token)}",
        "created": rfc3339(job.created),
        "notBefore": rfc3339(job.not_before or job.created),
        "count": len(job.items),
        "type": "PAYMENTS",
        "status": status.value,
        "items": items,
        "links": [{"href": href, "params": {"rel": "self"}}],
    }


@dataclass
class TokenStore:
    """Access tokens issued, with their scopes and expiry on the sandbox clock."""

    clock: SandboxClock
    tokens: dict[str, tuple[frozenset[str], datetime]] = field(default_factory=dict)
    issued: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, scopes: frozenset[str], ttl_seconds: int) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        now = self.clock.now()
        with self.lock:
            self.tokens[token] = (scopes, now + timedelta(seconds=ttl_seconds))
            self.issued[token] = now
        return token

    def scopes_of(self, token: str) -> frozenset[str] | None:
        """The scopes of a live token; None for an unknown or expired one."""
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None or self.clock.now() >= entry[1]:
            return None
        return entry[0]

    def expire_all(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.issued.clear()

    def expire_issued_before(self, moment: datetime) -> None:
        """Tokens expire by age, as real ones do: a token issued at or after ``moment`` lives on."""
        with self.lock:
            for token in [token for token, issued in self.issued.items() if issued < moment]:
                del self.tokens[token], self.issued[token]
