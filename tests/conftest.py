"""Shared fixtures: one real sandbox server per test session, reset before each test."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Airflow reads these at import time: keep every test run away from the user's ~/airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="payjobs-tests-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402
from airflow_provider_payjobs.sandbox.server import SandboxProcess, start_sandbox  # noqa: E402

from airflow_provider_payjobs.auth import TOKEN_CACHE  # noqa: E402

# Fast retries: tests check how often and why calls are retried, not how long they wait.
FAST_RETRIES = {"retry_limit": 4, "retry_min_wait": 0.01, "retry_max_wait": 0.05}


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with start_sandbox("--frozen-clock", "--step-seconds", "10") as process:
        yield process


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """A freshly reset sandbox, with ``payjobs_default`` pointing at it."""
    sandbox_process.admin.reset()
    TOKEN_CACHE.clear()
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(sandbox_process))
    return sandbox_process


def connection_json(sandbox: SandboxProcess, **extra: object) -> str:
    """The JSON form of a connection to ``sandbox`` with fast retries and ``extra`` on top."""
    return json.dumps(
        {
            "conn_type": "payjobs",
            "login": sandbox.client_id,
            "password": sandbox.client_secret,
            "host": sandbox.base_url,
            "extra": {**FAST_RETRIES, **extra},
        }
    )


def api_calls(sandbox: SandboxProcess, method: str | None = None, path_end: str = "") -> list[dict]:
    """The sandbox's request log, narrowed to one method and path ending."""
    return [
        entry
        for entry in sandbox.admin.requests()
        if (method is None or entry["method"] == method) and entry["path"].endswith(path_end)
    ]


@pytest.fixture
def unused_port() -> int:
    """A loopback port nobody listens on (bound, then released: connections to it are refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
