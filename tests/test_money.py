"""Amounts are exact money: checked against their currency's minor unit, sent with exactly their digits."""

from __future__ import annotations

import json
import re
from decimal import Decimal, localcontext
from importlib.resources import files

import pytest
from payloads import gateway_item

from airflow_provider_payjobs.client.answers import encoded_body
from airflow_provider_payjobs.client.models import UNDEFINED_CURRENCY, currencies, minor_units
from airflow_provider_payjobs.client.validation import amount_of, prepare_create_body
from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.payout.guardrails import check_guardrails, check_limits_are_sane, describe_body


def sent_amount(amount: object, currency: str = "USD") -> Decimal:
    """The amount ``prepare_create_body`` puts on the wire for one item."""
    return prepare_create_body({"items": [gateway_item(0, amount=amount, currency=currency)]})["items"][0][
        "amount"
    ]


def refusal(amount: object, currency: str = "USD") -> PayJobsValidationError:
    with pytest.raises(PayJobsValidationError) as caught:
        prepare_create_body({"items": [gateway_item(0), gateway_item(1, amount=amount, currency=currency)]})
    assert caught.value.field == "items[1].amount", caught.value
    return caught.value


def wire_bytes(amount: object, currency: str = "USD") -> bytes:
    body = prepare_create_body({"items": [gateway_item(0, amount=amount, currency=currency)]})
    data, headers = encoded_body(body, None, {"accept": "application/json"})
    assert headers == {"accept": "application/json", "content-type": "application/json"}
    return data


# --- what is sent -------------------------------------------------------------------------------------


def test_float_noise_around_an_amount_that_fits_is_that_amount() -> None:
    assert 0.1 + 0.2 == 0.30000000000000004
    amount = sent_amount(0.1 + 0.2)
    assert type(amount) is Decimal and str(amount) == "0.3"
    assert b'"amount":0.3,' in wire_bytes(0.1 + 0.2)


@pytest.mark.parametrize(
    ("given", "currency", "sent", "encoded"),
    [
        (0.1, "USD", "0.1", b'"amount":0.1,'),
        (10.5, "USD", "10.5", b'"amount":10.5,'),
        (10.005, "KWD", "10.005", b'"amount":10.005,'),
        ("10.00", "USD", "10", b'"amount":10,'),
        ("10.50", "USD", "10.5", b'"amount":10.5,'),
        ("0007", "JPY", "7", b'"amount":7,'),
        (100, "JPY", "100", b'"amount":100,'),
        (Decimal("1E+2"), "USD", "100", b'"amount":100,'),
        (Decimal("12.50"), "USD", "12.5", b'"amount":12.5,'),
        (Decimal("0.0010"), "BHD", "0.001", b'"amount":0.001,'),
        (1e15, "USD", "1000000000000000", b'"amount":1000000000000000,'),
        (Decimal("123456789012.345"), "KWD", "123456789012.345", b'"amount":123456789012.345,'),
        (9007199254740000, "USD", "9007199254740000", b'"amount":9007199254740000,'),
        (1.1 * 3, "USD", "3.3", b'"amount":3.3,'),  # 3.3000000000000003
        (1.1 * 3, "KWD", "3.3", b'"amount":3.3,'),
    ],
)
def test_accepted_amounts_are_sent_with_exactly_their_digits(
    given: object, currency: str, sent: str, encoded: bytes
) -> None:
    amount = sent_amount(given, currency)
    assert type(amount) is Decimal and str(amount) == sent
    data = wire_bytes(given, currency)
    assert encoded in data
    assert json.loads(data, parse_float=Decimal)["items"][0]["amount"] == Decimal(sent)


def test_the_wire_body_is_accepted_again_unchanged() -> None:
    wire = prepare_create_body(
        {"items": [gateway_item(0, amount="10.50"), gateway_item(1, amount=0.1 + 0.2)]}
    )
    assert prepare_create_body(wire) == wire
    assert [str(item["amount"]) for item in wire["items"]] == ["10.5", "0.3"]


def test_a_decimal_context_of_the_caller_changes_nothing() -> None:
    with localcontext() as context:
        context.prec = 3
        assert str(sent_amount(Decimal("123456.78"))) == "123456.78"
        assert str(sent_amount(0.1 + 0.2)) == "0.3"


# --- what is refused ----------------------------------------------------------------------------------


def test_more_fraction_digits_than_the_currency_allows_names_field_currency_and_digits() -> None:
    error = refusal(10.005)
    assert str(error) == "items[1].amount: 10.005 has 3 fraction digits; USD allows at most 2"
    assert "JPY allows at most 0" in refusal(100.5, "JPY").rule
    assert "1 fraction digit;" in refusal(100.5, "JPY").rule
    assert "KWD allows at most 3" in refusal("1.0001", "KWD").rule
    assert "USD allows at most 2" in refusal(Decimal("0.001")).rule


