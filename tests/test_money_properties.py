"""
Properties of amounts: what is accepted is exactly what fits the rules, and what is sent is
exactly the amount meant.

- A Decimal (any digits, any exponent) or its numeric string is accepted exactly when it is
  greater than 0, at most 2**53, of at most 15 significant digits and of no more fraction digits
  (trailing zeros not counted) than its currency's minor unit; the JSON sent, read back with
  ``parse_float=Decimal``, is that amount.
- A float is sent as the decimal of its shortest repr, or as that repr rounded to the minor unit
  when the float is within 4 ulp of it; never as anything else.

Examples per property: ``PAYJOBS_HYPOTHESIS_EXAMPLES`` (default 50).
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from payloads import gateway_item
from strategies import CURRENCIES, PROPERTIES, exact_amounts

from airflow_provider_payjobs.client.answers import encoded_body
from airflow_provider_payjobs.client.models import minor_units
from airflow_provider_payjobs.client.validation import prepare_create_body
from airflow_provider_payjobs.exceptions import PayJobsValidationError

# The oracle's arithmetic: wide enough that nothing here rounds.
WIDE = Context(prec=1000, rounding=ROUND_HALF_EVEN)

ANY_DECIMALS = st.builds(
    lambda sign, coefficient, exponent: Decimal(
        (sign, tuple(int(digit) for digit in str(coefficient)), exponent)
    ),
    st.sampled_from([0, 0, 0, 1]),
    st.one_of(
        st.integers(0, 10**4), st.integers(0, 10**20), st.integers(1, 9).map(lambda digit: digit * 10**15)
    ),
    st.integers(-25, 20),
)


def sent(amount: Any, currency: str) -> tuple[Decimal | None, PayJobsValidationError | None]:
    """The amount on the wire, read back from the JSON bytes sent, or the refusal."""
    try:
        wire = prepare_create_body({"items": [gateway_item(0, amount=amount, currency=currency)]})
    except PayJobsValidationError as error:
        assert error.field in ("items[0].amount",), error
        return None, error
    data, _ = encoded_body(wire, None, {})
    amount_text = data.split(b'"amount":', 1)[1].split(b",", 1)[0]
    assert b"e" not in amount_text.lower(), f"plain notation: {amount_text!r}"
    read_back = json.loads(data, parse_float=Decimal)["items"][0]["amount"]
    assert read_back == wire["items"][0]["amount"], "the JSON carries exactly the amount validated"
    return Decimal(read_back), None


def fits(amount: Decimal, currency: str) -> bool:
    """The rules, from the amount's normalized digits: > 0, <= 2**53, 15 significant, the minor unit."""
    if not amount.is_finite() or amount <= 0 or amount > 2**53:
        return False
    _, digits, exponent = amount.normalize(WIDE).as_tuple()
    return len(digits) <= 15 and -min(exponent, 0) <= minor_units()[currency]


@PROPERTIES
@given(amount=ANY_DECIMALS, currency=st.sampled_from(CURRENCIES))
def test_a_decimal_is_accepted_exactly_when_it_fits_and_sent_exactly(amount: Decimal, currency: str) -> None:
    result, error = sent(amount, currency)
    assert (error is None) == fits(amount, currency), (amount, currency, error)
    if result is not None:
        assert result == amount
        assert str(result) == f"{amount.normalize(WIDE):f}", "plain, without trailing fraction zeros"


@PROPERTIES
@given(amount=ANY_DECIMALS, currency=st.sampled_from(CURRENCIES))
def test_a_numeric_string_is_judged_as_its_decimal(amount: Decimal, currency: str) -> None:
    if amount < 0 or amount.adjusted() > 20:
        return  # no sign in a numeric string
    text = f"{amount:f}"
    result, error = sent(text, currency)
    assert (error is None) == fits(amount, currency), (text, currency, error)
    assert result is None or result == amount


def shortest_and_nearest(number: float, digits: int) -> tuple[Decimal, Decimal]:
    shortest = Decimal(repr(number))
    return shortest, shortest.quantize(Decimal(1).scaleb(-digits), context=WIDE)


FLOATS = st.one_of(
    st.floats(min_value=0, exclude_min=True, allow_nan=False, allow_infinity=False),
    st.floats(min_value=0.001, max_value=1e7),
    # Amounts that fit, a few ulp off: noise up to 4 ulp is taken away, farther is refused.
    st.builds(
        lambda amount, steps, up: _ulps_away(float(amount), steps, up),
        exact_amounts(2),
        st.integers(0, 6),
        st.booleans(),
    ),
)


def _ulps_away(number: float, steps: int, up: bool) -> float:
    for _ in range(steps):
        number = math.nextafter(number, math.inf if up else 0.0)
    return number


@PROPERTIES
@given(number=FLOATS, currency=st.sampled_from(CURRENCIES))
def test_a_float_is_its_shortest_repr_or_the_amount_it_is_noise_around(number: float, currency: str) -> None:
    digits = minor_units()[currency]
    result, error = sent(number, currency)
    shortest, nearest = shortest_and_nearest(number, digits)
    noise = nearest > 0 and abs(number - float(nearest)) <= 4 * math.ulp(number)
    if fits(shortest, currency):
        assert result == shortest, (number, currency, error)
    elif noise and fits(nearest, currency):
        assert result == nearest, (number, currency, error)
    else:
        assert error is not None, (number, currency, result)


@PROPERTIES
@given(
    first=exact_amounts(2).filter(lambda amount: amount < 10**9),
    second=exact_amounts(2).filter(lambda amount: amount < 10**9),
)
def test_a_float_sum_of_cent_amounts_is_sent_as_the_exact_sum(first: Decimal, second: Decimal) -> None:
    result, error = sent(float(first) + float(second), "USD")
    assert error is None and result == first + second, (first, second, error)
