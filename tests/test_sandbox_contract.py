"""
The sandbox as an independent judge of the wire contract: odd input answers a 4xx error shaped
as the contract says, never a 500 or a redirect, and whatever it accepts it can serve back.
"""

from __future__ import annotations

import ast
import json
import math
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from payloads import gateway_item, portal_item
from sandbox_wire import (
    VERSION,
    assert_api_error,
    assert_oauth_error,
    bearer,
    call,
    create,
    error_shape_problem,
    raw_request,
)

from airflow_provider_payjobs.sandbox.__main__ import main as sandbox_main
from airflow_provider_payjobs.sandbox.contract import LANGUAGE_TAGS
from airflow_provider_payjobs.sandbox.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH

SANDBOX_PACKAGE = Path(__file__).resolve().parents[1] / "airflow_provider_payjobs" / "sandbox"
JOBS = "/api/v2/payments/jobs"
# JSON literals that have broken servers: non-finite and huge numbers, lone surrogates, odd types.
ODD_VALUES = [
    *(
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "1" + "0" * 400,
        "-1",
        "0",
        "0.5",
        "1",
        "86401",
        "9007199254740993",
        "1e-9999999999999999999",  # an exponent past any Decimal's
    ),
    *('"\\ud800"', '"\\udfff/x"', '""', '"x"', '"' + "x" * 2001 + '"', "[]", "{}", "null", "true", "false"),
]


def post_raw_body(sandbox, body: bytes, content_type: str = "application/json") -> requests.Response:
    headers = {**bearer(sandbox), "Content-Type": content_type}
    return requests.post(sandbox.base_url + "/payments/jobs", data=body, headers=headers, timeout=30)


def lists_and_serves_back(sandbox) -> None:
    """Every stored job can still be listed and retrieved."""
    listing = call(sandbox, "GET", "/payments/jobs?page=1&pageSize=50")
    assert listing.status_code == 200, listing.text
    for job in listing.json()["payload"]:
        assert call(sandbox, "GET", f"/payments/jobs/{job['token']}").status_code == 200


# The examples that answered 500 or stored what could not be served back.


def test_a_basic_header_with_a_non_ascii_byte_is_an_invalid_client(sandbox) -> None:
    answer = raw_request(
        sandbox,
        "POST",
        "/api/v2/auth/connect/token",
        [("Authorization", b"Basic \xffc2FuZGJveA=="), ("Content-Type", "application/x-www-form-urlencoded")],
        b"grant_type=client_credentials",
    )
    assert answer.status == 401 and answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")


