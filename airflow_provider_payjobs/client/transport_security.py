"""
Where credentials and payment bodies may go, and which certificates the clients trust.

One set of rules for the worker's requests client and the triggerer's aiohttp client:

- **Transport.** https anywhere; plain http only to a loopback host (the local sandbox), unless
  the connection says ``allow_insecure_http`` on purpose (a proxy in a private network).
- **Trust.** ``verify`` true trusts certifi's bundle (the one requests ships), false trusts
  anything, a path trusts exactly that bundle (file) or directory of certificates. The
  environment (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``) never changes what a connection
  trusts: requests would let it win over ``session.verify``; the connection's setting wins here.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from urllib.parse import urlsplit

import certifi

from airflow_provider_payjobs.exceptions import PayJobsValidationError

# The environment variables that make other clients trust other certificates; named in errors.
CA_ENVIRONMENT_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def is_loopback(host: str) -> bool:
    """
    Whether ``host`` is this machine: exactly ``localhost``, or an IP literal in 127.0.0.0/8 or ::1.

    Nothing a resolver could send elsewhere: ``localhost.`` and ``127.0.0.1.`` are names that go
    to DNS, and an IPv4-mapped ``::ffff:127.0.0.1`` is left to be refused.
    """
    name = host.removeprefix("[").removesuffix("]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_transport(base_url: str, allow_insecure_http: bool) -> list[str]:
    """
    Refuse plain http beyond loopback unless allowed; the warnings a connection deserves.

    :param base_url: the resolved API base URL.
    :param allow_insecure_http: the connection's ``allow_insecure_http`` extra.
    :raises PayJobsValidationError: plain http to a host beyond loopback, not allowed.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme != "http" or is_loopback(host):
        return []
    if not allow_insecure_http:
        raise PayJobsValidationError(
            "host",
            f"is plain http to {host}, beyond loopback: the client secret, tokens and payees would "
            "cross the network unencrypted. Use https, or set the connection extra "
            '"allow_insecure_http": true for a proxy in a private network you trust',
        )
    return [
        f"Connection sends the client secret, tokens and payment bodies over plain http to {host} "
        "(allow_insecure_http is set): anyone on the network path can read them"
    ]


def bypasses_proxies(base_url: str) -> bool:
    """
    Whether calls to ``base_url`` must ignore the environment's proxies: a loopback host (a proxy
    cannot reach this machine's loopback, and plain http to it would carry the secret in clear).
    """
    return is_loopback(urlsplit(base_url).hostname or "")


def ca_bundle(verify: bool | str) -> str | None:
    """
    The certificates a connection trusts: a file or directory path, or None to verify nothing.

    :param verify: the ``verify`` setting (true, false, or a CA bundle path).
    :raises PayJobsValidationError: the path names no file or directory.
    """
    if verify is False:
        return None
    if verify is True:
        return certifi.where()
    path = os.path.expanduser(verify)
    if not os.path.exists(path):
        raise PayJobsValidationError(
            "extra.verify",
            "must be true, false, or the path of a CA bundle file or directory that exists",
            verify,
        )
    return path


def verify_warnings(verify: bool | str) -> list[str]:
    """The warning a connection that verifies no certificate deserves."""
    if verify is not False:
        return []
    return [
        "Connection does not verify TLS certificates (verify is false): anyone who can intercept "
        "the connection can impersonate PayQuicker and read the secret; use it against a test server only"
    ]


def ssl_context(bundle: str | None) -> ssl.SSLContext | bool:
    """The async client's ``ssl`` setting for :func:`ca_bundle`'s answer: the same trust as requests."""
    if bundle is None:
        return False
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def tls_failure_hint(base_url: str, from_bare_host: bool, verify: bool | str) -> str:
    """
    What to check when TLS failed, for the error's text ("" when there is nothing to add).

    :param base_url: the URL the client used.
    :param from_bare_host: the URL was built from a host without a scheme (so https was assumed).
    :param verify: the ``verify`` setting.
    """
    hints = []
    if from_bare_host:
        plain = "http" + base_url.removeprefix("https")
        hints.append(
            f"the host has no scheme, so {base_url} was built and reached over https; if the server "
            f"speaks plain http (the sandbox does), write the whole URL as the host: {plain}"
        )
    named = [name for name in CA_ENVIRONMENT_VARIABLES if os.environ.get(name)]
    if verify is True and named:
        hints.append(
            f"verify is true, which trusts certifi's bundle, not {' or '.join(named)} from the "
            "environment: to trust that bundle, set the verify extra to its path"
        )
    return "".join(f"; {hint}" for hint in hints)
