"""
Properties of the client-side checks, over generated values of every field.

Any value is either refused by a PayJobsValidationError naming its field (and no other
exception), or accepted as something a correct server can store and serve back: JSON without
NaN, UTF-8, date-times in years 1 to 9999 in UTC, amounts as exact decimals that fit their
currency's minor unit and that a double holds, int32 paging.

Examples per property: ``PAYJOBS_HYPOTHESIS_EXAMPLES`` (default 50); in CI the examples are
derandomized, so a run there is repeatable.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    HASHABLE_KEYS,
    JOB_TOKENS,
    PROPERTIES,
    fields_that_may_answer,
    mutated_bodies,
    odd_values,
    python_bodies,
    task_context,
    wire_bodies,
)

from airflow_provider_payjobs.client.answers import encoded_body
from airflow_provider_payjobs.client.models import Languages, minor_units
from airflow_provider_payjobs.client.validation import (
    INT32_MAX,
    JOB_FIELDS,
    MAX_AMOUNT,
    MAX_SIGNIFICANT_DIGITS,
    list_query,
    prepare_create_body,
    retrieve_query,
    validate_job_token,
)
from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.payout.guardrails import check_guardrails, check_limits_are_sane

TAGS = {member.value for member in Languages}


def outcome(call: Any, *arguments: Any, **keywords: Any) -> tuple[Any, PayJobsValidationError | None]:
    """What ``call`` returned, or the PayJobsValidationError it raised; any other exception fails."""
    try:
        return call(*arguments, **keywords), None
    except PayJobsValidationError as error:
        str(error).encode("utf-8")  # the message can be logged anywhere
        return None, error


def assert_refusal_names(error: PayJobsValidationError, path: str) -> None:
    assert fields_that_may_answer(path, error.field), f"changed {path}, error names {error.field}: {error}"


def assert_servable(wire: dict[str, Any]) -> None:
    """What a correct server can store and serve back, read back the same."""
    raw, _ = encoded_body(wire, None, {})
    assert json.loads(raw, parse_float=Decimal) == wire, "the JSON carries exactly the amounts"
    assert prepare_create_body(json.loads(raw)) == wire, "the wire form is accepted as it is"
    assert prepare_create_body(json.loads(raw, parse_float=Decimal)) == wire
    assert set(wire) <= JOB_FIELDS and wire["items"]
    for name in ("notBefore", "notAfter"):
        if name in wire:
            moment = datetime.fromisoformat(wire[name].upper().replace("Z", "+00:00"))
            assert 1 <= moment.astimezone(timezone.utc).year <= 9999
    for item in wire["items"]:
        assert all(type(value) is str for key, value in item.items() if key != "amount")
        amount = item["amount"]
        assert type(amount) is Decimal and 0 < amount <= MAX_AMOUNT
        _, digits, exponent = amount.as_tuple()
        assert exponent <= 0 and (exponent == 0 or digits[-1] != 0), "no exponent, no trailing fraction zeros"
        assert -exponent <= minor_units()[item["currency"]], "no more fraction digits than the currency's"
        assert len("".join(map(str, digits)).rstrip("0")) <= MAX_SIGNIFICANT_DIGITS
        assert Decimal(repr(float(amount))) == amount, "a double holds the amount and gives it back"


def as_meant(body: dict[str, Any]) -> dict[str, Any]:
    """A wire body (JSON values) with its amounts as the exact decimals they mean (floats by repr)."""
    items = [
        {
            **item,
            "amount": Decimal(repr(item["amount"])) if isinstance(item["amount"], float) else item["amount"],
        }
        for item in body["items"]
    ]
    return {**body, "items": items}


# --- the create body ----------------------------------------------------------------------------------


@PROPERTIES
@given(wire_bodies())
def test_every_valid_wire_body_is_accepted_unchanged(body: dict[str, Any]) -> None:
    wire = prepare_create_body(body)
    assert wire == as_meant(body)
    assert_servable(wire)


@PROPERTIES
@given(python_bodies())
def test_python_bodies_become_wire_bodies(body: dict[str, Any]) -> None:
    wire = prepare_create_body(body)
    assert_servable(wire)
    assert len(wire["items"]) == len(body["items"])


@PROPERTIES
@given(mutated_bodies())
def test_any_value_in_any_field_is_accepted_servable_or_named(mutation: tuple[dict[str, Any], str]) -> None:
    body, path = mutation
    wire, error = outcome(prepare_create_body, body)
    if error is not None:
        assert_refusal_names(error, path)
    else:
        assert_servable(wire)


@PROPERTIES
@given(odd_values())
def test_any_value_as_the_body_is_refused_or_servable(body: Any) -> None:
    wire, error = outcome(prepare_create_body, body)
    assert error is not None or assert_servable(wire) is None


# --- the operator's body preparation ------------------------------------------------------------------

OPERATOR = CreatePaymentJobOperator(task_id="pay", body={})


def prepare_with_operator(body: Any, max_items: Any = None, max_total_amount: Any = None) -> dict[str, Any]:
    # Past BaseOperator.__setattr__, which walks a templated field (and recurses without end in a
    # list that holds itself): only prepare_body is under test here.
    object.__setattr__(OPERATOR, "body", body)
    OPERATOR.max_items, OPERATOR.max_total_amount = max_items, max_total_amount
    return OPERATOR.prepare_body(task_context())


@PROPERTIES
@given(mutated_bodies(), st.booleans())
def test_operator_prepares_any_body_or_names_the_field(mutation: tuple[dict[str, Any], str], as_json: bool):
    body, path = mutation
    if as_json:
        with contextlib.suppress(TypeError, ValueError):  # not JSON: given as it is
            body = json.dumps(body)  # NaN and Infinity included: json.loads takes them back
    wire, error = outcome(prepare_with_operator, body)
    if error is not None:
        # JSON text is read as exact decimals: a float written out with its noise digits
        # (0.010000000000000002) is those digits, refused past the currency's minor unit.
        noise_in_text = isinstance(body, str) and "fraction digits" in error.rule
        assert noise_in_text or assert_refusal_names(error, path) is None
    else:
        assert_servable(wire)
        assert all(item.get("clientPaymentId") for item in wire["items"]), "every item carries an id"


@PROPERTIES
@given(st.one_of(odd_values(), st.text(), wire_bodies().map(json.dumps).map(lambda text: text[:-1])))
def test_operator_refuses_odd_bodies_by_name(body: Any) -> None:
    wire, error = outcome(prepare_with_operator, body)
    assert error is not None or assert_servable(wire) is None


@PROPERTIES
@given(wire_bodies(), odd_values(), st.dictionaries(HASHABLE_KEYS, odd_values(), max_size=2) | odd_values())
def test_guardrails_refuse_by_name(body: dict[str, Any], max_items: Any, max_total_amount: Any) -> None:
    _, sane_error = outcome(check_limits_are_sane, max_items, max_total_amount)
    _, error = outcome(check_guardrails, body, max_items, max_total_amount)
    if sane_error is not None:
        assert sane_error.field == "max_items" or sane_error.field.startswith("max_total_amount")
        assert error is not None and error.field == sane_error.field
    elif error is not None:
        assert error.field in ("items", "items.amount", "items.clientPaymentId")


# --- queries ------------------------------------------------------------------------------------------

LIST_ARGUMENTS = {
    "page": 1,
    "page_size": 50,
    "filter": "status:SUBMITTED",
    "sort": "-created",
    "language": "en-US",
}
NEAR_QUERY_VALUES = st.one_of(
    odd_values(),
    st.integers(min_value=-2, max_value=INT32_MAX + 2),
    st.sampled_from([*Languages, *(member.name.lower() for member in Languages), *TAGS, "EN-us"]),
    st.text(),
)


@PROPERTIES
@given(st.sampled_from(sorted(LIST_ARGUMENTS)), NEAR_QUERY_VALUES)
def test_list_query_takes_any_argument_or_names_it(name: str, value: Any) -> None:
    query, error = outcome(list_query, **{**LIST_ARGUMENTS, name: value})
    if error is not None:
        assert error.field == name
        return
    assert 1 <= query["page"] <= INT32_MAX and 1 <= query["pageSize"] <= 50
    assert query.get("language") in TAGS | {None}
    assert all(type(value) in (int, str) for value in query.values())
    texts = [value for value in query.values() if type(value) is str]
    assert all("\x00" not in text and text.encode("utf-8") is not None for text in texts)


@PROPERTIES
@given(st.sampled_from(["job_token", "filter", "language"]), NEAR_QUERY_VALUES | JOB_TOKENS)
def test_retrieve_query_takes_any_argument_or_names_it(name: str, value: Any) -> None:
    arguments = {"job_token": "jobs-2bbfc967-d12e-4647-a887-d905172fb4bc", "filter": None, "language": None}
    query, error = outcome(retrieve_query, **{**arguments, name: value})
    if error is not None:
        assert error.field == name
        return
    assert query.get("language") in TAGS | {None}
    assert all(type(value) is str and "\x00" not in value for value in query.values())
    assert all(value.encode("utf-8") is not None for value in query.values())
    token, _ = outcome(validate_job_token, arguments["job_token"] if name != "job_token" else value)
    assert type(token) is str and len(token) == 41 and token.isascii()


@PROPERTIES
@given(odd_values())
def test_an_error_can_quote_any_value(value: Any) -> None:
    message = str(PayJobsValidationError("items[0].note", "must be a string", value))
    message.encode("utf-8")
    assert len(message) <= len("items[0].note: must be a string (got )") + 80
