"""The connection form shows the defaults the hook uses, and the provider info links to the docs."""

from __future__ import annotations

from types import SimpleNamespace

from airflow_provider_payjobs import DOCUMENTATION_URL, get_provider_info
from airflow_provider_payjobs.airflow_support.compat import airflow_version_at_least
from airflow_provider_payjobs.client.connection_settings import PayJobsSettings

FIELDS = get_provider_info()["connection-types"][0]["conn-fields"]


def _connection(extra: dict) -> SimpleNamespace:
    return SimpleNamespace(
        login="client", password="secret", host="", port=None, schema="", extra_dejson=extra
    )


def test_a_connection_saved_with_the_forms_defaults_is_a_connection_with_no_extras() -> None:
    shown = {name: spec["schema"]["default"] for name, spec in FIELDS.items() if "default" in spec["schema"]}
    assert shown["environment"] == "sandbox" and shown["verify"] is True and shown["timeout"] == 30
    assert PayJobsSettings.from_connection(_connection(shown)) == PayJobsSettings.from_connection(
        _connection({})
    )


def test_no_field_offers_a_null_choice_or_hides_its_default() -> None:
    assert None not in FIELDS["environment"]["schema"]["enum"]
    for name, spec in FIELDS.items():
        if "default" not in spec["schema"]:
            # No default shown: the description says what an empty field means.
            assert "empty" in spec["description"], name


def test_airflow_gives_the_ui_those_defaults() -> None:
    import importlib.util

    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    HookMetaService.hook_meta_data.cache_clear()
    meta = next(m for m in HookMetaService.hook_meta_data() if m.connection_type == "payjobs")
    if airflow_version_at_least("3.2"):  # the provider info's conn-fields
        assert meta.extra_fields["environment"]["value"] == "sandbox"
        assert meta.extra_fields["verify"]["value"] is True
        assert meta.extra_fields["verify"]["schema"]["title"] == "Verify TLS"
        assert meta.extra_fields["allow_insecure_http"]["value"] is False
    else:
        # Airflow 3.0 and 3.1 build extra fields only from a hook's WTForms widgets; this hook
        # has none, so the extras go in the Extra box, whose placeholder shows them.
        assert meta.extra_fields is None
    # Airflow 3.0 reads a hook's form only where wtforms is installed (as with the FAB provider).
    if airflow_version_at_least("3.1") or importlib.util.find_spec("wtforms") is not None:
        assert meta.standard_fields.login.title == "Client ID"
        assert meta.standard_fields.port.hidden and meta.standard_fields.url_schema.hidden


def test_provider_info_links_to_the_documentation() -> None:
    info = get_provider_info()
    assert info["documentation-url"] == DOCUMENTATION_URL
    assert DOCUMENTATION_URL.startswith("https://")


def test_airflows_providers_endpoint_reads_it() -> None:
    """Airflow's /api/v2/providers reads documentation-url without a default: without it, a 500."""
    from airflow.providers_manager import ProvidersManager

    try:  # Airflow 3.1+
        from airflow.api_fastapi.core_api.services.public.providers import _provider_mapper
    except ImportError:  # Airflow 3.0, whose answer has no documentation URL yet
        from airflow.api_fastapi.core_api.routes.public.providers import _provider_mapper

    provider = ProvidersManager().providers["airflow-provider-payjobs"]
    answer = _provider_mapper(provider)
    assert answer.package_name == "airflow-provider-payjobs"
    # Airflow 3.1 takes it from the "Documentation, <url>" project URL without stripping the
    # space after the comma (browsers ignore it); 3.2+ from the provider info.
    assert getattr(answer, "documentation_url", DOCUMENTATION_URL).strip() == DOCUMENTATION_URL
