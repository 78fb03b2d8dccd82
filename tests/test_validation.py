"""Every input rule: the error names the field, its position and the rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from payloads import gateway_item, portal_item

from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.models import currencies
from airflow_provider_payjobs.validation import (
    normalize_body,
    to_rfc3339,
    validate_create_body,
    validate_job_token,
    validate_language,
    validate_page,
)

JOB_TOKEN = "jobs-2bbfc967-d12e-4647-a887-d905172fb4bc"


def test_valid_gateway_and_portal_bodies_pass() -> None:
    validate_create_body({"items": [gateway_item(0), gateway_item(1)]})
    validate_create_body(
        {
            "notBefore": "2026-01-01T00:00:00Z",
            "notAfter": "2026-01-02T00:00:00+02:00",
            "items": [portal_item()],
        }
    )
    validate_create_body({"items": [portal_item(email=None)]})
    validate_create_body({"items": [portal_item(programUserId=None)]})


@pytest.mark.parametrize(
    ("body", "field", "rule_words"),
    [
        ([], "body", "JSON object"),
        ({}, "items", "non-empty list"),
        ({"items": []}, "items", "non-empty list"),
        ({"items": [gateway_item()], "note": "x"}, "note", "not a field of a payment job"),
        ({"items": ["x"]}, "items[0]", "JSON object"),
        ({"items": [gateway_item(), gateway_item(1, currency="usd")]}, "items[1].currency", "ISO 4217"),
        ({"items": [gateway_item(currency="XXX1")]}, "items[0].currency", "ISO 4217"),
        ({"items": [gateway_item(amount=0)]}, "items[0].amount", "greater than 0"),
        ({"items": [gateway_item(amount=-1)]}, "items[0].amount", "greater than 0"),
        ({"items": [gateway_item(amount=float("nan"))]}, "items[0].amount", "finite"),
        ({"items": [gateway_item(amount=float("inf"))]}, "items[0].amount", "finite"),
        ({"items": [gateway_item(amount="10")]}, "items[0].amount", "must be a number"),
        ({"items": [gateway_item(amount=True)]}, "items[0].amount", "must be a number"),
        ({"items": [gateway_item(amount=None)]}, "items[0].amount", "is required"),
        (
            {"items": [gateway_item(sourceToken="acct-123")]},
            "items[0].sourceToken",
            "(acct|user|dest)-<uuid>",
        ),
        (
            {"items": [gateway_item(destinationToken="jobs-631b200f-665d-4dbe-bd01-3063c9dec97d")]},
            "items[0].destinationToken",
            "(acct|dest|user)-<uuid>",
        ),
        (
            {"items": [gateway_item(destinationToken="dest-631b200f-665d-4dbe-bd01-3063c9dec97d\n")]},
            "items[0].destinationToken",
            "(acct|dest|user)-<uuid>",
        ),
        ({"items": [gateway_item(destinationToken=None)]}, "items[0]", "needs destinationToken"),
        ({"items": [gateway_item(email="a@example.com")]}, "items[0]", "never both"),
        ({"items": [gateway_item(), portal_item()]}, "items[1]", "never mixes"),
        ({"items": [portal_item(email="a@b.c")]}, "items[0].email", "from 8 to 100"),
        ({"items": [portal_item(email="x" * 95 + "@b.com")]}, "items[0].email", "from 8 to 100"),
        ({"items": [portal_item(email="nobody-at-example")]}, "items[0].email", "name@domain.tld"),
        ({"items": [portal_item(programUserId="abcd")]}, "items[0].programUserId", "from 5 to 100"),
        ({"items": [portal_item(programUserId="a" * 101)]}, "items[0].programUserId", "from 5 to 100"),
        ({"items": [gateway_item(purpose="GIFT")]}, "items[0].purpose", "must be one of BONUS"),
        ({"items": [gateway_item(memo=5)]}, "items[0].memo", "must be a string"),
        ({"items": [gateway_item(clientPaymentId="")]}, "items[0].clientPaymentId", "at least 1"),
        (
            {"items": [gateway_item(destinationtoken="x")]},
            "items[0].destinationtoken",
            "not a field of a payment",
        ),
        ({"notBefore": "2026-01-01", "items": [gateway_item()]}, "notBefore", "RFC 3339"),
        ({"notAfter": "2026-01-01T00:00:00", "items": [gateway_item()]}, "notAfter", "RFC 3339"),
        ({"notAfter": "2026-01-01 00:00:00Z", "items": [gateway_item()]}, "notAfter", "RFC 3339"),
        ({"notAfter": "2026-01-01T00:00:00Z\n", "items": [gateway_item()]}, "notAfter", "RFC 3339"),
        (
            {"notBefore": "2026-02-30T00:00:00Z", "items": [gateway_item()]},
            "notBefore",
            "not a real calendar",
        ),
        (
            {
                "notBefore": "2026-01-02T00:00:00Z",
                "notAfter": "2026-01-01T00:00:00Z",
                "items": [gateway_item()],
            },
            "notBefore",
            "before notAfter",
        ),
    ],
)
def test_bad_body_names_field_and_rule(body: object, field: str, rule_words: str) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        validate_create_body(body)
    assert caught.value.field == field
    assert rule_words in caught.value.rule
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "token",
    [
        None,
        5,
        "",
        "jobs-2bbfc967",
        JOB_TOKEN + "0",
        JOB_TOKEN + "\n",
        "JOBS-2bbfc967-d12e-4647-a887-d905172fb4bc",
        JOB_TOKEN[:-1] + "g",
    ],
)
def test_bad_job_token(token: object) -> None:
    with pytest.raises(PayJobsValidationError, match="job_token: must match jobs-<uuid>"):
        validate_job_token(token)


def test_good_job_token_upper_hex() -> None:
    assert validate_job_token(JOB_TOKEN.upper().replace("JOBS", "jobs")).startswith("jobs-")


@pytest.mark.parametrize(
    ("page", "page_size", "field"),
    [
        (0, 10, "page"),
        (-1, 10, "page"),
        (1.5, 10, "page"),
        (True, 10, "page"),
        (1, 0, "page_size"),
        (1, 51, "page_size"),
        (1, "5", "page_size"),
    ],
)
def test_bad_paging(page: object, page_size: object, field: str) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        validate_page(page, page_size)
    assert caught.value.field == field


def test_paging_bounds_pass() -> None:
    validate_page(1, 1)
    validate_page(1000, 50)


def test_language_accepts_enum_and_names() -> None:
    from airflow_provider_payjobs.models import Languages

    assert validate_language(Languages.ENUS) == "ENUS"
    assert validate_language("frca") == "FRCA"
    assert validate_language(None) is None
    with pytest.raises(PayJobsValidationError, match="language: must be one of CSCZ"):
        validate_language("EN")


def test_datetimes_and_decimals_are_normalized() -> None:
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    body = normalize_body({"notBefore": moment, "items": [gateway_item(amount=Decimal("12.50"))]})
    assert body["notBefore"] == "2026-03-01T10:00:00Z"
    assert body["items"][0]["amount"] == 12.5
    assert to_rfc3339(datetime(2026, 3, 1, 12, 0)) == "2026-03-01T12:00:00Z"
    validate_create_body(body)


def test_packaged_currencies_match_the_contract() -> None:
    contract = Path(__file__).resolve().parents[2] / "shared" / "api" / "currencies.txt"
    if not contract.exists():
        pytest.skip("the shared contract folder is not beside this checkout")
    assert currencies() == {line.strip() for line in contract.read_text().splitlines() if line.strip()}
    assert {"USD", "EUR", "GBP", "JPY"} <= currencies()
