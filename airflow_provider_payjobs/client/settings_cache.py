"""
Connection settings shared by the triggers of one process: one lookup serves a thousand waits.

In the triggerer each connection lookup is a round trip to Airflow's API server. A thousand
triggers that start together would make a thousand; here the first one looks the connection up,
the others wait for that answer, and the settings are reused for ``SETTINGS_TTL_SECONDS``. An edited
connection therefore reaches new triggers within that time.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable

from airflow_provider_payjobs.client.connection_settings import PayJobsSettings

SETTINGS_TTL_SECONDS = 60.0

_RESOLVED: dict[Hashable, tuple[float, PayJobsSettings]] = {}
# Lookups under way, per event loop (a task belongs to its loop).
_UNDER_WAY: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[PayJobsSettings]]
] = weakref.WeakKeyDictionary()


async def shared_settings(
    key: Hashable, look_up: Callable[[], Awaitable[PayJobsSettings]]
) -> PayJobsSettings:
    """
    The settings for ``key``: cached, or from a lookup shared by every caller that asks meanwhile.

    :param key: the connection id and the hook's overrides.
    :param look_up: loads the settings (the connection lookup); its errors reach every waiting caller
        and nothing is cached.
    """
    cached = _RESOLVED.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    under_way = _UNDER_WAY.setdefault(asyncio.get_running_loop(), {})
    lookup = under_way.get(key)
    if lookup is None:
        lookup = under_way[key] = asyncio.ensure_future(look_up())
        lookup.add_done_callback(lambda done: _finish(key, done, under_way))
    # Shielded: a trigger cancelled while it waits must not cancel the lookup the others wait on.
    return await asyncio.shield(lookup)


def _finish(
    key: Hashable,
    done: asyncio.Task[PayJobsSettings],
    under_way: dict[Hashable, asyncio.Task[PayJobsSettings]],
) -> None:
    under_way.pop(key, None)
    if not done.cancelled() and done.exception() is None:
        _RESOLVED[key] = (time.monotonic() + SETTINGS_TTL_SECONDS, done.result())


def clear() -> None:
    """Forget every cached setting (tests; a process that must see an edited connection at once)."""
    _RESOLVED.clear()
