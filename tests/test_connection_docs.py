"""
Every connection example of docs/connection.md, loaded the way Airflow loads it, calls a live sandbox.

An example is the block (a fenced block or a table) right under a ``<!-- example: NAME -->``
comment. The sandbox's port replaces 8023 and its credentials replace ``sandbox-client`` and
``sandbox-secret``; nothing else of an example is changed, except where a test says so (a host
no test can reach).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import trustme
from conftest import api_calls
from tls_proxy import TlsProxy

from airflow_provider_payjobs import UI_FIELD_BEHAVIOUR, get_provider_info
from airflow_provider_payjobs.client import settings_cache
from airflow_provider_payjobs.client.auth import TOKEN_CACHE
from airflow_provider_payjobs.client.connection_settings import PayJobsSettings, resolve_base_url
from airflow_provider_payjobs.hooks.payjobs import JOBS_PATH, PayJobsHook
from airflow_provider_payjobs.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PORT
from airflow_provider_payjobs.sandbox.server import SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "connection.md"
MARKER = re.compile(r"<!-- example: ([\w-]+) -->")
CODE_SPAN = re.compile(r"`([^`]+)`")
EXAMPLES = {
    "environments",
    "form",
    "env-json",
    "uri",
    "uri-bare-host",
    "get-uri",
    "connections-get",
    "backend-cfg",
    "backend-env",
    "backend-file",
    "production-json",
    "production-uri",
    "connections-test",
}
CONNECTION = get_provider_info()["connection-types"][0]
# What `airflow connections get -o json` says about the connection itself (other keys vary by version).
CONNECTION_KEYS = ("conn_id", "conn_type", "host", "schema", "login", "password", "port", "extra_dejson")


@dataclass(frozen=True)
class Example:
    """
    One example of the page.

    :param kind: the fence's info string (``console``, ``json``, ``ini``), or ``table``.
    :param lines: the block's lines, without its fences.
    """

    kind: str
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def commands(self) -> list[str]:
        """A console block's commands, without the ``$`` prompt."""
        return [line[2:] for line in self.lines if line.startswith("$ ")]

    @property
    def output(self) -> list[str]:
        """A console block's lines that are not commands: what the commands print."""
        return [line for line in self.lines if not line.startswith("$ ")]

    @property
    def rows(self) -> list[list[str]]:
        """A table's cells, row by row, without its header and rule."""
        return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in self.lines[2:]]


def page_examples() -> dict[str, Example]:
    """Each ``<!-- example: NAME -->`` of the page and the block right under it."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    found: dict[str, Example] = {}
    for index, line in enumerate(lines):
        marker = MARKER.fullmatch(line.strip())
        if marker is None:
            continue
        name = marker.group(1)
        assert name not in found, f"docs/connection.md has two examples named {name!r}"
        start = next(position for position in range(index + 1, len(lines)) if lines[position].strip())
        first = lines[start]
        if first.startswith("```"):
            end = lines.index("```", start + 1)
            found[name] = Example(first[3:].strip(), lines[start + 1 : end])
        elif first.startswith("|"):
            end = next((p for p in range(start, len(lines)) if not lines[p].startswith("|")), len(lines))
            found[name] = Example("table", lines[start:end])
        else:
            raise AssertionError(f"example {name!r} is followed by neither a fenced block nor a table")
    return found


def example(name: str) -> Example:
    return page_examples()[name]


def live(text: str, sandbox: SandboxProcess) -> str:
    """``text`` pointed at the running sandbox: its port and its credentials."""
    text = re.sub(rf"(127\.0\.0\.1(?::|%3A)){DEFAULT_PORT}\b", rf"\g<1>{port_of(sandbox)}", text)
    text = text.replace(DEFAULT_CLIENT_ID, sandbox.client_id)
    return text.replace(DEFAULT_CLIENT_SECRET, sandbox.client_secret)


def port_of(sandbox: SandboxProcess) -> int:
    port = urlsplit(sandbox.base_url).port
    assert port is not None
    return port


def exports(block: Example, sandbox: SandboxProcess | None = None) -> dict[str, str]:
    """The variables a console block exports (pointed at ``sandbox`` when given)."""
    found: dict[str, str] = {}
    for command in block.commands:
        words = shlex.split(live(command, sandbox) if sandbox else command)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            found[name] = value
    return found


def load_connection(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    """Set ``AIRFLOW_CONN_...`` variables as a deployment would; nothing cached from before."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings_cache.clear()
    TOKEN_CACHE.clear()


