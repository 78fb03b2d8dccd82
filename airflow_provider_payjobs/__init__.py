"""Apache Airflow provider for the PayQuicker Payment Jobs API."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
# The project's documentation index (Airflow's Providers page links to it).
DOCUMENTATION_URL = "https://airflow-provider-payjobs.readthedocs.io/en/stable/"


# The connection form: also returned by PayJobsHook.get_ui_field_behaviour() for Airflow 3.0 and
# 3.1, which read it from the hook rather than from the provider info.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"login": "Client ID", "password": "Client Secret", "host": "Base URL (optional)"},
    "placeholders": {
        "host": "https://api.sandbox.payquicker.io/api/v2",
        "extra": '{"environment": "sandbox", "api_version": "2026.02.01"}',
    },
}


def get_provider_info() -> dict[str, Any]:
    """What Airflow's providers manager reads from the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-payjobs",
        "name": "PayQuicker Payment Jobs",
        "description": "Create, cancel and wait on PayQuicker payment jobs; with a local sandbox server.",
        "documentation-url": DOCUMENTATION_URL,
        "versions": [__version__],
        "hooks": [
            {
                "integration-name": "PayQuicker Payment Jobs",
                "python-modules": ["airflow_provider_payjobs.hooks.payjobs"],
            }
        ],
        "operators": [
            {
                "integration-name": "PayQuicker Payment Jobs",
                "python-modules": ["airflow_provider_payjobs.operators.payjobs"],
            }
        ],
        "sensors": [
            {
                "integration-name": "PayQuicker Payment Jobs",
                "python-modules": ["airflow_provider_payjobs.sensors.payjobs"],
            }
        ],
        "triggers": [
            {
                "integration-name": "PayQuicker Payment Jobs",
                "python-modules": ["airflow_provider_payjobs.triggers.payjobs"],
            }
        ],
        "extra-links": ["airflow_provider_payjobs.links.payjobs.PaymentJobLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_payjobs.hooks.payjobs.PayJobsHook",
                "connection-type": "payjobs",
                "hook-name": "PayQuicker Payment Jobs",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": _connection_fields(),
            }
        ],
    }


def _connection_fields() -> dict[str, Any]:
    """
    The connection extras shown as form fields (JSON schema per field).

    A field's ``default`` is what the form shows and saves for a new connection, so it is the
    default the hook uses (from ``connection_settings``), never a guess: Environment shows
    "sandbox" rather than an empty choice, and the Verify TLS switch is on, as TLS is verified.
    The API version and the create settle time show no default: a saved value would pin them
    (the API version must follow the provider; the settle time follows the timeout).
    """
    from airflow_provider_payjobs.client.connection_settings import (
        DEFAULT_ENVIRONMENT,
        DEFAULT_MAX_ANSWER_BYTES,
        DEFAULT_SANDBOX_INSTANCE,
        DEFAULT_SCOPES,
        DEFAULT_TIMEOUT_SECONDS,
        DEFAULT_UAT_INSTANCE,
        DEFAULT_VERIFY,
    )
    from airflow_provider_payjobs.client.models import API_VERSION, Environment
    from airflow_provider_payjobs.client.retries import RetryPolicy

    retries = RetryPolicy()

    def field(label: str, kind: str, description: str, **schema: Any) -> dict[str, Any]:
        return {"label": label, "schema": {"type": [kind, "null"], **schema}, "description": description}

    return {
        "environment": field(
            "Environment",
            "string",
            f"the PayQuicker server; default {DEFAULT_ENVIRONMENT.value}; ignored when Base URL is set",
            enum=[member.value for member in Environment],
            default=DEFAULT_ENVIRONMENT.value,
        ),
        "sandbox_instance": field(
            "Sandbox instance",
            "string",
            "api.{instance}.payquicker.io",
            default=DEFAULT_SANDBOX_INSTANCE,
        ),
        "uat_instance": field(
            "UAT instance", "string", "api.{instance}.payquicker.io", default=DEFAULT_UAT_INSTANCE
        ),
        "api_version": field("API version", "string", f"X-MyPayQuicker-Version header; empty: {API_VERSION}"),
        "scopes": field("Scopes", "string", "space-delimited OAuth scopes", default=DEFAULT_SCOPES),
        "timeout": field(
            "Timeout (seconds)",
            "number",
            "one HTTP request in all: connect, send and read the whole answer",
            default=DEFAULT_TIMEOUT_SECONDS,
        ),
        "verify": field(
            "Verify TLS",
            "boolean",
            "verify the server certificate",
            default=DEFAULT_VERIFY,
        ),
        "allow_insecure_http": field(
            "Allow plain http",
            "boolean",
            "let Base URL be plain http to a host beyond loopback (a proxy in a private network); "
            "the secret and payees then cross the network unencrypted",
            default=False,
        ),
        "retry_limit": field(
            "Retry attempts", "integer", "attempts per call, the first included", default=retries.attempts
        ),
        "retry_min_wait": field(
            "Retry minimum wait", "number", "seconds before the first retry", default=retries.min_wait
        ),
        "retry_max_wait": field(
            "Retry maximum wait", "number", "cap on a wait between attempts", default=retries.max_wait
        ),
        "retry_after_cap": field(
            "Retry-After cap", "number", "cap on a server's Retry-After wait", default=retries.retry_after_cap
        ),
        "create_settle_seconds": field(
            "Create settle time",
            "number",
            "an unanswered create may land until 2 x timeout + this after it left; empty: the timeout",
        ),
        "max_answer_bytes": field(
            "Largest answer (bytes)",
            "integer",
            "answers larger than this (decompressed) are not read into memory",
            default=DEFAULT_MAX_ANSWER_BYTES,
        ),
        "portal_url": field(
            "Portal job URL",
            "string",
            "pattern for the 'PayQuicker job' link, with {job_token}; no link when empty",
        ),
    }
