"""
Exactly-once soak harness: many payout task runs through CreatePaymentJobOperator, under faults.

Each task run is executed in worker processes, try after try, the way Airflow's task runner
would: a fresh process per try, the task state store surviving between tries (here a JSON file
per task run, standing in for Airflow's database-backed store), and Airflow's retry delay
between tries. The sandbox injects 5xx answers, 429 with Retry-After, dropped connections,
commit-then-fail on create and token expiry; some tries are killed with SIGKILL in the middle of
``execute``. At the end the sandbox ledger is compared with the intended payouts.

Modes: ``dedupe`` and ``no-dedupe`` (the server deduplicates clientPaymentIds or not), one DAG
run per payout; ``payout-key`` (a server that does not deduplicate), two DAG runs per payout key,
one after the other as ``max_active_runs=1`` keeps them, the second listing the items in another
order: each payout must be paid once per key, not once per run, the second run adopting the
first one's job.

    python benchmarks/soak.py [--jobs 200] [--items 5] [--workers 8] [--modes dedupe,no-dedupe]
    python benchmarks/soak.py --modes payout-key

Prints, per mode: intended payouts, payouts made, duplicates, missing; exits 1 unless
duplicates = 0 and missing = 0 in every mode.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_payjobs.airflow_support.compat import reset_secrets_masker

# Imported here, in the parent: forked workers inherit Airflow instead of importing it per try.
from airflow_provider_payjobs.client.auth import TOKEN_CACHE
from airflow_provider_payjobs.client.validation import prepare_create_body
from airflow_provider_payjobs.operators.payjobs import (
    STATE_CREATE_STARTED,
    STATE_JOB_TOKEN,
    STATE_LAST_POST,
    CreatePaymentJobOperator,
)
from airflow_provider_payjobs.payout.payment_ids import derive_client_payment_id, with_payout_ids
from airflow_provider_payjobs.sandbox.server import SandboxProcess, start_sandbox

FAULTS = {
    "error_500": 0.04,
    "error_502": 0.03,
    "error_503": 0.03,
    "error_429": 0.03,
    "retry_after_seconds": 0.05,
    "drop_connection": 0.03,
    "commit_then_fail": 0.15,
    "commit_then_fail_mode": "either",
    "latency_ms": 5,
}
MAX_TRIES = 8
TOKEN_RACE = "401: token revoked again right after its refresh"
# Airflow waits retry_delay (5 minutes by default) before a retry; any request of the dead try
# has long been settled by then. The harness keeps the same order of events, scaled down.
RETRY_DELAY_SECONDS = 0.3
PAYOUT_KEY_MODE = "payout-key"
DAG_ID, TASK_ID = "soak_payout", "pay"


@dataclass(frozen=True)
class TaskRun:
    """
    The ``pay`` task of one DAG run: which payout it makes, in which run, under which key.

    :param payout: the payout's number: its items, and its key's name.
    :param run_id: the DAG run; it names the run's files too.
    :param payout_key: None: the run is its own payout; else every run of the key is one payout.
    :param reversed_items: list the items last to first (ids of a key follow payees, not positions).
    """

    payout: int
    run_id: str
    payout_key: str | None = None
    reversed_items: bool = False

    def body(self, items: int) -> dict[str, Any]:
        body = payout_body(self.payout, items)
        if self.reversed_items:
            body["items"].reverse()
        return body


@dataclass
class FileTaskStateStore:
    """``task_state_store`` for one task run, kept in a JSON file so that it survives a SIGKILL."""

    path: Path

    def read_all(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.read_all().get(key, default)

    def set(self, key: str, value: Any) -> None:
        data = self.read_all()
        data[key] = value
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.path)  # atomic: a kill or a reader never sees half a file

    def delete(self, key: str) -> None:
        data = self.read_all()
        data.pop(key, None)
        self._write(data)


@dataclass
class HarnessTaskInstance:
    """The parts of a TaskInstance the operator uses."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    map_index: int = -1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def payout_body(run_number: int, items: int) -> dict[str, Any]:
    return {
        "items": [
            {
                "amount": round(1 + (run_number * 7 + position) % 90 + 0.25, 2),
                "currency": ("USD", "EUR", "GBP")[position % 3],
                "sourceToken": "acct-3908ab5a-6ce1-474d-8b80-a63a7b147860",
                "destinationToken": f"dest-00000000-0000-4000-8000-{run_number * 100 + position:012d}",
                "memo": f"soak run {run_number}",
            }
            for position in range(items)
        ]
    }


