"""
The cursor of a payout watcher: what it remembers between polls and across triggerer restarts.

It holds the newest ``created`` seen, the jobs still open (being watched until they finish), and
the finished jobs of a short recent window (so a job listed again near the top is not reported
again). It never holds every job ever reported: a job older than the window and not open is
known by its age alone. Saved as JSON, it stays under :data:`MAX_CURSOR_BYTES`, below the 64 KB
Airflow allows per asset state store value: the window is narrowed first, then the open set is
cut and the cursor says so (the next start then reads every page to find the open jobs again).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_payjobs.client.validation import parse_rfc3339
from airflow_provider_payjobs.exceptions import PayJobsError

CURSOR_KEY_PREFIX = "payjobs_cursor."  # renaming it starts every watcher afresh
CURSOR_VERSION = 1
MAX_CURSOR_BYTES = 60_000  # Airflow's default limit is 65,535 bytes per value
LAST_REPORTED_KEPT = 20
ONE_TICK = timedelta(microseconds=1)


def cursor_key(payjobs_conn_id: str, prefix: str | None, statuses: list[str]) -> str:
    """
    The asset state store key of one watcher's cursor: watchers of one asset that differ in
    connection, prefix or statuses keep apart (poll interval, margin and budget do not count:
    changing them keeps the cursor).
    """
    identity = json.dumps([payjobs_conn_id, prefix, sorted(statuses)])
    return CURSOR_KEY_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:12]


@dataclass
class JobCursor:
    """
    What a watcher knows.

    :param prefix: the ``clientPaymentId`` prefix it was built for (another prefix means the
        open set must be found again).
    :param started_at: when the first scan ended (wall clock); None before it.
    :param newest: the newest ``created`` seen.
    :param since: the window's start: a job created before it and not open is already known.
    :param open: open jobs, each with the poll number that last saw it (not saved: a restart
        checks them all afresh).
    :param seen: finished jobs created at or after ``since`` that are already known, with ``created``.
    :param open_incomplete: the saved open set was cut to fit; the next start reads every page.
    :param last_reported: the last jobs reported, newest last (for people reading the cursor).
    """

    prefix: str | None = None
    started_at: datetime | None = None
    newest: datetime | None = None
    since: datetime | None = None
    open: dict[str, int] = field(default_factory=dict)
    seen: dict[str, datetime] = field(default_factory=dict)
    open_incomplete: bool = False
    last_reported: list[str] = field(default_factory=list)

    def copy(self) -> JobCursor:
        return replace(
            self, open=dict(self.open), seen=dict(self.seen), last_reported=list(self.last_reported)
        )

    def same_state(self, other: JobCursor) -> bool:
        """Whether saving ``other`` instead of this would change nothing a restart reads."""
        return self._state() == other._state()

    def _state(self) -> tuple[Any, ...]:
        return (
            self.prefix,
            self.started_at,
            self.newest,
            self.since,
            set(self.open),
            self.seen,
            self.open_incomplete,
        )

    # --- JSON -----------------------------------------------------------------------------------

    def to_json(
        self,
        writer: str,
        generation: int,
        about: dict[str, Any] | None = None,
        max_bytes: int = MAX_CURSOR_BYTES,
    ) -> dict[str, Any]:
        """
        The saved form, cut to fit ``max_bytes`` (see :func:`fit`).

        :param writer: which watcher instance saves it.
        :param generation: one more than the generation it replaces.
        :param about: what the watcher watches, for people reading the store (not read back).
        """
        data = {
            "version": CURSOR_VERSION,
            "watcher": about or {},
            "writer": writer,
            "generation": generation,
            "saved_at": _text(datetime.now(timezone.utc)),
            "prefix": self.prefix,
            "started_at": _text(self.started_at),
            "newest": _text(self.newest),
            "since": _text(self.since),
            "open_incomplete": self.open_incomplete,
            "last_reported": self.last_reported[-LAST_REPORTED_KEPT:],
            "open": list(self.open),
            "seen": {token: _text(created) for token, created in self.seen.items()},
        }
        return fit(data, max_bytes)

    @classmethod
    def from_json(cls, data: Any) -> JobCursor:
        """
        The cursor saved as ``data``.

        :raises UnreadableCursor: not a cursor this version wrote.
        """
        if not isinstance(data, dict) or data.get("version") != CURSOR_VERSION:
            raise UnreadableCursor(f"not a version {CURSOR_VERSION} cursor")
        try:
            return cls(
                prefix=data["prefix"],
                started_at=_moment(data["started_at"]),
                newest=_moment(data["newest"]),
                since=_moment(data["since"]),
                open=dict.fromkeys(_tokens(data["open"]), 0),
                seen={token: _required_moment(created) for token, created in data["seen"].items()},
                open_incomplete=bool(data["open_incomplete"]),
                last_reported=_tokens(data.get("last_reported") or []),
            )
        except (KeyError, TypeError, AttributeError, PayJobsError) as error:
            raise UnreadableCursor(f"a field is missing or malformed ({error})") from None


class UnreadableCursor(ValueError):
    """The stored value is not a cursor this provider can read."""


def fit(data: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """
    ``data`` cut to at most ``max_bytes`` of JSON: first the oldest of the window (``since``
    moves up past them: they stay known by their age), then open jobs (``open_incomplete``).
    """
    if _size(data) <= max_bytes:
        return data
    data = {**data, "seen": dict(data["seen"]), "open": list(data["open"])}
    by_age = sorted(data["seen"].items(), key=lambda entry: entry[1])
    dropped_newest: str | None = None
    while by_age and _size(data) > max_bytes:
        token, created = by_age.pop(0)
        del data["seen"][token]
        dropped_newest = created
    if dropped_newest is not None:
        since = _text(_required_moment(dropped_newest) + ONE_TICK)
        data["since"] = since
        # A job created at the same instant as a dropped one is below the new start too.
        data["seen"] = {
            t: c for t, c in data["seen"].items() if _required_moment(c) >= _required_moment(since)
        }
    if _size(data) > max_bytes:
        data["open_incomplete"] = True
        low, high = 0, len(data["open"])
        while low < high:  # the most open jobs that fit, oldest tracked first
            middle = (low + high + 1) // 2
            if _size({**data, "open": data["open"][:middle]}) <= max_bytes:
                low = middle
            else:
                high = middle - 1
        data["open"] = data["open"][:low]
    return data


def cursor_size(data: dict[str, Any]) -> int:
    """Bytes of ``data`` as saved (compact JSON)."""
    return _size(data)


def _size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, separators=(",", ":")).encode())


def new_writer_id() -> str:
    return uuid.uuid4().hex[:12]


def _text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _moment(text: Any) -> datetime | None:
    return None if text is None else _required_moment(text)


def _required_moment(text: Any) -> datetime:
    return parse_rfc3339(text, "cursor")


def _tokens(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise TypeError("expected a list of job tokens")
    return values


def created_of(job: dict[str, Any]) -> datetime | None:
    """The job's ``created`` as an aware datetime; None when missing or unreadable."""
    try:
        return parse_rfc3339(job.get("created"), "created")
    except PayJobsError:
        return None
