"""Turns an Airflow connection (plus hook arguments) into the settings of API calls."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_payjobs.client.auth import ClientCredentials
from airflow_provider_payjobs.client.models import API_VERSION, Environment
from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.client.transport_security import (
    ca_bundle,
    check_transport,
    tls_failure_hint,
    verify_warnings,
)
from airflow_provider_payjobs.exceptions import PayJobsValidationError

# The defaults of the connection's extras; the connection form shows these same values.
DEFAULT_ENVIRONMENT = Environment.SANDBOX
DEFAULT_SANDBOX_INSTANCE = "sandbox"
DEFAULT_UAT_INSTANCE = "uat1"
DEFAULT_SCOPES = "readonly modify"
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_VERIFY = True
MAX_TIMEOUT_SECONDS = 3600.0
# An answer larger than this is never read into memory (a page of 50 large jobs fits easily).
DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024
MIN_MAX_ANSWER_BYTES = 64 * 1024
# What goes into the version header: a date-like version, nothing that could break the header.
API_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,39}")
BASE_PATH = "/api/v2"
ENVIRONMENT_HOSTS = {
    Environment.PRODUCTION: "api.payquicker.io",
    Environment.SANDBOX: "api.{sandbox_instance}.payquicker.io",
    Environment.UAT: "api.{uat_instance}.payquicker.io",
    Environment.DEVELOPMENT: "api.local.payquicker.io",
}
# Extras a user may set; anything else is a typo worth reporting.
KNOWN_EXTRAS = frozenset(
    {
        "environment",
        "sandbox_instance",
        "uat_instance",
        "api_version",
        "scopes",
        "timeout",
        "verify",
        "allow_insecure_http",
        "retry_limit",
        "retry_min_wait",
        "retry_max_wait",
        "retry_after_cap",
        "create_settle_seconds",
        "max_answer_bytes",
        "portal_url",
    }
)
RETRY_FIELDS = {
    "retry_limit": "attempts",
    "retry_min_wait": "min_wait",
    "retry_max_wait": "max_wait",
    "retry_after_cap": "retry_after_cap",
}


@dataclass(frozen=True)
class PayJobsSettings:
    """
    Everything a call needs, resolved from one connection.

    :param credentials: OAuth client credentials and the base URL.
    :param api_version: the ``X-MyPayQuicker-Version`` header value.
    :param timeout: seconds one HTTP request may take in all: connect, send, and read the whole
        answer (waiting for a free connection in the async client's pool is not counted).
    :param verify: True (certifi's bundle), False, or a CA bundle path: the same trust on every
        path, whatever ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` say.
    :param retry_policy: the retry policy of every call.
    :param portal_url: pattern of the "PayQuicker job" link, with ``{job_token}``; None for no link.
    :param create_settle_seconds: a create that went unanswered (or got a 502/504) may still be
        saved until ``2 * timeout`` plus this after it left; nothing is posted again before
        (default: ``timeout``).
    :param max_answer_bytes: the largest answer read into memory (after decompression); a larger
        success is a malformed answer, a larger error answer is quoted only in part.
    :param from_bare_host: the base URL was built from a host without a scheme (https assumed).
    :param warnings: what the hook logs once per connection and process (plain http, no TLS
        verification).
    """

    credentials: ClientCredentials
    api_version: str
    timeout: float
    verify: bool | str
    retry_policy: RetryPolicy
    portal_url: str | None
    create_settle_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    from_bare_host: bool = False
    warnings: tuple[str, ...] = ()

    @cached_property
    def client_key(self) -> tuple[Any, ...]:
        """What must match for two hooks to share an HTTP client (never the secret itself)."""
        return (
            self.credentials.cache_key,
            self.api_version,
            self.timeout,
            str(self.verify),
            self.max_answer_bytes,
        )

    @property
    def create_landing_seconds(self) -> float:
        """How long after it left an unanswered create may still be saved (connect and read, settle)."""
        return 2 * self.timeout + self.create_settle_seconds

    @property
    def base_url(self) -> str:
        """The API base URL, ending in ``/api/v2``."""
        return self.credentials.base_url

    @cached_property
    def ca_bundle(self) -> str | None:
        """The CA bundle (file or directory) both clients verify with; None verifies nothing."""
        return ca_bundle(self.verify)

    def tls_failure_hint(self) -> str:
        """What a TLS error should add: the URL built from a bare host, an ignored environment bundle."""
        return tls_failure_hint(self.base_url, self.from_bare_host, self.verify)

    @classmethod
    def from_connection(cls, connection: Any, overrides: Mapping[str, Any] | None = None) -> PayJobsSettings:
        """
        Settings from an Airflow connection; ``overrides`` (hook arguments) win over extras.

        :param connection: an Airflow ``Connection``.
        :param overrides: non-None hook arguments named like the extras.
        """
        # The connection form saves fields left empty as null or "": those mean "not set".
        saved = connection.extra_dejson or {}
        extras = {key: value for key, value in saved.items() if value not in (None, "")}
        unknown = sorted(set(extras) - KNOWN_EXTRAS)
        if unknown:
            raise PayJobsValidationError(
                f"extra.{unknown[0]}",
                f"is not a PayJobs connection extra (known: {', '.join(sorted(KNOWN_EXTRAS))})",
            )
        extras.update({key: value for key, value in (overrides or {}).items() if value is not None})
        if not connection.login or not connection.password:
            raise PayJobsValidationError(
                "login/password", "the connection needs the OAuth client id and secret"
            )
        retry_arguments = {
            target: _number(extras[name], f"extra.{name}", integer=name == "retry_limit")
            for name, target in RETRY_FIELDS.items()
            if extras.get(name) is not None
        }
        try:
            retry_policy = RetryPolicy(**retry_arguments)
        except ValueError as error:
            raise PayJobsValidationError("extra.retry_*", str(error)) from None
        base_url = resolve_base_url(connection, extras)
        allow_insecure_http = _boolean(extras.get("allow_insecure_http", False), "extra.allow_insecure_http")
        warnings = check_transport(base_url, allow_insecure_http)
        verify = _boolean_or_text(extras.get("verify", DEFAULT_VERIFY))
        ca_bundle(verify)  # a CA path that does not exist fails here, before anything is sent
        warnings += verify_warnings(verify)
        credentials = ClientCredentials(
            base_url=base_url,
            client_id=connection.login,
            client_secret=connection.password,
            scopes=" ".join(str(extras.get("scopes") or DEFAULT_SCOPES).split()),
        )
        timeout = _number(extras.get("timeout", DEFAULT_TIMEOUT_SECONDS), "extra.timeout")
        if timeout > MAX_TIMEOUT_SECONDS:
            raise PayJobsValidationError("extra.timeout", f"must be at most {MAX_TIMEOUT_SECONDS:g}", timeout)
        settle = _number(extras.get("create_settle_seconds", timeout), "extra.create_settle_seconds")
        if settle < 0:
            raise PayJobsValidationError("extra.create_settle_seconds", "must be 0 or more", settle)
        max_answer_bytes = _number(
            extras.get("max_answer_bytes", DEFAULT_MAX_ANSWER_BYTES), "extra.max_answer_bytes", integer=True
        )
        if max_answer_bytes < MIN_MAX_ANSWER_BYTES:
            raise PayJobsValidationError(
                "extra.max_answer_bytes", f"must be at least {MIN_MAX_ANSWER_BYTES}", max_answer_bytes
            )
        api_version = str(extras.get("api_version") or API_VERSION)
        if not API_VERSION_RE.fullmatch(api_version):
            raise PayJobsValidationError(
                "extra.api_version",
                "must be a version such as 2026.02.01 (letters, digits, dots)",
                api_version,
            )
        return cls(
            credentials=credentials,
            api_version=api_version,
            timeout=timeout,
            verify=verify,
            retry_policy=retry_policy,
            portal_url=extras.get("portal_url") or None,
            create_settle_seconds=settle,
            max_answer_bytes=max_answer_bytes,
            from_bare_host=bool((connection.host or "").strip()) and "://" not in connection.host,
            warnings=tuple(warnings),
        )


def resolve_base_url(connection: Any, extras: Mapping[str, Any]) -> str:
    """
    The API base URL: the connection's host when set, else the ``environment`` extra's server.

    A host with a scheme is the full base URL (``http://127.0.0.1:8023/api/v2``). A bare
    host name is reached over HTTPS, with the connection's port and schema (path) if any.
    """
    host = (connection.host or "").strip()
    if host:
        if "://" in host:
            return _checked_url(host.rstrip("/"))
        port = f":{connection.port}" if connection.port else ""
        path = "/" + connection.schema.strip("/") if connection.schema else BASE_PATH
        return f"https://{host}{port}{path}"
    name = str(extras.get("environment") or DEFAULT_ENVIRONMENT.value).lower()
    try:
        environment = Environment(name)
    except ValueError:
        allowed = ", ".join(member.value for member in Environment)
        raise PayJobsValidationError("extra.environment", f"must be one of {allowed}", name) from None
    server = ENVIRONMENT_HOSTS[environment].format(
        sandbox_instance=extras.get("sandbox_instance") or DEFAULT_SANDBOX_INSTANCE,
        uat_instance=extras.get("uat_instance") or DEFAULT_UAT_INSTANCE,
    )
    return f"https://{server}{BASE_PATH}"


# What a host and port may be written with: names, IPv4, [IPv6], a port. No userinfo, no
# backslash: clients disagree on where such a host ends (urllib3 reads http://a\@b as host a).
SAFE_NETLOC_RE = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _checked_url(url: str) -> str:
    """A base URL given in full: http or https, a plain host, nothing that could break a request line."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # Not quoted: what precedes the @ may be a secret.
        raise PayJobsValidationError(
            "host", "must not hold a user or password: the client id and secret go in login and password"
        )
    if (
        parts.scheme not in ("http", "https")
        or not SAFE_NETLOC_RE.fullmatch(parts.netloc)
        or not url.isprintable()
        or " " in url
        or "\\" in url
    ):
        raise PayJobsValidationError("host", "must be a base URL such as https://host/api/v2", url)
    return url


def _number(value: Any, field: str, *, integer: bool = False) -> Any:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise PayJobsValidationError(field, f"must be {kind}", value)
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError, OverflowError):
        raise PayJobsValidationError(field, f"must be {kind}", value) from None
    if not math.isfinite(number) or abs(number) > 10**9:
        raise PayJobsValidationError(field, f"must be {kind} between -10^9 and 10^9", value)
    if number <= 0 and field in {"extra.timeout", "extra.retry_limit"}:
        raise PayJobsValidationError(field, "must be greater than 0", value)
    return number


TRUE_TEXTS = frozenset({"true", "1", "yes"})
FALSE_TEXTS = frozenset({"false", "0", "no"})


def _boolean_or_text(value: Any) -> bool | str:
    """
    A boolean, or a boolean-like string (a URI carries only text) as one; other text as it is
    (``verify``'s CA bundle path).
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in TRUE_TEXTS:
        return True
    if text.lower() in FALSE_TEXTS:
        return False
    return text


def _boolean(value: Any, field: str) -> bool:
    """A boolean extra: true or false, as JSON or as URI text; anything else is a typo worth naming."""
    parsed = _boolean_or_text(value)
    if isinstance(parsed, bool):
        return parsed
    raise PayJobsValidationError(field, "must be true or false", value)
