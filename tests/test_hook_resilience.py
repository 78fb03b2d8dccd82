"""Retries, error shapes, tokens and secrets, with faults injected into a real sandbox."""

from __future__ import annotations

import pytest
from conftest import api_calls, connection_json, logged
from payloads import gateway_item

from airflow_provider_payjobs.client.auth import TOKEN_CACHE, AccessToken
from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsAuthError, PayJobsTransportError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

JOBS = "/payments/jobs"
TOKEN = "/auth/connect/token"


def a_job(hook: PayJobsHook) -> str:
    return hook.create_payment_job({"items": [gateway_item(0)]})["token"]


def a_job_without_ids(hook: PayJobsHook) -> str:
    """Without clientPaymentIds nothing can be reconciled: the hook never repeats a POST that was sent."""
    return hook.create_payment_job({"items": [gateway_item(0, clientPaymentId=None)]})["token"]


@pytest.mark.parametrize("fault", ["500", "502", "503", "504", "drop"])
def test_reads_are_retried_until_success(sandbox, fault: str) -> None:
    hook = PayJobsHook()
    token = a_job(hook)
    sandbox.admin.script_faults({"fault": fault, "method": "GET", "times": 2})
    assert hook.retrieve_payment_job(token)["token"] == token
    assert len(api_calls(sandbox, "GET", token)) == 3


def test_reads_give_up_after_the_attempt_limit(sandbox) -> None:
    hook = PayJobsHook()
    token = a_job(hook)
    sandbox.admin.script_faults({"fault": "503", "method": "GET", "times": 10})
    with pytest.raises(PayJobsApiError) as caught:
        hook.retrieve_payment_job(token)
    assert caught.value.status_code == 503
    assert len(api_calls(sandbox, "GET", token)) == 4, "retry_limit=4 attempts"


def test_cancel_is_retried(sandbox) -> None:
    hook = PayJobsHook()
    token = a_job(hook)
    sandbox.admin.script_faults({"fault": "502", "method": "DELETE"})
    assert hook.cancel_payment_job(token)["status"] == "CANCELLED"
    assert len(api_calls(sandbox, "DELETE")) == 2


def test_429_waits_for_retry_after(sandbox, capsys) -> None:
    hook = PayJobsHook()
    sandbox.admin.set_faults(retry_after_seconds=1)
    sandbox.admin.script_faults({"fault": "429", "method": "GET"})
    hook.list_payment_jobs(1, 5)
    assert "retrying in 1.0 s" in logged(capsys), "the server's Retry-After, not the 0.01 s backoff"
    assert [entry["status"] for entry in api_calls(sandbox, "GET")] == [429, 200]


def test_retry_after_is_capped(sandbox, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, retry_after_cap=0.2))
    sandbox.admin.set_faults(retry_after_seconds=3600)
    sandbox.admin.script_faults({"fault": "429", "method": "GET"})
    PayJobsHook().list_payment_jobs(1, 5)
    assert "retrying in 0.2 s" in logged(capsys)


def test_post_is_not_retried_on_500(sandbox) -> None:
    hook = PayJobsHook()
    hook.get_access_token()
    sandbox.admin.script_faults({"fault": "500", "method": "POST", "path": "/api/v2/payments/jobs"})
    with pytest.raises(PayJobsApiError) as caught:
        a_job_without_ids(hook)
    assert caught.value.status_code == 500
    assert len(api_calls(sandbox, "POST", JOBS)) == 1


def test_post_is_not_retried_when_the_connection_drops_after_sending(sandbox) -> None:
    hook = PayJobsHook()
    hook.get_access_token()
    sandbox.admin.script_faults(
        {"fault": "commit_then_fail_drop", "method": "POST", "path": "/api/v2/payments/jobs"}
    )
    with pytest.raises(PayJobsTransportError) as caught:
        a_job_without_ids(hook)
    assert caught.value.kind == "dropped" and caught.value.request_sent
    assert len(api_calls(sandbox, "POST", JOBS)) == 1
    assert len(sandbox.admin.ledger()) == 1, "the server did act: only a reconciling retry may follow"


def test_post_is_retried_when_the_connection_is_refused(sandbox, monkeypatch, capsys, unused_port) -> None:
    dead = f"http://127.0.0.1:{unused_port}/api/v2"
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        connection_json(sandbox).replace(sandbox.base_url, dead),
    )
    hook = PayJobsHook()
    # A cached token lets the test reach the POST itself without a token request.
    TOKEN_CACHE.put(hook.settings.credentials, AccessToken("cached-token", float("inf")))
    with pytest.raises(PayJobsTransportError) as caught:
        a_job(hook)
    assert caught.value.kind == "refused" and not caught.value.request_sent
    assert logged(capsys).count("POST /payments/jobs attempt") == 3, "4 attempts, 3 retries"


