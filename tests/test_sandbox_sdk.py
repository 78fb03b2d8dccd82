"""
PayQuicker's official Python SDK (``payquicker-api-sdk`` 1.0.0) against the sandbox, unchanged:
a second real client, generated from the same specification as the contract, that the sandbox
must understand. Only its base URL is pointed at the sandbox (a configuration subclass).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from conftest import api_calls
from payquickersdk.configuration import Configuration, Environment, Server
from payquickersdk.exceptions.api_error_result_exception import ApiErrorResultException
from payquickersdk.exceptions.o_auth_provider_exception import OAuthProviderException
from payquickersdk.http.auth.server import ServerCredentials
from payquickersdk.models.gateway_payment_job import GatewayPaymentJob
from payquickersdk.models.gateway_payment_job_quote import GatewayPaymentJobQuote
from payquickersdk.models.languages import Languages
from payquickersdk.models.o_auth_scope_server import OAuthScopeServer
from payquickersdk.models.portal_payment_job import PortalPaymentJob
from payquickersdk.models.portal_payment_job_quote import PortalPaymentJobQuote
from payquickersdk.pay_quicker_sdk_client import PayQuickerSdkClient

DESTINATION = "dest-631b200f-665d-4dbe-bd01-000000000001"
SOURCE = "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860"


def sdk_client(sandbox, secret: str | None = None) -> PayQuickerSdkClient:
    class SandboxConfiguration(Configuration):
        # Every environment's base URL is the sandbox's; requests are built by the SDK as shipped.
        environments = {environment: {Server.API: sandbox.base_url} for environment in Environment}

    credentials = ServerCredentials(
        o_auth_client_id=sandbox.client_id,
        o_auth_client_secret=secret or sandbox.client_secret,
        o_auth_scopes=[OAuthScopeServer.READONLY, OAuthScopeServer.MODIFY],
    )
    return PayQuickerSdkClient(config=SandboxConfiguration(server_credentials=credentials, timeout=10))


def gateway_quote(number: int, **fields: object) -> GatewayPaymentJobQuote:
    values = {
        "amount": 12.5,
        "currency": "USD",
        "source_token": SOURCE,
        "destination_token": DESTINATION,
        "note": "Thanks!",
        "memo": "sdk payout",
        "purpose": "BONUS",
        "client_payment_id": f"sdk-{number}",
        **fields,
    }
    return GatewayPaymentJobQuote(**values)


def test_the_sdk_gets_a_token(sandbox) -> None:
    token = sdk_client(sandbox).server.fetch_token()
    assert (token.token_type, token.expires_in, token.scope) == ("Bearer", 3600, "modify readonly")
    assert len(token.access_token) == 64
    with pytest.raises(OAuthProviderException) as refused:
        sdk_client(sandbox, secret="wrong").server.fetch_token()
    assert refused.value.response_code == 401 and refused.value.error == "invalid_client"


def test_the_sdk_creates_lists_in_en_us_retrieves_and_cancels(sandbox) -> None:
    client = sdk_client(sandbox)
    body = GatewayPaymentJob(
        not_before=datetime(2030, 1, 1, 9, 30, tzinfo=timezone.utc),
        items=[gateway_quote(0), gateway_quote(1)],
    )
    created = client.jobs.create_payment_job(body)
    assert created.token.startswith("jobs-") and created.count == 2 and created.status == "SCHEDULED"
    assert created.not_before.datetime == datetime(2030, 1, 1, 9, 30, tzinfo=timezone.utc)
    assert [item.client_payment_id for item in created.items] == ["sdk-0", "sdk-1"]

    listed = client.jobs.list_payment_jobs(1, 10, sort="-created", language=Languages.ENUS)
    assert [job.token for job in listed.payload] == [created.token] and listed.meta.record_count == "1"
    (list_call,) = api_calls(sandbox, "GET", "/payments/jobs")
    assert "language=en-US" in list_call["query"], "the SDK sends the tag, not the member name"

    retrieved = client.jobs.retrieve_payment_job(
        created.token, filter="status:SCHEDULED", language=Languages.ZHHANT
    )
    assert retrieved.token == created.token and len(retrieved.items) == 2
    assert "language=zh-Hant" in api_calls(sandbox, "GET", created.token)[0]["query"]

    cancelled = client.jobs.cancel_payment_job(created.token)
    assert cancelled.status == "CANCELLED" and {item.status for item in cancelled.items} == {"CANCELLED"}
    assert sandbox.admin.ledger() == []
    assert {entry["status"] for entry in sandbox.admin.requests()} == {200}


def test_the_sdk_pays_portal_users(sandbox) -> None:
    client = sdk_client(sandbox)
    quote = PortalPaymentJobQuote(
        amount=7,
        currency="EUR",
        email="payee@example.com",
        program_user_id="user-00042",
        client_payment_id="sdk-p",
    )
    created = client.jobs.create_payment_job(PortalPaymentJob(items=[quote]))
    sandbox.admin.advance_clock(60)
    done = client.jobs.retrieve_payment_job(created.token)
    assert done.status == "COMPLETED" and done.items[0].email == "payee@example.com"
    assert [(entry["amount"], entry["currency"]) for entry in sandbox.admin.ledger()] == [(7, "EUR")]


def test_sandbox_errors_reach_the_sdk_as_api_error_results(sandbox) -> None:
    client = sdk_client(sandbox)
    with pytest.raises(ApiErrorResultException) as bad_currency:
        client.jobs.create_payment_job(GatewayPaymentJob(items=[gateway_quote(0, currency="usd")]))
    assert bad_currency.value.response_code == 400 and bad_currency.value.code == 400
    assert bad_currency.value.message.startswith("items[0].currency: must be an ISO 4217 code")
    with pytest.raises(ApiErrorResultException) as unknown:
        client.jobs.retrieve_payment_job("jobs-00000000-0000-0000-0000-000000000000")
    assert unknown.value.response_code == 404
    with pytest.raises(ApiErrorResultException) as page_size:
        client.jobs.list_payment_jobs(1, 51)
    assert page_size.value.message.startswith("pageSize: must be a whole number from 1 to 50")


def test_the_sdks_example_defaults_go_on_the_wire(sandbox) -> None:
    """
    Where the SDK and the contract part: a quote built without values sends the reference's
    example destination, source and clientPaymentId (``d4b6f130-…``), not "absent". The
    sandbox takes the first such job (they are valid values) and refuses the second as a
    repeated clientPaymentId: without deduplication it would pay the example destination twice.
    """
    client = sdk_client(sandbox)
    first = client.jobs.create_payment_job(GatewayPaymentJob(items=[GatewayPaymentJobQuote()]))
    item = first.items[0]
    assert (item.amount, item.currency, item.destination_token, item.client_payment_id) == (
        1.02,
        "USD",
        "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
        "d4b6f130-1d1c-4ce2-903a-0c1ad128f55e",
    )
    with pytest.raises(ApiErrorResultException) as repeated:
        client.jobs.create_payment_job(GatewayPaymentJob(items=[GatewayPaymentJobQuote()]))
    assert "clientPaymentId 'd4b6f130-1d1c-4ce2-903a-0c1ad128f55e' is already used" in repeated.value.message
