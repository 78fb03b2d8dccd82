"""A small client of the ``/_sandbox/`` admin endpoints, for tests, the demo and the soak harness."""

from __future__ import annotations

from typing import Any

import requests


class SandboxAdmin:
    """
    Steers a running sandbox: faults, clock, settings, and what it saw.

    :param root_url: the sandbox's address without ``/api/v2``, e.g. ``http://127.0.0.1:8023``.
    """

    def __init__(self, root_url: str) -> None:
        self.root_url = root_url.rstrip("/")
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(method, f"{self.root_url}/_sandbox/{path}", json=body, timeout=30)
        if not answer.ok:
            raise ValueError(
                f"sandbox admin {method} {path} refused: HTTP {answer.status_code} {answer.text}"
            )
        return answer.json()

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "faults")

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        return self._call("PUT", "faults", settings)

    def script_faults(self, *rules: dict[str, Any]) -> dict[str, Any]:
        """Replace the one-shot fault script, e.g. ``{"fault": "500", "method": "GET", "times": 2}``."""
        return self._call("PUT", "faults", {"script": list(rules)})

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")

    def set_config(self, **settings: Any) -> dict[str, Any]:
        return self._call("PUT", "config", settings)

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "clock", {"advance": seconds})

    def freeze_clock(self, frozen: bool = True) -> dict[str, Any]:
        return self._call("POST", "clock", {"frozen": frozen})

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def ledger(self) -> list[dict[str, Any]]:
        return self._call("GET", "ledger")

    def expire_tokens(self, older_than_seconds: float | None = None) -> None:
        """Expire every access token, or those issued more than ``older_than_seconds`` ago."""
        body = None if older_than_seconds is None else {"older_than_seconds": older_than_seconds}
        self._call("POST", "tokens/expire", body)

    def reset(self) -> None:
        self._call("POST", "reset")
