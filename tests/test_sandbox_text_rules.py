"""
Three rules the contract is silent on, which the sandbox applies as the client does (by its own
code): no NUL in text, notBefore strictly before notAfter, and text lengths that every server
accepts (the least in code points, the most in UTF-16 code units). In both server modes.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from payloads import gateway_item, portal_item
from sandbox_wire import assert_api_error, bearer, call

EMOJI = "\U0001f4b8"  # outside the Basic Multilingual Plane: one code point, two UTF-16 units


@pytest.fixture(params=[False, True], ids=["deduplicating", "accepting-duplicates"])
def any_mode(request: pytest.FixtureRequest, sandbox):
    sandbox.admin.set_config(accept_duplicate_client_ids=request.param)
    return sandbox


def post(sandbox, body: dict) -> requests.Response:
    return call(sandbox, "POST", "/payments/jobs", json=body)


def unique(item: dict) -> dict:
    return {**item, "clientPaymentId": str(uuid.uuid4())}


# NUL.


@pytest.mark.parametrize("name", ["note", "memo", "clientPaymentId"])
def test_free_text_holding_a_nul_is_refused_naming_the_field(any_mode, name: str) -> None:
    item = {**gateway_item(0), name: "before\u0000after"}
    assert_api_error(
        post(any_mode, {"items": [unique(gateway_item(1)), item]}),
        400,
        f"items[1].{name}: must not contain the NUL character (U+0000)",
    )
    assert any_mode.admin.ledger() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("programUserId", "user-\u000012345"), ("email", "pay\u0000ee@example.com")],
)
def test_portal_names_holding_a_nul_are_refused(any_mode, name: str, value: str) -> None:
    item = unique(portal_item(0, **{name: value}))
    assert_api_error(post(any_mode, {"items": [item]}), 400, f"items[0].{name}: must not contain the NUL")


def test_a_nul_escaped_in_raw_json_is_refused_too(any_mode) -> None:
    item = json.dumps(unique(gateway_item(0))).replace('"Thanks!"', '"Thanks\\u0000"')
    answer = requests.post(
        any_mode.base_url + "/payments/jobs",
        data=f'{{"items": [{item}]}}'.encode(),
        headers={**bearer(any_mode), "Content-Type": "application/json"},
        timeout=10,
    )
    assert_api_error(answer, 400, "items[0].note: must not contain the NUL character")


# The schedule window.


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [
        ("2030-01-02T00:00:00Z", "2030-01-01T00:00:00Z"),
        ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),  # an empty window: not strictly before
        ("2030-01-01T01:00:00+01:00", "2030-01-01T00:00:00Z"),  # the same moment, written apart
    ],
)
def test_not_before_must_be_strictly_before_not_after(any_mode, not_before: str, not_after: str) -> None:
    body = {"notBefore": not_before, "notAfter": not_after, "items": [unique(gateway_item(0))]}
    assert_api_error(post(any_mode, body), 400, "notBefore: must be strictly before notAfter")
    assert any_mode.admin.ledger() == []


def test_a_window_in_order_or_half_open_is_taken(any_mode) -> None:
    for window in (
        {"notBefore": "2030-01-01T00:00:00Z", "notAfter": "2030-01-01T00:00:00.001Z"},
        {"notBefore": "2030-01-01T00:00:00Z"},
        {"notAfter": "2000-01-01T00:00:00Z"},
    ):
        answer = post(any_mode, {**window, "items": [unique(gateway_item(0))]})
        assert answer.status_code == 200, (window, answer.text)


def test_a_window_out_of_order_is_named_with_the_items_problems(any_mode) -> None:
    body = {
        "notBefore": "2030-01-02T00:00:00Z",
        "notAfter": "2030-01-01T00:00:00Z",
        "items": [unique(gateway_item(0, currency="usd"))],
    }
    message = post(any_mode, body).json()["message"]
    assert "notBefore: must be strictly before notAfter" in message and "items[0].currency" in message


# Lengths: the least in code points, the most in UTF-16 code units.


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("programUserId", "x" * 100),
        ("programUserId", "x" * 98 + EMOJI),  # 99 code points, 100 UTF-16 units
        ("programUserId", EMOJI * 5),  # 5 code points (10 units): enough for the least
        ("programUserId", "\u00e9" * 100),  # in the BMP: one unit each
        ("email", "a" * 88 + "@example.com"),
        ("email", EMOJI * 3 + "@b.cd"),  # 8 code points
    ],
)
def test_lengths_every_server_accepts_are_taken(any_mode, name: str, value: str) -> None:
    item = unique(portal_item(0, **{name: value}))
    answer = post(any_mode, {"items": [item]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"][0][name] == value


@pytest.mark.parametrize(
    ("name", "value", "counts"),
    [
        ("programUserId", "x" * 99 + EMOJI, "got 100 code points and 101 UTF-16 units"),
        ("programUserId", EMOJI * 51, "got 51 code points and 102 UTF-16 units"),
        ("programUserId", "x" * 101, "got 101 code points and 101 UTF-16 units"),
        ("programUserId", "xxx" + EMOJI, "got 4 code points and 5 UTF-16 units"),  # 5 units, 4 code points
        ("email", "a" * 87 + EMOJI + "@example.com", "got 100 code points and 101 UTF-16 units"),
        ("email", EMOJI * 3 + "@b.c", "got 7 code points and 10 UTF-16 units"),
    ],
)
def test_lengths_some_server_would_refuse_are_refused(any_mode, name: str, value: str, counts: str) -> None:
    low, high = (5, 100) if name == "programUserId" else (8, 100)
    answer = post(any_mode, {"items": [unique(portal_item(0, **{name: value}))]})
    assert_api_error(answer, 400, f"items[0].{name}: must be {low} to {high} characters long")
    message = answer.json()["message"]
    assert f"at least {low} code points, at most {high} UTF-16 code units" in message and counts in message
