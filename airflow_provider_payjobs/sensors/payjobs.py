"""PaymentJobSensor: waits until a payment job created elsewhere reaches a terminal status."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow_provider_payjobs.airflow_support.compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)
from airflow_provider_payjobs.airflow_support.outlets import finished_job_result
from airflow_provider_payjobs.airflow_support.waiting import FAILED, SUCCESS, TIMEOUT, JobWait, job_from_event
from airflow_provider_payjobs.client.job_status import StatusSets
from airflow_provider_payjobs.exceptions import PayJobsError
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.links.payjobs import PaymentJobLink, push_job_link


class PaymentJobSensor(BaseSensorOperator):
    """
    Waits until a payment job ends; returns the final job's summary through XCom.

    A failure status fails the task without retries; a status the API never documented keeps
    the sensor waiting (with a warning) until its timeout. A transient API error is retried by
    the hook and, if it persists, logged as a poke that found nothing.

    :param job_token: the job to wait for (templated).
    :param payjobs_conn_id: the Airflow connection.
    :param success_statuses: statuses that count as success (default COMPLETED; never FAILED or CANCELLED).
    :param failure_statuses: statuses that fail the task (FAILED and CANCELLED always do).
    :param deferrable: wait in the triggerer instead of the worker.
    :param fail_on_failed_items: fail when the job completed but an item did not pay (FAILED,
        CANCELLED, EXPIRED, VOIDED or RETURNED); False accepts such a job as success.
    :param return_full_job: return the whole job as XCom (items and payees, readable by every
        Viewer) instead of its summary ``{"job", "status", "created", "items_by_status",
        "totals_per_currency", "paid_per_currency"}``.

    With ``outlets=[Asset(...)]``, the asset event of a successful wait carries the job's summary
    as its extra (see :func:`~airflow_provider_payjobs.watcher.job_events.job_event_payload`).
    """

    template_fields: Sequence[str] = ("job_token", "payjobs_conn_id")
    operator_extra_links = (PaymentJobLink(),)
    ui_color = "#e4ecf7"

    def __init__(
        self,
        *,
        job_token: str,
        payjobs_conn_id: str = PayJobsHook.default_conn_name,
        success_statuses: Sequence[str] | None = None,
        failure_statuses: Sequence[str] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        fail_on_failed_items: bool = True,
        return_full_job: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.return_full_job = return_full_job
        self.job_token = job_token
        self.payjobs_conn_id = payjobs_conn_id
        self.status_sets = StatusSets.from_names(success_statuses, failure_statuses, fail_on_failed_items)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> PayJobsHook:
        """The hook of ``payjobs_conn_id``, made once per sensor."""
        return PayJobsHook(self.payjobs_conn_id)

    def execute(self, context: Context) -> Any:
        """
        Wait for the job: poke in the worker, or look once and defer to the triggerer.

        :param context: the Airflow context of the running task.
        """
        push_job_link(context.get("ti"), self.hook.settings.portal_url, self.job_token)
        if not self.deferrable:
            return super().execute(context)
        try:
            first_look = self.poke(context)
        except AirflowFailException as error:
            # As the base sensor does for a failing poke.
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
            if getattr(self, "never_fail", False):
                raise AirflowSkipException(f"Skipping due to never_fail: {error}") from error
            raise
        if first_look:
            # poke says done only as a PokeReturnValue that carries the result
            assert isinstance(first_look, PokeReturnValue)
            return first_look.xcom_value
        success, failure = self.status_sets.names()
        # Loaded only when deferring: DAG files are parsed without the triggerer's classes.
        from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

        self.defer(
            trigger=PaymentJobTrigger(
                job_token=self.job_token,
                payjobs_conn_id=self.payjobs_conn_id,
                end_time=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                success_statuses=success,
                failure_statuses=failure,
                cancel_on_kill=False,  # the sensor watches a job it did not create
                fail_on_failed_items=self.status_sets.fail_on_failed_items,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """
        Look at the job once: done with the job's summary (or the job) as XCom value, False to
        wait, or a failed task.

        :param context: the Airflow context of the running task.
        """
        wait = JobWait(self.job_token, self.status_sets, end_time=float("inf"), log=self.log)
        try:
            event = wait.observe(self.hook.retrieve_payment_job(self.job_token))
        except PayJobsError as error:
            event = wait.observe_error(error, self.hook.retry_policy)
        if event is None:
            return False
        job = wait.last_job
        if event["status"] == SUCCESS and job is not None:
            result = finished_job_result(context, self.outlets, job, self.return_full_job)
            return PokeReturnValue(is_done=True, xcom_value=result)
        if event["status"] == FAILED:
            raise AirflowFailException(event["message"])
        job_from_event(event, self.status_sets, self.hook.retrieve_payment_job)  # an error event: raises
        raise AssertionError("unreachable: job_from_event raises for every event but a success")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """
        Resume after the trigger fired: the final job's summary (or the job, read again: the event
        carries no items), or a failed (or, with soft_fail, skipped) task.

        :param context: the Airflow context of the running task.
        :param event: the trigger's event (``status``, ``job_token``, ``message``, ``job_status``,
            ``items_by_status``).
        """
        if event and event.get("status") == TIMEOUT:
            raise AirflowSensorTimeout(event.get("message"))
        job = job_from_event(event, self.status_sets, self.hook.retrieve_payment_job)
        return finished_job_result(context, self.outlets, job, self.return_full_job)
