"""
The e2e cases of the payout watcher: a reconciliation DAG scheduled on an asset that
PaymentJobEventTrigger watches, in the real deployment.

The watcher is switched on after the other cases (unpause, then ask for a parse: watchers are
registered only then). Each case makes one job finish and checks that the asset got one event for
it and that the reconciliation DAG reconciled it in exactly one run, also after more polls, after a
triggerer restart, and for a job the payout DAG created.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from e2e.airflow_api import wait_for
from e2e.cases import PAYOUT, TASK_SECONDS, Cases

RECONCILE = "example_payjobs_reconcile"
ASSET_URI = "payjobs://payjobs_default/jobs"
CURSOR_KEY = "payjobs_cursor."  # then 12 hex digits of the connection, prefix and statuses
WATCH_SECONDS = 90  # the watcher polls every 5 s; a busy 2-core machine may stretch that
HOOK_CONNECTION = "payjobs_e2e_runner"  # the runner's own connection to the sandbox
RESUMED = "Payout watcher resuming"  # what a restarted watcher logs when it finds its cursor


@dataclass
class WatcherCases:
    """
    The watcher cases, sharing the deployment and the bookkeeping of the other cases.

    :param cases: the other cases (their API clients and ledger bookkeeping).
    """

    cases: Cases
    reported: list[str] = field(default_factory=list)  # jobs each case made the watcher report
    asset_id: int | None = None

    def __post_init__(self) -> None:
        self.api, self.sandbox, self.deployment = self.cases.api, self.cases.sandbox, self.cases.deployment

    def all(self) -> list[tuple[str, Any]]:
        return [
            ("watcher: starts when unpaused", self.start_watcher),
            ("watcher: job created by the hook", self.job_created_by_the_hook),
            ("watcher: across a triggerer SIGTERM", lambda: self.across_a_restart(signal.SIGTERM)),
            ("watcher: across a triggerer SIGKILL", lambda: self.across_a_restart(signal.SIGKILL)),
            ("watcher: job made by the payout DAG", self.job_created_by_the_payout_dag),
            ("watcher: no job reported twice", self.no_job_reported_twice),
        ]

    # --- the cases --------------------------------------------------------------------------------

    def start_watcher(self) -> str:
        started = time.monotonic()
        self.api.unpause(RECONCILE)
        file_token = self.api.call("GET", f"/dags/{RECONCILE}")["file_token"]
        self.api.call("PUT", f"/parseDagFile/{file_token}")  # unpausing alone registers no watcher
        cursor = wait_for("the watcher's first scan to save its cursor", self.cursor, TASK_SECONDS, every=1)
        return (
            f"cursor saved {time.monotonic() - started:.0f} s after unpausing; "
            f"{len(cursor['open'])} open job(s) watched, nothing reported"
        )

    def job_created_by_the_hook(self) -> str:
        token = self.create_with_hook("hook")
        self.wait_watched(token)
        self.sandbox.complete_jobs()
        self.wait_reconciled(token)
        polls = self.more_polls(3)
        self.check_once(token)
        self.cases.check_paid_once(token, 2)
        return f"{token[:13]}… one event, reconciled in one run; {polls} polls later still once"

    def across_a_restart(self, signum: int) -> str:
        token = self.create_with_hook(f"restart-{signum}")
        self.wait_watched(token)
        resumed_before = self.deployment.log_text().count(RESUMED)
        self.deployment.kill_triggerer(signum)
        self.sandbox.complete_jobs()  # the job finishes while no triggerer runs
        self.deployment.start_service("triggerer")
        self.wait_reconciled(token)
        self.more_polls(3)
        for job in self.reported:
            self.check_once(job)
        self.cases.check_paid_once(token, 2)
        resumed = self.deployment.log_text().count(RESUMED) > resumed_before
        assert resumed, "the new triggerer did not resume from the stored cursor"
        earlier = len(self.reported) - 1
        return f"finished while down: {token[:13]}… reconciled once; earlier jobs ({earlier}) not again"

    def job_created_by_the_payout_dag(self) -> str:
        payout = self.cases.deferred_payout()
        self.sandbox.complete_jobs()
        self.cases.expect_success(payout)
        self.wait_reconciled(payout.job_token)
        self.more_polls(3)
        self.check_once(payout.job_token)
        return f"{payout.job_token[:13]}… paid by the payout DAG, one event, reconciled in one run"

    def no_job_reported_twice(self) -> str:
        events = self.asset_events()
        jobs = Counter(event["job"] for event in events)
        repeated = [job for job, count in jobs.items() if count > 1]
        assert not repeated, f"reported more than once: {repeated}"
        reconciled = self.reconciled()
        again = [job for job, runs in reconciled.items() if len(runs) > 1]
        assert not again, f"reconciled in more than one run: {again}"
        missing = [job for job in self.reported if job not in jobs]
        assert not missing, f"never reported: {missing}"
        states = Counter(run["state"] for run in self.runs())
        assert set(states) <= {"success"}, f"reconciliation runs: {dict(states)}"
        return (
            f"{len(events)} events for {len(jobs)} jobs; {states['success']} reconciliation runs, all success"
        )

    # --- steps ------------------------------------------------------------------------------------

    def create_with_hook(self, label: str) -> str:
        """A job created straight through the hook in this process, not by any DAG."""
        os.environ[f"AIRFLOW_CONN_{HOOK_CONNECTION.upper()}"] = self.deployment.sandbox.connection_json()
        from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

        hook = PayJobsHook(HOOK_CONNECTION)
        try:
            items = [
                {
                    "amount": amount,
                    "currency": "USD",
                    "destinationToken": "dest-631b200f-665d-4dbe-bd01-3063c9dec97d",
                    "clientPaymentId": f"e2e-watcher-{label}-{number}-{time.time_ns()}",
                }
                for number, amount in enumerate((20, 5.5))
            ]
            return hook.create_payment_job({"items": items})["token"]
        finally:
            hook.close()

    def wait_watched(self, token: str) -> None:
        """Until the saved cursor holds the job as open: the watcher saw it before it finished."""

        def watched() -> bool:
            return token in (self.cursor() or {"open": []})["open"]

        wait_for(f"the watcher to save {token} as open", watched, WATCH_SECONDS, every=1)

    def wait_reconciled(self, token: str) -> None:
        """Until a reconciliation run reconciled the job."""
        wait_for(
            f"a reconciliation run for {token}", lambda: token in self.reconciled(), TASK_SECONDS, every=2
        )
        self.reported.append(token)

    def more_polls(self, count: int) -> int:
        """Wait until the watcher listed jobs ``count`` more times and every reconciliation run ended."""
        before = self.list_calls()
        wait_for(f"{count} more polls", lambda: self.list_calls() >= before + count, WATCH_SECONDS, every=1)

        def runs_ended() -> bool:
            return all(run["state"] in ("success", "failed") for run in self.runs())

        wait_for("every reconciliation run to end", runs_ended, TASK_SECONDS, every=2)
        return self.list_calls() - before

    def check_once(self, token: str) -> None:
        events = [event for event in self.asset_events() if event["job"] == token]
        assert len(events) == 1, f"{len(events)} asset events for {token}"
        runs = self.reconciled().get(token, [])
        assert len(runs) == 1, f"{token} reconciled in runs {runs}"

    # --- what the deployment shows ------------------------------------------------------------------

    def cursor(self) -> dict[str, Any] | None:
        """The watcher's cursor as saved in the asset's state store (what a person can read too)."""
        answer = self.api.call("GET", f"/assets/{self.asset()}/state-store")
        cursors = [
            entry["value"] for entry in answer["asset_state_store"] if entry["key"].startswith(CURSOR_KEY)
        ]
        assert len(cursors) <= 1, f"{len(cursors)} cursors on one asset watched by one trigger"
        return cursors[0] if cursors else None

    def asset(self) -> int:
        if self.asset_id is None:
            assets = self.api.call("GET", "/assets", params={"uri_pattern": ASSET_URI})["assets"]
            self.asset_id = next(asset["id"] for asset in assets if asset["uri"] == ASSET_URI)
        return self.asset_id

    def asset_events(self) -> list[dict[str, Any]]:
        """The payload of every event of the watched asset."""
        answer = self.api.call("GET", "/assets/events", params={"asset_id": self.asset(), "limit": 1000})
        payloads = []
        for event in answer["asset_events"]:
            extra = event.get("extra") or {}
            assert extra.get("from_trigger"), f"an event not from the watcher: {event}"
            payloads.append(extra["payload"])
        return payloads

    def runs(self) -> list[dict[str, Any]]:
        return self.api.call("GET", f"/dags/{RECONCILE}/dagRuns", params={"limit": 100})["dag_runs"]

    def reconciled(self) -> dict[str, list[str]]:
        """Each job reconciled by a finished run, with the runs that reconciled it."""
        seen: dict[str, list[str]] = {}
        for run in self.runs():
            if run["state"] != "success":
                continue
            for entry in self.api.xcom(RECONCILE, run["dag_run_id"], "reconcile") or []:
                seen.setdefault(entry["job"], []).append(run["dag_run_id"])
        return seen

    def list_calls(self) -> int:
        return sum(
            1
            for entry in self.sandbox.sandbox.admin.requests()
            if entry["method"] == "GET"
            and entry["path"].endswith("/payments/jobs")
            and "page=1&" in entry["query"]
        )


__all__ = ["PAYOUT", "WatcherCases"]
