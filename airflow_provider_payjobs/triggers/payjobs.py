"""PaymentJobTrigger: waits in the triggerer until a payment job reaches a terminal status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_payjobs.exceptions import PayJobsError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.job_status import StatusSets
from airflow_provider_payjobs.user_action import decide_in_triggerer
from airflow_provider_payjobs.waiting import ERROR, JobWait


class PaymentJobTrigger(BaseTrigger):
    """
    Polls a payment job asynchronously and yields exactly one event.

    The event is ``{"status": "success" | "failed" | "timeout" | "error", "job_token": ...,
    "job": <last job dict or None>, "message": ...}``. Transient API errors are retried with the
    hook's policy and then polled through until the deadline; they never become a failure event.
    Triggers of one connection share one HTTP session and one token in the triggerer's loop.

    :param job_token: the job to wait for.
    :param payjobs_conn_id: the Airflow connection.
    :param end_time: absolute deadline, seconds since the epoch.
    :param poll_interval: seconds between polls.
    :param success_statuses: statuses that count as success (default COMPLETED).
    :param failure_statuses: statuses that fail (FAILED and CANCELLED always do).
    :param cancel_on_kill: cancel the job when a user kills the deferred task (Airflow 3.3+).
    :param fail_on_failed_items: a COMPLETED job with failed items yields "failed", not "success".
    """

    def __init__(
        self,
        job_token: str,
        payjobs_conn_id: str,
        end_time: float,
        poll_interval: float = 30.0,
        success_statuses: Sequence[str] | None = None,
        failure_statuses: Sequence[str] | None = None,
        cancel_on_kill: bool = True,
        fail_on_failed_items: bool = True,
    ) -> None:
        super().__init__()
        self.job_token = job_token
        self.payjobs_conn_id = payjobs_conn_id
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.status_sets = StatusSets.from_names(success_statuses, failure_statuses, fail_on_failed_items)
        self.cancel_on_kill = bool(cancel_on_kill)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the constructor's arguments, primitives only, for the triggerer."""
        success, failure = self.status_sets.names()
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_token": self.job_token,
                "payjobs_conn_id": self.payjobs_conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "success_statuses": success,
                "failure_statuses": failure,
                "cancel_on_kill": self.cancel_on_kill,
                "fail_on_failed_items": self.status_sets.fail_on_failed_items,
            },
        )

    def _hook(self) -> PayJobsHook:
        return PayJobsHook(self.payjobs_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job ends or the deadline passes, then yield the one event."""
        hook = self._hook()
        wait = JobWait(self.job_token, self.status_sets, self.end_time, self.log)
        try:
            # Held for the whole wait: every poll (of every trigger of the connection) reuses one session.
            async with hook.shared_async_session():
                event = await self._poll_until_done(hook, wait)
        except PayJobsError as error:  # the connection's settings are unusable: polling cannot start
            event = wait.event(ERROR, f"Cannot poll payment job {self.job_token}: {error}")
        yield TriggerEvent(event)

    async def _poll_until_done(self, hook: PayJobsHook, wait: JobWait) -> dict[str, Any]:
        policy = (await hook.asettings()).retry_policy
        while True:
            try:
                event = wait.observe(await hook.aretrieve_payment_job(self.job_token))
            except PayJobsError as error:
                event = wait.observe_error(error, policy)
            if event is not None:
                return event
            await asyncio.sleep(wait.sleep_seconds(self.poll_interval))

    async def on_kill(self) -> None:
        """
        The triggerer took this trigger away (Airflow 3.3+): cancel the job only if a person
        marked the task failed or skipped; clear and mark success let it go on (see user_action).
        """
        if not self.cancel_on_kill:
            self.log.info("Payment job %s goes on: cancel_on_kill is off", self.job_token)
            return
        verdict = await decide_in_triggerer(self.task_instance)
        if not verdict.cancel:
            log = self.log.info if verdict.certain else self.log.error
            log(verdict.describe(self.job_token))
            return
        self.log.warning(verdict.describe(self.job_token))
        try:
            await self._hook().acancel_payment_job(self.job_token)
            self.log.info("Cancelled payment job %s because %s", self.job_token, verdict.reason)
        except Exception as error:
            self.log.warning("Could not cancel payment job %s on kill: %s", self.job_token, error)
