"""Airflow's REST API (v2), used as a person using the UI would: trigger, mark, clear, read."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float, every: float = 0.5) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (requests.RequestException, KeyError) as error:
            last_error = error
        time.sleep(every)
    raise TimeoutError(
        f"timed out after {timeout:g} s waiting for {what}" + (f" ({last_error})" if last_error else "")
    )


class AirflowApi:
    """
    A logged-in client of the api-server.

    :param base_url: e.g. ``http://127.0.0.1:8080``.
    :param username: a user of the simple auth manager.
    :param password: that user's password.
    """

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.username, self.password = username, password

    def login(self) -> None:
        answer = requests.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=30,
        )
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if answer.status_code == 401:
            self.login()
            answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if answer.status_code >= 400:
            raise ApiError(f"{method} {path}: {answer.status_code} {answer.text[:500]}", answer.status_code)
        return answer.json() if answer.content else None

    # --- what a person does -----------------------------------------------------------------

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, logical_date: str | None = None
    ) -> str:
        """
        Trigger a run; its run id.

        :param logical_date: e.g. ``"2026-11-01T00:00:00Z"``; None: a run without one.
        """
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def set_variable(self, key: str, value: str) -> None:
        self.call("POST", "/variables", json={"key": key, "value": value})

    def delete_variable(self, key: str) -> None:
        self.call("DELETE", f"/variables/{key}")

    def delete_run(self, dag_id: str, run_id: str) -> None:
        self.call("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")

    def mark(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        self.call(
            "PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": state}
        )

    def mark_run(self, dag_id: str, run_id: str, state: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def clear(self, dag_id: str, run_id: str, task_id: str) -> None:
        self.call(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False},
        )

    # --- what a person reads ----------------------------------------------------------------

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        answer = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in answer["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        try:
            return self.call("GET", path, params={"deserialize": True, "stringify": False})["value"]
        except ApiError as error:
            if error.status_code == 404:
                return None
            raise

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        answer = self.session.get(
            f"{self.base_url}/api/v2{path}",
            params={"full_content": True},
            headers={"Accept": "text/plain"},
            timeout=30,
        )
        return answer.text if answer.ok else ""

    def running_triggerers(self) -> list[int]:
        """Triggerer jobs that have not ended (a SIGKILLed one stays "running" until replaced)."""
        jobs = self.call("GET", "/jobs", params={"job_type": "TriggererJob", "job_state": "running"})["jobs"]
        return sorted(job["id"] for job in jobs)

    def wait_run_done(self, dag_id: str, run_id: str, timeout: float = 120) -> str:
        return wait_for(
            f"DAG run {dag_id} {run_id} to finish",
            lambda: (state := self.run_state(dag_id, run_id)) in ("success", "failed") and state,
            timeout,
        )


class ApiError(RuntimeError):
    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code
