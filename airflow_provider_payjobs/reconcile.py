"""
Finding the job that already holds a body's clientPaymentIds.

When a create's outcome is unknown (5xx, timeout, connection dropped after sending) or the server
says an id is already used, the job may exist. Listing jobs newest first, back to shortly before
the first attempt, finds it whether or not the server deduplicates.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pendulum

from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsConflictError, PayJobsReconcileError
from airflow_provider_payjobs.validation import parse_rfc3339

# Jobs created this long before the first attempt are still looked at (clock skew with the server).
CLOCK_SKEW_MARGIN = timedelta(minutes=10)
# A bound on how far back one reconciliation lists (50 jobs per page).
MAX_PAGES = 40
log = logging.getLogger(__name__)
LOCAL_TIME_SPREAD = timedelta(hours=14)
UNKNOWN_AGE = datetime.max.replace(tzinfo=timezone.utc)
DUPLICATE_ID_MESSAGE = re.compile(r"clientPaymentId.*(already|duplicate)", re.IGNORECASE)


def client_payment_ids(body: Mapping[str, Any]) -> list[str] | None:
    """The clientPaymentIds of every item, or None when any item has none (then nothing can be matched)."""
    ids = [item.get("clientPaymentId") for item in body.get("items") or [] if isinstance(item, Mapping)]
    return ids if ids and all(isinstance(payment_id, str) and payment_id for payment_id in ids) else None


def is_duplicate_id_refusal(error: PayJobsApiError) -> bool:
    return error.status_code in (400, 409) and bool(DUPLICATE_ID_MESSAGE.search(error.message or ""))


def find_job_holding(
    ids: Iterable[str],
    created_since: datetime,
    list_jobs: Iterable[Mapping[str, Any]],
    retrieve_job: Callable[[str], Mapping[str, Any]],
) -> dict[str, Any] | None:
    """
    The oldest job holding every id in ``ids``; None when no job holds any of them.

    :param ids: the clientPaymentIds of the body.
    :param created_since: when the first create attempt started (worker clock).
    :param list_jobs: jobs newest first (the hook's ``iter_payment_jobs``).
    :param retrieve_job: fetches a job whose list entry carries no items.
    :raises PayJobsConflictError: some ids are held, but no job holds them all.
    :raises PayJobsReconcileError: the search reached its bound of jobs before ``created_since``,
        so it cannot prove that no such job exists.
    """
    wanted = set(ids)
    if not wanted:
        return None  # no ids, nothing to match: every job would "hold" the empty set
    holders: dict[str, list[str]] = defaultdict(list)
    complete: list[dict[str, Any]] = []
    for job in _jobs_created_since(list_jobs, created_since - CLOCK_SKEW_MARGIN):
        items = job.get("items")
        if not items or len(items) < _count(job):  # a summary without (all) its items
            job = retrieve_job(job["token"])
            items = job.get("items") or []
        held = {item.get("clientPaymentId") for item in items} & wanted
        for payment_id in held:
            holders[payment_id].append(job["token"])
        if held == wanted:
            complete.append(dict(job))
    if len(complete) > 1:
        tokens = ", ".join(job["token"] for job in reversed(complete))
        log.error(
            "Several payment jobs hold all of these clientPaymentIds (%s): paid more than once?", tokens
        )
    if complete:
        return complete[-1]  # newest first: the last is the oldest, the one that paid first
    if holders:
        raise PayJobsConflictError(dict(holders))
    return None


def _jobs_created_since(
    list_jobs: Iterable[Mapping[str, Any]], oldest_allowed: datetime
) -> Iterator[Mapping[str, Any]]:
    """
    Each listed job created since ``oldest_allowed``, once, checking the list is newest first.

    :raises PayJobsReconcileError: the list is not newest first, or it reached its bound of jobs
        first: "not found" would then be a guess, and a wrong guess pays twice.
    """
    previous = UNKNOWN_AGE
    seen: set[Any] = set()
    for position, job in enumerate(list_jobs):
        if job.get("token") in seen:
            continue  # jobs created while paging push seen ones onto the next page: skip repeats
        seen.add(job.get("token"))
        created = _latest_possible_creation(job)
        if created != UNKNOWN_AGE and created > previous:
            raise PayJobsReconcileError(
                f"the job list is not newest first (job {job.get('token')} follows an older one): "
                "cannot tell whether a job already holds these clientPaymentIds"
            )
        if created != UNKNOWN_AGE and previous < oldest_allowed:
            return  # one dated job past the bound was seen to be older still: the order holds
        previous = previous if created == UNKNOWN_AGE else created
        if created < oldest_allowed:
            continue  # past the bound: read one more job only to check the order
        if position >= MAX_PAGES * 50:
            raise PayJobsReconcileError(
                f"looked through {position} jobs without reaching {oldest_allowed.isoformat()}: "
                "cannot tell whether a job already holds these clientPaymentIds"
            )
        yield job


# The fields that say who is paid what, for every id. Amount, currency and a gateway payee must
# agree outright; the others only where both sides name them, as a server may fill them in (the
# user id behind an email, a default source).
STRICT_PAYMENT_FIELDS = ("amount", "currency", "destinationToken")
OPTIONAL_PAYMENT_FIELDS = ("sourceToken", "programUserId", "email")


def payment_differences(body: Mapping[str, Any], job: Mapping[str, Any]) -> list[str]:
    """
    How ``job`` pays differently from ``body``, item by item matched on clientPaymentId.

    Empty when the job pays exactly the body's items: the ids tie the two together, the fields
    catch a body that rendered differently (another payee, amount or order).
    """
    held = {item.get("clientPaymentId"): item for item in job.get("items") or [] if isinstance(item, Mapping)}
    differences = []
    for position, item in enumerate(body.get("items") or []):
        payment_id = item.get("clientPaymentId")
        existing = held.pop(payment_id, None)
        if existing is None:
            differences.append(f"items[{position}] ({payment_id}) is not in the job")
            continue
        for name in STRICT_PAYMENT_FIELDS + OPTIONAL_PAYMENT_FIELDS:
            if name in OPTIONAL_PAYMENT_FIELDS and (item.get(name) is None or existing.get(name) is None):
                continue
            if not _same_value(item.get(name), existing.get(name)):
                differences.append(
                    f"items[{position}].{name} is {item.get(name)!r}, the job has {existing.get(name)!r}"
                )
    if held:
        differences.append(f"the job also pays {', '.join(sorted(str(payment_id) for payment_id in held))}")
    return differences


def check_pays_the_same(body: Mapping[str, Any], job: Mapping[str, Any]) -> None:
    """
    Raise when ``job`` holds the body's ids but pays something else.

    :raises PayJobsReconcileError: naming the differences (at most ten).
    """
    differences = payment_differences(body, job)
    if differences:
        raise PayJobsReconcileError(
            f"payment job {job.get('token')} holds these clientPaymentIds but does not pay what the "
            f"body says: {'; '.join(differences[:10])}"
        )


def _same_value(wanted: Any, held: Any) -> bool:
    if wanted is None or held is None:
        return wanted is held
    if isinstance(wanted, (int, float)) and isinstance(held, (int, float)):
        return Decimal(str(wanted)) == Decimal(str(held))
    return str(wanted).casefold() == str(held).casefold()


def _count(job: Mapping[str, Any]) -> int:
    try:
        return int(job.get("count") or 0)
    except (TypeError, ValueError):
        return 0


def _latest_possible_creation(job: Mapping[str, Any]) -> datetime:
    """When the job was created, or the latest it could have been when the answer is vague."""
    created = job.get("created")
    try:
        return parse_rfc3339(created, "created")
    except ValueError:
        pass
    try:  # no offset: a server's local time is at most 14 hours behind UTC
        return pendulum.parse(str(created), tz="UTC", strict=False) + LOCAL_TIME_SPREAD
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        return UNKNOWN_AGE  # look at it
