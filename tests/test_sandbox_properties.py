"""
Property tests over real HTTP: no generated request makes the sandbox answer 500 or redirect, every
non-2xx is an ApiErrorResult (an RFC 6749 error on the token path), and every job it accepts it
serves back. Examples per test: ``PAYJOBS_FUZZ_EXAMPLES`` (default 120; raise it for a long hunt).
"""

from __future__ import annotations

import json
import os
import string
from datetime import timedelta, timezone
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from payloads import gateway_item, portal_item
from sandbox_wire import VERSION, bearer, error_shape_problem, raw_request

from airflow_provider_payjobs.sandbox.contract import LANGUAGE_TAGS

FUZZ = settings(
    max_examples=int(os.environ.get("PAYJOBS_FUZZ_EXAMPLES", "120")),
    deadline=None,
    database=None,  # no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JOBS = "/api/v2/payments/jobs"
JOB_TOKEN = "jobs-2bbfc967-d12e-4647-a887-d905172fb4bc"

# Text with everything Python's str holds, lone surrogates included (st.text() never makes them).
TEXT = st.lists(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=12).map("".join)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**420), max_value=10**420)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
OFFSETS = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59))
DATETIME_TEXT = st.one_of(
    st.builds(
        lambda moment, separator, spec: moment.isoformat(sep=separator, timespec=spec),
        st.datetimes(
            timezones=st.builds(
                timezone, OFFSETS.map(lambda delta: timedelta(minutes=delta // timedelta(minutes=1)))
            )
        ),
        st.sampled_from(["T", "t", " "]),
        st.sampled_from(["auto", "seconds", "milliseconds"]),
    ),
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    TEXT,
)
INTERESTING_TEXT = st.sampled_from(
    [
        "USD",
        "usd",
        "UNDEFINED",
        "BONUS",
        "",
        "x@y.zz",
        "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860",
        "1e400",
        "\ud800",
    ]
)
QUOTE_FIELDS = st.sampled_from(
    ["amount", "currency", "sourceToken", "destinationToken", "note", "memo", "purpose", "clientPaymentId",
     "programUserId", "email"]
)  # fmt: skip
FIELD_NAMES = st.one_of(QUOTE_FIELDS, QUOTE_FIELDS, QUOTE_FIELDS, TEXT)


# Odds (st.integers would lean on its bounds).
ONE_IN_THREE = st.sampled_from([False, False, True])
ONE_IN_TEN = st.sampled_from([False] * 9 + [True])


def serialized(value: object, raw_unicode: bool) -> bytes:
    """JSON as Python writes it: NaN and Infinity included; raw lone surrogates make invalid UTF-8."""
    return json.dumps(value, ensure_ascii=not raw_unicode).encode("utf-8", "surrogatepass")


@st.composite
def near_valid_bodies(draw: st.DrawFn) -> dict:
    """A valid create body with a few fields replaced, removed or added: reaches past the first check."""
    make = draw(st.sampled_from([gateway_item, portal_item]))
    # Numbers make the clientPaymentIds: mostly fresh ones (a repeat is refused by deduplication).
    numbers = st.one_of(st.integers(0, 5), *[st.integers(6, 10**11)] * 4)
    items: list = [make(draw(numbers)) for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        item = draw(st.sampled_from(items))
        field = draw(FIELD_NAMES)
        action = draw(st.sampled_from(["set", "set", "interesting", "delete"]))
        if action == "delete":
            item.pop(field, None)
        else:
            item[field] = draw(JSON_VALUES if action == "set" else INTERESTING_TEXT)
    body: dict = {"items": items}
    for name in ("notBefore", "notAfter"):
        if draw(ONE_IN_THREE):
            body[name] = draw(DATETIME_TEXT | DATETIME_TEXT | JSON_VALUES)
    if draw(ONE_IN_TEN):
        body[draw(TEXT)] = draw(JSON_VALUES)
    return body


def check_answer(status: int, body: bytes, path: str, method: str = "GET") -> None:
    event(f"HTTP {status}")  # --hypothesis-show-statistics shows how often each status came
    assert status < 500, f"{status}: {body[:300]!r}"
    assert not 300 <= status < 400, f"a redirect: {status}"
    if status >= 400 and method != "HEAD":
        problem = error_shape_problem(path, status, body)
        assert problem is None, problem


def assert_served_back(sandbox, headers: dict, answer: requests.Response) -> None:
    """A job the sandbox accepted can be retrieved and listed, as strict JSON."""
    job = json.loads(answer.text, parse_constant=_no_constant)
    for url in (
        f"{sandbox.base_url}/payments/jobs/{job['token']}",
        f"{sandbox.base_url}/payments/jobs?page=1&pageSize=50",
    ):
        again = requests.get(url, headers=headers, timeout=10)
        assert again.status_code == 200, again.text
        json.loads(again.text, parse_constant=_no_constant)


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in an answer: not JSON")


@pytest.fixture
def headers(sandbox) -> dict[str, str]:
    return bearer(sandbox)


@FUZZ
@given(body=st.one_of(JSON_VALUES, near_valid_bodies()), raw_unicode=st.booleans())
def test_any_create_body(sandbox, headers, body, raw_unicode: bool) -> None:
    answer = requests.post(
        sandbox.base_url + "/payments/jobs",
        data=serialized(body, raw_unicode),
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    check_answer(answer.status_code, answer.content, JOBS)
    if answer.status_code == 200:
        assert_served_back(sandbox, headers, answer)


QUERY_NAMES = st.sampled_from(["page", "pageSize", "filter", "sort", "language"]) | TEXT
QUERY_VALUES = st.one_of(
    st.integers(-5, 2**40).map(str),
    st.sampled_from(["1_0", "\u0661", "\uff11", "00001", "1.0", " 7", "2147483647", "2147483648"]),
    st.sampled_from(
        [
            *LANGUAGE_TAGS,
            "ENUS",
            "en-us",
            "status:COMPLETED",
            "status:x",
            "clientPaymentId:payment-1",
            "created",
            "-created",
            "status:PENDING,clientPaymentId:",
            ",",
        ]
    ),
    TEXT,
)


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:  # raw bytes, percent-encoded: invalid UTF-8 included
        return draw(
            st.lists(st.binary(max_size=8), max_size=4).map(
                lambda parts: "&".join(quote_from_bytes(part, safe="=") for part in parts)
            )
        )
    pairs = draw(st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=6))
    if draw(st.booleans()):
        pairs = [("page", "1"), ("pageSize", "10"), *pairs]
    return urlencode(
        [
            (name.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass"))
            for name, value in pairs
        ]
    )


@FUZZ
@given(
    query=query_strings(),
    path=st.sampled_from([JOBS, f"{JOBS}/{JOB_TOKEN}"]),
    method=st.sampled_from(["GET", "DELETE"]),
)
def test_any_query_string(sandbox, headers, query: str, path: str, method: str) -> None:
    if path == JOBS and method == "DELETE":
        method = "GET"
    answer = raw_request(sandbox, method, f"{path}?{query}", list(headers.items()))
    check_answer(answer.status, answer.body, path, method)


HEADER_NAMES = st.sampled_from(
    [
        "Authorization",
        "X-MyPayQuicker-Version",
        "Accept",
        "Content-Type",
        "Host",
        "Cookie",
        "Expect",
        "Upgrade",
        "Connection",
        "X-Forwarded-Host",
        "Forwarded",
    ]
) | st.text(string.ascii_letters + string.digits + "-_!#$%&'*+.^`|~", min_size=1, max_size=12)
# Field values as HTTP/1.1 allows them: visible bytes, spaces, tabs and obs-text (0x80-0xFF).
HEADER_VALUES = st.one_of(
    st.binary(max_size=40).map(
        lambda raw: bytes(byte for byte in raw if byte >= 0x20 and byte != 0x7F).strip()
    ),
    st.sampled_from(
        [
            b"Basic \xffc2FuZA==",
            b"Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=",
            b"Bearer",
            b"2026.02.01",
            b"application/json",
            b"text/html",
            b"[",
            b"a b",
            b"localhost:1",
            b"100-continue",
            b"websocket",
            b"Upgrade",
            b"h2c",
        ]
    ),
)


@FUZZ
@given(
    extra=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5),
    keep=st.sets(st.sampled_from(["Authorization", "X-MyPayQuicker-Version", "Host"])),
    target=st.sampled_from(
        [
            ("POST", "/api/v2/auth/connect/token"),
            ("POST", JOBS),
            ("GET", f"{JOBS}?page=1&pageSize=5"),
            ("GET", f"{JOBS}/{JOB_TOKEN}"),
            ("DELETE", f"{JOBS}/{JOB_TOKEN}"),
        ]
    ),
    body=st.sampled_from(
        [b"", b"grant_type=client_credentials", json.dumps({"items": [gateway_item(0)]}).encode()]
    ),
)
def test_any_headers(sandbox, headers, extra, keep, target, body: bytes) -> None:
    sent = [(name, value) for name, value in headers.items() if name in keep]
    sent += [
        (name, value) for name, value in extra if name.lower() not in ("content-length", "transfer-encoding")
    ]
    if "Host" in keep or not any(name.lower() == "host" for name, _ in sent):
        sent.append(("Host", "127.0.0.1"))
    method, path = target
    answer = raw_request(sandbox, method, path, sent, body, host=False)
    check_answer(answer.status, answer.body, path, method)


PATH_STARTS = st.sampled_from(
    ["", "/api", "/api/v2", "/api/v2/auth/connect/token", JOBS, f"{JOBS}/{JOB_TOKEN}", "/api/v2/payments"]
)
PATH_SEGMENTS = st.one_of(
    st.sampled_from(
        ["", "jobs", "items", "..", ".", "%2F", "%00", "jobs-123", JOB_TOKEN, "auth", "%E2%82%AC", "%ff"]
    ),
    TEXT.map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
)
METHODS = st.sampled_from(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
) | st.text(string.ascii_uppercase + "-_!", min_size=1, max_size=10)


@FUZZ
@given(
    method=METHODS,
    start=PATH_STARTS,
    segments=st.just([]) | st.lists(PATH_SEGMENTS, max_size=3),
    slash=st.booleans(),
    body=st.binary(max_size=30),
)
def test_any_path_and_method(
    sandbox, headers, method: str, start: str, segments: list[str], slash: bool, body
) -> None:
    path = "/".join([start, *segments]) + ("/" if slash else "")
    path = path if path.startswith("/") else "/" + path
    answer = raw_request(
        sandbox, method, path, [*headers.items(), ("Content-Type", "application/json")], body
    )
    check_answer(answer.status, answer.body, path, method)


OAUTH_FORMS = st.one_of(
    st.lists(
        st.tuples(
            st.sampled_from(["grant_type", "scope", "client_id"]) | TEXT,
            st.sampled_from(["client_credentials", "password", "readonly", "modify", "readonly modify", ""])
            | TEXT,
        ),
        max_size=4,
    ).map(
        lambda pairs: urlencode(
            [(k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass")) for k, v in pairs]
        ).encode()
    ),
    st.binary(max_size=60),
    st.sampled_from(
        [b"grant_type=client_credentials", b"grant_type=client_credentials&scope=readonly+modify"]
    ),
)


@FUZZ
@given(
    form=OAUTH_FORMS,
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "", "text/plain; charset=latin-1"]
    ),
    credentials=st.one_of(st.binary(max_size=30), st.just(b"sandbox-client:sandbox-secret")),
    encode=st.booleans(),
)
def test_any_token_request(sandbox, form: bytes, content_type: str, credentials: bytes, encode: bool) -> None:
    import base64

    value = b"Basic " + (base64.b64encode(credentials) if encode else credentials)
    sent = [("Authorization", value.replace(b"\r", b"").replace(b"\n", b""))]
    if content_type:
        sent.append(("Content-Type", content_type))
    answer = raw_request(sandbox, "POST", "/api/v2/auth/connect/token", sent, form)
    check_answer(answer.status, answer.body, "/api/v2/auth/connect/token", "POST")


# A valid body of each admin endpoint; examples change one or two values of it.
ADMIN_BODIES = {
    "faults": {
        "error_500": 0, "error_502": 0, "error_503": 0, "error_429": 0, "drop_connection": 0,
        "commit_then_fail": 0, "commit_then_fail_mode": "either", "retry_after_seconds": 1, "latency_ms": 0,
        "slow_seconds": 0.01, "seed": 7,
        "script": [{"fault": "500", "method": "GET", "path": "/api/v2/x", "times": 1}],
    },
    "config": {"step_seconds": 10, "token_ttl": 3600, "accept_duplicate_client_ids": False},
    "clock": {"advance": 0, "frozen": True},
}  # fmt: skip
ADMIN_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**420), 10**420),
    st.sampled_from(
        [0, 1, -1, 0.5, 1.0000001, 86400, 86401, 60000, 3600, 2**53, 2**53 + 1, 3153600000, 31536000]
    ),
)
ADMIN_ODD_VALUES = st.one_of(
    ADMIN_NUMBERS,
    JSON_VALUES,
    st.sampled_from(["500", "drop", "either", "slow", "\ud800", "", "x" * 2001, True, False, None, [], {}]),
)


