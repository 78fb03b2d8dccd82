"""
The one retry policy of the provider, used by the hook's sync (requests) and async (aiohttp) calls.

Reads (GET) and cancels (DELETE) are retried on 5xx gateway-type answers, 429, dropped
connections and timeouts. A create (POST) is retried only when the request provably never
reached the server: a second POST that did reach it could pay people twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import monotonic, time
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import tenacity

from airflow_provider_payjobs.client.auth import TOKEN_PATH
from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsError, PayJobsTransportError

#: What one attempt of a call returns, and so the call.
Result = TypeVar("Result")


class TaskLogger(Protocol):
    """
    Where retries and the payout protocol log: a ``logging.Logger``, or the structlog logger
    Airflow 3 gives a hook or an operator as ``self.log``; both take a message and %-style arguments.
    """

    def info(self, message: Any, /, *args: Any) -> object:
        """
        Log at INFO level.

        :param message: the message, with ``%s`` placeholders.
        :param args: the values of its placeholders.
        """

    def warning(self, message: Any, /, *args: Any) -> object:
        """
        Log at WARNING level.

        :param message: the message, with ``%s`` placeholders.
        :param args: the values of its placeholders.
        """


RETRYABLE_STATUS_CODES = frozenset({429, 500, 502, 503, 504})
# delta-seconds (RFC 9110 says digits; a fraction is tolerated). Anything else is a date or garbage.
DELTA_SECONDS_RE = re.compile(r"[+-]?\d{1,20}(?:\.\d{1,20})?", re.ASCII)
IDEMPOTENT_METHODS = frozenset({"GET", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """
    How often and how long to retry a call.

    :param attempts: attempts per call, the first included (1 = never retry).
    :param min_wait: seconds before the first retry; doubled each time, with jitter.
    :param max_wait: cap on any wait between attempts.
    :param retry_after_cap: cap on a server's ``Retry-After`` wait.
    """

    attempts: int = 5
    min_wait: float = 1.0
    max_wait: float = 30.0
    retry_after_cap: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"retry attempts must be >= 1, got {self.attempts}")
        if self.min_wait < 0 or self.max_wait < self.min_wait or self.retry_after_cap < 0:
            raise ValueError("retry waits must satisfy 0 <= min_wait <= max_wait and retry_after_cap >= 0")

    def should_retry(self, error: BaseException, method: str, *, idempotent: bool | None = None) -> bool:
        """
        Whether ``error`` from a ``method`` call may be retried.

        :param error: what the attempt raised.
        :param method: the HTTP method of the call.
        :param idempotent: whether repeating the call is safe; None: GET and DELETE are. A call
            that is not may be retried only when the request provably never reached the server.
        """
        safe_to_repeat = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        if getattr(error, "path", None) == TOKEN_PATH:
            # The token fetch inside a call failed: the call's own request never left, and
            # asking for a token again is always safe. It spends the call's attempts, not new ones.
            safe_to_repeat = True
        if isinstance(error, PayJobsTransportError):
            if error.kind in PayJobsTransportError.PERMANENT_KINDS:
                return False
            return safe_to_repeat or not error.request_sent
        if isinstance(error, PayJobsApiError):
            return safe_to_repeat and error.status_code in RETRYABLE_STATUS_CODES
        return False

    def wait_seconds(self, retry_state: tenacity.RetryCallState) -> float:
        """
        Honour ``Retry-After`` (capped) when the server sent one, else exponential backoff with jitter.

        :param retry_state: tenacity's state of the call being retried.
        """
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, (int, float)) and not math.isnan(retry_after):
            return min(max(float(retry_after), 0.0), self.retry_after_cap)
        return self._backoff(retry_state)

    def _backoff(self, retry_state: tenacity.RetryCallState) -> float:
        return tenacity.wait_exponential_jitter(
            initial=self.min_wait, max=self.max_wait, jitter=self.min_wait
        )(retry_state)

    def _arguments(self, method: str, path: str, log: TaskLogger, idempotent: bool | None) -> dict[str, Any]:
        def log_retry(retry_state: tenacity.RetryCallState) -> None:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
            log.warning(
                "PayQuicker %s %s attempt %d of %d failed (%s); retrying in %.1f s",
                method,
                path,
                retry_state.attempt_number,
                self.attempts,
                error,
                wait,
            )

        return {
            "stop": tenacity.stop_after_attempt(self.attempts),
            "wait": self.wait_seconds,
            "retry": tenacity.retry_if_exception(
                lambda error: self.should_retry(error, method, idempotent=idempotent)
            ),
            "before_sleep": log_retry,
            "reraise": True,
        }

    def retrying(
        self, method: str, path: str, log: TaskLogger, *, idempotent: bool | None = None
    ) -> tenacity.Retrying:
        """
        A tenacity controller for one sync call.

        :param method: the HTTP method.
        :param path: the path called, for the retry log lines.
        :param log: where each retry is logged, with its reason and wait.
        :param idempotent: whether repeating the call is safe; None: GET and DELETE are.
        """
        return tenacity.Retrying(**self._arguments(method, path, log, idempotent))

    def async_retrying(
        self, method: str, path: str, log: TaskLogger, *, idempotent: bool | None = None
    ) -> tenacity.AsyncRetrying:
        """
        A tenacity controller for one async call: the same rules as :meth:`retrying`.

        :param method: the HTTP method.
        :param path: the path called, for the retry log lines.
        :param log: where each retry is logged, with its reason and wait.
        :param idempotent: whether repeating the call is safe; None: GET and DELETE are.
        """
        return tenacity.AsyncRetrying(**self._arguments(method, path, log, idempotent))

    def call(
        self,
        method: str,
        path: str,
        log: TaskLogger,
        attempt: Callable[[], Result],
        *,
        idempotent: bool | None = None,
        base_url: str = "",
    ) -> Result:
        """
        ``attempt()`` until it succeeds or this policy gives up: :meth:`retrying` around it.

        The whole call, its token fetch included, makes at most ``attempts`` attempts. The first
        runs bare: most calls succeed at once, and a thousand waits in one triggerer must not pay
        for the retry machinery on every poll. When it fails, tenacity takes over from that
        outcome (replayed as its first attempt), so the waits, the log lines and the limits are
        exactly those of :meth:`retrying`. The error a call gives up with says how it was tried.

        :param method: the HTTP method, which decides what may be retried.
        :param path: the path, for log lines.
        :param log: where retries are logged.
        :param attempt: makes one attempt and returns its result.
        :param idempotent: whether repeating the call is safe; None: GET and DELETE are.
        :param base_url: the server's base URL, whose host and port the error names when the
            call gives up.
        """
        tries = _Tries(method, path, base_url)
        try:
            return tries.run(attempt)
        except Exception as error:
            if self.attempts == 1 or not self.should_retry(error, method, idempotent=idempotent):
                tries.gave_up(error)
                raise
            replay: Exception | None = error
        try:
            for retry in self.retrying(method, path, log, idempotent=idempotent):
                with retry:
                    if replay is not None:
                        failure, replay = replay, None
                        raise failure
                    return tries.run(attempt)
        except Exception as error:
            tries.gave_up(error)
            raise
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def acall(
        self,
        method: str,
        path: str,
        log: TaskLogger,
        attempt: Callable[[], Awaitable[Result]],
        *,
        base_url: str = "",
    ) -> Result:
        """
        :meth:`call` for the event loop.

        :param method: the HTTP method, which decides what may be retried.
        :param path: the path, for log lines.
        :param log: where retries are logged.
        :param attempt: makes one attempt: a coroutine function returning its result.
        :param base_url: the server's base URL, whose host and port the error names when the
            call gives up.
        """
        tries = _Tries(method, path, base_url)
        try:
            return await tries.arun(attempt)
        except Exception as error:
            if self.attempts == 1 or not self.should_retry(error, method):
                tries.gave_up(error)
                raise
            replay: Exception | None = error
        try:
            async for retry in self.async_retrying(method, path, log):
                with retry:
                    if replay is not None:
                        failure, replay = replay, None
                        raise failure
                    return await tries.arun(attempt)
        except Exception as error:
            tries.gave_up(error)
            raise
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def longest_call_seconds(self, timeout: float) -> float:
        """
        The most one call can take: every attempt its whole ``timeout``, every wait its cap.

        :param timeout: seconds one HTTP request may take in all.
        """
        return self.attempts * timeout + (self.attempts - 1) * max(self.max_wait, self.retry_after_cap)


class _Tries:
    """How many attempts one call made, and for how long: said in the error it gives up with."""

    def __init__(self, method: str, path: str, base_url: str) -> None:
        self.method = method
        self.path = path
        self.base_url = base_url  # read only when the call gives up: no parsing on the hot path
        self.count = 0
        self.started = monotonic()

    def run(self, attempt: Callable[[], Result]) -> Result:
        self.count += 1
        return attempt()

    async def arun(self, attempt: Callable[[], Awaitable[Result]]) -> Result:
        self.count += 1
        return await attempt()

    def gave_up(self, error: Exception) -> Exception:
        """``error``, its message ending with how the call was tried, when the server was the problem."""
        transient = isinstance(error, PayJobsTransportError) or (
            isinstance(error, PayJobsApiError) and error.status_code in RETRYABLE_STATUS_CODES
        )
        if isinstance(error, PayJobsError) and transient and not hasattr(error, "attempts_made"):
            seconds = monotonic() - self.started
            error.attempts_made = self.count  # type: ignore[attr-defined]
            error.seconds_spent = seconds  # type: ignore[attr-defined]
            where = f" to {server_address(self.base_url)}" if self.base_url else ""
            attempts = "1 attempt" if self.count == 1 else f"{self.count} attempts"
            summary = f"{self.method} {self.path}{where} gave up after {attempts} in {seconds:.1f} s"
            error.args = (f"{error.args[0] if error.args else error}; {summary}", *error.args[1:])
        return error


def parse_retry_after(header: str | None) -> float | None:
    """
    Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date, never negative.

    None for a header that is neither (garbage, NaN, infinity): the backoff applies instead. The
    caller caps the wait (``retry_after_cap``), so a date far ahead costs at most that.
    """
    if not header:
        return None
    header = header.strip()
    if DELTA_SECONDS_RE.fullmatch(header):
        return max(float(header), 0.0)
    try:
        seconds = parsedate_to_datetime(header).timestamp() - time()
    except Exception:  # the parser raises several kinds on garbage (and OverflowError on odd years)
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def server_address(base_url: str) -> str:
    """
    ``host:port`` of a base URL (the scheme's port when it names none), for error messages.

    :param base_url: the API base URL.
    """
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return parts.netloc
    return f"{parts.hostname}:{port}"
