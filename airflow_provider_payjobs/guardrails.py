"""Limits a payout must respect before it is sent: item count, totals per currency, unique ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.job_status import totals_per_currency
from airflow_provider_payjobs.models import currencies


def check_limits_are_sane(max_items: int | None, max_total_amount: Mapping[str, Any] | None) -> None:
    """Refuse limits that cannot be meant (at DAG parse time)."""
    if max_items is not None and (
        isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1
    ):
        raise PayJobsValidationError("max_items", "must be an integer >= 1", max_items)
    for currency, limit in (max_total_amount or {}).items():
        if currency not in currencies():
            raise PayJobsValidationError(f"max_total_amount[{currency!r}]", "is not a Currencies code")
        if isinstance(limit, bool) or not isinstance(limit, (int, float, Decimal)) or limit <= 0:
            raise PayJobsValidationError(f"max_total_amount[{currency!r}]", "must be a number > 0", limit)


def check_guardrails(
    body: Mapping[str, Any], max_items: int | None = None, max_total_amount: Mapping[str, Any] | None = None
) -> None:
    """
    Refuse a body over the limits, or repeating a clientPaymentId.

    :param body: the create body, items already carrying their clientPaymentIds.
    :param max_items: most items one job may hold.
    :param max_total_amount: most money one job may move, per currency, e.g. ``{"USD": 10000}``.
    """
    items = [item for item in body.get("items") or [] if isinstance(item, Mapping)]
    if max_items is not None and len(items) > max_items:
        raise PayJobsValidationError("items", f"max_items is {max_items} but the job has {len(items)} items")
    repeated = sorted(
        str(payment_id)
        for payment_id, count in Counter(item.get("clientPaymentId") for item in items).items()
        if payment_id is not None and count > 1
    )
    if repeated:
        positions = [
            f"items[{position}]"
            for position, item in enumerate(items)
            if item.get("clientPaymentId") == repeated[0]
        ]
        raise PayJobsValidationError(
            "items.clientPaymentId",
            f"must be unique in one job; {repeated[0]!r} is at {', '.join(positions)}"
            + (f" ({len(repeated) - 1} more ids repeat)" if len(repeated) > 1 else ""),
        )
    totals = totals_per_currency(items)
    for currency, limit in (max_total_amount or {}).items():
        total = totals.get(currency, Decimal(0))
        if total > Decimal(str(limit)):
            raise PayJobsValidationError(
                "items.amount", f"{currency} total {total} is over max_total_amount {limit} {currency}"
            )


def describe_body(body: Mapping[str, Any]) -> str:
    """``3 items; totals: 30.5 USD, 5 EUR``: the summary a dry run logs."""
    items = [item for item in body.get("items") or [] if isinstance(item, Mapping)]
    totals = ", ".join(f"{amount} {currency}" for currency, amount in totals_per_currency(items).items())
    return f"{len(items)} items; totals: {totals or 'none'}"
