"""
The e2e cases: what a person does to payouts in a real deployment, and what must follow.

Each case drives Airflow through its REST API (as the UI does), steers the sandbox's frozen clock
so that a job stays SUBMITTED while the case acts on the deferred task, and checks the sandbox
ledger: every intended payout paid exactly once, and nothing paid that a person stopped.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from e2e.airflow_api import wait_for
from e2e.deployment import Deployment
from e2e.sandbox_api import SandboxApi

PAYOUT, SENSOR, CANCEL = "example_payjobs_payout", "example_payjobs_sensor", "example_payjobs_cancel"
PAYROLL = "example_payjobs_payroll"
PAYROLL_DATE = "2026-11-01T00:00:00Z"  # ds 2026-11-01: the payout key payroll-2026-11-01
SAME_DAY_LATER = "2026-11-01T06:00:00Z"  # another run of the same ds (one run per logical date)
ADOPTED = "already holds these 3 clientPaymentIds: adopting it, not posting again"
PAYEES = 3  # the payout example's default payees
PAYEES_VARIABLE = "payjobs_payout_payees"  # where the payout example reads its payees
# Payee data no place but the user's own task and body may hold (a Viewer reads logs and XComs).
CANARIES = ("dest-c0ffee00-cafe-4bad-beef-000000c0ffee", "canary-memo-5e7a")
TASK_SECONDS = 180  # a task's way through scheduler, executor and triggerer, on a busy 2-core machine


@dataclass
class Payout:
    """One run of the payout example, its ``pay`` deferred on its job."""

    run_id: str
    job_token: str


@dataclass
class Cases:
    """
    The cases, in the order they run, sharing one deployment.

    :param deployment: the running deployment.
    """

    deployment: Deployment
    expected_paid: Counter[str] = field(default_factory=Counter)  # job token -> payouts it must make

    def __post_init__(self) -> None:
        self.api = self.deployment.api
        self.sandbox = SandboxApi(self.deployment.sandbox)

    def all(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("payout end to end", self.payout_end_to_end),
            ("mark failed while deferred", self.mark_failed_while_deferred),
            ("mark the run failed while deferred", lambda: self.mark_failed_while_deferred(whole_run=True)),
            ("clear while deferred", self.clear_while_deferred),
            ("mark success while deferred", self.mark_success_while_deferred),
            ("triggerer SIGTERM while deferred", lambda: self.triggerer_killed(signal.SIGTERM)),
            ("triggerer SIGKILL while deferred", lambda: self.triggerer_killed(signal.SIGKILL)),
            ("sensor example", self.sensor_example),
            ("cancel example", self.cancel_example),
            ("payroll: one date run three times", self.payroll_runs_of_one_date),
            ("payee data only where the user put it", self.payee_data_canary),
        ]

    # --- the cases: each returns a few words on what it saw -----------------------------------------

    def payout_end_to_end(self) -> str:
        payout = self.deferred_payout()
        triggerer = self.api.task(PAYOUT, payout.run_id, "pay")["trigger"]["triggerer_id"]
        assert triggerer in self.api.running_triggerers(), f"pay's trigger is on triggerer {triggerer}"
        self.sandbox.complete_jobs()
        self.expect_success(payout)
        return f"deferred in triggerer {triggerer}, paid {PAYEES}"

    def mark_failed_while_deferred(self, whole_run: bool = False) -> str:
        payout = self.deferred_payout()
        if whole_run:
            self.api.mark_run(PAYOUT, payout.run_id, "failed")
        else:
            self.api.mark(PAYOUT, payout.run_id, "pay", "failed")
        wait_for(
            f"job {payout.job_token} to be CANCELLED",
            lambda: self.sandbox.status(payout.job_token) == "CANCELLED",
            timeout=60,
        )
        self.wait_log(
            payout, 1, f"Cancelling payment job {payout.job_token}: the task (or its run) was marked failed"
        )
        assert self.api.wait_run_done(PAYOUT, payout.run_id, TASK_SECONDS) == "failed"
        self.sandbox.complete_jobs()
        self.check_paid_once(payout.job_token, 0)
        return "job CANCELLED, nothing paid"

    def clear_while_deferred(self) -> str:
        payout = self.deferred_payout()
        polls = self.sandbox.calls("GET", payout.job_token)
        self.api.clear(PAYOUT, payout.run_id, "pay")
        # What try 1's on_kill read depends on how far try 2 got: none, queued, running, deferred...
        self.wait_log(payout, 1, f"Payment job {payout.job_token} goes on, not cancelled: the task ")
        self.wait_log(payout, 2, f"Resuming payment job {payout.job_token}, created by an earlier try")
        self.wait_deferred(payout.run_id, "pay", try_number=2)
        wait_for(
            "the new try's trigger to poll",
            lambda: self.sandbox.calls("GET", payout.job_token) > polls + 1,
            60,
        )
        assert self.sandbox.status(payout.job_token) == "SUBMITTED", (
            "the cleared try's on_kill cancelled the job"
        )
        self.sandbox.complete_jobs()
        self.expect_success(payout)
        return f"try 2 resumed {payout.job_token[:13]}…, paid {PAYEES}, one create"

    def mark_success_while_deferred(self) -> str:
        payout = self.deferred_payout()
        self.api.mark(PAYOUT, payout.run_id, "pay", "success")
        reason = "the task (or its run) was marked success"
        self.wait_log(payout, 1, f"Payment job {payout.job_token} goes on, not cancelled: {reason}")
        assert self.sandbox.status(payout.job_token) == "SUBMITTED", "mark success cancelled the job"
        assert self.api.wait_run_done(PAYOUT, payout.run_id, TASK_SECONDS) == "success"
        summary = self.api.xcom(PAYOUT, payout.run_id, "report")
        assert summary["job"] == payout.job_token and summary["pay_marked_success"], summary
        self.sandbox.complete_jobs()
        wait_for("the job to complete", lambda: self.sandbox.status(payout.job_token) == "COMPLETED", 30)
        self.expect_paid(payout.job_token, PAYEES)
        return f"job went on and COMPLETED, report saw it {summary['status']}, paid {PAYEES}"

    def triggerer_killed(self, signum: int) -> str:
        payout = self.deferred_payout()
        before = self.api.running_triggerers()
        self.deployment.kill_triggerer(signum)
        assert self.sandbox.status(payout.job_token) == "SUBMITTED", (
            "stopping the triggerer cancelled the job"
        )
        self.deployment.start_service("triggerer")

        def moved() -> bool:
            trigger = self.api.task(PAYOUT, payout.run_id, "pay")["trigger"] or {}
            return trigger.get("triggerer_id") not in (None, *before)

        wait_for("the new triggerer to take the trigger", moved, TASK_SECONDS)
        polls = self.sandbox.calls("GET", payout.job_token)
        wait_for("the moved trigger to poll", lambda: self.sandbox.calls("GET", payout.job_token) > polls, 90)
        self.sandbox.complete_jobs()
        self.expect_success(payout)
        return f"wait resumed in the new triggerer, paid {PAYEES}, one create"

    def sensor_example(self) -> str:
        item = {
            "amount": 7.25,
            "currency": "GBP",
            "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
        }
        token = self.sandbox.create_job({"items": [item]})
        run_id = self.api.trigger(SENSOR, {"job_token": token})
        self.wait_deferred(run_id, "wait_for_payout", dag_id=SENSOR)
        polls = self.sandbox.calls("GET", token)
        wait_for("the sensor's trigger to poll", lambda: self.sandbox.calls("GET", token) > polls, 60)
        self.sandbox.complete_jobs()
        assert self.api.wait_run_done(SENSOR, run_id, TASK_SECONDS) == "success"
        assert self.api.xcom(SENSOR, run_id, "reconcile_books")["status"] == "COMPLETED"
        self.expect_paid(token, 1)
        return "sensor deferred, job COMPLETED, books reconciled"

    def cancel_example(self) -> str:
        runs = {cancel: self.api.trigger(CANCEL, {"cancel": cancel}) for cancel in (True, False)}
        seen = {}
        for cancel, run_id in runs.items():
            assert self.api.wait_run_done(CANCEL, run_id, TASK_SECONDS) == "success"
            token = self.api.xcom(CANCEL, run_id, "schedule_payout", "job_token")
            seen[cancel] = (self.api.task_states(CANCEL, run_id)["cancel_payout"], self.sandbox.status(token))
            # Cancelled: nothing to pay. Not cancelled: the payout is held until tomorrow (notBefore).
            self.check_paid_once(token, 0 if cancel else 1, "SCHEDULED")
        assert seen == {True: ("success", "CANCELLED"), False: ("skipped", "SCHEDULED")}, seen
        return "cancel=True: CANCELLED; cancel=False: SCHEDULED, cancel skipped"

    def payroll_runs_of_one_date(self) -> str:
        """
        One payroll date run three times on a server that does not deduplicate clientPaymentIds.

        Airflow keeps one run per logical date: a second run of the date's ``ds`` is triggered at
        once (max_active_runs holds it queued), and after the first run is deleted, a third with
        the very same logical date. Each pays nothing new: it adopts the first run's job.
        """
        admin = self.deployment.sandbox.admin
        deduplicating = not admin.config()["accept_duplicate_client_ids"]
        admin.set_config(accept_duplicate_client_ids=True)
        try:
            return self._payroll_runs_of_one_date()
        finally:  # the other cases keep the server they were written for
            admin.set_config(accept_duplicate_client_ids=not deduplicating)

    def _payroll_runs_of_one_date(self) -> str:
        creates = self.sandbox.calls("POST", "/payments/jobs")
        first = self.api.trigger(PAYROLL, logical_date=PAYROLL_DATE)
        second = self.api.trigger(PAYROLL, logical_date=SAME_DAY_LATER)
        self.wait_deferred(first, "pay", dag_id=PAYROLL)
        token = self.api.xcom(PAYROLL, first, "pay", "job_token")
        assert token, "pay deferred without publishing its job token"
        # The scheduler starts no second run of the DAG while the first one's pay is deferred.
        assert self.api.run_state(PAYROLL, second) == "queued", self.api.task_states(PAYROLL, second)
        self.sandbox.complete_jobs()
        assert self.api.wait_run_done(PAYROLL, first, TASK_SECONDS) == "success"
        assert self.api.wait_run_done(PAYROLL, second, TASK_SECONDS) == "success"
        self.api.delete_run(PAYROLL, first)
        third = self.api.trigger(PAYROLL, logical_date=PAYROLL_DATE)
        assert self.api.wait_run_done(PAYROLL, third, TASK_SECONDS) == "success"
        for run_id in (second, third):
            assert self.api.xcom(PAYROLL, run_id, "pay", "job_token") == token, f"run {run_id} paid anew"
            assert self.api.xcom(PAYROLL, run_id, "report")["status"] == "COMPLETED"
            assert ADOPTED in self.task_log(PAYROLL, run_id, "pay"), f"run {run_id} did not adopt"
        self.check_paid_once(token, PAYEES)
        posted = self.sandbox.calls("POST", "/payments/jobs") - creates
        assert posted == 1, f"{posted} creates for one payroll date"
        return f"3 runs, 1 create: runs 2 and 3 adopted {token[:13]}…, paid {PAYEES} once"

    # --- the whole deployment, after every case ---------------------------------------------------------

    def check_everything_paid_once(self) -> str:
        """Across all cases: each payout paid exactly once, nothing else paid, no stray errors."""
        ledger = self.sandbox.ledger()
        repeated = [cid for cid, count in Counter(e["clientPaymentId"] for e in ledger).items() if count > 1]
        assert not repeated, f"paid more than once: {repeated}"
        per_job = Counter(entry["job_token"] for entry in ledger)
        unexpected = {job: count for job, count in per_job.items() if count != self.expected_paid[job]}
        assert not unexpected, f"payouts per job {dict(per_job)}, expected {dict(self.expected_paid)}"
        creates = self.sandbox.calls("POST", "/payments/jobs")
        assert creates == len(self.expected_paid), f"{creates} creates for {len(self.expected_paid)} jobs"
        logs = self.deployment.log_text()
        assert "key='job_url'" not in logs, "a missing job_url XCom was logged as an error"
        return (
            f"{len(ledger)} payouts in {len(per_job)} jobs, each once; {creates} creates for {creates} jobs"
        )

    def payee_data_canary(self) -> str:
        """
        A payout of canary payees (from the example's Variable), then a search of every process's
        log, the trigger's lines, every task's log, and pay's and report's XComs and rendered
        fields: only build_items' XCom (the user's task returns the body, and does not print it)
        and pay's rendered body may hold them.
        """
        payees = [{"destination": CANARIES[0], "amount": "3.25", "currency": "USD", "memo": CANARIES[1]}]
        self.api.set_variable(PAYEES_VARIABLE, json.dumps(payees))
        try:
            payout = self.deferred_payout()
        finally:
            self.api.delete_variable(PAYEES_VARIABLE)  # the other cases pay the default payees
        self.sandbox.complete_jobs()
        assert self.api.wait_run_done(PAYOUT, payout.run_id, TASK_SECONDS) == "success"
        self.check_paid_once(payout.job_token, 1)
        places = {
            "process logs": self.deployment.process_log_text(),
            "build_items log": self.task_log(PAYOUT, payout.run_id, "build_items"),
        }
        for task_id in ("pay", "report"):
            task = self.api.task(PAYOUT, payout.run_id, task_id)
            rendered = dict(task.get("rendered_fields") or {})
            if task_id == "pay":
                rendered.pop("body", None)  # the user's own body
            places[f"{task_id} log"] = self.task_log(PAYOUT, payout.run_id, task_id)
            places[f"{task_id} XCom"] = json.dumps(self.api.xcom(PAYOUT, payout.run_id, task_id))
            places[f"{task_id} rendered fields"] = json.dumps(rendered)
        assert "Trigger fired event" in places["process logs"] + places["pay log"], "no trigger event seen"
        leaks = {place: [c for c in CANARIES if c in text] for place, text in places.items()}
        assert not any(leaks.values()), f"payee data found: {leaks}"
        return f"canaries in none of {len(places)} places (logs, trigger lines, XComs, rendered fields)"

    # --- shared steps ----------------------------------------------------------------------------------

    def deferred_payout(self) -> Payout:
        """A new payout run whose ``pay`` is deferred and whose trigger polls its job in the triggerer."""
        run_id = self.api.trigger(PAYOUT)
        self.wait_deferred(run_id, "pay")
        token = self.api.xcom(PAYOUT, run_id, "pay", "job_token")
        assert token, "pay deferred without publishing its job token"
        polls = self.sandbox.calls("GET", token)
        wait_for("pay's trigger to poll its job", lambda: self.sandbox.calls("GET", token) > polls, 90)
        return Payout(run_id, token)

    def wait_deferred(self, run_id: str, task_id: str, try_number: int = 1, dag_id: str = PAYOUT) -> None:
        def deferred() -> bool:
            task = self.api.task(dag_id, run_id, task_id)
            if task["state"] in ("failed", "upstream_failed", "success"):
                raise AssertionError(f"{task_id} ended {task['state']} instead of deferring")
            trigger = task.get("trigger") or {}
            return task["state"] == "deferred" and task["try_number"] == try_number and bool(trigger)

        wait_for(f"{task_id} (try {try_number}) to defer", deferred, TASK_SECONDS)

    def wait_log(self, payout: Payout, try_number: int, text: str) -> None:
        folder = (
            self.deployment.home / "logs" / f"dag_id={PAYOUT}" / f"run_id={payout.run_id}" / "task_id=pay"
        )

        def logged() -> bool:
            files = folder.glob(f"attempt={try_number}.log*")
            return any(text in Path(path).read_text(errors="replace") for path in files)

        wait_for(f"pay try {try_number} to log {text!r}", logged, TASK_SECONDS)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """What a try logged, read from the log folder every process of the deployment shares."""
        folder = (
            self.deployment.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        )
        files = sorted(folder.glob(f"attempt={try_number}.log*"))
        return "\n".join(Path(path).read_text(errors="replace") for path in files)

    def expect_success(self, payout: Payout) -> None:
        assert self.api.wait_run_done(PAYOUT, payout.run_id, TASK_SECONDS) == "success"
        summary = self.api.xcom(PAYOUT, payout.run_id, "report")
        assert summary["job"] == payout.job_token and summary["status"] == "COMPLETED", summary
        self.expect_paid(payout.job_token, PAYEES)

    def expect_paid(self, token: str, count: int) -> None:
        wait_for(f"job {token} to complete", lambda: self.sandbox.status(token) == "COMPLETED", 30)
        self.check_paid_once(token, count)

    def check_paid_once(self, token: str, count: int, status: str = "COMPLETED") -> None:
        """The ledger holds ``count`` payouts of the job, each once, all in ``status``."""
        entries = self.sandbox.ledger(token)
        ids = Counter(entry["clientPaymentId"] for entry in entries)
        assert len(entries) == count and all(e["status"] == status for e in entries), (
            f"job {token}: expected {count} payouts {status}, ledger has {entries}"
        )
        assert all(n == 1 for n in ids.values()), f"job {token} pays an id twice: {entries}"
        self.expected_paid[token] = count
