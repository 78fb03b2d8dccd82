"""
Finding the job that already holds a body's clientPaymentIds.

When a create's outcome is unknown (5xx, timeout, connection dropped after sending) or the server
says an id is already used, the job may exist. Listing jobs newest first, back to shortly before
the first attempt, finds it whether or not the server deduplicates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pendulum

from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsConflictError
from airflow_provider_payjobs.validation import parse_rfc3339

# Jobs created this long before the first attempt are still looked at (clock skew with the server).
CLOCK_SKEW_MARGIN = timedelta(minutes=10)
# A bound on how far back one reconciliation lists (50 jobs per page).
MAX_PAGES = 40
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
    """
    wanted = set(ids)
    if not wanted:
        return None  # no ids, nothing to match: every job would "hold" the empty set
    holders: dict[str, list[str]] = defaultdict(list)
    complete: list[dict[str, Any]] = []
    oldest_allowed = created_since - CLOCK_SKEW_MARGIN
    for position, job in enumerate(list_jobs):
        if position >= MAX_PAGES * 50 or _created(job) < oldest_allowed:
            break
        items = job.get("items")
        if items is None:
            job = retrieve_job(job["token"])
            items = job.get("items") or []
        held = {item.get("clientPaymentId") for item in items} & wanted
        for payment_id in held:
            holders[payment_id].append(job["token"])
        if held == wanted:
            complete.append(dict(job))
    if complete:
        return complete[-1]  # newest first: the last is the oldest, the one that paid first
    if holders:
        raise PayJobsConflictError(dict(holders))
    return None


def _created(job: Mapping[str, Any]) -> datetime:
    created = job.get("created")
    try:
        return parse_rfc3339(created, "created")
    except ValueError:
        pass
    try:  # a server time without offset: read it as UTC rather than lose the bound on the search
        return pendulum.parse(str(created), tz="UTC", strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        return datetime.max.replace(tzinfo=timezone.utc)  # unknown age: look at it