@pytest.mark.parametrize(
    ("given", "rule_words"),
    [
        (1e-09, "0.000000001 has 9 fraction digits; USD allows at most 2"),
        (10.005, "10.005 has 3 fraction digits"),
        (0.3 + 1e-15, "0.300000000000001 has 15 fraction digits"),  # 18 ulp from 0.3: no noise
        (5e-324, "it has 324 fraction digits"),
        (Decimal("1234567890123.456"), "fraction digits"),
        (Decimal("1234567890123456"), "at most 15 significant digits"),
        (Decimal("12345678901234.56"), "at most 15 significant digits"),
        (2**53, "at most 15 significant digits"),
        (1234567890123456.0, "at most 15 significant digits"),
        (10**16, "the largest whole amount a double holds"),
        (1e300, "the largest whole amount a double holds"),
        (Decimal("1E+999999999"), "the largest whole amount a double holds"),
        (Decimal("1E-999999999"), "it has 999999999 fraction digits"),
        ("1e2", "no sign, exponent, spaces or underscores"),
        ("-1", "no sign, exponent, spaces or underscores"),
        ("+1", "no sign, exponent, spaces or underscores"),
        (" 5", "no sign, exponent, spaces or underscores"),
        ("5\n", "no sign, exponent, spaces or underscores"),
        ("1_000", "no sign, exponent, spaces or underscores"),
        ("1,5", "numeric string"),
        ("10.", "numeric string"),
        (".5", "numeric string"),
        ("", "numeric string"),
        ("\u0661\u0660", "numeric string"),  # Arabic-Indic digits: not ASCII
        ("NaN", "numeric string"),
        ("0", "greater than 0"),
        ("0.00", "greater than 0"),
        (0.0, "greater than 0"),
        (-0.1, "greater than 0"),
        (Decimal("-0"), "greater than 0"),
        (float("nan"), "finite"),
        (Decimal("Infinity"), "finite"),
        (True, "must be a number (int, Decimal or float) or a numeric string, not bool"),
        (b"10", "not bytes"),
        (None, "is required"),
    ],
)
def test_refused_amounts_name_the_field_and_the_rule(given: object, rule_words: str) -> None:
    error = refusal(given)
    assert rule_words in str(error), error
    assert len(str(error)) < 220, "never the whole of a huge amount"


def test_a_sixteen_significant_digit_decimal_is_refused_and_fifteen_pass() -> None:
    rule = refusal(Decimal("1234567890123.456"), "KWD").rule
    assert rule.startswith("must have at most 15 significant digits") and rule.endswith("it has 16")
    assert str(sent_amount(Decimal("123456789012.345"), "KWD")) == "123456789012.345"
    assert str(sent_amount(Decimal("1000000000000000000") / 1000, "USD")) == "1000000000000000"


def test_the_currency_is_checked_before_the_amount() -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        prepare_create_body({"items": [gateway_item(0, amount=10.005, currency="XXX")]})
    assert caught.value.field == "items[0].currency"
    with pytest.raises(PayJobsValidationError) as caught:
        prepare_create_body({"items": [gateway_item(0, amount="abc", currency=UNDEFINED_CURRENCY)]})
    assert caught.value.field == "items[0].currency"


def test_amount_of_is_the_rule_on_its_own() -> None:
    assert amount_of(0.1 + 0.2, "USD") == Decimal("0.3")
    assert amount_of(0.1 + 0.2, "KWD") == Decimal("0.3")
    assert amount_of(1.0000000000000002, "JPY") == Decimal("1"), "1 ulp above 1"
    with pytest.raises(PayJobsValidationError, match=r"^payout: 1\.5 has 1 fraction digit; JPY"):
        amount_of(1.5, "JPY", "payout")


# --- the minor-unit table ----------------------------------------------------------------------------


def test_every_payable_code_has_exactly_one_minor_unit_from_0_to_4() -> None:
    text = files("airflow_provider_payjobs.client").joinpath("minor_units.txt").read_text(encoding="utf-8")
    entries = [line.split("#", 1)[0].split() for line in text.splitlines()]
    codes = [entry[0] for entry in entries if entry]
    assert all(len(entry) == 2 for entry in entries if entry)
    assert sorted(codes) == sorted(currencies()), "one line per code of currencies.txt"
    assert len(codes) == len(set(codes)), "no code twice"
    assert UNDEFINED_CURRENCY not in codes
    assert all(0 <= digits <= 4 for digits in minor_units().values())
    assert re.search(r"ISO 4217.*SIX Group", text, re.DOTALL), "the header names its source"
    assert "list three" in text


