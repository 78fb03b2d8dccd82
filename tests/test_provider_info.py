"""Airflow discovers the provider: entry point, connection type, and every registered class imports."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

import airflow_provider_payjobs
from airflow_provider_payjobs import get_provider_info


def _import(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def test_entry_point_points_at_get_provider_info() -> None:
    points = [
        point
        for point in entry_points(group="apache_airflow_provider")
        if point.value.startswith("airflow_provider_payjobs")
    ]
    assert [point.load() for point in points] == [get_provider_info]


def test_every_registered_module_and_class_imports() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-payjobs" and info["versions"] == [
        airflow_provider_payjobs.__version__
    ]
    for kind in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[kind]:
            for module in entry["python-modules"]:
                import_module(module)
    for link in info["extra-links"]:
        assert _import(link)().name == "PayQuicker job"
    connection = info["connection-types"][0]
    hook = _import(connection["hook-class-name"])
    assert connection["connection-type"] == hook.conn_type == "payjobs"
    assert (hook.default_conn_name, hook.conn_name_attr, hook.hook_name) == (
        "payjobs_default",
        "payjobs_conn_id",
        "PayQuicker Payment Jobs",
    )
    labels = connection["ui-field-behaviour"]["relabeling"]
    assert labels == {"login": "Client ID", "password": "Client Secret", "host": "Base URL (optional)"}
    assert {"environment", "api_version", "scopes", "timeout", "verify", "retry_limit", "portal_url"} <= set(
        connection["conn-fields"]
    )


def test_airflow_providers_manager_knows_the_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager

    assert "airflow-provider-payjobs" in ProvidersManager().providers
    try:  # Airflow 3.2+ resolves hooks for tasks through the task SDK.
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as HookRegistry
    except ImportError:
        HookRegistry = ProvidersManager
    hook_info = HookRegistry().hooks["payjobs"]
    assert hook_info.hook_class_name == "airflow_provider_payjobs.hooks.payjobs.PayJobsHook"
    assert hook_info.connection_testable


def test_the_hook_describes_the_connection_form_for_older_airflow() -> None:
    """
    Airflow 3.0 and 3.1 read the form from the hook, not from the provider info, and drop it
    unless it matches their schema (snake_case keys): the same form, checked by Airflow's schema.
    """
    import json
    from pathlib import Path

    import airflow
    import jsonschema

    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

    schema_file = Path(airflow.__file__).with_name("customized_form_field_behaviours.schema.json")
    behaviour = PayJobsHook.get_ui_field_behaviour()
    jsonschema.validate(behaviour, json.loads(schema_file.read_text()))
    declared = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert behaviour == {
        "hidden_fields": declared["hidden-fields"],
        "relabeling": declared["relabeling"],
        "placeholders": declared["placeholders"],
    }