def run_one_try(task_run: TaskRun, try_number: int, items: int, state_dir: str, result_path: str) -> None:
    """Body of a worker process: one try of one task run."""
    _silence_output()
    # A worker starts as Airflow's task runner does: no token, and a fresh secrets masker. A masker
    # inherited from a test process holds thousands of secrets and recompiles one pattern of all of
    # them for every new token: a stall between fetching a token and using it, in which the
    # harness's revocations below would catch it.
    TOKEN_CACHE.clear()
    reset_secrets_masker()
    operator = CreatePaymentJobOperator(
        task_id=TASK_ID,
        body=task_run.body(items),
        payout_key=task_run.payout_key,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.05,
        timeout=120,
    )
    ti = HarnessTaskInstance(DAG_ID, TASK_ID, task_run.run_id, try_number)
    context = {
        "ti": ti,
        "run_id": ti.run_id,
        "dag_run": None,
        "task_state_store": FileTaskStateStore(Path(state_dir) / f"run-{task_run.run_id}.json"),
    }
    try:
        job = operator.execute(context)
    except Exception as error:  # the harness reports why a try failed, then fails it as Airflow would
        with open(Path(state_dir) / f"errors-{task_run.run_id}.txt", "a") as errors:
            errors.write(_failure_kind(error) + "\n")
        raise
    # The task's XCom: the job's summary, its token under "job".
    Path(result_path).write_text(json.dumps({"status": job["status"], "token": job["job"]}))


def _failure_kind(error: Exception) -> str:
    # The harness revokes every token a few times a second; now and then it does so again
    # between the hook's refresh after a 401 and its use. Real tokens expire, they are not revoked.
    if "HTTP 401" in str(error):
        return TOKEN_RACE
    return f"{type(error).__name__}: {str(error)[:160]}"


def _silence_output() -> None:
    """Hundreds of tries would bury the report: a worker's own log goes nowhere."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)


@dataclass
class RunOutcome:
    tries: int = 0
    kills: int = 0
    failed_tries: Counter = field(default_factory=Counter)  # why tries failed without being killed
    # Where each SIGKILL landed, read from what the task state store held before and after the try.
    kill_phases: Counter = field(default_factory=Counter)
    status: str | None = None
    token: str | None = None


def drive_task_run(
    task_run: TaskRun, number: int, items: int, state_dir: str, kill_rate: float, seed: int
) -> RunOutcome:
    """All tries of one task run (the ``number``-th of the soak); some are killed with SIGKILL part-way."""
    randomness = random.Random(seed * 100_003 + number)
    context = multiprocessing.get_context("fork")
    outcome = RunOutcome()
    result_path = Path(state_dir) / f"result-{task_run.run_id}.json"
    store = FileTaskStateStore(Path(state_dir) / f"run-{task_run.run_id}.json")
    for try_number in range(1, MAX_TRIES + 1):
        outcome.tries = try_number
        before = store.read_all()
        worker = context.Process(
            target=run_one_try, args=(task_run, try_number, items, state_dir, str(result_path))
        )
        worker.start()
        killed = False
        if randomness.random() < kill_rate:
            if randomness.random() < 0.5:
                worker.join(randomness.uniform(0.0, 0.25))  # anywhere in the try
            else:  # around its POST, the riskiest moment, whatever the machine's speed
                _wait_for_a_post(worker, store, before)
                worker.join(randomness.uniform(0.0, 0.03))
            if worker.is_alive():
                worker.kill()  # SIGKILL; no error if it ended a moment ago
                worker.join()
                killed = True
                outcome.kills += 1
                outcome.kill_phases[_kill_phase(before, store.read_all())] += 1
        worker.join(180)
        if worker.is_alive():
            worker.kill()
            worker.join()
        errors = Path(state_dir) / f"errors-{task_run.run_id}.txt"
        if not killed and not result_path.exists() and errors.exists():
            outcome.failed_tries.update(errors.read_text().splitlines())
        errors.unlink(missing_ok=True)
        if result_path.exists():
            result = json.loads(result_path.read_text())
            outcome.status, outcome.token = result["status"], result["token"]
            return outcome
        time.sleep(RETRY_DELAY_SECONDS)
    return outcome


def _wait_for_a_post(worker: Any, store: FileTaskStateStore, before: dict[str, Any]) -> None:
    """Until the try records that it is about to POST (or ends)."""
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        if store.read_all().get(STATE_LAST_POST) != before.get(STATE_LAST_POST):
            return
        time.sleep(0.002)


def _kill_phase(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Where a killed try stopped: the riskiest place is after the create, before its token was kept."""
    if before.get(STATE_JOB_TOKEN):
        return "waiting on a stored job"
    if after.get(STATE_JOB_TOKEN):
        return "waiting after its create"
    if any(after.get(key) != before.get(key) for key in (STATE_CREATE_STARTED, STATE_LAST_POST)):
        return "create started, token not stored"
    return "before its create"


