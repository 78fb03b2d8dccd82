"""Test helpers for the payout watcher: a state store like Airflow's, and a poll-by-poll driver."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.triggers.payjobs import PaymentJobEventTrigger
from airflow_provider_payjobs.watcher.job_cursor import CURSOR_KEY_PREFIX, JobCursor


class StateStore:
    """
    What the triggerer hands an event trigger as ``asset_state_store`` (3.3+): ``aget``/``aset``
    of JSON values, each a round trip (``sleep(0)`` lets other coroutines in between, as the
    triggerer's supervisor round trip does). ``fail_sets`` makes that many writes raise.
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.fail_sets = 0
        self.sets = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        await asyncio.sleep(0)
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        await asyncio.sleep(0)
        if self.fail_sets:
            self.fail_sets -= 1
            raise RuntimeError("the API server did not answer")
        self.sets += 1
        self.values[key] = json.loads(json.dumps(value))

    @property
    def cursor(self) -> dict[str, Any] | None:
        """The one cursor saved (a test with several watchers on one asset reads ``values``)."""
        cursors = [value for key, value in self.values.items() if key.startswith(CURSOR_KEY_PREFIX)]
        assert len(cursors) <= 1, f"{len(cursors)} cursors"
        return cursors[0] if cursors else None


class Watcher:
    """
    Drives a :class:`PaymentJobEventTrigger` poll by poll, as its run loop does (load the cursor,
    poll, save, fire), without the sleeps; remembers every payload fired.

    :param store: the asset state store, or None (Airflow before 3.3).
    """

    def __init__(self, store: StateStore | None, **arguments: Any) -> None:
        self.trigger = PaymentJobEventTrigger(poll_interval=0.01, **arguments)
        self.trigger.asset_state_store = store
        self.store = self.trigger._store()
        self.cursor: JobCursor | None = None
        self.fired: list[dict[str, Any]] = []
        self.started = False
        # Run once (in a thread: it may call the sandbox) right after page 1 of the next poll is read.
        self.after_first_page: Callable[[], object] | None = None

    async def poll(self) -> list[str]:
        """One poll; the jobs it fired."""
        if not self.started:
            self.cursor = await self.trigger._load(self.store)
            self.watch = await self.trigger._new_watch(PayJobsHook(self.trigger.payjobs_conn_id))
            self.watch.list_page = self._between_pages(self.watch.list_page)
            self.started = True
        self.cursor, payloads = await self.trigger._poll_once(self.watch, self.store, self.cursor)
        self.fired += payloads
        return [payload["job"] for payload in payloads]

    def _between_pages(self, list_page: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(page: int, page_size: int, sort: str | None) -> dict[str, Any]:
            result = await list_page(page, page_size, sort)
            action, self.after_first_page = self.after_first_page, None
            if page == 1 and action is not None:
                await asyncio.to_thread(action)
            elif action is not None:
                self.after_first_page = action
            return result

        return wrapped

    async def polls(self, count: int) -> list[str]:
        fired = []
        for _ in range(count):
            fired += await self.poll()
        return fired

    @property
    def jobs(self) -> list[str]:
        return [payload["job"] for payload in self.fired]


def twice(jobs: list[str]) -> list[str]:
    return [job for job, count in Counter(jobs).items() if count > 1]
