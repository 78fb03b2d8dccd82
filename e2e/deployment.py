"""
A real Airflow deployment in temporary folders: PostgreSQL, the sandbox, and Airflow's api-server,
scheduler (LocalExecutor), dag-processor and triggerer as separate processes, with the PayQuicker
connection stored in the metadata database. A context manager that stops everything it started.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from airflow_provider_payjobs.sandbox.server import SandboxProcess, start_sandbox
from e2e.airflow_api import AirflowApi, wait_for
from e2e.processes import PostgreSQL, ProcessGroup, free_port

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
USERNAME = "admin"
# The sandbox's clock stands still until a case moves it: a job waits in SUBMITTED for as long as
# a case needs it deferred, then completes when the case advances the clock (3 steps of 2 s).
SANDBOX_FLAGS = ("--frozen-clock", "--step-seconds", "2")
TRIGGERER_HEALTH_SECONDS = 6  # a SIGKILLed triggerer's triggers move after this


class Deployment:
    """
    Everything of one e2e run; use as a context manager.

    :param keep: keep the temporary folder (logs, database) after stopping.
    :param connection_extra: extras of the ``payjobs_default`` connection.
    """

    def __init__(self, keep: bool = False, connection_extra: dict[str, Any] | None = None) -> None:
        self.keep = keep
        self.connection_extra = connection_extra or {}
        self.folder = Path(tempfile.mkdtemp(prefix="payjobs-e2e-"))
        self.folder.chmod(0o755)  # the postgres user reaches its data directory through it
        self.home = self.folder / "airflow"
        self.logs = self.folder / "logs"
        self.logs.mkdir()
        self.processes = ProcessGroup(self.logs)
        self.postgres = PostgreSQL(self.folder / "postgresql")
        self.api_port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.triggerer_starts = 0
        self._stack = ExitStack()
        self.sandbox: SandboxProcess
        self.api: AirflowApi

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # --- start and stop ------------------------------------------------------------------------

    def __enter__(self) -> Deployment:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start(self) -> None:
        self.postgres.start()
        self._stack.callback(self.postgres.stop)
        self.sandbox = self._stack.enter_context(start_sandbox(*SANDBOX_FLAGS))
        self.environment = self._environment()
        self._airflow("db", "migrate")
        self._airflow("connections", "add", "payjobs_default", "--conn-json", self._connection_json())
        for name in SERVICES:
            self.start_service(name)
        self.api = AirflowApi(self.base_url, USERNAME, self.password)
        wait_for("the api-server to answer", self._api_ready, timeout=120, every=1)
        wait_for("scheduler, dag-processor and triggerer to be healthy", self._healthy, timeout=120, every=1)

    def stop(self) -> None:
        """Stop the Airflow processes, then the sandbox and PostgreSQL; keep going past errors."""
        self.processes.stop_all()
        self._stack.close()
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def start_service(self, name: str) -> None:
        log_name = name
        if name == "triggerer":
            self.triggerer_starts += 1
            log_name = f"triggerer-{self.triggerer_starts}"
        # Every process shares this machine's log folder: no log-serving ports to open.
        skip = ["--skip-serve-logs"] if name in ("scheduler", "triggerer") else []
        self.processes.start(log_name, [AIRFLOW, name, *skip], self.environment)
        if name == "triggerer":
            self.processes.running["triggerer"] = self.processes.running.pop(log_name)

    def _environment(self) -> dict[str, str]:
        """Airflow's configuration, and nothing inherited from the caller's AIRFLOW_* variables."""
        passwords = self.folder / "passwords.json"
        passwords.write_text(json.dumps({USERNAME: self.password}))
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url("psycopg2"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self.postgres.url("asyncpg"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(16),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_HEALTH_SECONDS),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        }
        return {**inherited, **settings}

    def _connection_json(self) -> str:
        connection = json.loads(self.sandbox.connection_json())
        connection["extra"] = self.connection_extra
        return json.dumps(connection)

    def _airflow(self, *arguments: str) -> None:
        result = subprocess.run(
            [AIRFLOW, *arguments], env=self.environment, capture_output=True, text=True, check=False
        )
        (self.logs / "airflow-cli.log").open("a").write(
            f"$ airflow {arguments[0]} ...\n{result.stdout}{result.stderr}"
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {arguments[0]} failed:\n{result.stderr[-3000:]}")

    def _api_ready(self) -> bool:
        self.api.login()
        return True

    def _healthy(self) -> bool:
        died = self.processes.exited()
        if died:
            raise RuntimeError(f"Airflow processes exited: {died}; logs in {self.logs}")
        health = self.api.call("GET", "/monitor/health")
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

    # --- what an operator of the deployment does -------------------------------------------------

    def kill_triggerer(self, signum: int) -> None:
        """SIGTERM the triggerer's main process (a graceful stop) or SIGKILL its whole group."""
        self.processes.signal("triggerer", signum, whole_group=signum == signal.SIGKILL)
        self.processes.wait_gone("triggerer", timeout=60)

    def process_log_text(self) -> str:
        """What the Airflow processes (scheduler, triggerer, API server, DAG processor) logged so far."""
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("*.log")))

    def log_text(self) -> str:
        """Everything the Airflow processes and tasks logged so far."""
        parts = [self.process_log_text()]
        task_logs = self.home / "logs"
        if task_logs.exists():
            parts += [
                path.read_text(errors="replace") for path in task_logs.rglob("*.log*") if path.is_file()
            ]
        return "\n".join(parts)

    def wait_dags_parsed(self, dag_ids: list[str], timeout: float = 120) -> None:
        def parsed() -> bool:
            known = {dag["dag_id"] for dag in self.api.call("GET", "/dags", params={"limit": 100})["dags"]}
            return set(dag_ids) <= known

        wait_for(f"the dag-processor to parse {', '.join(dag_ids)}", parsed, timeout, every=1)
        for dag_id in dag_ids:
            self.api.unpause(dag_id)


def elapsed_since(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"
