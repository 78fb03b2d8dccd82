"""
Finding the job that already holds a body's clientPaymentIds.

When a create's outcome is unknown (5xx, timeout, connection dropped after sending) or the server
says an id is already used, the job may exist. Listing jobs newest first, back to shortly before
the first attempt, finds it whether or not the server deduplicates.

A search is bounded by requests, not only by jobs: at most ``MAX_LIST_PAGES`` list calls and
``MAX_JOB_LOOKUPS`` job retrievals (each call retried at most the policy's attempts). A server that
repeats pages, never ends, or lists malformed jobs makes it fail closed with
:class:`PayJobsReconcileError`: "not found" would be a guess, and a wrong guess pays twice.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import pendulum

from airflow_provider_payjobs.client.answer_shapes import counter
from airflow_provider_payjobs.client.paging import PageLimitReached, RepeatedPage, job_pages
from airflow_provider_payjobs.client.validation import parse_rfc3339
from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsConflictError,
    PayJobsMalformedAnswerError,
    PayJobsReconcileError,
)
from airflow_provider_payjobs.payout.payment_ids import PAYEE_FIELDS

# Jobs created this long before the first attempt are still looked at (clock skew with the server).
CLOCK_SKEW_MARGIN = timedelta(minutes=10)
# The bounds of one search: list pages of PAGE_SIZE jobs, and retrievals of jobs listed without
# their items. 200 pages reach back 10,000 jobs.
PAGE_SIZE = 50
MAX_LIST_PAGES = 200
MAX_JOB_LOOKUPS = 100
CANNOT_TELL = "cannot tell whether a job already holds these clientPaymentIds"
log = logging.getLogger(__name__)
LOCAL_TIME_SPREAD = timedelta(hours=14)
UNKNOWN_AGE = datetime.max.replace(tzinfo=timezone.utc)
DUPLICATE_ID_MESSAGE = re.compile(r"clientPaymentId.*(already|duplicate)", re.IGNORECASE)


def client_payment_ids(body: Mapping[str, Any]) -> list[str] | None:
    """The clientPaymentIds of every item, or None when any item has none (then nothing can be matched)."""
    ids = [item.get("clientPaymentId") for item in body.get("items") or [] if isinstance(item, Mapping)]
    if ids and all(isinstance(payment_id, str) and payment_id for payment_id in ids):
        return cast("list[str]", ids)
    return None


def is_duplicate_id_refusal(error: PayJobsApiError) -> bool:
    return error.status_code in (400, 409) and bool(DUPLICATE_ID_MESSAGE.search(error.message or ""))


def find_job_holding(
    ids: Iterable[str],
    created_since: datetime,
    list_page: Callable[[int, int], Mapping[str, Any]],
    retrieve_job: Callable[[str], Mapping[str, Any]],
    *,
    scope: str | None = None,
    max_pages: int | None = None,
) -> dict[str, Any] | None:
    """
    The oldest job holding every id in ``ids``; None when no job holds any of them.

    :param ids: the clientPaymentIds of the body.
    :param created_since: when the first create attempt started (worker clock).
    :param list_page: fetches one checked page of jobs, newest first: ``(page, page_size)``.
    :param retrieve_job: fetches a checked job whose list entry carries none or not all of its items.
    :param scope: the prefix of a payout key's ids: a job holding an id with it that is not in
        ``ids`` paid this payout other items, and is a conflict too.
    :param max_pages: the most list pages read (``MAX_LIST_PAGES`` when None).
    :raises PayJobsConflictError: some ids are held (or other ids of ``scope``), but no job holds
        exactly them all.
    :raises PayJobsReconcileError: the search reached one of its bounds before ``created_since``,
        the list is not newest first, repeats itself or is malformed: it cannot prove that no such
        job exists.
    """
    wanted = set(ids)
    if not wanted:
        return None  # no ids, nothing to match: every job would "hold" the empty set
    holders: dict[str, list[str]] = defaultdict(list)
    complete: list[dict[str, Any]] = []
    lookups = 0
    pages = MAX_LIST_PAGES if max_pages is None else max_pages
    for job in _jobs_created_since(_listed_jobs(list_page, pages), created_since - CLOCK_SKEW_MARGIN):
        items = job.get("items")
        if not items or len(items) < _count(job):  # a summary without (all) its items
            lookups += 1
            if lookups > MAX_JOB_LOOKUPS:
                raise PayJobsReconcileError(
                    f"more than {MAX_JOB_LOOKUPS} listed jobs came without their items: {CANNOT_TELL}"
                )
            job = _read_or_refuse(functools.partial(retrieve_job, job["token"]))
            items = job.get("items") or []
        job_ids = {item.get("clientPaymentId") for item in items}
        held = job_ids & wanted
        other_of_scope = {
            payment_id
            for payment_id in job_ids - wanted
            if scope and isinstance(payment_id, str) and payment_id.startswith(scope)
        }
        for payment_id in held | other_of_scope:
            holders[payment_id].append(job["token"])
        if held == wanted and not other_of_scope:
            complete.append(dict(job))
    if len(complete) > 1:
        tokens = ", ".join(job["token"] for job in reversed(complete))
        log.error(
            "Several payment jobs hold all of these clientPaymentIds (%s): paid more than once?", tokens
        )
    if complete and not set(holders) - wanted:
        return complete[-1]  # newest first: the last is the oldest, the one that paid first
    if holders:
        raise PayJobsConflictError(dict(holders))
    return None


def _listed_jobs(
    list_page: Callable[[int, int], Mapping[str, Any]], max_pages: int
) -> Iterator[Mapping[str, Any]]:
    """Every listed job, page by page, within the bound of pages; refusing a list that misbehaves."""
    pages = job_pages(lambda page: _read_or_refuse(lambda: list_page(page, PAGE_SIZE)), PAGE_SIZE, max_pages)
    try:
        for payload in pages:
            yield from payload
    except RepeatedPage as repeat:
        raise PayJobsReconcileError(f"the server repeats its job list ({repeat}): {CANNOT_TELL}") from None
    except PageLimitReached:
        raise PayJobsReconcileError(
            f"looked through {max_pages} pages of {PAGE_SIZE} jobs without reaching the start of the "
            f"search window: {CANNOT_TELL}; the account holds more jobs in that window than the search "
            "may read (raise the operator's lookup_max_pages, or shorten payout_lookback)"
        ) from None


def _read_or_refuse(read: Callable[[], Any]) -> Any:
    """``read()``; a malformed answer ends the search: a job it hides could be the one that paid."""
    try:
        return read()
    except PayJobsMalformedAnswerError as error:
        raise PayJobsReconcileError(
            f"the server's answer is malformed ({error.why}): {CANNOT_TELL}"
        ) from error


def _jobs_created_since(
    list_jobs: Iterable[Mapping[str, Any]], oldest_allowed: datetime
) -> Iterator[Mapping[str, Any]]:
    """
    Each listed job created since ``oldest_allowed``, once, checking the list is newest first.

    :raises PayJobsReconcileError: the list is not newest first: "not found" would then be a
        guess, and a wrong guess pays twice.
    """
    previous = UNKNOWN_AGE
    seen: set[str] = set()
    for job in list_jobs:
        if job["token"] in seen:
            continue  # jobs created while paging push seen ones onto the next page: skip repeats
        seen.add(job["token"])
        created = _latest_possible_creation(job)
        if created != UNKNOWN_AGE and created > previous:
            raise PayJobsReconcileError(
                f"the job list is not newest first (job {job['token']} follows an older one): {CANNOT_TELL}"
            )
        if created != UNKNOWN_AGE and previous < oldest_allowed:
            return  # one dated job past the bound was seen to be older still: the order holds
        previous = previous if created == UNKNOWN_AGE else created
        if created < oldest_allowed:
            continue  # past the bound: read one more job only to check the order
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
                differences.append(_difference(position, name, item.get(name), existing.get(name)))
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


def _difference(position: int, name: str, wanted: Any, held: Any) -> str:
    # Who is paid stays out of messages, which reach logs a Viewer reads: only that it differs.
    if name in PAYEE_FIELDS:
        return f"items[{position}].{name} names another payee than the job's"
    return f"items[{position}].{name} is {_shown(wanted)}, the job has {_shown(held)}"


def _shown(value: Any) -> str:
    number = _decimal(value)
    return str(number) if number is not None else repr(value)


def _decimal(value: Any) -> Decimal | None:
    """A number as the exact decimal it stands for (a float by its shortest repr); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return (
        value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    )