def test_json_nested_100000_deep_is_refused(sandbox) -> None:
    answer = post_raw_body(sandbox, b"[" * 100_000 + b"]" * 100_000)
    assert_api_error(
        answer, 400, f"body: JSON nested too deep; the sandbox takes at most {MAX_JSON_DEPTH} levels"
    )
    just_over = b'{"items": [' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"]}"
    assert_api_error(post_raw_body(sandbox, just_over), 400, "JSON nested too deep")
    at_limit = b'{"items": [' + b"[" * (MAX_JSON_DEPTH - 2) + b"]" * (MAX_JSON_DEPTH - 2) + b"]}"
    assert_api_error(post_raw_body(sandbox, at_limit), 400, "items[0]: must be an object (a payment quote)")
    # A string of a million escaped quotes that never ends: refused at once, not scanned quadratically.
    unterminated = b'["' + b'\\"' * 1_000_000
    assert_api_error(post_raw_body(sandbox, unterminated), 400, "body: is not valid JSON")
    items = {"items": [gateway_item(0, note={"a": [[[[[]]]]]})]}  # shallow enough, and refused by the rule
    assert_api_error(
        call(sandbox, "POST", "/payments/jobs", json=items), 400, "items[0].note: must be a string"
    )


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("amount", "1" * 400, "items[0].amount: must be at most 9007199254740992 (2**53"),
        ("amount", "1e400", "items[0].amount: must be at most 9007199254740992"),
        ("amount", "9007199254740993", "must be at most 9007199254740992"),  # 2**53 + 1
        ("amount", "0.1000000000000000000001", "items[0].amount: must have at most 15 significant digits"),
        ("amount", "12345678901234.56", "must have at most 15 significant digits, which a server reading"),
        ("amount", "1e-400", "items[0].amount: 1E-400 has 400 fraction digits; USD allows at most 2"),
        ("amount", "-5", "items[0].amount: must be a finite number greater than 0, got -5"),
        ("amount", "-0.0", "items[0].amount: must be a finite number greater than 0, got -0.0"),
        ("amount", '"10"', "items[0].amount: must be a number"),
        ("amount", "true", "items[0].amount: must be a number"),
        ("currency", '["USD"]', "items[0].currency: must be a string, got a list"),
        ("currency", '"usd"', "items[0].currency: must be an ISO 4217 code"),
        ("currency", '"UNDEFINED"', "items[0].currency: must be an ISO 4217 code"),
        ("purpose", '{"a": 1}', "items[0].purpose: must be a string, got an object"),
        ("purpose", '"GIFT"', "items[0].purpose: must be one of BONUS"),
        ("note", '"\\ud800"', "items[0].note: must be text UTF-8 can encode"),
        ("memo", '"a\\udfffb"', "items[0].memo: must be text UTF-8 can encode"),
        ("clientPaymentId", '""', "items[0].clientPaymentId: must not be empty"),
        ("sourceToken", '"acct-123"', "items[0].sourceToken: must be acct-, user- or dest- and a UUID"),
        ("destinationToken", '"pmnt-631b200f-665d-4dbe-bd01-3063c9dec97d"', "items[0].destinationToken"),
        ("clientPaymentID", '"typo"', "items[0].clientPaymentID: is not a field the contract defines"),
    ],
)
def test_bad_item_fields_answer_400_naming_field_and_rule(
    sandbox, field: str, value: str, words: str
) -> None:
    item = json.dumps({**gateway_item(0), field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', value)
    assert_api_error(post_raw_body(sandbox, f'{{"items": [{item}]}}'.encode()), 400, words)
    lists_and_serves_back(sandbox)


@pytest.mark.parametrize(
    ("not_before", "words"),
    [
        ("0001-01-01T00:00:00+01:00", "in UTC falls outside years 1 to 9999"),
        ("9999-12-31T23:30:00-01:00", "in UTC falls outside years 1 to 9999"),
        ("2026-02-30T00:00:00Z", "is not a real date"),
        ("2026-02-01T10:00:00+24:00", "is not a real date"),
        ("2026-12-31T23:59:60Z", "a leap second (:60) cannot be stored"),
        ("2026-02-01 10:00:00Z", "must be an RFC 3339 date-time"),
        ("2026-02-01T10:00:00", "must be an RFC 3339 date-time"),
        ("2026-02-01T10:00:00Z\n", "must be an RFC 3339 date-time"),
        ("\uff12\uff10\uff12\uff16-02-01T10:00:00Z", "must be an RFC 3339 date-time"),  # full-width digits
    ],
)
def test_datetimes_that_cannot_be_stored_and_served_back_are_refused(sandbox, not_before, words) -> None:
    answer = call(
        sandbox, "POST", "/payments/jobs", json={"notBefore": not_before, "items": [gateway_item(0)]}
    )
    assert_api_error(answer, 400, f"notBefore: {words}")
    lists_and_serves_back(sandbox)


def test_edge_datetimes_that_fit_are_stored_and_served_back(sandbox) -> None:
    early = create(sandbox, {"notBefore": "0001-01-01T00:59:00+00:59", "items": [gateway_item(0)]})
    late = create(sandbox, {"notBefore": "9999-12-31t22:59:59.9999999+00:00", "items": [gateway_item(1)]})
    assert early["notBefore"] == "0001-01-01T00:00:00.000Z"
    assert late["notBefore"] == "9999-12-31T22:59:59.999Z" and late["status"] == "SCHEDULED"
    assert create(sandbox, {"notAfter": "2030-01-01T00:00:00z", "items": [gateway_item(2)]})["count"] == 1
    lists_and_serves_back(sandbox)


@pytest.mark.parametrize("path", [f"{JOBS}/", f"{JOBS}//", "/api/v2/payments/jobs/jobs-1/items/"])
@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_trailing_slashes_answer_404_never_a_redirect(sandbox, path: str, method: str) -> None:
    answer = raw_request(
        sandbox, method, path, [("Host", "evil.example"), *bearer(sandbox).items()], host=False
    )
    assert answer.status == 404 and "location" not in answer.headers
    assert error_shape_problem(path, answer.status, answer.body) is None


@pytest.mark.parametrize(
    "value", ["1_0", "\u0661", "\uff11", "+1", "-1", " 1", "1.0", "0x1", "", "2147483648"]
)
@pytest.mark.parametrize("name", ["page", "pageSize"])
def test_page_and_page_size_take_ascii_digits_only(sandbox, name: str, value: str) -> None:
    query = {"page": "1", "pageSize": "10", name: value}
    answer = call(sandbox, "GET", "/payments/jobs", params=query)
    assert_api_error(answer, 400, f"{name}: must be a whole number from 1 to")


def test_page_takes_int32_and_leading_zeros(sandbox) -> None:
    answer = call(sandbox, "GET", "/payments/jobs?page=2147483647&pageSize=050")
    assert answer.status_code == 200 and answer.json()["meta"]["pageSize"] == "50"
    assert answer.json()["payload"] == []


def test_query_strings_are_taken_exactly(sandbox) -> None:
    assert_api_error(
        call(sandbox, "GET", "/payments/jobs?page=1&page=2&pageSize=5"), 400, "page: given more than once"
    )
    assert_api_error(
        call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5&page_size=5"), 400, "page_size: not a query"
    )
    assert_api_error(
        call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5&filter=%ff"), 400, "filter: is not UTF-8"
    )
    assert_api_error(call(sandbox, "GET", "/payments/jobs?pageSize=5"), 400, "page: is required")
    job = create(sandbox, {"items": [gateway_item(0)]})
    assert_api_error(
        call(sandbox, "DELETE", f"/payments/jobs/{job['token']}?force=1"), 400, "force: not a query"
    )


# Languages: the 18 tags on the wire; member names are refused.


def test_every_language_tag_is_taken_on_list_and_retrieve(sandbox) -> None:
    job = create(sandbox, {"items": [gateway_item(0)]})
    headers = bearer(sandbox)
    for tag in LANGUAGE_TAGS:
        listed = requests.get(
            sandbox.base_url + "/payments/jobs",
            params={"page": 1, "pageSize": 5, "language": tag},
            headers=headers,
            timeout=10,
        )
        retrieved = requests.get(
            sandbox.base_url + f"/payments/jobs/{job['token']}",
            params={"language": tag},
            headers=headers,
            timeout=10,
        )
        assert (listed.status_code, retrieved.status_code) == (200, 200), tag
    assert len(LANGUAGE_TAGS) == 18


@pytest.mark.parametrize(
    "value", ["ENUS", "en-us", "EN-US", "en_US", "en", "ZHHANS", "zh-hans", "en-US ", ""]
)
def test_member_names_and_near_tags_are_refused(sandbox, value: str) -> None:
    answer = call(sandbox, "GET", "/payments/jobs", params={"page": 1, "pageSize": 5, "language": value})
    assert_api_error(answer, 400, "language: must be one of the Languages tags cs-CZ")


# Limits, headers and the HTTP layer.


def test_a_body_over_the_limit_answers_413(sandbox) -> None:
    padding = "x" * (MAX_BODY_BYTES - 100)
    answer = post_raw_body(sandbox, json.dumps({"items": [gateway_item(0, note=padding)]}).encode())
    assert_api_error(answer, 413, f"limit of {MAX_BODY_BYTES} bytes")
    just_under = json.dumps({"items": [gateway_item(0, note="x" * (MAX_BODY_BYTES - 1000))]}).encode()
    assert post_raw_body(sandbox, just_under).status_code == 200
    lists_and_serves_back(sandbox)


def test_bodies_that_are_not_json_or_not_utf8(sandbox) -> None:
    assert_api_error(post_raw_body(sandbox, b'{"items": NaN}'), 400, "body: is not valid JSON")
    assert_api_error(post_raw_body(sandbox, b'{"items": [Infinity]}'), 400, "body: is not valid JSON")
    assert_api_error(post_raw_body(sandbox, '{"items": []}'.encode("utf-16")), 400, "body: is not UTF-8")
    assert_api_error(post_raw_body(sandbox, b""), 400, "body: is not valid JSON")
    assert_api_error(post_raw_body(sandbox, b"[]"), 400, "body: must be a JSON object")
    assert_api_error(post_raw_body(sandbox, b"{}"), 400, "items: is required")
    assert_api_error(post_raw_body(sandbox, b'{"items": null}'), 400, "items: must be a list, got null")


def test_media_types_version_and_host(sandbox) -> None:
    body = json.dumps({"items": [gateway_item(0)]}).encode()
    assert_api_error(
        post_raw_body(sandbox, body, "text/plain"), 415, "Content-Type: must be application/json"
    )
    assert post_raw_body(sandbox, body, "Application/JSON; charset=utf-8").status_code == 200
    html = call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5", headers={"Accept": "text/html"})
    assert_api_error(html, 406, "Accept")
    other = call(
        sandbox,
        "GET",
        "/payments/jobs?page=1&pageSize=5",
        headers={**VERSION, "X-MyPayQuicker-Version": "2025.01.01"},
    )
    assert_api_error(other, 400, "X-MyPayQuicker-Version: the sandbox speaks 2026.02.01")
    for host in ("a b", "[", "exa mple:80", "host:99999999"):
        answer = raw_request(
            sandbox,
            "GET",
            f"{JOBS}?page=1&pageSize=5",
            [("Host", host), *bearer(sandbox).items()],
            host=False,
        )
        assert answer.status == 400 and "Host:" in answer.json()["message"], host


def test_links_follow_a_valid_host_header(sandbox) -> None:
    job = create(sandbox, {"items": [gateway_item(0)]})
    answer = raw_request(
        sandbox,
        "GET",
        f"{JOBS}/{job['token']}",
        [("Host", "sandbox.test:8023"), *bearer(sandbox).items()],
        host=False,
    )
    assert answer.json()["links"][0]["href"].startswith("http://sandbox.test:8023/api/v2/payments/jobs/")


def test_requests_that_are_not_http_answer_an_api_error_result(sandbox) -> None:
    address = urlsplit(sandbox.root_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(b"GET /api/v2/payments/jobs/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["code"] == 400


def test_unknown_paths_and_methods(sandbox) -> None:
    assert_api_error(call(sandbox, "GET", "/nothing/here"), 404, "Not Found")
    wrong = call(sandbox, "PATCH", "/payments/jobs")
    assert_api_error(wrong, 405, "Method Not Allowed")
    assert set(wrong.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    token_get = requests.get(sandbox.base_url + "/auth/connect/token", timeout=10)
    assert_oauth_error(token_get, 405, "invalid_request")


def test_token_endpoint_errors_keep_the_rfc_6749_shape(sandbox) -> None:
    url = sandbox.base_url + "/auth/connect/token"
    auth = (sandbox.client_id, sandbox.client_secret)
    twice = requests.post(
        url, auth=auth, data="grant_type=client_credentials&grant_type=client_credentials", timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert_oauth_error(twice, 400, "invalid_request")
    assert_oauth_error(
        requests.post(url, auth=auth, json={"grant_type": "x"}, timeout=10), 400, "invalid_request"
    )
    assert_oauth_error(
        requests.post(url, auth=auth, data={"scope": "readonly"}, timeout=10), 400, "invalid_request"
    )
    huge = requests.post(
        url, auth=auth, data={"grant_type": "client_credentials", "pad": "x" * 70_000}, timeout=10
    )
    assert_oauth_error(huge, 413, "invalid_request")
    ignored = requests.post(
        url, auth=auth, data={"grant_type": "client_credentials", "extra": "1"}, timeout=10
    )
    assert ignored.status_code == 200, "unknown form fields are ignored (RFC 6749, 3.2)"


# What the sandbox accepts it stores and serves back; portal items.


def test_null_optional_fields_mean_absent(sandbox) -> None:
    job = create(
        sandbox, {"notBefore": None, "items": [gateway_item(0, memo=None, purpose=None, sourceToken=None)]}
    )
    assert not {"memo", "purpose", "sourceToken"} & set(job["items"][0])


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (
            {"amount": 5, "currency": "EUR"},
            "items[0]: needs destinationToken (a gateway payment) or programUserId",
        ),
        (
            portal_item(0, programUserId="abc", email=None),
            "items[0].programUserId: must be 5 to 100 characters",
        ),
        (portal_item(0, email="a@b"), "items[0].email: must be 8 to 100 characters"),
        (portal_item(0, email="no-at-sign.example.com"), "items[0].email: must look like name@domain.tld"),
        (portal_item(0, destinationToken="dest-631b200f-665d-4dbe-bd01-3063c9dec97d"), "never comes with"),
        ("payee", "items[0]: must be an object"),
    ],
)
def test_portal_items_follow_their_rules(sandbox, item, words: str) -> None:
    assert_api_error(call(sandbox, "POST", "/payments/jobs", json={"items": [item]}), 400, words)


CREATE_FIELDS = [
    *(("gateway", name) for name in gateway_item(0)),
    *(("portal", name) for name in ("programUserId", "email")),
    *(("job", name) for name in ("notBefore", "notAfter", "items")),
]
ODD_WIRE_VALUES = [
    *ODD_VALUES,
    *(
        '"0001-01-01T00:00:00+01:00"',
        '"9999-12-31T23:59:59-00:01"',
        '"2026-02-01T09:30:00Z"',
        '"USD"',
        '"BONUS"',
    ),
    *('"acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"', '"a@b.cd\\n"', '"\\u0000"', "1e-400", "5e-324", "-0.0"),
]


@pytest.mark.parametrize(("where", "name"), CREATE_FIELDS)
def test_every_create_field_takes_odd_values_without_breaking(sandbox, where: str, name: str) -> None:
    """Each field of a create body, given each odd value: a 200 or a 400, and every job served back."""
    headers = {**bearer(sandbox), "Content-Type": "application/json"}
    for number, literal in enumerate(ODD_WIRE_VALUES):
        item = portal_item(number) if where == "portal" else gateway_item(number)
        body = {"items": [item]}
        (body if where == "job" else item)[name] = "ODD"
        data = json.dumps(body).replace('"ODD"', literal).encode()
        answer = requests.post(sandbox.base_url + "/payments/jobs", data=data, headers=headers, timeout=10)
        assert answer.status_code in (200, 400), (data[:100], answer.status_code, answer.text[:200])
        assert answer.ok or error_shape_problem(JOBS, 400, answer.content) is None
    lists_and_serves_back(sandbox)


def test_unknown_field_names_are_named_safely(sandbox) -> None:
    item = json.dumps(gateway_item(0))[:-1] + ', "\\ud800": 1, "": 2, "clientPaymentID": "x"}'
    answer = post_raw_body(sandbox, f'{{"items": [{item}], "extra": true}}'.encode())
    assert_api_error(answer, 400, "extra: is not a field the contract defines here")
    message = answer.json()["message"]
    assert "items[0].'\\ud800': is not a field" in message and "items[0].'': is not a field" in message
    assert "items[0].clientPaymentID: is not a field" in message


def test_every_problem_is_named(sandbox) -> None:
    body = {"items": [gateway_item(0, currency="XXX"), gateway_item(1, amount=0), portal_item(2)]}
    message = call(sandbox, "POST", "/payments/jobs", json=body).json()["message"]
    assert (
        "items[0].currency" in message
        and "items[1].amount" in message
        and "items[2]: a job never mixes" in message
    )


def test_unusual_text_that_utf8_holds_is_stored_and_served_back(sandbox) -> None:
    note = '\U0001f4b8 emoji, \u202e bidi, \ufeff bom, \\ backslash, " quote'
    job = create(
        sandbox, {"items": [gateway_item(0, note=note, memo="\u2028", clientPaymentId="\U0001f4b8")]}
    )
    served = call(sandbox, "GET", f"/payments/jobs/{job['token']}").json()["items"][0]
    assert (served["note"], served["memo"], served["clientPaymentId"]) == (note, "\u2028", "\U0001f4b8")
    assert (
        call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5&filter=clientPaymentId:%F0%9F%92%B8").json()[
            "meta"
        ]["recordCount"]
        == "1"
    )


def test_amounts_at_the_edges_of_the_rules_are_served_back_as_sent(sandbox) -> None:
    amounts = [0.1, 0.01, 900719925474099, 9007199254740990, 9e15, 1234567890123.4, 123456.78]
    job = create(
        sandbox, {"items": [gateway_item(number, amount=amount) for number, amount in enumerate(amounts)]}
    )
    assert [item["amount"] for item in job["items"]] == amounts
    assert all(math.isfinite(entry["amount"]) for entry in sandbox.admin.ledger())


# Admin endpoints: finite values within documented bounds, else 400 with nothing changed.


@pytest.mark.parametrize(
    ("path", "literal"),
    [
        ("faults", '{"error_500": NaN}'),
        ("faults", '{"latency_ms": Infinity}'),
        ("faults", '{"slow_seconds": 1e400}'),
        ("faults", '{"retry_after_seconds": 1' + "0" * 400 + "}"),
        ("faults", '{"retry_after_seconds": 86401}'),
        ("faults", '{"latency_ms": 60001}'),
        ("faults", '{"seed": 1e3}'),
        ("faults", '{"seed": 99999999999999999999}'),
        ("faults", '{"commit_then_fail_mode": ["500"]}'),
        ("faults", '{"script": [{"fault": "500", "method": 5}]}'),
        ("faults", '{"script": [{"fault": "500", "path": ["/api"]}]}'),
        ("faults", '{"script": [{"fault": "500", "times": 1e400}]}'),
        ("faults", '{"script": [{"fault": "500", "when": "now"}]}'),
        ("faults", '{"script": [{"fault": ["500"]}]}'),
        ("config", '{"step_seconds": NaN}'),
        ("config", '{"step_seconds": Infinity}'),
        ("config", '{"step_seconds": 1e-9999999999999999999}'),  # past any Decimal's exponent: once a 500
        ("config", '{"step_seconds": 86401}'),
        ("config", '{"token_ttl": 1e400}'),
        ("config", '{"token_ttl": 31536001}'),
        ("config", '{"accept_duplicate_client_ids": 1}'),
        ("clock", '{"advance": NaN}'),
        ("clock", '{"advance": Infinity}'),
        ("clock", '{"advance": 1' + "0" * 400 + "}"),
        ("clock", '{"advance": 3153600001}'),
        ("clock", '{"frozen": "yes"}'),
        ("clock", '{"frozen": false, "advance": -1}'),
        ("clock", '{"rewind": 5}'),
        ("clock", "[" * 1000 + "]" * 1000),
    ],
)
def test_admin_refuses_values_out_of_bounds_and_changes_nothing(sandbox, path: str, literal: str) -> None:
    before = (sandbox.admin.faults(), sandbox.admin.config(), sandbox.admin.advance_clock(0))
    method = "POST" if path == "clock" else "PUT"
    answer = requests.request(method, f"{sandbox.root_url}/_sandbox/{path}", data=literal, timeout=10)
    assert answer.status_code == 400 and error_shape_problem(path, 400, answer.content) is None, answer.text
    # The session's sandbox runs a frozen clock: "now" and "frozen" stay exactly as they were.
    assert (sandbox.admin.faults(), sandbox.admin.config(), sandbox.admin.advance_clock(0)) == before
    assert call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5").status_code == 200


FAULT_SETTINGS = (
    *("error_500", "error_502", "error_503", "error_429", "drop_connection", "commit_then_fail"),
    *("commit_then_fail_mode", "retry_after_seconds", "latency_ms", "slow_seconds", "seed"),
)
ADMIN_SETTINGS = [
    *(("faults", name) for name in FAULT_SETTINGS),
    *(("config", name) for name in ("step_seconds", "token_ttl", "accept_duplicate_client_ids")),
    *(("clock", name) for name in ("advance", "frozen")),
    *(("script", name) for name in ("fault", "method", "path", "times")),
]


@pytest.mark.parametrize(("where", "name"), ADMIN_SETTINGS)
def test_every_admin_setting_takes_odd_values_without_breaking(sandbox, where: str, name: str) -> None:
    """Each setting, given each odd value: a 200 or a 400, and the admin and API still answer."""
    for literal in ODD_VALUES:
        if where == "script":
            rule = {"fault": "500", "method": "GET", "path": "/api/v2/nowhere", "times": 1}
            body = json.dumps({"script": [{**rule, name: "ODD"}]}).replace('"ODD"', literal)
            path = "faults"
        else:
            body, path = f'{{"{name}": {literal}}}', where
        method = "POST" if path == "clock" else "PUT"
        answer = requests.request(method, f"{sandbox.root_url}/_sandbox/{path}", data=body, timeout=10)
        assert answer.status_code in (200, 400), (body[:80], answer.status_code, answer.text[:200])
        if answer.ok:  # what was taken is answered back, now and later
            assert (sandbox.admin.faults(), sandbox.admin.config()) and sandbox.admin.reset() is None
        else:
            assert error_shape_problem(path, 400, answer.content) is None
    assert call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5").status_code == 200


def test_the_clock_stops_before_year_9000(sandbox) -> None:
    century = 3_153_600_000
    now = sandbox.admin.advance_clock(0)["now"]
    while int(now[:4]) < 8900:
        now = sandbox.admin.advance_clock(century)["now"]
    with pytest.raises(ValueError, match="HTTP 400"):
        for _ in range(2):
            sandbox.admin.advance_clock(century)
    assert int(sandbox.admin.advance_clock(0)["now"][:4]) < 9000
    job = create(sandbox, {"notBefore": "9999-12-31T23:59:59Z", "items": [gateway_item(0)]})
    assert job["status"] == "SCHEDULED"
    lists_and_serves_back(sandbox)


def test_admin_bounds_at_their_edges_are_taken(sandbox) -> None:
    sandbox.admin.set_faults(retry_after_seconds=86400, latency_ms=0, slow_seconds=3600, seed=-(2**53))
    sandbox.admin.set_config(step_seconds=86400, token_ttl=31_536_000)
    sandbox.admin.advance_clock(3_153_600_000)
    sandbox.admin.script_faults({"fault": "503", "method": "GET", "path": "/api/v2/payments", "times": 1})
    assert call(sandbox, "GET", "/payments/jobs?page=1&pageSize=5").status_code == 503, (
        "deliberate faults still work"
    )


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--step-seconds", "nan"], "--step-seconds: must be a finite number >= 0"),
        (["--latency-ms", "inf"], "--latency-ms: must be a finite number >= 0"),
        (["--fault-500", "nan"], "--fault-500: must be a probability"),
        (["--step-seconds", "100000"], "step_seconds must be a number from 0 to 86400"),
        (["--token-ttl", "99999999999"], "token_ttl must be an integer from 1 to 31536000"),
        (["--retry-after", "1e300"], "retry_after_seconds must be a number from 0 to 86400"),
        (["--seed", str(2**60)], "seed must be an integer from"),
        (["--client-id", "caf\udce9"], "and --scopes must be UTF-8"),
    ],
)
def test_cli_flags_keep_the_same_bounds(flags: list[str], words: str, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        sandbox_main(["--port", "0", *flags])  # refused before anything is served
    assert stopped.value.code != 0 and words in f"{stopped.value.code}{capsys.readouterr().err}"


# Independence: the sandbox judges on its own.


def test_the_sandbox_imports_nothing_of_the_provider_outside_itself() -> None:
    provider_imports = set()
    for module in SANDBOX_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["<relative>"]
            provider_imports |= {
                name for name in names if name.startswith("airflow_provider_payjobs") or name == "<relative>"
            }
    assert provider_imports and all(
        name.startswith("airflow_provider_payjobs.sandbox") for name in provider_imports
    ), provider_imports
    imports = "import sys, airflow_provider_payjobs.sandbox.server, airflow_provider_payjobs.sandbox.__main__"
    listing = "print(sorted(m for m in sys.modules if m.startswith('airflow_provider_payjobs')))"
    loaded = subprocess.run(
        [sys.executable, "-c", f"{imports}; {listing}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    modules = ast.literal_eval(loaded.stdout)
    outside = [
        name
        for name in modules
        if name != "airflow_provider_payjobs" and not name.startswith("airflow_provider_payjobs.sandbox")
    ]
    assert outside == [] and "airflow_provider_payjobs.sandbox.contract" in modules
