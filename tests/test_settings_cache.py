"""Connection settings shared by the triggers of one process: one lookup for many waits."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_payjobs.client import settings_cache


def run(coroutine):
    return asyncio.run(coroutine)


def test_waits_that_start_together_share_one_lookup() -> None:
    lookups = []

    async def look_up():
        lookups.append(1)
        await asyncio.sleep(0.01)
        return f"settings {len(lookups)}"

    async def many():
        return await asyncio.gather(*(settings_cache.shared_settings("conn", look_up) for _ in range(50)))

    assert run(many()) == ["settings 1"] * 50
    assert run(settings_cache.shared_settings("conn", look_up)) == "settings 1", "reused within the minute"
    assert run(settings_cache.shared_settings("other conn", look_up)) == "settings 2"
    assert len(lookups) == 2


def test_a_failed_lookup_reaches_every_waiter_and_is_not_kept() -> None:
    attempts = []

    async def look_up():
        attempts.append(1)
        await asyncio.sleep(0.01)
        if len(attempts) == 1:
            raise LookupError("The conn_id 'conn' isn't defined")
        return "settings"

    async def many():
        return await asyncio.gather(
            *(settings_cache.shared_settings("conn", look_up) for _ in range(5)), return_exceptions=True
        )

    assert all(isinstance(outcome, LookupError) for outcome in run(many()))
    assert run(settings_cache.shared_settings("conn", look_up)) == "settings"
    assert len(attempts) == 2


def test_a_waiter_cancelled_meanwhile_does_not_cancel_the_others() -> None:
    async def look_up():
        await asyncio.sleep(0.05)
        return "settings"

    async def scenario():
        first = asyncio.ensure_future(settings_cache.shared_settings("conn", look_up))
        second = asyncio.ensure_future(settings_cache.shared_settings("conn", look_up))
        await asyncio.sleep(0.01)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert run(scenario()) == "settings"
