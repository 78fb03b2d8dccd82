"""
CPU of one blocking ``retrieve_payment_job`` against a bare ``requests.Session`` GET of the same job.

    python benchmarks/hook_cpu.py [--calls 3000] [--rounds 5]

Both talk to the same sandbox in the same run, in alternating rounds so that a busy machine
weighs on both alike. The bare GET sends the same headers and decodes the JSON; the hook also
validates the token, takes its cached bearer token, bounds the call by its deadline, reads at
most ``max_answer_bytes``, and checks the answer's shape. Printed: the median CPU per call of
each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

ITEM = {"amount": 1, "currency": "USD", "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d"}


def cpu_per_call(call: Callable[[], object], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="calls per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args(argv)

    import logging

    import requests

    from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
    from airflow_provider_payjobs.sandbox.server import start_sandbox

    logging.getLogger("airflow_provider_payjobs").setLevel(logging.INFO)  # debug lines filtered, as deployed
    with start_sandbox("--frozen-clock") as sandbox:
        os.environ["AIRFLOW_CONN_PAYJOBS_DEFAULT"] = sandbox.connection_json()
        hook = PayJobsHook()
        token = hook.create_payment_job({"items": [ITEM]})["token"]
        headers = {
            "accept": "application/json",
            "X-MyPayQuicker-Version": "2026.02.01",
            "Authorization": f"Bearer {hook.get_access_token().value}",
        }
        session = requests.Session()
        url = f"{sandbox.base_url}/payments/jobs/{token}"

        def bare() -> object:
            answer = session.get(url, headers=headers, timeout=30)
            answer.raise_for_status()
            return answer.json()

        def with_hook() -> object:
            return hook.retrieve_payment_job(token)

        for warm_up in (bare, with_hook):
            cpu_per_call(warm_up, 200)
        hook_rounds, bare_rounds = [], []
        for _ in range(arguments.rounds):
            bare_rounds.append(cpu_per_call(bare, arguments.calls))
            hook_rounds.append(cpu_per_call(with_hook, arguments.calls))
    bare_ms = statistics.median(bare_rounds) * 1000
    hook_ms = statistics.median(hook_rounds) * 1000
    print(
        json.dumps(
            {
                "bare requests GET, ms CPU per call": round(bare_ms, 3),
                "retrieve_payment_job, ms CPU per call": round(hook_ms, 3),
                "ratio": round(hook_ms / bare_ms, 3),
                "calls": arguments.calls * arguments.rounds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
