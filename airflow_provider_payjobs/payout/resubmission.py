"""
Which items of a failed payment job may be paid again (``resubmit_failed=True``).

A FAILED or CANCELLED job may still have paid some of its items. Paying the whole body again
would pay those people twice, so a resubmission carries only the items the failed job certainly
did not pay, and nothing at all while any item's outcome cannot be told.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_payjobs.client.models import PAID_TRANSFER_STATUSES, UNPAID_TRANSFER_STATUSES


@dataclass
class ResubmissionPlan:
    """
    The items of a failed job, sorted by what happened to their money.

    :param unpaid_positions: positions (in the user's body) of the items to pay again.
    :param paid_ids: clientPaymentIds the failed job paid: never paid again.
    :param unclear: clientPaymentId -> item status (or "missing") for items whose outcome is unknown.
    """

    unpaid_positions: list[int] = field(default_factory=list)
    paid_ids: list[str] = field(default_factory=list)
    unclear: dict[str, str] = field(default_factory=dict)

    def refusal(self, job_token: str) -> str | None:
        """Why nothing may be resubmitted, or None when the unpaid items may be."""
        if self.unclear:
            listed = ", ".join(f"{payment_id} ({status})" for payment_id, status in self.unclear.items())
            return (
                f"cannot tell whether job {job_token} paid these items, so nothing is paid again: "
                f"{listed}; check them in PayQuicker and resubmit with your own clientPaymentIds"
            )
        if not self.unpaid_positions:
            return f"job {job_token} left no unpaid item to pay again"
        return None


def plan_resubmission(
    body: Mapping[str, Any], positions: Sequence[int], failed_job: Mapping[str, Any]
) -> ResubmissionPlan:
    """
    Sort the items of ``body`` by their outcome in ``failed_job``.

    :param body: the body the failed job was created from, a clientPaymentId on every item.
    :param positions: the position in the user's body of each item of ``body``.
    :param failed_job: the FAILED or CANCELLED job, with its items.
    """
    statuses = {
        item.get("clientPaymentId"): str(item.get("status"))
        for item in failed_job.get("items") or []
        if isinstance(item, Mapping)
    }
    plan = ResubmissionPlan()
    for position, item in zip(positions, body["items"], strict=True):
        payment_id = item["clientPaymentId"]
        status = statuses.get(payment_id, "missing")
        if status in PAID_TRANSFER_STATUSES:
            plan.paid_ids.append(payment_id)
        elif status in UNPAID_TRANSFER_STATUSES:
            plan.unpaid_positions.append(position)
        else:
            plan.unclear[payment_id] = status
    return plan
