"""Every input rule: the error names the field, its position and the rule."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest
from payloads import gateway_item, portal_item

from airflow_provider_payjobs.client.answers import encoded_body
from airflow_provider_payjobs.client.models import Languages, PaymentPurposes, currencies
from airflow_provider_payjobs.client.validation import (
    list_query,
    normalize_body,
    prepare_create_body,
    retrieve_query,
    to_rfc3339,
    validate_create_body,
    validate_job_token,
    validate_language,
    validate_page,
)
from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.payout.guardrails import check_guardrails, check_limits_are_sane

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
        ({"items": [gateway_item(amount="10,5")]}, "items[0].amount", "numeric string"),
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


def test_datetimes_and_decimals_are_normalized() -> None:
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    body = normalize_body({"notBefore": moment, "items": [gateway_item(amount=Decimal("12.50"))]})
    assert body["notBefore"] == "2026-03-01T10:00:00Z"
    amount = body["items"][0]["amount"]
    assert type(amount) is Decimal and str(amount) == "12.5"
    assert to_rfc3339(datetime(2026, 3, 1, 12, 0)) == "2026-03-01T12:00:00Z"
    validate_create_body(body)


def test_packaged_currencies_are_the_contracts_list() -> None:
    # client/currencies.txt is the wire contract's CurrencyCodes list, copied whole (167 codes and
    # the enum's placeholder UNDEFINED); the sandbox's copy is checked against it in
    # test_sandbox_money. The placeholder is no currency to pay in.
    packaged = Path(__file__).resolve().parents[1] / "airflow_provider_payjobs" / "client" / "currencies.txt"
    listed = {line.strip() for line in packaged.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert "UNDEFINED" in listed and len(listed) == 168
    assert currencies() == listed - {"UNDEFINED"}
    assert {"USD", "EUR", "GBP", "JPY", "BHD"} <= currencies()


# --- issue 8: odd values give PayJobsValidationError naming the field, never a raw error -------------

GATEWAY_BODY = {"items": [gateway_item(0)]}


def refused(call, *args: object, **kwargs: object) -> PayJobsValidationError:
    """The PayJobsValidationError ``call`` raises; its message must be writable as UTF-8."""
    with pytest.raises(PayJobsValidationError) as caught:
        call(*args, **kwargs)
    str(caught.value).encode("utf-8")
    return caught.value


@pytest.mark.parametrize(
    ("field", "value", "rule_words"),
    [
        ("currency", ["USD"], "ISO 4217"),
        ("currency", {"USD": 1}, "ISO 4217"),
        ("purpose", {"BONUS": True}, "must be one of BONUS"),
        ("purpose", ["BONUS"], "must be one of BONUS"),
        ("amount", 10**400, "largest whole amount a double holds"),
        ("amount", 2**53 + 1, "largest whole amount a double holds"),
        ("amount", 2**53 - 1, "at most 15 significant digits"),
        ("amount", Decimal("sNaN"), "finite number greater than 0"),
        ("amount", Decimal("NaN"), "finite number greater than 0"),
        ("amount", Decimal("-Infinity"), "finite number greater than 0"),
        ("amount", Decimal("1e400"), "largest whole amount a double holds"),
        ("amount", Decimal("1e-400"), "it has 400 fraction digits; USD allows at most 2"),
        ("amount", Decimal("0.30000000000000001"), "has 17 fraction digits; USD allows at most 2"),
        ("amount", b"10", "or a numeric string, not bytes"),
        ("amount", 1j, "or a numeric string, not complex"),
        ("note", "caf\udce9", "lone surrogate U+DCE9"),
        ("memo", "a\x00b", "NUL"),
        ("clientPaymentId", "\ud800", "lone surrogate U+D800"),
        ("note", {"text"}, "must be a string, not set"),
        ("note", datetime(2026, 1, 1), "must be a string, not datetime"),
        ("sourceToken", ["acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"], "(acct|user|dest)-<uuid>"),
        ("destinationToken", "dest-631b200f-665d-4dbe-bd01-" + "\u0660" * 12, "(acct|dest|user)-<uuid>"),
    ],
)
def test_odd_item_values_name_the_field(field: str, value: object, rule_words: str) -> None:
    body = {"items": [gateway_item(0), gateway_item(1, **{field: value})]}
    error = refused(prepare_create_body, body)
    assert error.field == f"items[1].{field}"
    assert rule_words in error.rule


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({**gateway_item(0), 5: "x"}, "items[0][5]"),
        ({**gateway_item(0), ("a", "b"): "x"}, "items[0][('a', 'b')]"),
        ({**gateway_item(0), "note\udc80": "x"}, "items[0]['note\\udc80']"),
    ],
)
def test_odd_keys_are_named_readably(item: dict, field: str) -> None:
    error = refused(prepare_create_body, {"items": [item]})
    assert error.field == field and "is not a field of a payment" in error.rule


def test_programuserid_counts_wide_characters_twice_for_its_maximum() -> None:
    wide = "\U0001f600" * 50  # 50 code points, 100 UTF-16 units
    assert prepare_create_body({"items": [portal_item(programUserId=wide)]})
    error = refused(prepare_create_body, {"items": [portal_item(programUserId=wide + "x")]})
    assert error.field == "items[0].programUserId" and "counts as two" in error.rule


UTC_PLUS_ONE = timezone(timedelta(hours=1))
UTC_MINUS_ONE = timezone(timedelta(hours=-1))


@pytest.mark.parametrize(
    ("field", "value", "rule_words"),
    [
        ("notAfter", datetime(1, 1, 1, 0, 30, tzinfo=UTC_PLUS_ONE), "years 1 to 9999 once in UTC"),
        ("notAfter", datetime.min.replace(tzinfo=timezone(timedelta(hours=23, minutes=59))), "years 1"),
        ("notBefore", datetime.max.replace(tzinfo=UTC_MINUS_ONE), "years 1 to 9999"),
        ("notBefore", "0001-01-01T00:00:00+01:00", "years 1 to 9999"),
        ("notAfter", "9999-12-31T23:59:59-01:00", "years 1 to 9999"),
        ("notAfter", "0000-01-01T00:00:00Z", "not a real calendar"),
        ("notAfter", "2026-01-01T00:00:00+24:00", "not a real calendar"),
        ("notAfter", "2026-01-01T00:00:00+01:60", "not a real calendar"),
        ("notAfter", "2026-01-01T23:59:60Z", "not a real calendar"),
        ("notAfter", "\u0662\u0660\u0662\u0666-01-01T00:00:00Z", "RFC 3339"),
        ("notAfter", datetime(2026, 1, 1).date(), "must be a datetime or an RFC 3339"),
        ("notAfter", 1767225600, "must be a datetime or an RFC 3339"),
        ("notAfter", ["2026-01-01T00:00:00Z"], "must be a datetime or an RFC 3339"),
    ],
)
def test_schedules_outside_what_a_server_stores_are_refused(field: str, value: object, rule_words: str):
    error = refused(prepare_create_body, {field: value, **GATEWAY_BODY})
    assert error.field == field and rule_words in error.rule


def test_a_time_zone_that_fails_is_named() -> None:
    class BrokenZone(tzinfo):
        def utcoffset(self, moment):
            raise RuntimeError("no offset today")

    error = refused(
        prepare_create_body, {"notBefore": datetime(2030, 1, 1, tzinfo=BrokenZone()), **GATEWAY_BODY}
    )
    assert error.field == "notBefore" and "offset cannot be read" in error.rule


def test_schedule_edges_that_fit_are_sent_in_utc() -> None:
    body = prepare_create_body(
        {
            "notBefore": datetime(1, 1, 1, 0, 30, tzinfo=UTC_MINUS_ONE),
            "notAfter": "9999-12-31T22:59:59.123456789-01:00",
            **GATEWAY_BODY,
        }
    )
    assert body["notBefore"] == "0001-01-01T01:30:00Z"
    assert body["notAfter"] == "9999-12-31T22:59:59.123456789-01:00", (
        "a valid RFC 3339 string is sent as given"
    )


def test_prepared_body_is_a_fresh_wire_copy() -> None:
    item = gateway_item(0, amount=Decimal("12.50"), note=None, purpose=PaymentPurposes.BONUS)
    body = {"notBefore": None, "items": (item,)}
    wire = prepare_create_body(body)
    expected_item = {key: value for key, value in gateway_item(0, amount=12.5).items() if key != "note"}
    assert wire == {"items": [expected_item]}, "None means absent, not null"
    assert type(wire["items"][0]["purpose"]) is str and type(wire["items"][0]["amount"]) is Decimal
    assert item["amount"] == Decimal("12.50") and body["items"] == (item,), "the input is untouched"
    sent, _ = encoded_body(wire, None, {})
    assert json.loads(sent, parse_float=Decimal) == wire
    assert prepare_create_body(wire) == wire


def test_body_level_odd_values() -> None:
    assert refused(prepare_create_body, "{}").field == "body"
    assert refused(prepare_create_body, {**GATEWAY_BODY, 7: 1}).field == "body[7]"
    assert refused(prepare_create_body, {"items": {"0": gateway_item(0)}}).field == "items"
    assert refused(prepare_create_body, {"items": "abc"}).field == "items"
    assert refused(prepare_create_body, {"items": [[gateway_item(0)]]}).field == "items[0]"


# --- queries --------------------------------------------------------------------------------------


def test_huge_page_is_refused_and_quoted_without_crashing() -> None:
    error = refused(list_query, 10**5000, 10)
    assert error.field == "page" and "int32" in error.rule
    assert "<int of about 5001 digits>" in str(error)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((2**31, 10), "page"),
        ((1, 10, 5), "filter"),
        ((1, 10, "status:\ud800"), "filter"),
        ((1, 10, None, b"-created"), "sort"),
        ((1, 10, None, "-created\x00"), "sort"),
        ((1, 10, None, None, ["en-US"]), "language"),
        ((1, 10, None, None, "en_US"), "language"),
        ((1, 10, None, None, "\u0131t\u0131t"), "language"),
    ],
)
def test_list_query_odd_values(arguments: tuple, field: str) -> None:
    assert refused(list_query, *arguments).field == field


def test_list_and_retrieve_queries_use_wire_names() -> None:
    assert list_query(2**31 - 1, 50, "status:SUBMITTED", "-created", "enus") == {
        "page": 2**31 - 1,
        "pageSize": 50,
        "filter": "status:SUBMITTED",
        "sort": "-created",
        "language": "en-US",
    }
    assert list_query(1, 1) == {"page": 1, "pageSize": 1}
    assert retrieve_query(JOB_TOKEN, "", Languages.ZHHANT) == {"filter": "", "language": "zh-Hant"}
    assert refused(retrieve_query, JOB_TOKEN.encode()).field == "job_token"


def test_languages_keep_their_names_and_carry_their_tags() -> None:
    assert Languages.ENUS.value == "en-US" and Languages["ZHHANS"].value == "zh-Hans"
    assert [member.name for member in Languages][:4] == ["CSCZ", "DEDE", "ENGB", "ENUS"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (Languages.ENUS, "en-US"),
        ("ENUS", "en-US"),
        ("enus", "en-US"),
        ("en-US", "en-US"),
        ("EN-us", "en-US"),
        ("zh-hans", "zh-Hans"),
        ("ZHHANT", "zh-Hant"),
        ("frca", "fr-CA"),
        (None, None),
    ],
)
def test_language_names_and_tags_in_any_case_send_the_tag(given: object, sent: str | None) -> None:
    assert validate_language(given) == sent


@pytest.mark.parametrize("given", ["EN", "en", "en_US", " en-US", "en-US\n", "zh", "ZH-HANS-CN", 5, b"en-US"])
def test_unknown_languages_are_refused(given: object) -> None:
    error = refused(validate_language, given)
    assert error.field == "language" and "ENUS (en-US)" in error.rule


# --- the error itself -----------------------------------------------------------------------------


def test_error_quotes_any_value_briefly() -> None:
    class Unshowable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    nested: list = []
    nested.append(nested)
    for value in (10**5000, -(10**5000), Unshowable(), nested, "\ud800" * 500, {1: {2: {3: {4: 5}}}}):
        message = str(PayJobsValidationError("field", "rule", value))
        assert message.startswith("field: rule (got ") and len(message) < 120
        message.encode("utf-8")


# --- guardrails -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_items", "max_total_amount", "field"),
    [
        (0, None, "max_items"),
        (1.0, None, "max_items"),
        (None, ["USD", 10], "max_total_amount"),
        (None, 100, "max_total_amount"),
        (None, {("USD",): 10}, "max_total_amount[('USD',)]"),
        (None, {"usd": 10}, "max_total_amount['usd']"),
        (None, {"USD": float("nan")}, "max_total_amount['USD']"),
        (None, {"USD": float("inf")}, "max_total_amount['USD']"),
        (None, {"USD": Decimal("sNaN")}, "max_total_amount['USD']"),
        (None, {"USD": Decimal("NaN")}, "max_total_amount['USD']"),
        (None, {"USD": "1e2"}, "max_total_amount['USD']"),
        (None, {"USD": "-100"}, "max_total_amount['USD']"),
        (None, {"USD": 0}, "max_total_amount['USD']"),
        (None, {"USD": True}, "max_total_amount['USD']"),
    ],
)
def test_insane_limits_are_refused(max_items: object, max_total_amount: object, field: str) -> None:
    assert refused(check_limits_are_sane, max_items, max_total_amount).field == field
    assert refused(check_guardrails, GATEWAY_BODY, max_items, max_total_amount).field == field


def test_guardrails_check_the_body_first_and_take_exact_limits() -> None:
    assert refused(check_guardrails, {"items": 5}).field == "items"
    assert refused(check_guardrails, [1]).field == "body"
    body = {"items": [gateway_item(0, clientPaymentId=["x"])]}
    assert refused(check_guardrails, body).field == "items[0].clientPaymentId"
    check_guardrails(GATEWAY_BODY, 10**5000, {"USD": 10**5000})
    check_guardrails(
        {"items": [gateway_item(0, amount=0.1), gateway_item(1, amount=0.2)]}, None, {"USD": 0.3}
    )
    over = {"items": [gateway_item(0, amount=0.1), gateway_item(1, amount=0.2)]}
    error = refused(check_guardrails, over, None, {"USD": Decimal("0.29")})
    assert error.field == "items.amount" and "USD total 0.3 is over" in error.rule
    repeated = {"items": [gateway_item(0, clientPaymentId="a\x7f"), gateway_item(1, clientPaymentId="a\x7f")]}
    error = refused(check_guardrails, repeated)
    assert error.field == "items[1].clientPaymentId" and "'a\\x7f' is at items[0], items[1]" in error.rule


# --- the operator's body preparation ----------------------------------------------------------------


def prepared(body: object, **operator_arguments: object) -> dict:
    operator = CreatePaymentJobOperator(task_id="pay", body=body, **operator_arguments)
    task_instance = SimpleNamespace(dag_id="dag", task_id="pay", try_number=1, map_index=-1)
    return operator.prepare_body({"ti": task_instance, "run_id": "manual__1", "dag_run": None})


@pytest.mark.parametrize(
    ("body", "field", "rule_words"),
    [
        ('{"items": [], "items": [1]}', "body", "holds the key 'items' twice"),
        ("[" * 100_000 + "]" * 100_000, "body", "not valid JSON"),
        ('{"items": [{"amount": ' + "1" * 5000 + "}]}", "body", "not valid JSON"),
        ("{'items': []}", "body", "not valid JSON"),
        ('["items"]', "body", "dict or a JSON object string"),
        (b'{"items": []}', "body", "dict or a JSON object string"),
        (json.dumps({"items": [gateway_item(0)]}).replace("10.5", "NaN"), "items[0].amount", "finite"),
        # JSON numbers are read as exact decimals: 1e400 is a huge amount, not infinity.
        (json.dumps({"items": [gateway_item(0)]}).replace("10.5", "1e400"), "items[0].amount", "at most"),
        ('{"items": [{"note": "\\ud800"}]}', "items[0]", "needs destinationToken"),
        (json.dumps({"items": [gateway_item(0, note="\ud800")]}), "items[0].note", "lone surrogate"),
        ({"items": [gateway_item(0, note={"x"})]}, "items[0].note", "must be a string, not set"),
        ({"items": [gateway_item(0, amount=Decimal("sNaN"))]}, "items[0].amount", "finite"),
        ({"items": [gateway_item(0, memo=date(2026, 1, 1))]}, "items[0].memo", "must be a string"),
        ({"items": gateway_item(0)}, "items", "non-empty list"),
        ({"items": 5}, "items", "non-empty list"),
        ({"notBefore": "10:00", **GATEWAY_BODY}, "notBefore", "starting with its date"),
        ({"notBefore": "P1D", **GATEWAY_BODY}, "notBefore", "starting with its date"),
        ({"notBefore": "2026-01-01/2026-02-01", **GATEWAY_BODY}, "notBefore", "starting with its date"),
        ({"notBefore": "2026-13-45", **GATEWAY_BODY}, "notBefore", "starting with its date"),
        ({"notBefore": "2026-01-01\ud800", **GATEWAY_BODY}, "notBefore", "lone surrogate"),
        ({"notBefore": "0001-01-01T00:00:00+01:00", **GATEWAY_BODY}, "notBefore", "years 1 to 9999"),
        (
            {"notAfter": pendulum.datetime(1, 1, 1, tz=pendulum.fixed_timezone(5 * 3600)), **GATEWAY_BODY},
            "notAfter",
            "years 1",
        ),
        ({"notAfter": 1767225600, **GATEWAY_BODY}, "notAfter", "must be a datetime, a date"),
        ({**GATEWAY_BODY, 1: "x"}, "body[1]", "not a field of a payment job"),
    ],
)
def test_operator_body_preparation_names_the_field(body: object, field: str, rule_words: str) -> None:
    error = refused(prepared, body)
    assert error.field == field
    assert rule_words in error.rule


def test_operator_takes_dates_decimals_and_datetimes() -> None:
    body = prepared(
        {
            "notBefore": date(2030, 1, 1),
            "notAfter": datetime(2030, 1, 2, 1, tzinfo=UTC_PLUS_ONE),
            "items": [gateway_item(0, amount=Decimal("12.50"))],
        }
    )
    assert (body["notBefore"], body["notAfter"]) == ("2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")
    assert body["items"][0]["amount"] == Decimal("12.5")
    assert json.loads(encoded_body(body, None, {})[0], parse_float=Decimal) == body


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"poll_interval": 10**400}, "poll_interval"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"timeout": float("inf")}, "timeout"),
        ({"max_total_amount": {"USD": float("nan")}}, "max_total_amount['USD']"),
        ({"max_total_amount": [("USD", 1)]}, "max_total_amount"),
    ],
)
def test_operator_arguments_are_refused_by_name(arguments: dict, field: str) -> None:
    error = refused(CreatePaymentJobOperator, **{"task_id": "pay", "body": GATEWAY_BODY, **arguments})
    assert error.field == field


# --- the hook: refused before anything is sent; the language tag on the wire -------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda hook: hook.list_payment_jobs(10**5000, 10), "page"),
        (lambda hook: hook.list_payment_jobs(1, 10, filter=b"status:SUBMITTED"), "filter"),
        (lambda hook: hook.list_payment_jobs(1, 10, sort="-created\ud800"), "sort"),
        (lambda hook: hook.list_payment_jobs(1, 10, language="ENUS-"), "language"),
        (lambda hook: hook.retrieve_payment_job(JOB_TOKEN, filter="status:\ud800"), "filter"),
        (lambda hook: hook.cancel_payment_job(["jobs"]), "job_token"),
        (
            lambda hook: hook.create_payment_job({"items": [gateway_item(0, currency=["USD"])]}),
            "items[0].currency",
        ),
        (lambda hook: hook.create_payment_job({"items": [gateway_item(0, note="\udfff")]}), "items[0].note"),
        (
            lambda hook: hook.create_payment_job({"items": [gateway_item(0, amount=10**400)]}),
            "items[0].amount",
        ),
        (
            lambda hook: hook.create_payment_job(
                {"notAfter": datetime(1, 1, 1, tzinfo=UTC_PLUS_ONE), "items": [gateway_item(0)]}
            ),
            "notAfter",
        ),
        (lambda hook: hook.create_payment_job("{}"), "body"),
    ],
)
def test_hook_refuses_odd_values_before_anything_is_sent(sandbox, call, field: str) -> None:
    from conftest import api_calls

    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

    error = refused(call, PayJobsHook())
    assert error.field == field
    assert api_calls(sandbox) == [], "no token request and no API call"


def test_hook_sends_language_tags_and_wire_ready_bodies(sandbox) -> None:
    from conftest import api_calls

    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

    hook = PayJobsHook()
    created = hook.create_payment_job(
        {
            "notBefore": datetime(2030, 1, 1, 1, tzinfo=UTC_PLUS_ONE),
            "items": (gateway_item(0, amount=Decimal("12.50"), purpose=PaymentPurposes.BONUS, memo=None),),
        }
    )
    assert created["items"][0]["amount"] == 12.5 and created["notBefore"].startswith("2030-01-01T00:00:00")
    for given, sent in (("zh-hans", "zh-Hans"), ("ENUS", "en-US"), (Languages.PTBR, "pt-BR")):
        hook.retrieve_payment_job(created["token"], language=given)
        assert api_calls(sandbox, "GET", created["token"])[-1]["query"] == f"language={sent}"
        hook.list_payment_jobs(1, 5, language=given)
        assert f"language={sent}" in api_calls(sandbox, "GET", "/payments/jobs")[-1]["query"]


def test_the_currency_placeholder_undefined_is_no_currency() -> None:
    """Found by holding the client's judge against the sandbox's: the list holds it, nobody pays in it."""
    with pytest.raises(PayJobsValidationError, match=r"items\[0\].currency: .*not UNDEFINED"):
        prepare_create_body({"items": [gateway_item(0, currency="UNDEFINED")]})


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "canary.payee@"), ("destinationToken", "dest-canary"), ("memo", "canary-memo\x00")],
)
def test_a_refused_payee_field_is_named_but_its_value_is_not_quoted(field: str, value: str) -> None:
    """Validation messages reach task logs a Viewer reads: who is paid stays out of them."""
    item = {
        "amount": "5.00",
        "currency": "USD",
        "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
    }
    if field == "email":
        item = {"amount": "5.00", "currency": "USD", "email": value}
    else:
        item[field] = value
    with pytest.raises(PayJobsValidationError) as raised:
        prepare_create_body({"items": [item]})
    assert raised.value.field == f"items[0].{field}" and "payee data" in str(raised.value)
    assert value[:12] not in str(raised.value)
