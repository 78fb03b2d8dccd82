"""Limits a payout must respect before it is sent: item count, totals per currency, unique ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Context, Decimal, localcontext
from typing import Any

from airflow_provider_payjobs.client.job_status import totals_per_currency
from airflow_provider_payjobs.client.models import currencies
from airflow_provider_payjobs.client.validation import decimal_of, prepare_create_body
from airflow_provider_payjobs.exceptions import PayJobsValidationError, _short_repr

# Sums of checked amounts (at most 2**53, 4 fraction digits) stay exact far past any job's size:
# the caller's decimal context (28 digits by default, maybe fewer) must not round a total.
_EXACT_SUMS = Context(prec=200)


def check_limits_are_sane(max_items: Any, max_total_amount: Any) -> None:
    """
    Refuse limits that cannot be meant (at DAG parse time).

    :param max_items: None, or an integer >= 1.
    :param max_total_amount: None, or a mapping of Currencies code to a finite number > 0: an int,
        a Decimal, a numeric string (``"10000.00"``) or a float, taken by its shortest repr (0.3
        is 0.3). A limit is no payment: its fraction digits are not bound by the currency's.
    """
    if max_items is not None and (
        isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1
    ):
        raise PayJobsValidationError("max_items", "must be an integer >= 1", max_items)
    if max_total_amount is None:
        return
    if not isinstance(max_total_amount, Mapping):
        raise PayJobsValidationError(
            "max_total_amount", "must map Currencies codes to amounts, e.g. {'USD': 10000}", max_total_amount
        )
    for currency, limit in max_total_amount.items():
        field = f"max_total_amount[{_short_repr(currency)}]"
        # A key can be any hashable value: test the type before looking it up.
        if not isinstance(currency, str) or currency not in currencies():
            raise PayJobsValidationError(field, "is not a Currencies code")
        decimal_of(limit, field)  # a float by its shortest repr: 0.3 is 0.3


def check_guardrails(body: Any, max_items: Any = None, max_total_amount: Any = None) -> None:
    """
    Refuse a body that breaks a rule of the API, is over the limits, or repeats a clientPaymentId.

    :param body: the create body, items already carrying their clientPaymentIds.
    :param max_items: most items one job may hold.
    :param max_total_amount: most money one job may move, per currency, e.g. ``{"USD": 10000}``;
        totals and limits are compared as exact decimals.
    """
    check_limits_are_sane(max_items, max_total_amount)
    items = prepare_create_body(body)["items"]  # from here on every field is what the wire holds
    if max_items is not None and len(items) > max_items:
        raise PayJobsValidationError("items", f"max_items is {max_items} but the job has {len(items)} items")
    _check_unique_ids(items)
    totals = _exact_totals(items)
    for currency, limit in (max_total_amount or {}).items():
        total = totals.get(currency, Decimal(0))
        most = decimal_of(limit, f"max_total_amount[{_short_repr(currency)}]")
        if total > most:
            raise PayJobsValidationError(
                "items.amount",
                f"{currency} total {total:f} is over max_total_amount {most:f} {currency}",
            )


def describe_body(body: Mapping[str, Any]) -> str:
    """``3 items; totals: 30.5 USD, 5 EUR``: the summary a dry run logs (of a checked body), exact."""
    items = [item for item in body.get("items") or [] if isinstance(item, Mapping)]
    try:
        totals = ", ".join(f"{amount:f} {currency}" for currency, amount in _exact_totals(items).items())
    except (ArithmeticError, ValueError, TypeError):  # not a checked body: the count still helps
        totals = "cannot be summed"
    return f"{len(items)} items; totals: {totals or 'none'}"


def _check_unique_ids(items: list[dict[str, Any]]) -> None:
    """Name the first item whose clientPaymentId an earlier item already has, and where it is."""
    ids = [item.get("clientPaymentId") for item in items]
    counts = Counter(payment_id for payment_id in ids if payment_id is not None)
    repeated = [payment_id for payment_id, count in counts.items() if count > 1]
    if not repeated:
        return
    seen: set[str] = set()
    for payment_id in ids:
        if payment_id in seen:
            first = payment_id
            break
        if payment_id is not None:
            seen.add(payment_id)
    positions = [position for position, payment_id in enumerate(ids) if payment_id == first]
    raise PayJobsValidationError(
        f"items[{positions[1]}].clientPaymentId",
        f"must be unique in one job; {_short_repr(first)} is at "
        + ", ".join(f"items[{position}]" for position in positions)
        + (f" ({len(repeated) - 1} more ids repeat)" if len(repeated) > 1 else ""),
    )


def _exact_totals(items: list[Any]) -> dict[str, Decimal]:
    """The amount of ``items`` per currency, summed without rounding."""
    with localcontext(_EXACT_SUMS):
        return totals_per_currency(items)