def _same_value(wanted: Any, held: Any) -> bool:
    if wanted is None or held is None:
        return wanted is held
    wanted_number, held_number = _decimal(wanted), _decimal(held)
    if wanted_number is not None and held_number is not None:
        return wanted_number == held_number
    return str(wanted).casefold() == str(held).casefold()


def _count(job: Mapping[str, Any]) -> int:
    """The job's item count; 0 (read it in full) when it is not a sane number."""
    return counter(job.get("count")) or 0


def _latest_possible_creation(job: Mapping[str, Any]) -> datetime:
    """When the job was created, or the latest it could have been when the answer is vague."""
    created = job.get("created")
    if not isinstance(created, str) or len(created) > 64:
        return UNKNOWN_AGE  # look at it
    try:
        try:
            moment = parse_rfc3339(created, "created")
        except ValueError:  # no offset: a server's local time is at most 14 hours behind UTC
            parsed = pendulum.parse(created, tz="UTC", strict=False)
            if not isinstance(parsed, datetime):  # a duration, a time or a date alone
                return UNKNOWN_AGE
            moment = parsed + LOCAL_TIME_SPREAD
        return moment.astimezone(timezone.utc)  # fails here, not in a comparison, past year 9999
    except (ValueError, TypeError, OverflowError, pendulum.parsing.exceptions.ParserError):
        return UNKNOWN_AGE  # look at it