def soak(
    sandbox: SandboxProcess, mode: str, jobs: int, items: int, workers: int, kill_rate: float, seed: int
) -> dict:
    admin = sandbox.admin
    admin.reset()  # nothing left over from whoever used this sandbox before (settings, clock, faults)
    # Jobs move on their own, quickly: the harness waits on real task runs, not on a test's hand.
    admin.freeze_clock(False)
    # The payout key's look-up, not the server, must keep a second run of the key from paying again.
    admin.set_config(accept_duplicate_client_ids=mode in ("no-dedupe", PAYOUT_KEY_MODE), step_seconds=0.05)
    admin.set_faults(**FAULTS, seed=seed)
    os.environ["AIRFLOW_CONN_PAYJOBS_DEFAULT"] = json.dumps(
        {
            "conn_type": "payjobs",
            "login": sandbox.client_id,
            "password": sandbox.client_secret,
            "host": sandbox.base_url,
            # About 16 % of calls meet a fault: ten failures in a row (~1e-8) never fail a try.
            "extra": {
                "retry_limit": 10,
                "retry_min_wait": 0.02,
                "retry_max_wait": 0.2,
                "timeout": 1,
                "create_settle_seconds": 0.1,
            },
        }
    )
    payouts = payout_runs(mode, jobs)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix=f"soak-{mode}-") as state_dir,
        ThreadPoolExecutor(workers) as pool,
    ):
        stop_expiring = _expire_tokens_now_and_then(admin)

        def drive(runs: list[tuple[int, TaskRun]]) -> list[RunOutcome]:
            # The runs of one payout one after the other, each with all its tries.
            return [drive_task_run(run, number, items, state_dir, kill_rate, seed) for number, run in runs]

        outcomes_per_payout = list(pool.map(drive, payouts))
        stop_expiring()
    admin.set_faults(
        error_500=0, error_502=0, error_503=0, error_429=0, drop_connection=0, commit_then_fail=0
    )
    ledger = admin.ledger()
    # What the first run of each payout means to pay: a later run of its key pays nothing more.
    intended_ids = {payment_id for runs in payouts for payment_id in intended_ids_of(runs[0][1], items)}
    made = Counter(entry["clientPaymentId"] for entry in ledger)
    outcomes = [outcome for per_payout in outcomes_per_payout for outcome in per_payout]
    report: dict[str, Any] = {
        "mode": mode,
        "task runs": len(outcomes),
        "payouts": len(payouts),
        "tries": sum(outcome.tries for outcome in outcomes),
        "SIGKILLs": sum(outcome.kills for outcome in outcomes),
        "SIGKILLs by phase": dict(sum((outcome.kill_phases for outcome in outcomes), Counter())),
        "failed tries": dict(sum((outcome.failed_tries for outcome in outcomes), Counter())),
        "runs completed": sum(outcome.status == "COMPLETED" for outcome in outcomes),
        "intended payouts": len(intended_ids),
        "payouts made": sum(made.values()),
        "duplicates": sum(count - 1 for count in made.values() if count > 1),
        "missing": len(intended_ids - set(made)),
        "unexpected": len(set(made) - intended_ids),
        "faults injected": sum(1 for entry in admin.requests() if entry.get("fault")),
        "seconds": round(time.monotonic() - started, 1),
    }
    if mode == PAYOUT_KEY_MODE:
        # A later run whose first run finished must have adopted that run's job.
        report["later runs adopting"] = sum(
            later.token == per_payout[0].token
            for per_payout in outcomes_per_payout
            for later in per_payout[1:]
            if per_payout[0].token is not None
        )
    return report


