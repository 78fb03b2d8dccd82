"""
Transport rules and TLS trust, proved over real sockets on both clients (requests and aiohttp).

The sandbox speaks plain http; :class:`~tests.tls_proxy.TlsProxy` puts a private CA's certificate
(made by trustme) in front of it. ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` are set in every
TLS test, as many images set them, to show that the connection's ``verify`` wins over them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import trustme
from conftest import FAST_RETRIES, api_calls, logged
from test_policy_units import connection
from tls_proxy import TlsProxy

from airflow_provider_payjobs.client.connection_settings import PayJobsSettings
from airflow_provider_payjobs.exceptions import PayJobsTransportError, PayJobsValidationError
from airflow_provider_payjobs.hooks import payjobs as hook_module
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.sandbox.server import start_sandbox

BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Our private CA (which signed the proxy's certificate) and an unrelated one, as PEM files."""
    folder = tmp_path_factory.mktemp("authorities")
    ours, other = trustme.CA(), trustme.CA()
    ours.cert_pem.write_to_path(str(folder / "ours.pem"))
    other.cert_pem.write_to_path(str(folder / "other.pem"))
    return {"authority": ours, "ours": str(folder / "ours.pem"), "other": str(folder / "other.pem")}


@pytest.fixture
def https_sandbox(sandbox, bundles: dict[str, Any]) -> Iterator[TlsProxy]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    bundles["authority"].issue_cert("127.0.0.1", "localhost").configure_cert(context)
    target = urlsplit(sandbox.base_url)
    with TlsProxy(context, (target.hostname or "127.0.0.1", target.port or 80)) as proxy:
        yield proxy


