"""
The sandbox's money rules over real HTTP: amounts read and served back exactly (no float round
trip), ISO 4217 minor units per currency, and the sanity bounds; in both deduplication modes.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payloads import gateway_item, portal_item
from sandbox_wire import assert_api_error, bearer, call

from airflow_provider_payjobs.sandbox.money import MINOR_UNITS, MINOR_UNITS_FILE, read_minor_units

# The contract's Currencies list, the sandbox's own copy.
CURRENCY_FILE = (
    Path(__file__).resolve().parents[1] / "airflow_provider_payjobs" / "sandbox" / "currencies.txt"
)
EXAMPLES = settings(
    max_examples=int(os.environ.get("PAYJOBS_FUZZ_EXAMPLES", "120")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(params=[False, True], ids=["deduplicating", "accepting-duplicates"])
def any_mode(request: pytest.FixtureRequest, sandbox):
    """The sandbox in each of its two modes: rules on amounts must not depend on deduplication."""
    sandbox.admin.set_config(accept_duplicate_client_ids=request.param)
    return sandbox


def post_literal(sandbox, amount: str, currency: str, headers: dict[str, str] | None = None):
    """A one-item create whose amount is the JSON literal ``amount``, exactly as written."""
    item = json.dumps({**gateway_item(0, currency=currency), "clientPaymentId": str(uuid.uuid4())})
    body = item.replace('"amount": 10.5', f'"amount": {amount}')
    assert f'"amount": {amount}' in body
    return requests.post(
        sandbox.base_url + "/payments/jobs",
        data=f'{{"items": [{body}]}}'.encode(),
        headers={**(headers or bearer(sandbox)), "Content-Type": "application/json"},
        timeout=10,
    )


def served_amount_texts(answer: requests.Response) -> list[str]:
    """The amounts of an answer exactly as its bytes write them."""
    return re.findall(r'"amount":(-?[0-9][0-9.eE+-]*)', answer.text)


# The table.


def test_every_currency_of_the_contract_has_a_minor_unit() -> None:
    codes = set(CURRENCY_FILE.read_text(encoding="utf-8").split()) - {"UNDEFINED"}
    assert set(MINOR_UNITS) == codes


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        *(("JPY", 0), ("KRW", 0), ("CLP", 0), ("XOF", 0), ("USD", 2), ("EUR", 2), ("KWD", 3), ("BHD", 3)),
        *(("IQD", 3), ("BYR", 0), ("MRO", 2), ("STD", 2), ("VEF", 2), ("ZWD", 2), ("HRK", 2), ("SLL", 2)),
        *(("GGP", 2), ("IMP", 2), ("JEP", 2), ("TVD", 2), ("CNH", 2), ("XDR", 0), ("SPL", 0), ("CXX", 0)),
    ],
)
def test_minor_units_follow_iso_4217_and_the_stated_basis(currency: str, digits: int) -> None:
    assert MINOR_UNITS[currency] == digits


def test_the_table_names_its_source_and_basis() -> None:
    header = MINOR_UNITS_FILE.read_text(encoding="utf-8").split("\nAED ")[0]
    for words in (
        "ISO 4217",
        "SIX",
        "list one",
        "list three",
        "GGP, IMP, JEP",
        "TVD",
        "CNH",
        "XDR",
        "SPL",
        "CXX",
    ):
        assert words in header, words


@pytest.mark.parametrize("line", ["USD", "USD 2 3", "USD two", "USD \u0662", "USD 2\nUSD 3"])
def test_a_broken_table_stops_the_sandbox(line: str) -> None:
    with pytest.raises(ValueError, match="not a new 'CODE DIGITS' pair"):
        read_minor_units(f"# a comment\nEUR 2\n{line}\n")


# Minor units on the wire.


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10.50", "USD"),
        ("10.500", "USD"),
        ("10.00000", "USD"),
        ("10.005", "KWD"),
        ("10.005", "BHD"),
        ("100", "JPY"),
        ("100.000", "JPY"),
        ("1e2", "JPY"),
        ("0.01", "EUR"),
        ("1.5e-1", "EUR"),
        ("7", "XDR"),
        ("0.3", "USD"),
        ("1234567890123.4", "GBP"),
    ],
)
def test_amounts_within_the_minor_unit_are_served_back_with_their_digits(
    any_mode, amount: str, currency: str
) -> None:
    headers = bearer(any_mode)
    answer = post_literal(any_mode, amount, currency, headers)
    assert answer.status_code == 200, answer.text
    expected = format(Decimal(amount), "f")  # the same digits; an exponent written out
    assert served_amount_texts(answer) == [expected]
    token = answer.json()["token"]
    for path in (f"/payments/jobs/{token}", "/payments/jobs?page=1&pageSize=5"):
        again = requests.get(any_mode.base_url + path, headers=headers, timeout=10)
        assert served_amount_texts(again) == [expected]
    ledger = requests.get(any_mode.root_url + "/_sandbox/ledger", timeout=10)
    assert served_amount_texts(ledger) == [expected]


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [
        ("10.005", "USD", "items[2].amount: 10.005 has 3 fraction digits; USD allows at most 2"),
        ("100.5", "JPY", "items[2].amount: 100.5 has 1 fraction digit; JPY allows at most 0 (whole amounts"),
        ("10.0001", "KWD", "items[2].amount: 10.0001 has 4 fraction digits; KWD allows at most 3"),
        ("0.5", "XDR", "items[2].amount: 0.5 has 1 fraction digit; XDR allows at most 0"),
        ("1.55e-1", "EUR", "items[2].amount: 0.155 has 3 fraction digits; EUR allows at most 2"),
        ("0.30000000000000004", "USD", "items[2].amount: must have at most 15 significant digits"),
    ],
)
def test_amounts_finer_than_the_minor_unit_are_refused_by_position(
    any_mode, amount: str, currency: str, words: str
) -> None:
    good = [gateway_item(number, clientPaymentId=str(uuid.uuid4())) for number in range(2)]
    item = json.dumps(gateway_item(2, currency=currency, clientPaymentId=str(uuid.uuid4())))
    literal = item.replace('"amount": 10.5', f'"amount": {amount}')
    body = json.dumps({"items": good})[:-2] + f", {literal}]}}"
    answer = call(any_mode, "POST", "/payments/jobs", data=body, headers={"content-type": "application/json"})
    assert_api_error(answer, 400, words)
    assert any_mode.admin.ledger() == []


def test_portal_amounts_follow_the_same_rules(any_mode) -> None:
    item = {**portal_item(0, currency="JPY", amount=1500.5), "clientPaymentId": str(uuid.uuid4())}
    assert_api_error(
        call(any_mode, "POST", "/payments/jobs", json={"items": [item]}),
        400,
        "items[0].amount: 1500.5 has 1 fraction digit; JPY allows at most 0",
    )


@pytest.mark.parametrize(
    ("literal", "words"),
    [
        ("true", "items[0].amount: must be a number, got true"),
        ("false", "items[0].amount: must be a number, got false"),
        ('"10.50"', "items[0].amount: must be a number, got '10.50'"),
        ("null", "items[0].amount: must be a number, got null"),
        ("[10]", "items[0].amount: must be a number, got a list"),
        ("0", "items[0].amount: must be a finite number greater than 0, got 0"),
        ("0.00", "items[0].amount: must be a finite number greater than 0, got 0.00"),
        ("-10.5", "items[0].amount: must be a finite number greater than 0, got -10.5"),
        ("1e16", "items[0].amount: must be at most 9007199254740992"),
        ("1234567890123456", "items[0].amount: must have at most 15 significant digits"),
        ("1E-999999999", "items[0].amount: 1E-999999999 has 999999999 fraction digits"),
        ("1e-9999999999999999999", "items[0].amount: must be a number of at most 15 digits, got 1e-99"),
        ("1e9999999999999999999", "items[0].amount: must be a number of at most 15 digits, got 1e99"),
    ],
)
def test_amounts_that_are_not_sane_numbers_are_refused(any_mode, literal: str, words: str) -> None:
    assert_api_error(post_literal(any_mode, literal, "USD"), 400, words)


# The property: accepted exactly when the fraction fits, and echoed digit for digit.


@st.composite
def decimal_literals(draw: st.DrawFn) -> tuple[str, Decimal]:
    """A JSON number of at most 15 significant digits below 2**53, in plain or exponent form."""
    significand = draw(st.integers(1, 10**15 - 1))
    zeros = draw(st.integers(0, 3))  # trailing zeros, which must not count
    exponent = draw(st.integers(-6, 0)) - zeros
    coefficient = str(significand) + "0" * zeros
    value = Decimal(f"{coefficient}E{exponent}")
    if draw(st.booleans()):
        return f"{coefficient}E{exponent}", value
    return format(value, "f"), value


@EXAMPLES
@given(number=decimal_literals(), currency=st.sampled_from(sorted(MINOR_UNITS)))
def test_the_sandbox_takes_exactly_the_amounts_that_fit_and_echoes_their_digits(
    any_mode, number: tuple[str, Decimal], currency: str
) -> None:
    literal, value = number
    fraction_digits = max(0, -value.normalize().as_tuple().exponent)
    answer = post_literal(any_mode, literal, currency)
    if fraction_digits > MINOR_UNITS[currency]:
        assert_api_error(answer, 400, "items[0].amount: ")
        assert f"{currency} allows at most {MINOR_UNITS[currency]}" in answer.json()["message"]
        return
    assert answer.status_code == 200, (literal, currency, answer.text)
    (served,) = served_amount_texts(answer)
    assert served == format(value, "f") and "e" not in served.lower()
    assert Decimal(served) == value


def test_the_sandbox_and_the_client_read_the_same_currency_list() -> None:
    """Two copies, so that the sandbox reads nothing of the client; they must not drift apart."""
    client_copy = CURRENCY_FILE.parents[1] / "client" / "currencies.txt"
    assert CURRENCY_FILE.read_text(encoding="utf-8") == client_copy.read_text(encoding="utf-8")
