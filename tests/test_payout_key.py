"""
Payouts as a payments team means them: a payout key paid once across runs, exact money, one
retry budget per call, failures that no retry can mend, the connection's type, truthful logs.

Real HTTP to the sandbox, in both its modes: deduplicating clientPaymentIds and not.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal

import pytest
from conftest import api_calls, connection_json, logged
from payloads import gateway_item
from test_operators_and_trigger import context

from airflow_provider_payjobs.airflow_support.compat import AirflowFailException
from airflow_provider_payjobs.exceptions import PayJobsPayoutMismatchError, PayJobsTransportError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.operators.payjobs import CreatePaymentJobOperator
from airflow_provider_payjobs.payout.payment_ids import payout_scope

PAYEES = [gateway_item(number, clientPaymentId=None, amount="125.00") for number in range(4)]


@pytest.fixture(params=["dedupe", "no-dedupe"])
def server_mode(request, sandbox) -> str:
    sandbox.admin.set_config(accept_duplicate_client_ids=request.param == "no-dedupe")
    return request.param


def pay(items: list[dict], run_id: str, key: str | None = "payroll-2026-11", **options) -> str:
    operator = CreatePaymentJobOperator(task_id="pay", body={"items": items}, payout_key=key, **options)
    return operator.execute(context(run_id=run_id))


def payments_per_id(sandbox) -> Counter[str]:
    return Counter(entry["clientPaymentId"] for entry in sandbox.admin.ledger())


def test_every_run_of_a_key_pays_each_item_once(sandbox, server_mode: str) -> None:
    first = pay(PAYEES, "manual__1")
    again = pay(PAYEES, "scheduled__2026-11-01")  # a re-run of the date: another run id
    assert again == first, "the second run adopts the first run's job"
    paid = payments_per_id(sandbox)
    assert len(paid) == len(PAYEES) and set(paid.values()) == {1}
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1, "looked before posting: one POST"


def test_without_a_key_every_run_is_its_own_payout(sandbox) -> None:
    pay(PAYEES, "manual__1", key=None)
    pay(PAYEES, "manual__2", key=None)
    assert len(sandbox.admin.ledger()) == 2 * len(PAYEES), "documented: no key, each run pays"


def test_items_in_another_order_neither_pay_twice_nor_block(sandbox, server_mode: str) -> None:
    first = pay(PAYEES, "manual__1")
    shuffled = PAYEES[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != PAYEES
    assert pay(shuffled, "manual__2") == first
    assert len(sandbox.admin.ledger()) == len(PAYEES)


def test_two_items_to_one_payee_may_swap(sandbox, server_mode: str) -> None:
    items = [gateway_item(0, clientPaymentId=None, amount=amount) for amount in ("10", "20")]
    first = pay(items, "manual__1")
    assert pay(list(reversed(items)), "manual__2") == first
    assert len(sandbox.admin.ledger()) == 2


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda items: items[1].update(amount="130.00"), "items[1].amount is 130, the job has 125"),
        (lambda items: items[2].update(currency="EUR"), "items[2]"),
        (lambda items: items.__setitem__(3, gateway_item(9, clientPaymentId=None)), "items[3]"),
        (lambda items: items.pop(), "paid other items"),
        (lambda items: items.__setitem__(slice(None), [gateway_item(8, clientPaymentId=None)]), "paid other"),
    ],
    ids=["amount", "currency", "payee", "one item fewer", "all items new"],
)
def test_changed_items_under_a_key_fail_closed_naming_the_difference(
    sandbox, server_mode: str, change, named: str
) -> None:
    pay(PAYEES, "manual__1")
    changed = [dict(item) for item in PAYEES]
    change(changed)
    with pytest.raises(AirflowFailException, match="not retried") as caught:
        pay(changed, "manual__2", retries=3)
    assert isinstance(caught.value.__cause__, PayJobsPayoutMismatchError)
    assert named in str(caught.value)
    assert "dest-631b200f" not in str(caught.value), "payees are never named in messages"
    assert len(api_calls(sandbox, "POST", "/payments/jobs")) == 1, "nothing more posted"
    assert len(sandbox.admin.ledger()) == len(PAYEES)


def test_a_cleared_state_store_on_try_1_pays_nothing_twice(sandbox, server_mode: str) -> None:
    """No payout key: the run's derived ids, a store emptied after try 1 paid."""
    first = CreatePaymentJobOperator(task_id="pay", body={"items": PAYEES}).execute(context())
    assert CreatePaymentJobOperator(task_id="pay", body={"items": PAYEES}).execute(context()) == first
    assert len(sandbox.admin.ledger()) == len(PAYEES)