def _connect(monkeypatch: pytest.MonkeyPatch, sandbox, host: str, **extra: Any) -> None:
    connection = {
        "conn_type": "payjobs",
        "login": sandbox.client_id,
        "password": sandbox.client_secret,
        "host": host,
        "extra": {**FAST_RETRIES, **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", json.dumps(connection))


class _Credentials:
    client_id, client_secret = "client", "secret"


def _sync_call() -> Any:
    return PayJobsHook().list_payment_jobs(1, 10)


def _async_call() -> Any:
    return asyncio.run(PayJobsHook().alist_payment_jobs(1, 10))


def _outcome(call: Any) -> str:
    try:
        call()
    except PayJobsTransportError as error:
        return f"{error.kind}: {error}"
    return "ok"


# --- TLS: the same trust on the worker's and the triggerer's path ---------------------------------


@pytest.mark.parametrize(
    ("verify", "environment_bundle", "expected"),
    [
        # A private CA in verify: trusted, though the environment names another CA.
        ("ours", "other", "ok"),
        # verify false: nothing verified, whatever the environment says.
        (False, "other", "ok"),
        # verify true: certifi's bundle, never widened by the environment's bundle.
        (True, "ours", "tls"),
        (True, "other", "tls"),
    ],
)
@pytest.mark.parametrize("call", [_sync_call, _async_call], ids=["sync", "async"])
def test_verify_means_the_same_on_both_clients_and_wins_over_the_environment(
    monkeypatch, sandbox, https_sandbox, bundles, verify, environment_bundle, expected, call
) -> None:
    for name in BUNDLE_VARIABLES:
        monkeypatch.setenv(name, bundles[environment_bundle])
    setting = bundles[verify] if isinstance(verify, str) else verify
    _connect(monkeypatch, sandbox, f"https://127.0.0.1:{https_sandbox.port}/api/v2", verify=setting)
    outcome = _outcome(call)
    assert outcome.split(":")[0] == expected, outcome
    if expected == "tls":
        # The error says why the environment's bundle was not used, and what to write instead.
        assert "REQUESTS_CA_BUNDLE" in outcome and "set the verify extra to its path" in outcome
        assert api_calls(sandbox) == []  # nothing got through the handshake
    else:
        assert api_calls(sandbox, "GET", "/payments/jobs")


@pytest.mark.parametrize("call", [_sync_call, _async_call], ids=["sync", "async"])
def test_a_ca_path_that_does_not_exist_is_a_connection_error_naming_it(
    monkeypatch, sandbox, tmp_path, call
) -> None:
    missing = tmp_path / "no-such-bundle.pem"
    _connect(monkeypatch, sandbox, sandbox.base_url, verify=str(missing))
    with pytest.raises(PayJobsValidationError) as raised:
        call()
    assert raised.value.field == "extra.verify" and "no-such-bundle.pem" in str(raised.value)
    assert api_calls(sandbox) == []


def test_verify_false_is_warned_once_per_connection(monkeypatch, sandbox, https_sandbox, capsys) -> None:
    monkeypatch.setattr(hook_module, "_WARNED", set())
    _connect(monkeypatch, sandbox, f"https://127.0.0.1:{https_sandbox.port}/api/v2", verify=False)
    _sync_call()
    _async_call()
    _sync_call()
    assert logged(capsys).count("does not verify TLS certificates") == 1


def test_a_bare_host_that_speaks_http_fails_naming_the_url_built_and_the_http_form(
    monkeypatch, sandbox
) -> None:
    address = urlsplit(sandbox.base_url)
    connection = {
        "conn_type": "payjobs",
        "login": sandbox.client_id,
        "password": sandbox.client_secret,
        "host": address.hostname,
        "port": address.port,
        "extra": FAST_RETRIES,
    }
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", json.dumps(connection))
    for call in (_sync_call, _async_call):
        with pytest.raises(PayJobsTransportError) as raised:
            call()
        text = str(raised.value)
        assert raised.value.kind == "tls"
        assert f"https://127.0.0.1:{address.port}/api/v2 was built" in text
        assert f"http://127.0.0.1:{address.port}/api/v2" in text


def test_the_uri_form_with_an_encoded_http_url_reaches_the_sandbox(monkeypatch, sandbox) -> None:
    secret = quote(sandbox.client_secret, safe="")
    uri = f"payjobs://{sandbox.client_id}:{secret}@{quote(sandbox.base_url, safe='')}?retry_limit=2"
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", uri)
    assert _sync_call()["payload"] == _async_call()["payload"] == []
    assert len(api_calls(sandbox, "GET", "/payments/jobs")) == 2


# --- transport: plain http only to loopback ---------------------------------------------------------


def _this_machines_address() -> str | None:
    """An address of this machine beyond loopback (the interface a default route would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent by a UDP connect
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.fixture
def address_beyond_loopback() -> str:
    address = _this_machines_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    return address


@pytest.fixture
def sandbox_beyond_loopback(tmp_path: Path, address_beyond_loopback: str) -> Iterator[Any]:
    secret = tmp_path / "secret"
    secret.write_text("not-the-default-secret")
    with start_sandbox("--host", address_beyond_loopback, "--client-secret-file", str(secret)) as process:
        yield process


def test_plain_http_beyond_loopback_is_refused_naming_the_host_and_the_extra(
    monkeypatch, address_beyond_loopback
) -> None:
    # A listener on this machine's own address: any request, even for a token, would connect to it.
    with socket.create_server((address_beyond_loopback, 0)) as listener:
        listener.setblocking(False)
        host = f"http://{address_beyond_loopback}:{listener.getsockname()[1]}/api/v2"
        _connect(monkeypatch, _Credentials(), host)
        for call in (_sync_call, _async_call):
            with pytest.raises(PayJobsValidationError) as raised:
                call()
            assert raised.value.field == "host"
            text = str(raised.value)
            assert f"plain http to {address_beyond_loopback}" in text and "allow_insecure_http" in text
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected: nothing was sent


def test_allow_insecure_http_lets_it_through_with_one_warning(
    monkeypatch, sandbox_beyond_loopback, capsys
) -> None:
    monkeypatch.setattr(hook_module, "_WARNED", set())
    monkeypatch.setenv(
        "AIRFLOW_CONN_PAYJOBS_DEFAULT", sandbox_beyond_loopback.connection_json(allow_insecure_http=True)
    )
    _sync_call()
    _async_call()
    assert logged(capsys).count("over plain http to") == 1


@pytest.mark.parametrize(
    "host", ["http://localhost:8023/api/v2", "http://127.8.9.10/api/v2", "http://[::1]:8023/api/v2"]
)
def test_loopback_hosts_may_be_plain_http(host: str) -> None:
    assert PayJobsSettings.from_connection(connection(host)).warnings == ()


@pytest.mark.parametrize("value", ["maybe", 2, "yes please"])
def test_allow_insecure_http_takes_only_a_boolean(value: Any) -> None:
    with pytest.raises(PayJobsValidationError, match=r"extra\.allow_insecure_http.*true or false"):
        PayJobsSettings.from_connection(
            connection("http://proxy.internal/api/v2", extra={"allow_insecure_http": value})
        )


@pytest.mark.parametrize(
    "host",
    [
        "http://192.0.2.1/api/v2",
        "http://payments.example.com/api/v2",
        "http://127.0.0.1./api/v2",  # a name with a dot at the end goes to DNS
        "http://localhost./api/v2",
        "http://[::ffff:127.0.0.1]/api/v2",
        "http://0.0.0.0:8023/api/v2",
    ],
)
def test_plain_http_to_anything_but_a_loopback_literal_is_refused(host: str) -> None:
    with pytest.raises(PayJobsValidationError, match="allow_insecure_http") as raised:
        PayJobsSettings.from_connection(connection(host))
    assert raised.value.field == "host"


@pytest.mark.parametrize(
    "host",
    [
        "http://127.0.0.1@evil.example/api/v2",  # userinfo: the host is evil.example
        "http://user:hunter2@127.0.0.1:8023/api/v2",
        "http://evil.example\\@127.0.0.1:8023/api/v2",  # urllib3 would send this to evil.example
        "http://127.0.0.1:8023\\@evil.example/api/v2",
    ],
)
def test_a_host_clients_could_read_two_ways_is_refused_without_quoting_it(host: str) -> None:
    with pytest.raises(PayJobsValidationError) as raised:
        PayJobsSettings.from_connection(connection(host))
    assert raised.value.field == "host" and "hunter2" not in str(raised.value)


@pytest.mark.parametrize("call", [_sync_call, _async_call], ids=["sync", "async"])
def test_environment_proxies_are_not_used_for_a_loopback_host(
    monkeypatch, sandbox, unused_port, call
) -> None:
    # A proxy that refuses every connection: a client that used it would fail.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{unused_port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    _connect(monkeypatch, sandbox, sandbox.base_url)
    assert call()["payload"] == []


@pytest.mark.parametrize("form", ["directory", "home"])
@pytest.mark.parametrize("call", [_sync_call, _async_call], ids=["sync", "async"])
def test_a_ca_directory_or_a_path_under_home_is_trusted_on_both_clients(
    monkeypatch, sandbox, https_sandbox, bundles, tmp_path, form, call
) -> None:
    for name in BUNDLE_VARIABLES:
        monkeypatch.setenv(name, bundles["other"])
    if form == "directory":
        # OpenSSL looks a directory's certificates up by subject hash: <hash>.0
        subject_hash = subprocess.run(
            ["openssl", "x509", "-hash", "-noout", "-in", bundles["ours"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (tmp_path / "certs").mkdir()
        (tmp_path / "certs" / f"{subject_hash}.0").write_bytes(Path(bundles["ours"]).read_bytes())
        setting = str(tmp_path / "certs")
    else:
        monkeypatch.setenv("HOME", str(tmp_path))
        (tmp_path / "ca.pem").write_bytes(Path(bundles["ours"]).read_bytes())
        setting = "~/ca.pem"
    _connect(monkeypatch, sandbox, f"https://127.0.0.1:{https_sandbox.port}/api/v2", verify=setting)
    assert _outcome(call) == "ok"
