"""
Two judges of the wire contract, written apart, held to agree: the client's validation and the sandbox's.

The client's checks (``airflow_provider_payjobs.client.validation``) and the sandbox's own contract model
(``sandbox/contract.py``) were written from the same contract by different hands, so a mistake in
one (such as the language values, once sent as ``ENUS``) shows up as a disagreement here:

- whatever the client accepts and sends, the sandbox accepts, stores and serves back;
- whatever the sandbox accepts, the client accepts too (``CLIENT_ONLY_RULES`` would name a rule
  the client adds on purpose; there is none).

Examples per property: ``PAYJOBS_HYPOTHESIS_EXAMPLES`` (default 50).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from sandbox_wire import bearer
from strategies import PROPERTIES, mutated_bodies, wire_bodies

from airflow_provider_payjobs.client.answers import encoded_body
from airflow_provider_payjobs.client.models import Languages
from airflow_provider_payjobs.client.validation import list_query, prepare_create_body, validate_job_token
from airflow_provider_payjobs.exceptions import PayJobsValidationError

# Rules the client adds to the contract on purpose: it refuses these, a server may not. None today:
# on the three the contract is silent about (a NUL in text, notBefore after notAfter, lengths
# counted in UTF-16 units or code points) both judges decided alike (docs/sandbox.md).
CLIENT_ONLY_RULES: dict[str, Any] = {}


@pytest.fixture
def judge(sandbox) -> tuple[Any, dict[str, str]]:
    """The sandbox, taking repeated clientPaymentIds (examples reuse ids), and an authorized header."""
    sandbox.admin.set_config(accept_duplicate_client_ids=True)
    return sandbox, bearer(sandbox)


def client_verdict(value: Any, check: Any) -> tuple[Any, PayJobsValidationError | None]:
    try:
        return check(value), None
    except PayJobsValidationError as error:
        return None, error


def as_wire_json(body: Any) -> str | None:
    """The JSON text of ``body``, or None when it has no JSON form (NaN, bytes, datetimes, sets)."""
    try:
        return json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        return None


def bodies() -> st.SearchStrategy[Any]:
    return st.one_of(wire_bodies(), mutated_bodies(wire_bodies).map(lambda mutated: mutated[0]))


@PROPERTIES
@given(body=bodies())
def test_the_client_and_the_sandbox_judge_create_bodies_alike(judge, body: Any) -> None:
    sandbox, headers = judge
    text = as_wire_json(body)
    if text is None:
        return  # not something a wire can carry
    # Numbers read as exact decimals, as a server reading the JSON text does.
    wire_body, refusal = client_verdict(json.loads(text, parse_float=Decimal), prepare_create_body)
    answer = requests.post(
        sandbox.base_url + "/payments/jobs",
        data=text.encode("utf-8"),
        headers={**headers, "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code < 500, answer.text
    if refusal is None:
        # The client would send its own wire form: the server must take that too.
        data, sent_headers = encoded_body(wire_body, None, headers)
        sent = requests.post(sandbox.base_url + "/payments/jobs", data=data, headers=sent_headers, timeout=10)
        assert sent.status_code == 200, f"client accepts, sandbox refuses: {sent.text}"
        assert_served_back(wire_body, json.loads(sent.text, parse_float=Decimal))
    elif answer.status_code == 200:
        allowed = [name for name, applies in CLIENT_ONLY_RULES.items() if applies(refusal)]
        assert allowed, f"sandbox accepts, client refuses: {refusal}"
    else:
        assert answer.status_code in (400, 413), answer.text


def assert_served_back(body: dict[str, Any], job: dict[str, Any]) -> None:
    """What the server stored is what was sent: each item's payment fields, in order."""
    assert len(job["items"]) == len(body["items"])
    for sent, stored in zip(body["items"], job["items"], strict=True):
        for name in ("amount", "currency", "clientPaymentId", "destinationToken", "email", "note", "memo"):
            assert stored.get(name) == sent.get(name), (name, sent, stored)


PAGE_VALUES = st.one_of(
    st.integers(-3, 60),
    st.sampled_from([2**31 - 1, 2**31, 2**63, -(2**31)]),
    st.integers(),
)


@PROPERTIES
@given(page=PAGE_VALUES, page_size=PAGE_VALUES)
def test_the_client_and_the_sandbox_judge_pages_alike(judge, page: int, page_size: int) -> None:
    sandbox, headers = judge
    _, refusal = client_verdict((page, page_size), lambda paging: list_query(*paging, None, None, None))
    answer = requests.get(
        sandbox.base_url + "/payments/jobs",
        params={"page": str(page), "pageSize": str(page_size)},
        headers=headers,
        timeout=10,
    )
    assert (answer.status_code == 200) == (refusal is None), (page, page_size, refusal, answer.text)


LANGUAGE_VALUES = st.one_of(
    st.sampled_from([member.value for member in Languages] + [member.name for member in Languages]),
    st.sampled_from(["en-us", "EN-US", "zh-hans", "en_US", "en", "ENUS ", "", "x" * 50]),
    st.text(max_size=8),
)


@PROPERTIES
@given(language=LANGUAGE_VALUES)
def test_every_language_the_client_sends_is_one_the_sandbox_takes(judge, language: str) -> None:
    sandbox, headers = judge
    query, refusal = client_verdict(language, lambda value: list_query(1, 1, None, None, value))
    raw = requests.get(
        sandbox.base_url + "/payments/jobs",
        params={"page": "1", "pageSize": "1", "language": language},
        headers=headers,
        timeout=10,
    )
    assert raw.status_code < 500
    if raw.status_code == 200:  # a tag exactly as the contract spells it: the client sends it as it is
        assert refusal is None and query["language"] == language
    if refusal is None:
        sent = requests.get(sandbox.base_url + "/payments/jobs", params=query, headers=headers, timeout=10)
        assert sent.status_code == 200, f"client sends language={query['language']!r}: {sent.text}"


TOKEN_VALUES = st.one_of(
    st.uuids().map(lambda uuid: f"jobs-{uuid}"),
    st.uuids().map(lambda uuid: f"jobs-{str(uuid).upper()}"),
    st.uuids().map(lambda uuid: f"jobs-{uuid}\n"),
    st.uuids().map(lambda uuid: f"JOBS-{uuid}"),
    st.uuids().map(lambda uuid: f"acct-{uuid}"),
    st.text(max_size=45),
)


@PROPERTIES
@given(token=TOKEN_VALUES)
def test_the_client_and_the_sandbox_judge_job_tokens_alike(judge, token: str) -> None:
    sandbox, headers = judge
    if token.strip(".") == "":
        return  # no token at all: a path of another endpoint (or of none), not a retrieve
    _, refusal = client_verdict(token, validate_job_token)
    answer = requests.get(
        sandbox.base_url + "/payments/jobs/" + quote(token, safe=""), headers=headers, timeout=10
    )
    assert answer.status_code in (400, 404), answer.text
    # "Job ... was not found": a well-formed token of no job. A 400, or a 404 for the path itself
    # (a token holding "/"): not a job token at all.
    unknown_job = answer.status_code == 404 and "was not found" in answer.json()["message"]
    assert unknown_job == (refusal is None), (token, refusal, answer.text)
