"""
Many waits in one event loop, as in a triggerer: PaymentJobTrigger side by side with bare aiohttp pollers.

    python benchmarks/trigger_fanout.py [--waits 1000 3000] [--poll-interval 2] [--job-seconds 12]

Three pollers wait on the same kind of jobs, on the same sandbox, in the same run:

- ``trigger``: ``PaymentJobTrigger``, as the triggerer runs it;
- ``floor``: one shared ``aiohttp.ClientSession`` with keep-alive, a GET and a status check per
  poll, nothing else: what the wait cannot cost less than;
- ``session per poll``: a new aiohttp session for every poll (the pattern of dbt Cloud's trigger).

Each runs in a fresh process (so CPU and memory are its own), once with every wait starting at the
same moment and once with the starts spread over the poll interval. Jobs complete
``--job-seconds`` after the start. Printed per run: CPU per poll, seconds until every job's end was
seen, resident memory over the loop's baseline, token requests, failed polls (answered other than
200, or failed in the client, e.g. a timeout in its own queue), and the ratios to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

POLLERS = ("trigger", "floor", "session per poll")
STARTS = ("synchronized", "spread")
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}
ITEM = {"amount": 1, "currency": "USD", "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d"}
CLIENT_FAILURES: list[int] = []
VERSION_HEADER = {"X-MyPayQuicker-Version": "2026.02.01", "accept": "application/json"}


# --- the child: one poller, one start mode, N waits -------------------------------------------------


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Samples resident memory in a thread (no tracing: it would cost the loop CPU)."""

    def __init__(self) -> None:
        self.baseline = resident_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, resident_bytes())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())
        return (self.peak - self.baseline) / 2**20


async def trigger_waits(
    tokens: list[str], interval: float, delays: list[float]
) -> list[Callable[[], Awaitable]]:
    # Loaded before the measurement, as in a triggerer that has been running (the floor imports
    # aiohttp before it too). Each trigger still looks its connection up, as in a triggerer.
    import airflow_provider_payjobs.client.async_client  # noqa: F401
    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
    from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

    attempt = PayJobsHook._asend_once

    async def counted_attempt(*arguments: Any) -> Any:
        try:
            return await attempt(*arguments)
        except Exception:  # a failed attempt the server never saw (a client-side timeout) counts too
            CLIENT_FAILURES.append(1)
            raise

    PayJobsHook._asend_once = counted_attempt  # type: ignore[method-assign]

    async def wait(token: str, delay: float) -> None:
        await asyncio.sleep(delay)
        trigger = PaymentJobTrigger(token, "payjobs_default", time.time() + 600, interval)
        async for event in trigger.run():
            if event.payload["status"] != "success":
                raise RuntimeError(event.payload["message"])

    return [
        lambda token=token, delay=delay: wait(token, delay)
        for token, delay in zip(tokens, delays, strict=True)
    ]


async def aiohttp_waits(
    tokens: list[str], interval: float, delays: list[float], base_url: str, shared: bool
) -> list[Callable[[], Awaitable]]:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base_url + "/auth/connect/token",
            auth=aiohttp.BasicAuth("sandbox-client", "sandbox-secret"),
            data={"grant_type": "client_credentials", "scope": "readonly modify"},
        ) as answer,
    ):
        access_token = (await answer.json())["access_token"]
    headers = {**VERSION_HEADER, "Authorization": f"Bearer {access_token}"}
    session = aiohttp.ClientSession(headers=headers) if shared else None

    async def poll(token: str) -> str:
        if session is not None:
            async with session.get(f"{base_url}/payments/jobs/{token}") as answer:
                return json.loads(await answer.read())["status"]
        async with (
            aiohttp.ClientSession(headers=headers) as own,
            own.get(f"{base_url}/payments/jobs/{token}") as answer,
        ):
            return json.loads(await answer.read())["status"]

    async def wait(token: str, delay: float) -> None:
        await asyncio.sleep(delay)
        while await poll(token) not in TERMINAL:
            await asyncio.sleep(interval)

    return [
        lambda token=token, delay=delay: wait(token, delay)
        for token, delay in zip(tokens, delays, strict=True)
    ]