@pytest.mark.parametrize(
    ("fault", "excerpt"),
    [("html_502", "<html"), ("empty_500", "<empty body>"), ("truncated_json_500", '{"')],
)
def test_bodies_that_are_not_json_still_give_an_api_error(
    sandbox, monkeypatch, fault: str, excerpt: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox, retry_limit=1))
    sandbox.admin.script_faults({"fault": fault, "method": "GET"})
    with pytest.raises(PayJobsApiError) as caught:
        PayJobsHook().list_payment_jobs(1, 5)
    assert caught.value.status_code in (500, 502) and caught.value.message is None
    assert caught.value.body_excerpt.startswith(excerpt)


def test_many_calls_one_token_request(sandbox) -> None:
    token = a_job(PayJobsHook())
    for _ in range(10):
        PayJobsHook().retrieve_payment_job(token)
    assert len(api_calls(sandbox, "POST", TOKEN)) == 1


def test_a_401_refreshes_the_token_once(sandbox) -> None:
    hook = PayJobsHook()
    token = a_job(hook)
    sandbox.admin.expire_tokens()
    assert hook.retrieve_payment_job(token)["token"] == token
    assert [entry["status"] for entry in api_calls(sandbox, "GET", token)] == [401, 200]
    assert len(api_calls(sandbox, "POST", TOKEN)) == 2


def test_a_token_near_expiry_is_renewed_before_use(sandbox) -> None:
    hook = PayJobsHook()
    hook.list_payment_jobs(1, 1)
    stale = AccessToken(hook.get_access_token().value, refresh_at=0.0)
    TOKEN_CACHE.put(hook.settings.credentials, stale)
    hook.list_payment_jobs(1, 1)
    assert len(api_calls(sandbox, "POST", TOKEN)) == 2
    assert [entry["status"] for entry in api_calls(sandbox, "GET")] == [200, 200], "no 401 on the way"


def test_bad_credentials_raise_an_auth_error(sandbox, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        connection_json(sandbox).replace(sandbox.client_secret, "wrong-secret"),
    )
    with pytest.raises(PayJobsAuthError) as caught:
        PayJobsHook().list_payment_jobs(1, 1)
    assert caught.value.oauth_error == "invalid_client" and caught.value.status_code == 401
    assert len(api_calls(sandbox, "POST", TOKEN)) == 1, "a refused token is not retried"


def test_connection_test_success(sandbox) -> None:
    ok, message = PayJobsHook().test_connection()
    assert ok and sandbox.base_url in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"password": "wrong-secret"}, "client id or secret is wrong (invalid_client)"),
        ({"scopes": "modify"}, "lacks the scope"),
        ({"scopes": "readonly admin"}, "may not have the requested scopes"),
        ({"host": "unused"}, "Cannot reach"),
        ({"host": "tls"}, "TLS failed"),
    ],
)
def test_connection_test_failures(sandbox, monkeypatch, unused_port, change: dict, words: str) -> None:
    import json

    connection = json.loads(connection_json(sandbox))
    if change.get("host") == "unused":
        connection["host"] = f"http://127.0.0.1:{unused_port}/api/v2"
    elif change.get("host") == "tls":
        connection["host"] = sandbox.base_url.replace("http://", "https://")
    elif "password" in change:
        connection["password"] = change["password"]
    else:
        connection["extra"]["scopes"] = change["scopes"]
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", json.dumps(connection))
    ok, message = PayJobsHook().test_connection()
    assert not ok and words in message, message


def test_uri_form_connection(sandbox, monkeypatch) -> None:
    from airflow.sdk.definitions.connection import Connection

    uri = Connection(
        conn_id="x",
        conn_type="payjobs",
        login=sandbox.client_id,
        password=sandbox.client_secret,
        host=sandbox.base_url,
        extra='{"retry_limit": 2}',
    ).get_uri()
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_URI", uri)
    hook = PayJobsHook("payjobs_uri")
    assert hook.settings.base_url == sandbox.base_url and hook.settings.retry_policy.attempts == 2
    assert hook.test_connection()[0]


def test_secrets_never_reach_logs_errors_or_reprs(sandbox, monkeypatch, capsys, debug_logging) -> None:
    hook = PayJobsHook()
    token = a_job(hook)
    access_tokens = {hook.get_access_token().value}
    sandbox.admin.script_faults({"fault": "500", "method": "GET"}, {"fault": "429", "method": "GET"})
    hook.retrieve_payment_job(token)
    sandbox.admin.expire_tokens()
    hook.retrieve_payment_job(token)
    access_tokens.add(hook.get_access_token().value)
    errors = []
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        connection_json(sandbox).replace(sandbox.client_secret, "wrong-secret-value"),
    )
    TOKEN_CACHE.clear()
    try:
        PayJobsHook().retrieve_payment_job(token)
    except PayJobsAuthError as error:
        errors.append(f"{error!r} {error}")
    text = logged(capsys)
    assert "attempt 1 of 4 failed" in text, "retries were logged at all"
    everything = text + " ".join(errors) + repr(hook) + repr(hook.settings) + repr(TOKEN_CACHE.__dict__)
    for secret in [sandbox.client_secret, "wrong-secret-value", *access_tokens]:
        assert secret not in everything
    assert "Bearer " not in text and "Basic " not in text