def call_the_sandbox(conn_id: str, sandbox: SandboxProcess, base_url: str | None = None) -> PayJobsSettings:
    """List one page through ``conn_id``; assert the sandbox answered it. The settings used."""
    listed_before = len(api_calls(sandbox, "GET", JOBS_PATH))
    hook = PayJobsHook(conn_id)
    try:
        page = hook.list_payment_jobs(1, 1)
    finally:
        hook.close()
    assert hook.settings.base_url == (base_url or sandbox.base_url)
    assert isinstance(page, dict)
    assert len(api_calls(sandbox, "GET", JOBS_PATH)) == listed_before + 1
    return hook.settings


LOG_LINE = re.compile(r"\[\d{4}-\d\d-\d\dT")


def run_console(block: Example, sandbox: SandboxProcess, replace: dict[str, str] | None = None) -> str:
    """Run a console block's commands in one bash, with this Python's ``python`` and ``airflow``."""
    script = "\n".join(["set -e", *(live(command, sandbox) for command in block.commands)])
    for old, new in (replace or {}).items():
        script = script.replace(old, new)
    # As in a user's shell: this Python's tools first, and no unit-test mode (it logs to stdout).
    environment = {
        name: value for name, value in os.environ.items() if name != "AIRFLOW__CORE__UNIT_TEST_MODE"
    }
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    finished = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, f"{script}\n{finished.stdout}\n{finished.stderr}"
    return finished.stdout


def connection_of(fields: SimpleNamespace | dict[str, Any]) -> SimpleNamespace:
    values = fields if isinstance(fields, dict) else vars(fields)
    return SimpleNamespace(
        **{"login": "id", "password": "secret", "host": "", "port": None, "schema": "", **values}
    )


# --- the page ----------------------------------------------------------------------------------


def test_the_page_has_each_example_once() -> None:
    assert set(page_examples()) == EXAMPLES


def test_each_environment_goes_to_the_server_the_page_names() -> None:
    rows = example("environments").rows
    assert len(rows) == len(CONNECTION["conn-fields"]["environment"]["schema"]["enum"])
    for cells in rows:
        environment, url = CODE_SPAN.findall(cells[0])[0], CODE_SPAN.findall(cells[1])[0]
        assert resolve_base_url(connection_of({}), {"environment": environment}) == url
        if "default" in cells[0]:
            assert resolve_base_url(connection_of({}), {}) == url


# --- 1. the UI form ----------------------------------------------------------------------------


