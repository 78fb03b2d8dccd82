"""Shared fixtures: one real sandbox server per test session, reset before each test."""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Airflow reads these at import time: keep every test run away from the user's ~/airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="payjobs-tests-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# Unit test mode draws a new Fernet key in every process: one key for the session, so that an
# `airflow` subprocess can read the trigger arguments (asset watchers) that this process stored.
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
_ROOT = Path(__file__).resolve().parents[1]
# dag.test() serializes DAGs from the configured bundles: the examples and the tests' own DAGs.
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in (
            ("payjobs_examples", _ROOT / "example_dags"),
            ("payjobs_test_dags", _ROOT / "tests" / "dags"),
        )
    ]
)

import pytest  # noqa: E402

from airflow_provider_payjobs.airflow_support.compat import reset_secrets_masker  # noqa: E402
from airflow_provider_payjobs.client import settings_cache  # noqa: E402
from airflow_provider_payjobs.client.auth import TOKEN_CACHE  # noqa: E402
from airflow_provider_payjobs.sandbox.server import SandboxProcess, start_sandbox  # noqa: E402

# Fast retries: tests check how often and why calls are retried, not how long they wait.
FAST_RETRIES = {
    "retry_limit": 4,
    "retry_min_wait": 0.01,
    "retry_max_wait": 0.05,
    # A create that may still be landing is waited for (2 x timeout + settle): keep that short.
    "timeout": 2,
    "create_settle_seconds": 0.05,
}


@pytest.fixture(autouse=True)
def _no_settings_from_another_test() -> None:
    """
    Hooks share connection settings for a minute; each test sets its own connection. Airflow's
    secrets masker starts empty too, as in every task process: grown over a whole session, it
    would recompile a pattern of thousands of secrets for each new token.
    """
    settings_cache.clear()
    reset_secrets_masker()


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with start_sandbox("--frozen-clock", "--step-seconds", "10") as process:
        yield process


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """A freshly reset sandbox with a frozen clock, with ``payjobs_default`` pointing at it."""
    return _fresh(sandbox_process, monkeypatch)


def _fresh(process: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    process.admin.reset()
    TOKEN_CACHE.clear()
    monkeypatch.setenv("AIRFLOW_CONN_PAYJOBS_DEFAULT", connection_json(process))
    return process


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


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's SQLite metadata database in this session's AIRFLOW_HOME, migrated once."""
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return _AIRFLOW_HOME


def airflow_dags_test(dag_id: str, variables: dict[str, object] | None = None):
    """
    ``airflow dags test dag_id`` in a child process with this environment, and Airflow Variables
    ``variables`` (JSON) given as ``AIRFLOW_VAR_...``; the finished process, output captured.
    """
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    environment = {
        **os.environ,
        **{f"AIRFLOW_VAR_{name.upper()}": json.dumps(value) for name, value in (variables or {}).items()},
    }
    return subprocess.run(
        [str(airflow), "dags", "test", dag_id],
        capture_output=True,
        text=True,
        env=environment,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="session")
def live_sandbox_process() -> Iterator[SandboxProcess]:
    """A sandbox whose clock runs in real time with short steps: for whole DAG runs."""
    with start_sandbox("--step-seconds", "0.3") as process:
        yield process


@pytest.fixture
def live_sandbox(live_sandbox_process: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    return _fresh(live_sandbox_process, monkeypatch)


def load_dag(path: Path, dag_id: str):
    """The DAG object ``dag_id`` defined in the file at ``path``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = [value for value in vars(module).values() if getattr(value, "dag_id", None) == dag_id]
    return dags[0]


EXAMPLE_DAGS = _ROOT / "example_dags"
TEST_DAGS = _ROOT / "tests" / "dags"


def logged(capsys: pytest.CaptureFixture[str]) -> str:
    """
    What was logged so far, as the captured output streams show it.

    Airflow 3.1+ hooks and operators log through structlog, which writes to the streams; 3.0's
    log through the standard library, whose handlers ``_log_to_the_running_tests_stderr`` points
    at the same streams.
    """
    captured = capsys.readouterr()
    return captured.out + captured.err


class _RunningTestsStderr:
    """A stream that is whatever ``sys.stderr`` is when written to."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _point_stream_handlers_at_the_running_test() -> None:
    """
    Airflow's ``configure_logging`` (``dag.test()``, ``debug_logging``) gives the root logger a
    StreamHandler bound to the ``sys.stderr`` of that moment; pytest closes that stream when the
    test phase ends, so later lines would be lost ("I/O operation on closed file").
    """
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and not isinstance(handler.stream, _RunningTestsStderr):
            with handler.lock:  # not setStream(): it flushes the old, maybe closed, stream
                handler.stream = _RunningTestsStderr()


@pytest.fixture(autouse=True)
def _log_to_the_running_tests_stderr() -> None:
    """Standard-library log lines reach the running test's captured output, on every Airflow."""
    _point_stream_handlers_at_the_running_test()


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """Airflow's logging at DEBUG for one test (structlog and the standard library)."""
    from airflow.sdk.log import configure_logging

    configure_logging(log_level="DEBUG", cache_logger_on_first_use=False)
    _point_stream_handlers_at_the_running_test()
    yield
    configure_logging(log_level="INFO", cache_logger_on_first_use=False)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
