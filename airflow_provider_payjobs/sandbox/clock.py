"""The sandbox's clock: real time plus an offset, or frozen, so tests step it instead of sleeping."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from airflow_provider_payjobs.sandbox.limits import CLOCK_END_YEAR, OutOfBounds

CLOCK_END = datetime(CLOCK_END_YEAR, 1, 1, tzinfo=timezone.utc)


class SandboxClock:
    """
    Wall time at start, moved on by real elapsed time (unless frozen) and by :meth:`advance`.

    :param frozen: when True, time moves only through :meth:`advance`.
    """

    def __init__(self, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._origin = datetime.now(timezone.utc)
        self._started = time.monotonic()
        self._offset = 0.0
        self._frozen_at: float | None = 0.0 if frozen else None
        self.initially_frozen = frozen

    def _elapsed(self) -> float:
        running = self._frozen_at if self._frozen_at is not None else time.monotonic() - self._started
        return running + self._offset

    def now(self) -> datetime:
        with self._lock:
            return self._origin + timedelta(seconds=self._elapsed())

    def advance(self, seconds: float) -> datetime:
        """Move time on by ``seconds``; refused (:class:`OutOfBounds`) where it would reach ``CLOCK_END``."""
        with self._lock:
            if self._origin + timedelta(seconds=self._elapsed() + seconds) >= CLOCK_END:
                raise OutOfBounds(f"advance would move the clock past {CLOCK_END_YEAR - 1}")
            self._offset += seconds
        return self.now()

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = time.monotonic() - self._started
            elif not frozen and self._frozen_at is not None:
                # Resume from where it stood: move the start so no time seems to have passed.
                self._started = time.monotonic() - self._frozen_at
                self._frozen_at = None

    def reset(self) -> None:
        with self._lock:
            self._origin = datetime.now(timezone.utc)
            self._started = time.monotonic()
            self._offset = 0.0
            self._frozen_at = 0.0 if self.initially_frozen else None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z``: how the sandbox writes every datetime."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
