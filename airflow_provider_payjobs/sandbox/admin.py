"""A small client of the ``/_sandbox/`` admin endpoints, for tests, the demo and the soak harness."""

from __future__ import annotations

from typing import Any, cast

import requests


class SandboxAdmin:
    """
    Steers a running sandbox: faults, clock, settings, and what it saw.

    :param root_url: the sandbox's address without ``/api/v2``, e.g. ``http://127.0.0.1:8023``.
    """

    def __init__(self, root_url: str) -> None:
        self.root_url = root_url.rstrip("/")
        self.session = requests.Session()

    # Any: each public method casts the answer to the shape the admin API documents for it.
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(method, f"{self.root_url}/_sandbox/{path}", json=body, timeout=30)
        if not answer.ok:
            raise ValueError(
                f"sandbox admin {method} {path} refused: HTTP {answer.status_code} {answer.text}"
            )
        return answer.json()

    def faults(self) -> dict[str, Any]:
        """The fault settings in force (``GET /_sandbox/faults``)."""
        return cast("dict[str, Any]", self._call("GET", "faults"))

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """
        Change some fault settings, e.g. ``error_500=0.05, seed=42``; returns them all.

        :param settings: fault settings by name (``PUT /_sandbox/faults``); a bad one changes nothing.
        """
        return cast("dict[str, Any]", self._call("PUT", "faults", settings))

    def script_faults(self, *rules: dict[str, Any]) -> dict[str, Any]:
        """
        Replace the one-shot fault script; returns the fault settings.

        :param rules: the script's rules, in order, e.g. ``{"fault": "500", "method": "GET", "times": 2}``.
        """
        return cast("dict[str, Any]", self._call("PUT", "faults", {"script": list(rules)}))

    def config(self) -> dict[str, Any]:
        """The sandbox's settings: ``accept_duplicate_client_ids``, ``step_seconds``, ``token_ttl``."""
        return cast("dict[str, Any]", self._call("GET", "config"))

    def set_config(self, **settings: Any) -> dict[str, Any]:
        """
        Change some of the sandbox's settings; returns them all.

        :param settings: settings by name, e.g. ``accept_duplicate_client_ids=True``.
        """
        return cast("dict[str, Any]", self._call("PUT", "config", settings))

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """
        Move the sandbox clock forward; returns ``{"now", "frozen"}``.

        :param seconds: how far, 0 or more.
        """
        return cast("dict[str, Any]", self._call("POST", "clock", {"advance": seconds}))

    def freeze_clock(self, frozen: bool = True) -> dict[str, Any]:
        """
        Stop the sandbox clock, or let it run again; returns ``{"now", "frozen"}``.

        :param frozen: True: time moves only through :meth:`advance_clock`.
        """
        return cast("dict[str, Any]", self._call("POST", "clock", {"frozen": frozen}))

    def requests(self) -> list[dict[str, Any]]:
        """The log of API calls: method, path, query, status and fault of each."""
        return cast("list[dict[str, Any]]", self._call("GET", "requests"))

    def clear_requests(self) -> None:
        """Empty the log of API calls."""
        self._call("DELETE", "requests")

    def ledger(self) -> list[dict[str, Any]]:
        """
        Every payout accepted and not cancelled or failed.

        Each entry: job and item tokens, clientPaymentId, amount, currency, status.
        """
        return cast("list[dict[str, Any]]", self._call("GET", "ledger"))

    def expire_tokens(self, older_than_seconds: float | None = None) -> None:
        """
        Expire every access token, or those issued more than ``older_than_seconds`` ago.

        :param older_than_seconds: sandbox seconds; None expires them all.
        """
        body = None if older_than_seconds is None else {"older_than_seconds": older_than_seconds}
        self._call("POST", "tokens/expire", body)

    def reset(self) -> None:
        """Drop jobs, tokens, the request log and faults; clock and settings back to the command line's."""
        self._call("POST", "reset")