def payout_runs(mode: str, jobs: int) -> list[list[tuple[int, TaskRun]]]:
    """
    The task runs of each payout, numbered across the soak: ``jobs`` task runs in all.

    :param mode: in ``payout-key``, ``jobs // 2`` payouts of two runs each (the second listing the
        items last to first); else ``jobs`` payouts of one run each.
    """
    if mode != PAYOUT_KEY_MODE:
        return [[(number, TaskRun(number, f"soak__{number}"))] for number in range(jobs)]
    keys = max(1, jobs // 2)
    return [
        [
            (2 * payout + later, TaskRun(payout, f"soak__{payout}__{later}", f"soak-{payout}", bool(later)))
            for later in (0, 1)
        ]
        for payout in range(keys)
    ]


def intended_ids_of(task_run: TaskRun, items: int) -> tuple[str, ...]:
    """The clientPaymentIds a task run derives: from its run, or from its payout key and payees."""
    if task_run.payout_key is None:
        return tuple(
            derive_client_payment_id(DAG_ID, TASK_ID, task_run.run_id, -1, position)
            for position in range(items)
        )
    body = with_payout_ids(prepare_create_body(task_run.body(items)), DAG_ID, TASK_ID, task_run.payout_key)
    return tuple(item["clientPaymentId"] for item in body["items"])


def _expire_tokens_now_and_then(admin: Any) -> Any:
    """Token expiry as a fault: a few times a second, every token older than 0.3 s expires."""
    import threading

    stop = threading.Event()

    def expire() -> None:
        # By age, as real tokens expire: a token just refreshed after a 401 is not revoked again
        # before the call it was fetched for can use it (unless that call stalls 0.3 s).
        while not stop.wait(0.4):
            admin.expire_tokens(older_than_seconds=0.3)

    thread = threading.Thread(target=expire, daemon=True)
    thread.start()
    return lambda: (stop.set(), thread.join())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--jobs", type=int, default=200, help="task runs per mode (payout-key: two per key, one job per key)"
    )
    parser.add_argument("--items", type=int, default=5, help="payouts per job")
    parser.add_argument("--workers", type=int, default=8, help="task runs in flight at once")
    parser.add_argument("--kill-rate", type=float, default=0.15, help="share of tries killed with SIGKILL")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--modes", default="dedupe,no-dedupe")
    arguments = parser.parse_args(argv)
    reports = []
    with start_sandbox("--step-seconds", "0.05") as sandbox:
        for mode in arguments.modes.split(","):
            report = soak(
                sandbox,
                mode,
                arguments.jobs,
                arguments.items,
                arguments.workers,
                arguments.kill_rate,
                arguments.seed,
            )
            reports.append(report)
            print(" ".join(f"{key}={json.dumps(value)}" for key, value in report.items()), flush=True)
    ok = all(
        report["duplicates"] == 0 and report["missing"] == 0 and report["unexpected"] == 0
        for report in reports
    )
    print("exactly-once: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
