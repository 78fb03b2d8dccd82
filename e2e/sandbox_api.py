"""The runner's own view of the sandbox: its API as a PayQuicker client sees it, and its admin side."""

from __future__ import annotations

from typing import Any

import requests

from airflow_provider_payjobs.client.models import API_VERSION, API_VERSION_HEADER
from airflow_provider_payjobs.sandbox.server import SandboxProcess


class SandboxApi:
    """
    Reads and creates jobs directly (never through the provider under test), and reads the ledger.

    :param sandbox: the running sandbox.
    """

    def __init__(self, sandbox: SandboxProcess) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers[API_VERSION_HEADER] = API_VERSION

    def _token(self) -> None:
        answer = self.session.post(
            f"{self.sandbox.base_url}/auth/connect/token",
            data={"grant_type": "client_credentials"},
            auth=(self.sandbox.client_id, self.sandbox.client_secret),
            timeout=10,
        )
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if "Authorization" not in self.session.headers:
            self._token()
        answer = self.session.request(method, f"{self.sandbox.base_url}{path}", timeout=10, **kwargs)
        if answer.status_code == 401:
            self._token()
            answer = self.session.request(method, f"{self.sandbox.base_url}{path}", timeout=10, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def job(self, token: str) -> dict[str, Any]:
        return self._call("GET", f"/payments/jobs/{token}")

    def status(self, token: str) -> str:
        return self.job(token)["status"]

    def create_job(self, body: dict[str, Any]) -> str:
        return self._call("POST", "/payments/jobs", json=body)["token"]

    def ledger(self, token: str | None = None) -> list[dict[str, Any]]:
        entries = self.sandbox.admin.ledger()
        return [entry for entry in entries if token is None or entry["job_token"] == token]

    def calls(self, method: str, path_end: str) -> int:
        """How many API calls of ``method`` on a path ending in ``path_end`` the sandbox answered."""
        return sum(
            1
            for entry in self.sandbox.admin.requests()
            if entry["method"] == method and entry["path"].endswith(path_end)
        )

    def complete_jobs(self) -> None:
        """Move the frozen clock past every step of a job's lifecycle (3 steps of 2 s)."""
        self.sandbox.admin.advance_clock(10)
