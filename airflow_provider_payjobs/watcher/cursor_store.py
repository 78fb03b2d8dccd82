"""
Where a payout watcher keeps its cursor: Airflow's asset state store (3.3+), or its own memory.

A save is checked on both sides. Before writing, the stored cursor must still be the one this
watcher last read or wrote; after writing, reading it back must give this write. Otherwise another
instance of the same watcher (a triggerer handing its triggers over while still running) saved in
between, and this one steps back rather than report a job the other one may have reported.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_payjobs.watcher.job_cursor import JobCursor, UnreadableCursor, new_writer_id


class CursorTaken(Exception):
    """Another instance of this watcher saved the cursor since this one last read or wrote it."""

    def __init__(self, stored: Any) -> None:
        self.stored = stored
        super().__init__("another instance of this watcher saved the cursor meanwhile")


class CursorStore:
    """
    Load and save one watcher's cursor.

    :param accessors: the trigger's ``asset_state_store`` (Airflow 3.3+), or None: the cursor
        then lives in memory only, and a restart starts afresh.
    :param log: where the reasons for falling back to memory go.
    :param key: the cursor's key (:func:`~airflow_provider_payjobs.watcher.job_cursor.cursor_key`).
    :param about: what the watcher watches, saved beside the cursor for people to read.
    """

    def __init__(self, accessors: Any, log: Any, key: str, about: dict[str, Any] | None = None) -> None:
        self.accessors = accessors
        self.log = log
        self.key = key
        self.about = about or {}
        self.writer = new_writer_id()
        self._last: tuple[Any, Any] = (None, None)  # (writer, generation) last read or written
        self._cut = False  # whether the last save had to leave open jobs out

    @property
    def durable(self) -> bool:
        return self.accessors is not None

    async def load(self) -> JobCursor | None:
        """
        The saved cursor; None when there is none (or no durable store).

        :raises Exception: the store could not be read (the caller tries again later).
        """
        if self.accessors is None:  # not durable
            return None
        try:
            data = await self.accessors.aget(self.key, None)
        except ValueError as error:
            # Two assets watched by one trigger (identical arguments): no single place to keep it.
            self.log.error(
                "Cannot keep the payout watcher's cursor in the asset state store (%s). Give each "
                "asset's PaymentJobEventTrigger its own arguments. Keeping it in memory: after a "
                "triggerer restart, jobs that finished meanwhile are not reported",
                error,
            )
            self.accessors = None
            return None
        if data is None:
            return None
        self._last = _identity(data)
        try:
            return JobCursor.from_json(data)
        except UnreadableCursor as error:
            self.log.warning("Ignoring the stored payout cursor: %s; starting afresh", error)
            return None

    async def save(self, cursor: JobCursor) -> dict[str, Any] | None:
        """
        Save ``cursor``; the saved JSON (None without a durable store).

        :raises CursorTaken: another instance saved since this one last read or wrote.
        :raises Exception: the store failed; whether the write landed is unknown.
        """
        if self.accessors is None:  # not durable
            return None
        stored = await self.accessors.aget(self.key, None)
        writer, stored_generation = _identity(stored)
        # A write of this instance whose answer was lost may have landed: that is no conflict.
        if writer != self.writer and (writer, stored_generation) != self._last:
            raise CursorTaken(stored)
        generation = max(_number(stored_generation), _number(self._last[1])) + 1
        data = cursor.to_json(self.writer, generation, self.about)
        self._warn_when_cut(data, len(cursor.open))
        await self.accessors.aset(self.key, data)
        written = await self.accessors.aget(self.key, None)
        if _identity(written) != (self.writer, generation):
            raise CursorTaken(written)
        self._last = (self.writer, generation)
        return data

    def _warn_when_cut(self, data: dict[str, Any], open_jobs: int) -> None:
        """Say once (until it fits again) that the saved cursor leaves open jobs out."""
        cut = bool(data["open_incomplete"])
        if cut and not self._cut:
            self.log.warning(
                "The payout watcher's cursor holds %d of its %d open jobs (an asset state store "
                "value keeps 64 KB): all are watched, but after a triggerer restart the first poll "
                "reads every page, and a job left out that finished meanwhile is not reported",
                len(data["open"]),
                open_jobs,
            )
        self._cut = cut

    def adopt(self, stored: Any) -> JobCursor | None:
        """Take over what another instance saved: the cursor to go on from, None if unreadable."""
        self._last = _identity(stored)
        try:
            return JobCursor.from_json(stored)
        except UnreadableCursor:
            return None


def _identity(data: Any) -> tuple[Any, Any]:
    if not isinstance(data, dict):
        return (None, None)
    return (data.get("writer"), data.get("generation"))


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