@st.composite
def admin_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid admin body with one or two values changed, removed or added; now and then any JSON."""
    path = draw(st.sampled_from(sorted(ADMIN_BODIES)))
    body: object = json.loads(json.dumps(ADMIN_BODIES[path]))
    for _ in range(draw(st.sampled_from([1, 1, 2]))):
        target = body
        rules = body.get("script") if isinstance(body, dict) else None
        if isinstance(rules, list) and rules and isinstance(rules[0], dict) and draw(ONE_IN_THREE):
            target = rules[0]  # scripts have the most parts to get wrong
        key = draw(st.sampled_from(sorted(target)) | st.sampled_from(sorted(target)) | TEXT)
        if draw(ONE_IN_TEN):
            target.pop(key, None)
        else:  # mostly a value of the same type, odd in content: where it gets past the type check
            alike = {str: TEXT, bool: st.booleans(), int: ADMIN_NUMBERS, float: ADMIN_NUMBERS}
            target[key] = draw(
                st.one_of(alike.get(type(target.get(key)), ADMIN_ODD_VALUES), ADMIN_ODD_VALUES)
            )
    if draw(ONE_IN_TEN):
        body = draw(JSON_VALUES)
    return path, serialized(body, draw(ONE_IN_TEN))


@FUZZ
@given(request=admin_bodies())
def test_any_admin_body(sandbox, request: tuple[str, bytes]) -> None:
    path, body = request
    before = [sandbox.admin.faults(), sandbox.admin.config(), sandbox.admin.advance_clock(0)]
    method = "POST" if path == "clock" else "PUT"
    answer = requests.request(method, f"{sandbox.root_url}/_sandbox/{path}", data=body, timeout=10)
    check_answer(answer.status_code, answer.content, f"/_sandbox/{path}", method)
    after = [sandbox.admin.faults(), sandbox.admin.config(), sandbox.admin.advance_clock(0)]
    if answer.status_code != 200:
        assert after == before, "a refused admin call changed settings"
        return
    for endpoint in ("requests", "ledger"):
        assert requests.get(f"{sandbox.root_url}/_sandbox/{endpoint}", timeout=10).status_code == 200
    probe_api_under_faults(sandbox, after[0])
    sandbox.admin.reset()


def probe_api_under_faults(sandbox, faults: dict) -> None:
    """One API call under the faults just set: deliberate failures only, never a sandbox crash."""
    waits = faults["latency_ms"] > 50 or (faults["slow_seconds"] > 0.05 and faults["script"])
    if waits:
        return
    try:
        answer = requests.get(
            sandbox.base_url + "/payments/jobs?page=1&pageSize=5", headers=VERSION, timeout=10
        )
    except requests.ConnectionError:
        return  # a dropped connection, as asked
    assert "Unexpected sandbox error" not in answer.text and answer.text != "Internal Server Error"
