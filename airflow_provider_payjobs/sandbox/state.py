"""Everything one running sandbox holds: settings, clock, jobs, tokens, faults and the request log."""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from starlette.requests import Request

from airflow_provider_payjobs.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from airflow_provider_payjobs.sandbox.clock import SandboxClock
from airflow_provider_payjobs.sandbox.faults import FaultInjector, FaultSettings
from airflow_provider_payjobs.sandbox.limits import (
    MAX_STEP_SECONDS,
    MAX_TOKEN_TTL,
    OutOfBounds,
    bounded_number,
)
from airflow_provider_payjobs.sandbox.store import JobStore, TokenStore

# Settings a running sandbox lets the admin endpoint change.
CHANGEABLE_CONFIG = ("accept_duplicate_client_ids", "step_seconds", "token_ttl")


@dataclass(frozen=True)
class SandboxConfig:
    """
    What the command line sets.

    :param client_id: the one OAuth client the sandbox knows.
    :param client_secret: its secret.
    :param scopes: the scopes that client may be granted.
    :param step_seconds: how long a job stays in each status.
    :param token_ttl: lifetime of an access token, in sandbox seconds.
    :param accept_duplicate_client_ids: model a server that does not deduplicate.
    """

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    scopes: frozenset[str] = frozenset({"readonly", "modify"})
    step_seconds: float = 2.0
    token_ttl: int = 3600
    accept_duplicate_client_ids: bool = False

    def public(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CHANGEABLE_CONFIG}

    def updated(self, changes: dict[str, Any]) -> SandboxConfig:
        """A copy with ``changes`` applied, checked; this one is left as it was."""
        unknown = sorted(set(changes) - set(CHANGEABLE_CONFIG))
        if unknown:
            raise OutOfBounds(f"unknown config {unknown[0]!r} (changeable: {', '.join(CHANGEABLE_CONFIG)})")
        new = replace(self, **changes)
        new.check()
        return new

    def check(self) -> None:
        """Every setting within its bounds (docs/sandbox.md), else :class:`OutOfBounds`."""
        if not isinstance(self.accept_duplicate_client_ids, bool):
            raise OutOfBounds("accept_duplicate_client_ids must be true or false")
        bounded_number("step_seconds", self.step_seconds, 0, MAX_STEP_SECONDS)
        bounded_number("token_ttl", self.token_ttl, 1, MAX_TOKEN_TTL, integer=True)


class SandboxState:
    """
    The whole state of one sandbox.

    :param config: the settings from the command line (``reset`` returns to them).
    :param faults: the fault settings from the command line.
    :param frozen_clock: start with a clock that moves only when told.
    """

    def __init__(self, config: SandboxConfig, faults: FaultSettings, frozen_clock: bool = False) -> None:
        self.initial_config = config
        self.config = config
        self.clock = SandboxClock(frozen=frozen_clock)
        self.store = JobStore(self.clock)
        self.tokens = TokenStore(self.clock)
        self.faults = FaultInjector(faults)
        self.request_log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self.generation = 0  # raised by every reset

    def log_request(self, request: Request, status: int | None, fault: str | None) -> None:
        entry = {
            "method": request.method,
            # From the scope, not request.url, which parses the Host header.
            "path": request.scope["path"],
            "query": request.scope["query_string"].decode("latin-1"),
            "status": status,
            "fault": fault,
        }
        with self._log_lock:
            self.request_log.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return list(self.request_log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def reset(self) -> None:
        self.generation += 1  # work still pending from before the reset must not act after it
        self.config = self.initial_config
        self.store.reset()
        self.tokens.expire_all()
        self.faults.replace(FaultSettings(**asdict(self.faults.initial)))
        self.clock.reset()
        self.clear_requests()

    @staticmethod
    def base_url(request: Request) -> str:
        """Where links point: from the Host header (checked on arrival), else the server's address."""
        return str(request.base_url).rstrip("/") + "/api/v2"

    @staticmethod
    def request_ref() -> str:
        return str(uuid.uuid4())
