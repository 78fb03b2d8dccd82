"""
Many PaymentJobTriggers in one event loop, as in a triggerer: prints what they cost.

    python benchmarks/trigger_fanout.py [--triggers 1000] [--poll-interval 0.2]

Figures: wall time until every trigger fired, token requests, HTTP clients created, API calls,
and the peak of Python memory allocated while they ran (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import tracemalloc

import structlog

from airflow_provider_payjobs.async_client import ASYNC_CLIENTS
from airflow_provider_payjobs.auth import TOKEN_CACHE
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.sandbox.server import start_sandbox
from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

ITEM = {"amount": 1, "currency": "USD", "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d"}


async def run_all(tokens: list[str], poll_interval: float) -> tuple[list[dict], int]:
    async def first_event(trigger: PaymentJobTrigger) -> dict:
        async for event in trigger.run():
            return event.payload
        raise RuntimeError("trigger ended without an event")

    deadline = time.time() + 600
    triggers = [PaymentJobTrigger(token, "payjobs_default", deadline, poll_interval) for token in tokens]
    events = await asyncio.gather(*(first_event(trigger) for trigger in triggers))
    return events, len(ASYNC_CLIENTS[asyncio.get_running_loop()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=0.2)
    arguments = parser.parse_args(argv)
    # One progress line per poll per trigger would swamp the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with start_sandbox("--frozen-clock", "--step-seconds", "1") as sandbox:
        os.environ["AIRFLOW_CONN_PAYJOBS_DEFAULT"] = sandbox.connection_json()
        hook = PayJobsHook()
        tokens = [hook.create_payment_job({"items": [ITEM]})["token"] for _ in range(arguments.triggers)]
        sandbox.admin.clear_requests()
        TOKEN_CACHE.clear()
        sandbox.admin.freeze_clock(False)  # jobs now finish after about 3 seconds
        tracemalloc.start()
        started = time.monotonic()
        events, clients = asyncio.run(run_all(tokens, arguments.poll_interval))
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        log = sandbox.admin.requests()
    figures = {
        "triggers": arguments.triggers,
        "successes": sum(event["status"] == "success" for event in events),
        "seconds": round(seconds, 2),
        "token requests": sum(entry["path"].endswith("/auth/connect/token") for entry in log),
        "http clients": clients,
        "api calls": len(log),
        "peak MiB": round(peak / 2**20, 1),
    }
    print(json.dumps(figures))
    return 0 if figures["successes"] == arguments.triggers else 1


if __name__ == "__main__":
    sys.exit(main())
