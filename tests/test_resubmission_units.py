"""Which items of a failed job a resubmission may pay again: a pure function, no server needed."""

from __future__ import annotations

from airflow_provider_payjobs.payout.resubmission import plan_resubmission


def body(*ids: str) -> dict:
    return {"items": [{"clientPaymentId": payment_id} for payment_id in ids]}


def job(**statuses: str) -> dict:
    return {
        "items": [
            {"clientPaymentId": payment_id, "status": status} for payment_id, status in statuses.items()
        ]
    }


def test_items_are_sorted_by_what_happened_to_their_money() -> None:
    failed = job(
        a="COMPLETED", b="FAILED", c="CANCELLED", d="EXPIRED", e="VOIDED", f="ACCEPTED", g="NEW_STATUS"
    )
    plan = plan_resubmission(
        body("a", "b", "c", "d", "e", "f", "g", "h"), [10, 11, 12, 13, 14, 15, 16, 17], failed
    )
    assert plan.unpaid_positions == [11, 12, 13, 14]
    assert plan.paid_ids == ["a"]
    assert plan.unclear == {"f": "ACCEPTED", "g": "NEW_STATUS", "h": "missing"}
    refusal = plan.refusal("jobs-1")
    assert refusal and "cannot tell whether job jobs-1 paid" in refusal and "h (missing)" in refusal


def test_unpaid_items_may_be_resubmitted_and_paid_ones_never() -> None:
    plan = plan_resubmission(body("a", "b", "c"), [0, 1, 2], job(a="COMPLETED", b="FAILED", c="COMPLETED"))
    assert (plan.unpaid_positions, plan.paid_ids, plan.refusal("jobs-1")) == ([1], ["a", "c"], None)


def test_nothing_left_to_pay_is_a_refusal() -> None:
    plan = plan_resubmission(body("a"), [0], job(a="COMPLETED"))
    assert plan.refusal("jobs-1") == "job jobs-1 left no unpaid item to pay again"
