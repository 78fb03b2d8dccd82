"""Valid request bodies for tests; each helper takes field overrides."""

from __future__ import annotations


def gateway_item(number: int = 0, **fields: object) -> dict[str, object]:
    """A valid GatewayPaymentJobQuote; ``number`` makes its ids unique."""
    return {
        "amount": 10.5,
        "currency": "USD",
        "sourceToken": "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860",
        "destinationToken": f"dest-631b200f-665d-4dbe-bd01-{number:012d}",
        "note": "Thanks!",
        "memo": "payout",
        "purpose": "BONUS",
        "clientPaymentId": f"payment-{number}",
        **fields,
    }


def portal_item(number: int = 0, **fields: object) -> dict[str, object]:
    """A valid PortalPaymentJobQuote."""
    return {
        "amount": 5,
        "currency": "EUR",
        "email": f"payee{number}@example.com",
        "programUserId": f"user-{number:05d}",
        "clientPaymentId": f"portal-{number}",
        **fields,
    }