@pytest.mark.parametrize(
    ("digits", "codes"),
    [
        (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF BYR"),
        (2, "USD EUR GBP CHF CNY INR MXN BRL ZAR HRK MRO STD VEF ZWD SLL GGP IMP JEP TVD CNH"),
        (3, "BHD IQD JOD KWD LYD OMR TND"),
        (0, "XDR SPL CXX"),  # no known minor unit: whole amounts only, failing closed
    ],
)
def test_known_minor_units(digits: int, codes: str) -> None:
    assert {code: minor_units()[code] for code in codes.split()} == dict.fromkeys(codes.split(), digits)


def test_the_table_cannot_be_changed_in_memory() -> None:
    with pytest.raises(TypeError):
        minor_units()["USD"] = 5  # type: ignore[index]


# --- the encoder --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"note": 'caf\u00e9 \U0001f600 "quoted" \\ \n\t\x7f', "n": 5, "f": 10.5, "ok": True}]},
        {"a": [None, False, [], {}, [1, [2, {"b": -3}]]], "e": "", "big": 10**30},
        {"t": ("x", 1), "f": 1e16, "g": 5e-324},
    ],
)
def test_the_encoder_writes_what_json_dumps_writes_without_decimals(body: object) -> None:
    expected = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
    assert encoded_body(body, None, {})[0] == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.3"), b"0.3"),
        (Decimal("1E+2"), b"100"),
        (Decimal("1.000"), b"1.000"),
        (Decimal("1E-7"), b"0.0000001"),
        (Decimal("123456789012345678901234567890.5"), b"123456789012345678901234567890.5"),
    ],
)
def test_the_encoder_writes_decimals_with_exactly_their_digits(value: Decimal, text: bytes) -> None:
    assert encoded_body({"amount": value}, None, {})[0] == b'{"amount":' + text + b"}"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (Decimal("NaN"), ValueError),
        (Decimal("-Infinity"), ValueError),
        (float("inf"), ValueError),
        (float("nan"), ValueError),
        ({1, 2}, TypeError),
        (b"x", TypeError),
        ({1: "x"}, TypeError),
    ],
)
def test_the_encoder_refuses_what_json_has_no_form_for(value: object, error: type) -> None:
    with pytest.raises(error):
        encoded_body({"value": [value]}, None, {})


def test_a_form_body_is_passed_through() -> None:
    assert encoded_body(None, {"grant_type": "client_credentials"}, {}) == (
        {"grant_type": "client_credentials"},
        {},
    )


# --- the guardrails -----------------------------------------------------------------------------------

NOISY_BODY = {"items": [gateway_item(0, amount=0.1), gateway_item(1, amount=0.2)]}


@pytest.mark.parametrize("limit", [0.3, "0.3", "0.30", Decimal("0.3"), Decimal("0.300"), 1, "0.3000001"])
def test_limits_take_every_kind_of_number_and_compare_exactly(limit: object) -> None:
    check_limits_are_sane(None, {"USD": limit})
    check_guardrails(NOISY_BODY, None, {"USD": limit})


@pytest.mark.parametrize(
    ("limit", "shown"),
    [(0.29, "0.29"), ("0.299", "0.299"), (Decimal("2.9E-1"), "0.29"), (0.1 + 0.1, "0.2")],
)
def test_an_exceeded_limit_prints_decimals(limit: object, shown: str) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        check_guardrails(NOISY_BODY, None, {"USD": limit})
    assert caught.value.field == "items.amount"
    assert caught.value.rule == f"USD total 0.3 is over max_total_amount {shown} USD"


@pytest.mark.parametrize("limit", ["1e2", "-1", " 5", float("nan"), Decimal("sNaN"), 0, True, [1]])
def test_limits_that_are_no_positive_number_are_refused_by_name(limit: object) -> None:
    with pytest.raises(PayJobsValidationError) as caught:
        check_limits_are_sane(None, {"USD": limit})
    assert caught.value.field == "max_total_amount['USD']"


def test_totals_are_exact_whatever_the_callers_context() -> None:
    body = {"items": [gateway_item(n, amount="1234567890123.45") for n in range(3)]}
    with localcontext() as context:
        context.prec = 5
        check_guardrails(body, None, {"USD": "3703703670370.35"})
        with pytest.raises(PayJobsValidationError, match=r"total 3703703670370\.35 is over"):
            check_guardrails(body, None, {"USD": "3703703670370.34"})
        summary = describe_body(prepare_create_body(body))
    assert summary == "3 items; totals: 3703703670370.35 USD"


def test_the_dry_run_summary_prints_exact_totals() -> None:
    assert describe_body(prepare_create_body(NOISY_BODY)) == "2 items; totals: 0.3 USD"
    assert describe_body(NOISY_BODY) == "2 items; totals: 0.3 USD", "floats by their shortest repr"
