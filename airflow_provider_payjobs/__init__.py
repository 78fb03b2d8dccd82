"""Apache Airflow provider for the PayQuicker Payment Jobs API."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


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
    """The connection extras shown as form fields (JSON schema per field)."""

    def field(label: str, kind: str, description: str, **schema: Any) -> dict[str, Any]:
        return {"label": label, "schema": {"type": [kind, "null"], **schema}, "description": description}

    return {
        "environment": field(
            "Environment",
            "string",
            "production, sandbox (default), uat or development; ignored when Base URL is set",
            enum=["production", "sandbox", "uat", "development", None],
        ),
        "sandbox_instance": field(
            "Sandbox instance", "string", "api.{instance}.payquicker.io; default sandbox"
        ),
        "uat_instance": field("UAT instance", "string", "api.{instance}.payquicker.io; default uat1"),
        "api_version": field("API version", "string", "X-MyPayQuicker-Version header; default 2026.02.01"),
        "scopes": field("Scopes", "string", "space-delimited OAuth scopes; default 'readonly modify'"),
        "timeout": field("Timeout (seconds)", "number", "per HTTP request; default 30"),
        "verify": field("Verify TLS", "boolean", "verify the server certificate; default true"),
        "retry_limit": field("Retry attempts", "integer", "attempts per call, first included; default 5"),
        "retry_min_wait": field("Retry minimum wait", "number", "seconds before the first retry; default 1"),
        "retry_max_wait": field("Retry maximum wait", "number", "cap on a wait between attempts; default 30"),
        "retry_after_cap": field(
            "Retry-After cap", "number", "cap on a server's Retry-After wait; default 60"
        ),
        "create_settle_seconds": field(
            "Create settle time",
            "number",
            "an unanswered create may land until 2 x timeout + this after it left; default: the timeout",
        ),
        "portal_url": field(
            "Portal job URL",
            "string",
            "pattern for the 'PayQuicker job' link, with {job_token}; no link when empty",
        ),
    }