def test_own_ids_are_looked_for_before_posting(sandbox, server_mode: str) -> None:
    items = [gateway_item(number, clientPaymentId=f"payroll-2026-11-{number}") for number in range(3)]
    first = CreatePaymentJobOperator(task_id="pay", body={"items": items}).execute(context(run_id="a"))
    assert (
        CreatePaymentJobOperator(task_id="pay", body={"items": items}).execute(context(run_id="b")) == first
    )
    assert len(sandbox.admin.ledger()) == 3


def test_the_hook_derives_the_operators_ids(sandbox) -> None:
    operator = CreatePaymentJobOperator(task_id="pay", body={"items": PAYEES}, payout_key="k")
    from_operator = operator.prepare_body(context())
    from_hook = PayJobsHook().derive_payout_ids({"items": PAYEES}, "k", dag_id="dag", task_id="pay")
    assert from_hook["items"] == from_operator["items"]
    assert all(
        item["clientPaymentId"].startswith(payout_scope("dag", "pay", "k", -1)) for item in from_hook["items"]
    )


def test_a_float_sum_is_sent_as_the_decimal_meant(sandbox, monkeypatch) -> None:
    import requests

    sent = []
    request = requests.Session.request

    def spy(self, method, url, *args, **kwargs):
        if method == "POST" and url.endswith("/payments/jobs"):
            sent.append(kwargs["data"])
        return request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    PayJobsHook().create_payment_job({"items": [gateway_item(0, amount=0.1 + 0.2)]})
    (data,) = sent
    assert b'"amount":0.3,' in data and b"0.30000000000000004" not in data
    (entry,) = sandbox.admin.ledger()
    assert Decimal(str(entry["amount"])) == Decimal("0.3")


@pytest.mark.parametrize(("currency", "accepted"), [("USD", False), ("KWD", True), ("JPY", False)])
def test_fraction_digits_beyond_the_minor_unit_are_refused_before_sending(
    sandbox, currency: str, accepted: bool
) -> None:
    body = {"items": [gateway_item(0, amount="10.005", currency=currency)]}
    if accepted:
        CreatePaymentJobOperator(task_id="pay", body=body).execute(context())
        assert len(sandbox.admin.ledger()) == 1
        return
    with pytest.raises(AirflowFailException, match=rf"items\[0\]\.amount.*{currency} allows at most"):
        CreatePaymentJobOperator(task_id="pay", body=body, retries=2).execute(context())
    assert api_calls(sandbox) == []


def test_an_unreachable_host_gets_retry_limit_attempts_in_all(monkeypatch, unused_port: int) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT",
        json.dumps(
            {
                "conn_type": "payjobs",
                "login": "id",
                "password": "secret",
                "host": f"http://127.0.0.1:{unused_port}/api/v2",
                "extra": {"retry_limit": 3, "retry_min_wait": 0.01, "retry_max_wait": 0.02},
            }
        ),
    )
    import socket

    connects = []
    real_connect = socket.socket.connect

    def counting(self, address):
        if address[1] == unused_port:
            connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    with pytest.raises(PayJobsTransportError) as caught:
        PayJobsHook().create_payment_job({"items": [gateway_item(0)]})
    assert len(connects) == 3, "the token fetch spends the call's attempts, not a budget of its own"
    message = str(caught.value)
    assert f"127.0.0.1:{unused_port}" in message and "3 attempts" in message and " s" in message
    assert caught.value.attempts_made == 3


def test_a_connection_of_another_type_is_refused(sandbox, monkeypatch) -> None:
    as_http = json.loads(connection_json(sandbox))
    as_http["conn_type"] = "http"
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", json.dumps(as_http))
    with pytest.raises(AirflowFailException, match=r"of type 'http', not 'payjobs'.*conn_type"):
        CreatePaymentJobOperator(task_id="pay", body={"items": PAYEES}).execute(context())
    assert api_calls(sandbox) == []


def test_bad_credentials_fail_at_once(sandbox, monkeypatch) -> None:
    wrong = json.loads(connection_json(sandbox))
    wrong["password"] = "not-the-secret"
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", json.dumps(wrong))
    with pytest.raises(AirflowFailException, match=r"invalid_client.*not retried"):
        CreatePaymentJobOperator(task_id="pay", body={"items": PAYEES}).execute(context())


def test_adopting_and_creating_are_each_logged_once_as_what_happened(sandbox, capsys) -> None:
    pay(PAYEES, "manual__1")
    first = logged(capsys)
    assert first.count("Created payment job") == 1 and "adopting it" not in first
    pay(PAYEES, "manual__2")
    second = logged(capsys)
    assert second.count("adopting it") == 1, second
    assert "Created payment job" not in second and "Resuming" not in second
