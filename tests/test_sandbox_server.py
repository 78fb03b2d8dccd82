"""The sandbox as a server, spoken to with plain requests (not the hook): what the real service would do."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
import requests
from payloads import gateway_item, portal_item
from sandbox_wire import VERSION, assert_api_error, call, create, token

from airflow_provider_payjobs.sandbox.__main__ import parse_arguments
from airflow_provider_payjobs.sandbox.server import start_sandbox


def test_token_grant_and_oauth_errors(sandbox) -> None:
    granted = token(sandbox, "readonly").json()
    assert (
        granted["token_type"] == "Bearer" and granted["scope"] == "readonly" and granted["expires_in"] == 3600
    )
    assert token(sandbox, secret="nope").json()["error"] == "invalid_client"
    assert token(sandbox, scope="admin").json()["error"] == "invalid_scope"
    wrong_grant = requests.post(
        sandbox.base_url + "/auth/connect/token",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "password"},
        timeout=10,
    )
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    credentials = base64.b64encode(f"{sandbox.client_id}:s\u00e9cret".encode()).decode()
    not_ascii = requests.post(
        sandbox.base_url + "/auth/connect/token",
        headers={"Authorization": f"Basic {credentials}"},
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert (not_ascii.status_code, not_ascii.json()["error"]) == (401, "invalid_client")


def test_every_error_answer_is_an_api_error_result(sandbox) -> None:
    job = create(sandbox, {"items": [gateway_item(0)]})
    assert_api_error(call(sandbox, "GET", f"/payments/jobs/{job['token']}/items"), 404, "Not Found")
    assert_api_error(call(sandbox, "PUT", "/payments/jobs", json={}), 405, "Method Not Allowed")
    # The wire takes the language tag (en-US); ENUS is only the enum member's name.
    member_name = call(sandbox, "GET", f"/payments/jobs/{job['token']}?language=ENUS")
    assert_api_error(member_name, 400, "language: must be one of the Languages tags")
    assert call(sandbox, "GET", f"/payments/jobs/{job['token']}?language=en-US").status_code == 200


def test_version_header_bearer_and_scope_are_required(sandbox) -> None:
    bearer = token(sandbox).json()["access_token"]
    no_version = requests.get(
        sandbox.base_url + "/payments/jobs?page=1&pageSize=1",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    assert_api_error(no_version, 400, "X-MyPayQuicker-Version")
    no_token = requests.get(
        sandbox.base_url + "/payments/jobs?page=1&pageSize=1", headers=VERSION, timeout=10
    )
    assert_api_error(no_token, 401, "access token")
    assert_api_error(
        call(sandbox, "POST", "/payments/jobs", scope="readonly", json={}), 403, "'modify' scope"
    )
    assert_api_error(
        call(sandbox, "GET", "/payments/jobs?page=1&pageSize=1", scope="modify"), 403, "'readonly'"
    )


def test_expired_tokens_are_refused(sandbox) -> None:
    bearer = token(sandbox).json()["access_token"]
    headers = {**VERSION, "Authorization": f"Bearer {bearer}"}
    url = sandbox.base_url + "/payments/jobs?page=1&pageSize=1"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    sandbox.admin.advance_clock(3601)
    assert requests.get(url, headers=headers, timeout=10).status_code == 401


def test_tokens_can_expire_by_age(sandbox) -> None:
    url = sandbox.base_url + "/payments/jobs?page=1&pageSize=1"
    old = {**VERSION, "Authorization": f"Bearer {token(sandbox).json()['access_token']}"}
    sandbox.admin.advance_clock(10)
    young = {**VERSION, "Authorization": f"Bearer {token(sandbox).json()['access_token']}"}
    sandbox.admin.expire_tokens(older_than_seconds=5)
    assert requests.get(url, headers=old, timeout=10).status_code == 401
    assert requests.get(url, headers=young, timeout=10).status_code == 200
    with pytest.raises(ValueError, match="older_than_seconds must be a number"):
        sandbox.admin.expire_tokens(older_than_seconds=-1)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"items": [gateway_item(0, currency="XXX")]}, "items[0].currency"),
        ({"items": [gateway_item(0), portal_item(1)]}, "never mixes"),
        ({"items": []}, "items: must be a non-empty list"),
    ],
)
def test_bad_bodies_answer_400_naming_the_field(sandbox, body: dict, words: str) -> None:
    assert_api_error(call(sandbox, "POST", "/payments/jobs", json=body), 400, words)


def test_not_json_and_bad_tokens(sandbox) -> None:
    assert_api_error(
        call(sandbox, "POST", "/payments/jobs", data="{", headers={"content-type": "application/json"}),
        400,
        "not valid JSON",
    )
    assert_api_error(call(sandbox, "GET", "/payments/jobs/jobs-123"), 400, "jobs-<uuid>")
    assert_api_error(
        call(sandbox, "GET", "/payments/jobs/jobs-00000000-0000-0000-0000-000000000000"), 404, "not found"
    )


def test_lifecycle_on_the_sandbox_clock(sandbox) -> None:
    job = create(sandbox, {"items": [gateway_item(0), gateway_item(1, memo="SANDBOX_FAIL_ITEM")]})
    seen = []
    for _ in range(4):
        current = call(sandbox, "GET", f"/payments/jobs/{job['token']}").json()
        seen.append((current["status"], [item["status"] for item in current["items"]]))
        sandbox.admin.advance_clock(10)
    assert seen == [
        ("SUBMITTED", ["PENDING", "PENDING"]),
        ("PARSING", ["PENDING", "PENDING"]),
        ("PROCESSING", ["ACCEPTED", "ACCEPTED"]),
        ("COMPLETED", ["COMPLETED", "FAILED"]),
    ]
    assert [entry["clientPaymentId"] for entry in sandbox.admin.ledger()] == ["payment-0"]


def test_a_failing_job_and_a_scheduled_job(sandbox) -> None:
    failing = create(sandbox, {"items": [gateway_item(0, memo="SANDBOX_FAIL_JOB"), gateway_item(1)]})
    partly = create(sandbox, {"items": [gateway_item(3, memo="SANDBOX_FAIL_JOB_PARTLY"), gateway_item(4)]})
    later = create(sandbox, {"notBefore": "2099-01-01T00:00:00Z", "items": [gateway_item(2)]})
    sandbox.admin.advance_clock(60)
    failed = call(sandbox, "GET", f"/payments/jobs/{failing['token']}").json()
    assert (failed["status"], [item["status"] for item in failed["items"]]) == (
        "FAILED",
        ["FAILED", "FAILED"],
    )
    failed = call(sandbox, "GET", f"/payments/jobs/{partly['token']}").json()
    assert (failed["status"], [item["status"] for item in failed["items"]]) == (
        "FAILED",
        ["FAILED", "COMPLETED"],
    )
    assert [entry["clientPaymentId"] for entry in sandbox.admin.ledger()] == ["payment-4", "payment-2"]
    scheduled = call(sandbox, "GET", f"/payments/jobs/{later['token']}").json()
    assert scheduled["status"] == "SCHEDULED" and scheduled["items"][0]["status"] == "SCHEDULED"
    assert scheduled["notBefore"] == "2099-01-01T00:00:00.000Z"


def test_cancel_until_processing_completes(sandbox) -> None:
    job = create(sandbox, {"items": [gateway_item(0)]})
    sandbox.admin.advance_clock(25)  # PROCESSING
    cancelled = call(sandbox, "DELETE", f"/payments/jobs/{job['token']}").json()
    assert cancelled["status"] == "CANCELLED" and cancelled["items"][0]["status"] == "CANCELLED"
    assert sandbox.admin.ledger() == []
    done = create(sandbox, {"items": [gateway_item(1)]})
    sandbox.admin.advance_clock(60)
    assert_api_error(call(sandbox, "DELETE", f"/payments/jobs/{done['token']}"), 400, "COMPLETED")


def test_result_shapes_match_the_contract(sandbox) -> None:
    job = create(sandbox, {"items": [gateway_item(0)]})
    assert set(job) == {
        "token",
        "portalId",
        "filename",
        "fileToken",
        "created",
        "notBefore",
        "count",
        "type",
        "status",
        "items",
        "links",
        "meta",
    }
    assert (
        job["fileToken"].startswith("docu-")
        and job["type"] == "PAYMENTS"
        and set(job["meta"]) == {"timezone", "requestRef"}
    )
    item = job["items"][0]
    assert set(item) == {
        "token",
        "portalId",
        "amount",
        "clientPaymentId",
        "created",
        "currency",
        "destinationToken",
        "memo",
        "note",
        "purpose",
        "sourceToken",
        "status",
        "receiptToken",
        "links",
    }
    assert item["receiptToken"].startswith("rcpt-") and len(item["receiptToken"]) == 41
    # Absent fields stay absent, never null: a portal item has no destinationToken, no memo here.
    portal = create(sandbox, {"items": [portal_item(0, memo=None)]})["items"][0]
    assert "destinationToken" not in portal and "memo" not in portal and portal["email"]
    assert None not in portal.values()
    listing = call(sandbox, "GET", "/payments/jobs?page=1&pageSize=10").json()
    assert set(listing) == {"payload", "meta", "links"}
    assert all(
        isinstance(listing["meta"][name], str) for name in ("pageNo", "pageSize", "pageCount", "recordCount")
    )


def test_list_filter_and_sort_grammar(sandbox) -> None:
    first = create(sandbox, {"items": [gateway_item(0)]})
    sandbox.admin.advance_clock(100)
    second = create(sandbox, {"items": [gateway_item(1)]})

    def tokens(query: str) -> list[str]:
        return [
            job["token"]
            for job in call(sandbox, "GET", f"/payments/jobs?page=1&pageSize=10&{query}").json()["payload"]
        ]

    assert tokens("") == [second["token"], first["token"]]
    assert tokens("sort=created") == [first["token"], second["token"]]
    assert tokens("filter=status:COMPLETED") == [first["token"]]
    assert tokens("filter=clientPaymentId:payment-1") == [second["token"]]
    assert tokens("filter=status:SUBMITTED,clientPaymentId:payment-0") == []
    assert_api_error(call(sandbox, "GET", "/payments/jobs?page=1&pageSize=10&filter=amount:5"), 400, "filter")
    assert_api_error(call(sandbox, "GET", "/payments/jobs?page=1&pageSize=10&sort=amount"), 400, "sort")
    assert_api_error(call(sandbox, "GET", "/payments/jobs?page=0&pageSize=10"), 400, "page")
    assert_api_error(call(sandbox, "GET", "/payments/jobs?page=1&pageSize=51"), 400, "pageSize: must be")
    assert_api_error(call(sandbox, "GET", "/payments/jobs?page=1&pageSize=10&language=XX"), 400, "language")


def test_duplicate_client_payment_ids_both_modes(sandbox) -> None:
    first = create(sandbox, {"items": [gateway_item(0)]})
    again = call(sandbox, "POST", "/payments/jobs", json={"items": [gateway_item(0)]})
    assert_api_error(again, 400, f"clientPaymentId 'payment-0' is already used by job {first['token']}")
    inside = call(
        sandbox,
        "POST",
        "/payments/jobs",
        json={"items": [gateway_item(5), gateway_item(6, clientPaymentId="payment-5")]},
    )
    assert_api_error(inside, 400, "clientPaymentId 'payment-5' is repeated in this request")
    sandbox.admin.set_config(accept_duplicate_client_ids=True)
    create(sandbox, {"items": [gateway_item(0)]})
    assert [entry["clientPaymentId"] for entry in sandbox.admin.ledger()] == ["payment-0", "payment-0"], (
        "paid twice"
    )


@pytest.mark.parametrize(
    ("fault", "status"), [("500", 500), ("502", 502), ("503", 503), ("504", 504), ("429", 429)]
)
def test_scripted_status_faults(sandbox, fault: str, status: int) -> None:
    sandbox.admin.set_faults(retry_after_seconds=7)
    sandbox.admin.script_faults(
        {"fault": fault, "method": "GET", "path": "/api/v2/payments/jobs", "times": 2}
    )
    answers = [call(sandbox, "GET", "/payments/jobs?page=1&pageSize=1") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [status, status, 200]
    if fault == "429":
        assert answers[0].headers["Retry-After"] == "7"
    assert [entry["fault"] for entry in sandbox.admin.requests() if entry["path"].endswith("/jobs")] == [
        fault,
        fault,
        None,
    ]


def test_dropped_connection_and_commit_then_fail(sandbox) -> None:
    sandbox.admin.script_faults({"fault": "drop", "method": "GET"})
    with pytest.raises(requests.ConnectionError):
        call(sandbox, "GET", "/payments/jobs?page=1&pageSize=1")
    sandbox.admin.script_faults(
        {"fault": "commit_then_fail_drop", "method": "POST", "path": "/api/v2/payments/jobs"}
    )
    with pytest.raises(requests.ConnectionError):
        call(sandbox, "POST", "/payments/jobs", json={"items": [gateway_item(0)]})
    sandbox.admin.script_faults(
        {"fault": "commit_then_fail_500", "method": "POST", "path": "/api/v2/payments/jobs"}
    )
    assert call(sandbox, "POST", "/payments/jobs", json={"items": [gateway_item(1)]}).status_code == 500
    assert len(sandbox.admin.ledger()) == 2, "both jobs exist although the client saw failures"


def test_random_faults_are_seeded(sandbox) -> None:
    def statuses() -> list[int]:
        sandbox.admin.set_faults(error_500=0.5, seed=3)
        return [call(sandbox, "GET", "/payments/jobs?page=1&pageSize=1").status_code for _ in range(12)]

    first = statuses()
    assert 500 in first and 200 in first and statuses() == first


def test_admin_refuses_bad_values(sandbox) -> None:
    for change in ({"error_500": 2}, {"latency_ms": -1}, {"nonsense": 1}, {"script": [{"fault": "418"}]}):
        with pytest.raises(ValueError, match="HTTP 400"):
            sandbox.admin.set_faults(**change)
    with pytest.raises(ValueError, match="HTTP 400"):
        sandbox.admin.set_config(step_seconds=-1)
    with pytest.raises(ValueError, match="HTTP 400"):
        sandbox.admin.advance_clock(-5)


def test_request_log_and_reset(sandbox) -> None:
    create(sandbox, {"items": [gateway_item(0)]})
    log = sandbox.admin.requests()
    assert [(entry["method"], entry["path"], entry["status"]) for entry in log] == [
        ("POST", "/api/v2/auth/connect/token", 200),
        ("POST", "/api/v2/payments/jobs", 200),
    ]
    sandbox.admin.set_faults(error_500=1)
    sandbox.admin.reset()
    assert (
        sandbox.admin.requests() == []
        and sandbox.admin.ledger() == []
        and sandbox.admin.faults()["error_500"] == 0
    )


def test_cli_prints_url_and_connection_and_takes_fault_flags() -> None:
    with start_sandbox(
        "--fault-503", "1", "--client-id", "my-client", "--client-secret", "my-secret"
    ) as sandbox:
        conn = json.loads(sandbox.connection_json())
        assert conn == {
            "conn_type": "payjobs",
            "login": "my-client",
            "password": "my-secret",
            "host": sandbox.base_url,
        }
        assert sandbox.admin.faults()["error_503"] == 1
        assert call(sandbox, "GET", "/payments/jobs?page=1&pageSize=1").status_code == 503
    assert sandbox.process.poll() is not None, "stopped"


def test_cli_refuses_bad_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_payjobs.sandbox", "--fault-500", "1.5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "--fault-500" in result.stderr and "probability" in result.stderr
    assert parse_arguments(["--port", "0", "--frozen-clock"]).frozen_clock