def child(arguments: argparse.Namespace) -> None:
    from airflow.sdk.log import configure_logging

    # Progress lines are filtered out: what a line costs is the deployment's log handlers' cost,
    # the same for any provider, and the floor writes none. Warnings (failed polls) still show.
    configure_logging(log_level="WARNING")
    from airflow_provider_payjobs.sandbox.admin import SandboxAdmin

    tokens = json.loads(Path(arguments.tokens_file).read_text())
    spread = arguments.start == "spread"
    delays = [random.uniform(0, arguments.poll_interval) if spread else 0.0 for _ in tokens]
    admin = SandboxAdmin(arguments.root_url)

    async def main() -> tuple[float, float, float]:
        if arguments.poller == "trigger":
            waits = await trigger_waits(tokens, arguments.poll_interval, delays)
        else:
            base_url = arguments.root_url + "/api/v2"
            shared = arguments.poller == "floor"
            waits = await aiohttp_waits(tokens, arguments.poll_interval, delays, base_url, shared)
        memory = PeakMemory()
        admin.freeze_clock(False)  # the jobs' lifecycle starts now
        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(wait() for wait in waits))
        return time.monotonic() - started, time.process_time() - cpu, memory.stop()

    seconds, cpu, mebibytes = asyncio.run(main())
    figures = {
        "seconds": seconds,
        "cpu": cpu,
        "memory MiB": mebibytes,
        "client failures": len(CLIENT_FAILURES),
    }
    print(json.dumps(figures))


# --- the parent: the sandbox, the jobs, one child per run, the table ---------------------------------


def run_one(sandbox: Any, poller: str, start: str, waits: int, interval: float) -> dict[str, Any]:
    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

    sandbox.admin.reset()  # frozen again: every job starts at the same sandbox moment
    hook = PayJobsHook()
    tokens = [hook.create_payment_job({"items": [ITEM]})["token"] for _ in range(waits)]
    hook.close()
    sandbox.admin.clear_requests()
    tokens_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"fanout-{os.getpid()}.json"
    tokens_file.write_text(json.dumps(tokens))
    command = [sys.executable, __file__, "--child", poller, "--start", start,
               "--tokens-file", str(tokens_file), "--root-url", sandbox.root_url,
               "--poll-interval", str(interval)]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ.copy())
    output = done.stdout
    figures = json.loads(output.strip().splitlines()[-1])
    log = sandbox.admin.requests()
    polls = sum(entry["method"] == "GET" and "/payments/jobs/" in entry["path"] for entry in log)
    return {
        "poller": poller,
        "start": start,
        "waits": waits,
        "cpu ms per poll": round(figures["cpu"] / polls * 1000, 3),
        "seconds until every end": round(figures["seconds"], 1),
        "memory MiB": round(figures["memory MiB"], 1),
        "token requests": sum(entry["path"].endswith("/auth/connect/token") for entry in log),
        "polls": polls,
        # Answered other than 200 by the sandbox, or failed in the client (its own queue, a timeout).
        "failed polls": sum(entry["status"] != 200 for entry in log) + figures["client failures"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--waits", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument(
        "--job-seconds", type=float, default=12.0, help="a job completes this long after the start"
    )
    parser.add_argument("--pollers", nargs="+", default=list(POLLERS), choices=POLLERS)
    parser.add_argument("--child", choices=POLLERS, dest="poller", help=argparse.SUPPRESS)
    parser.add_argument("--start", choices=STARTS, help=argparse.SUPPRESS)
    parser.add_argument("--tokens-file", help=argparse.SUPPRESS)
    parser.add_argument("--root-url", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.poller:
        child(arguments)
        return 0
    from airflow_provider_payjobs.sandbox.server import start_sandbox

    steps = str(arguments.job_seconds / 3)  # SUBMITTED, PARSING, PROCESSING, then COMPLETED
    rows = []
    with start_sandbox("--frozen-clock", "--step-seconds", steps) as sandbox:
        os.environ["AIRFLOW_CONN_PAYJOBS_DEFAULT"] = sandbox.connection_json()
        for waits in arguments.waits:
            for start in STARTS:
                runs = {
                    poller: run_one(sandbox, poller, start, waits, arguments.poll_interval)
                    for poller in arguments.pollers
                }
                floor = runs.get("floor")
                for row in runs.values():
                    if floor:
                        row["cpu vs floor"] = round(row["cpu ms per poll"] / floor["cpu ms per poll"], 2)
                        row["end seen vs floor"] = round(
                            row["seconds until every end"] / floor["seconds until every end"], 2
                        )
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    print_table(rows)
    return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = ("waits", "start", "poller", "cpu ms per poll", "cpu vs floor", "seconds until every end",
               "end seen vs floor", "memory MiB", "token requests", "failed polls")  # fmt: skip
    print("\n| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(column, "")) for column in columns) + " |")


if __name__ == "__main__":
    sys.exit(main())