def test_the_form_example_names_the_forms_own_labels_and_works(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = CONNECTION["conn-fields"]
    connection: dict[str, Any] = {"extra": {}}
    for label, field, value in example("form").rows:
        field_name = CODE_SPAN.findall(field)[0]
        entered = CODE_SPAN.findall(value)[0]
        assert field_name not in UI_FIELD_BEHAVIOUR["hidden-fields"], f"{label} is hidden in the form"
        if field.startswith("extra"):
            assert fields[field_name]["label"] == label
            connection["extra"][field_name] = _as_entered(fields[field_name]["schema"], entered)
        elif field_name == "conn_id":
            assert (label, entered) == ("Connection Id", PayJobsHook.default_conn_name)
        elif field_name == "conn_type":
            assert (label, entered) == ("Connection Type", CONNECTION["hook-name"])
            connection["conn_type"] = CONNECTION["connection-type"]
        else:
            assert UI_FIELD_BEHAVIOUR["relabeling"][field_name] == label
            connection[field_name] = live(entered, sandbox)
    load_connection(monkeypatch, {"AIRFLOW_CONN_PAYJOBS_DEFAULT": json.dumps(connection)})
    call_the_sandbox("payjobs_default", sandbox)


def _as_entered(schema: dict[str, Any], text: str) -> Any:
    """What a form widget of this JSON schema saves for ``text`` (a switch shows on or off)."""
    kind = next(kind for kind in schema["type"] if kind != "null")
    if kind == "boolean":
        return {"on": True, "off": False}[text]
    return float(text) if kind == "number" else text


# --- 2. JSON, 3. a URI ---------------------------------------------------------------------------


def test_the_json_example_works(sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    load_connection(monkeypatch, exports(example("env-json"), sandbox))
    settings = call_the_sandbox("payjobs_default", sandbox)
    assert settings.timeout == 60 and settings.retry_policy.attempts == 3


def test_the_uri_example_works(sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    load_connection(monkeypatch, exports(example("uri"), sandbox))
    call_the_sandbox("payjobs_default", sandbox)


def test_a_uri_whose_url_host_is_not_percent_encoded_is_refused_as_the_page_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.models.connection import Connection

    (uri,) = exports(example("uri")).values()
    assert "%3A%2F%2F" in uri, "the example's host is a percent-encoded URL"
    with pytest.raises(Exception, match="Invalid connection string"):
        Connection(conn_id="payjobs_default", uri=unquote(uri))
    # What a task sees (Airflow 3.3 logs the parse error at debug level only).
    load_connection(monkeypatch, {"AIRFLOW_CONN_PAYJOBS_DEFAULT": unquote(uri)})
    with pytest.raises(Exception, match=r"Invalid connection string|isn't defined"):
        PayJobsHook().list_payment_jobs(1, 1)


def test_the_bare_host_example_means_https_with_its_port_and_schema(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (uri,) = exports(example("uri-bare-host")).values()
    load_connection(monkeypatch, {"AIRFLOW_CONN_PAYJOBS_BARE": uri})
    settings = PayJobsHook("payjobs_bare").settings
    assert settings.base_url == "https://api.example.com:8443/api/v2"
    assert settings.timeout == 60 and settings.retry_policy.attempts == 3
    # The same URI with a host a test can reach: a TLS front of the sandbox, trusted by its CA.
    authority = trustme.CA()
    ca_bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_bundle))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    with TlsProxy(tls, ("127.0.0.1", port_of(sandbox))) as front:
        reachable = uri.replace(
            "my-client-id:my-client-secret", f"{sandbox.client_id}:{sandbox.client_secret}"
        )
        reachable = reachable.replace("api.example.com:8443", f"127.0.0.1:{front.port}")
        load_connection(
            monkeypatch, {"AIRFLOW_CONN_PAYJOBS_BARE": f"{reachable}&verify={quote(str(ca_bundle), safe='')}"}
        )
        call_the_sandbox("payjobs_bare", sandbox, base_url=f"https://127.0.0.1:{front.port}/api/v2")


def test_the_uri_airflow_writes_is_the_one_the_page_shows_and_works(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = example("get-uri")
    printed = run_console(block, sandbox).strip()
    (shown,) = block.output
    assert printed == live(shown, sandbox)
    load_connection(monkeypatch, {"AIRFLOW_CONN_PAYJOBS_DEFAULT": printed})
    assert call_the_sandbox("payjobs_default", sandbox).timeout == 60


def test_airflow_connections_get_shows_what_the_page_shows(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_connection(monkeypatch, exports(example("uri"), sandbox))
    block = example("connections-get")
    # Airflow 3.0 writes its log lines to stdout too: the JSON is what is left.
    output = [line for line in run_console(block, sandbox).splitlines() if not LOG_LINE.match(line)]
    (printed,) = json.loads("\n".join(output))
    (shown,) = json.loads(live("\n".join(block.output), sandbox))
    assert {key: printed[key] for key in CONNECTION_KEYS} == {key: shown[key] for key in CONNECTION_KEYS}
    # Its URI loads back to a connection that works.
    load_connection(monkeypatch, {"AIRFLOW_CONN_PAYJOBS_DEFAULT": printed["get_uri"]})
    call_the_sandbox("payjobs_default", sandbox)


# --- 4. a secrets backend ------------------------------------------------------------------------


@pytest.fixture
def no_cached_secrets_backends() -> Iterator[None]:
    """
    Airflow 3.3 builds a configured backend once per process; a test that configures one must
    start and leave without it. (Earlier lines build it for every lookup.)
    """

    def forget() -> None:
        try:
            import airflow.sdk.configuration as sdk_configuration
        except ImportError:  # Airflow 3.0 and 3.1: no such cache
            sdk_configuration = None
        clear = getattr(sdk_configuration, "clear_secrets_backends_cache", None)
        if clear is not None:
            clear()
        try:
            from airflow.sdk.execution_time.cache import SecretCache
        except ImportError:
            return
        SecretCache.reset()  # type: ignore[no-untyped-call]

    forget()
    yield
    forget()


def test_the_secrets_backend_example_works(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_cached_secrets_backends: None
) -> None:
    connections_file = tmp_path / "connections.json"
    connections_file.write_text(live(example("backend-file").text, sandbox), encoding="utf-8")
    variables = exports(example("backend-env"))
    # airflow.cfg says the same as the variables.
    cfg = configparser.ConfigParser()
    cfg.read_string(example("backend-cfg").text)
    assert cfg["secrets"]["backend"] == variables["AIRFLOW__SECRETS__BACKEND"]
    assert json.loads(cfg["secrets"]["backend_kwargs"]) == json.loads(
        variables["AIRFLOW__SECRETS__BACKEND_KWARGS"]
    )
    # Only the file defines the connections now.
    monkeypatch.delenv("AIRFLOW_CONN_PAYJOBS_DEFAULT")
    with pytest.raises(Exception, match="isn't defined"):
        PayJobsHook().list_payment_jobs(1, 1)
    kwargs = json.loads(variables["AIRFLOW__SECRETS__BACKEND_KWARGS"])
    kwargs["connections_file_path"] = str(connections_file)
    variables["AIRFLOW__SECRETS__BACKEND_KWARGS"] = json.dumps(kwargs)
    load_connection(monkeypatch, variables)
    assert call_the_sandbox("payjobs_default", sandbox).timeout == 60
    assert call_the_sandbox("payjobs_uri", sandbox).timeout == 60


# --- 5. the real API ---------------------------------------------------------------------------


def test_the_production_examples_go_to_the_production_api_and_say_the_same(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved = []
    for name in ("production-json", "production-uri"):
        load_connection(monkeypatch, exports(example(name)))
        settings = PayJobsHook("payjobs_production").settings
        assert settings.base_url == "https://api.payquicker.io/api/v2"
        assert (settings.credentials.scopes, settings.verify, settings.timeout) == (
            "readonly modify",
            True,
            60,
        )
        resolved.append(settings)
    assert resolved[0] == resolved[1]
    # Nothing but the server differs from a connection the sandbox serves: its scopes are granted.
    (production,) = exports(example("production-json")).values()
    fields = json.loads(production)
    fields.update(login=sandbox.client_id, password=sandbox.client_secret, host=sandbox.base_url)
    load_connection(monkeypatch, {"AIRFLOW_CONN_PAYJOBS_PRODUCTION": json.dumps(fields)})
    call_the_sandbox("payjobs_production", sandbox)


def test_airflow_connections_test_says_what_the_page_shows(
    sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_connection(monkeypatch, exports(example("env-json"), sandbox))
    listed_before = len(api_calls(sandbox, "GET", JOBS_PATH))
    block = example("connections-test")
    printed = [line for line in run_console(block, sandbox).splitlines() if line.strip()]
    shown = [line for line in block.output if line.strip()]
    assert [line for line in printed if line in shown] == shown, printed
    assert len(api_calls(sandbox, "GET", JOBS_PATH)) == listed_before + 1


# --- a TLS front for the bare host ---------------------------------------------------------------
