"""Operators that create and cancel PayQuicker payment jobs."""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import pendulum

from airflow_provider_payjobs.airflow_support.compat import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    conf,
)
from airflow_provider_payjobs.airflow_support.outlets import (
    check_outlets_wait,
    finished_job_result,
    job_result,
)
from airflow_provider_payjobs.airflow_support.user_action import decide_in_worker
from airflow_provider_payjobs.airflow_support.waiting import (
    FAILED,
    TIMEOUT,
    JobWait,
    failure_message,
    job_from_event,
)
from airflow_provider_payjobs.client.job_status import Outcome, StatusSets
from airflow_provider_payjobs.client.models import TERMINAL_STATUSES, JobStatus
from airflow_provider_payjobs.client.validation import (
    RFC3339_RE,
    check_text,
    parse_rfc3339,
    prepare_create_body,
    to_rfc3339,
)
from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsError,
    PayJobsValidationError,
    _short_repr,
    permanent_failure_reason,
)
from airflow_provider_payjobs.hooks.payjobs import PayJobsHook
from airflow_provider_payjobs.links.payjobs import JOB_TOKEN_KEY, PaymentJobLink, push_job_link
from airflow_provider_payjobs.payout.guardrails import check_guardrails, check_limits_are_sane, describe_body
from airflow_provider_payjobs.payout.payment_ids import (
    check_payout_key,
    payout_scope,
    with_client_payment_ids,
    with_payout_ids,
)
from airflow_provider_payjobs.payout.protocol import (
    STATE_CREATE_STARTED,
    STATE_JOB_TOKEN,
    STATE_LAST_POST,
    STATE_RESUBMISSION,
    PayoutProtocol,
)

if TYPE_CHECKING:
    from airflow.sdk.types import RuntimeTaskInstanceProtocol

DEFAULT_TIMEOUT = timedelta(hours=24)
# How far back a payout key's earlier runs are looked for: a monthly payroll re-run a month later.
DEFAULT_PAYOUT_LOOKBACK = timedelta(days=35)
# The task state store's keys (3.3+), kept importable from here.
__all__ = [
    "STATE_CREATE_STARTED",
    "STATE_JOB_TOKEN",
    "STATE_LAST_POST",
    "STATE_RESUBMISSION",
    "CancelPaymentJobOperator",
    "CreatePaymentJobOperator",
]
# A schedule string must start with its date: pendulum would read "10:00" as today, on each try anew.
_DATE_FIRST = re.compile(r"[0-9]{4}", re.ASCII)


def _default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class CreatePaymentJobOperator(BaseOperator):
    """
    Creates a payment job, and optionally waits until it finishes, exactly once per task run, or
    once per payout key across every run of it.

    Every item gets a ``clientPaymentId`` when not given: derived from dag, task, run, map index
    and position, or, with ``payout_key``, from dag, task, key, map index and the item's payee.
    Before the first POST a job already holding those ids is looked for and adopted (never paid
    again); the job token is stored durably before any wait, and a retried task reconnects to its
    job instead of paying again (the protocol: :mod:`airflow_provider_payjobs.payout.protocol`).

    :param body: the GatewayPaymentJob or PortalPaymentJob, a dict or a JSON string (templated).
        ``notBefore``/``notAfter`` may be datetimes or strings; they are sent as RFC 3339 UTC.
    :param payjobs_conn_id: the Airflow connection.
    :param wait_for_completion: wait until the job is terminal; the task then returns the job's
        summary (see ``return_full_job``), else the job token.
    :param deferrable: wait in the triggerer instead of the worker.
    :param poll_interval: seconds between status checks.
    :param timeout: how long to wait (seconds or timedelta); an absolute deadline carried into the trigger.
    :param cancel_on_kill: cancel the job when the task is killed or the wait times out (a kill
        while deferred cancels on Airflow 3.3+ only, where the triggerer calls the trigger's on_kill).
    :param resubmit_failed: on a retry after a FAILED or CANCELLED job, create a new job, with new
        derived ids, for the items that job certainly did not pay (item FAILED, CANCELLED, EXPIRED
        or VOIDED) instead of failing the task. Items it paid are never paid again; while any item's
        outcome is unclear nothing is resubmitted. With derived ids, a wait that ends in a FAILED
        job then fails the try as retryable, so the task's ``retries`` do the resubmitting (a
        CANCELLED job still fails the task for good: someone meant it).
    :param fail_on_failed_items: when waiting, a COMPLETED job with an item FAILED, CANCELLED,
        EXPIRED, VOIDED or RETURNED fails the task (retryably with ``resubmit_failed``, whose retry
        pays the items certainly not paid; a RETURNED item needs a person and stops it).
    :param max_items: refuse a job with more items.
    :param max_total_amount: refuse a job moving more money than this per currency, e.g. ``{"USD": 10000}``.
    :param dry_run: validate and log the summary; create nothing.
    :param payout_key: what makes this payout one across DAG runs (templated), e.g.
        ``"payroll-{{ ds }}"`` or a business id. Every run of the same key (a re-run of the date, a
        manual run, a backfill) pays each item at most once; items are known by their payee (and,
        for several items to one payee, their order by currency, amount, purpose, source, note and
        memo), not by their position. A re-run whose items differ fails without paying. Unset,
        every DAG run is its own payout.
    :param payout_lookback: how far back a payout key's earlier jobs are looked for (default 35
        days); a job older than that is not seen, so a re-run after it would pay again.
    :param lookup_max_pages: the most pages of 50 jobs one look reads before the task fails
        closed, saying so (default 200: 10,000 jobs).
    :param return_full_job: return the whole job as XCom (every item; payee emails and names on
        portal jobs), readable by every Viewer, instead of the token or the summary
        ``{"job", "status", "created", "items_by_status", "totals_per_currency",
        "paid_per_currency"}``.

    With ``outlets=[Asset(...)]`` (and ``wait_for_completion=True``, which outlets need), the
    asset event of a successful wait carries the job's summary as its extra (see
    :func:`~airflow_provider_payjobs.watcher.job_events.job_event_payload`).
    """

    template_fields: Sequence[str] = ("body", "payjobs_conn_id", "payout_key")
    template_fields_renderers = {"body": "json"}
    operator_extra_links = (PaymentJobLink(),)
    ui_color = "#d8f3e6"

    def __init__(
        self,
        *,
        body: dict[str, Any] | str,
        payjobs_conn_id: str = PayJobsHook.default_conn_name,
        wait_for_completion: bool = False,
        deferrable: bool = _default_deferrable(),
        poll_interval: float = 30.0,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        cancel_on_kill: bool = True,
        resubmit_failed: bool = False,
        fail_on_failed_items: bool = True,
        max_items: int | None = None,
        max_total_amount: Mapping[str, float] | None = None,
        dry_run: bool = False,
        payout_key: str | None = None,
        payout_lookback: float | timedelta = DEFAULT_PAYOUT_LOOKBACK,
        lookup_max_pages: int | None = None,
        return_full_job: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.return_full_job = return_full_job
        self.payout_key = payout_key
        self.payout_lookback_seconds = _positive_seconds(payout_lookback, "payout_lookback")
        self.lookup_max_pages = lookup_max_pages
        self.payjobs_conn_id = payjobs_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = _positive_seconds(poll_interval, "poll_interval")
        self.timeout_seconds = _positive_seconds(timeout, "timeout")
        self.cancel_on_kill = cancel_on_kill
        self.resubmit_failed = resubmit_failed
        self.status_sets = StatusSets(fail_on_failed_items=fail_on_failed_items)
        check_limits_are_sane(max_items, max_total_amount)
        self.max_items = max_items
        self.max_total_amount = dict(max_total_amount) if max_total_amount else None
        # Not ``self.dry_run``: that is BaseOperator's method on Airflow 3.3.
        self.validate_only = dry_run
        check_outlets_wait(self.outlets, wait_for_completion)
        self.job_token: str | None = None
        self._task_instance: Any = None  # the running try, for on_kill to read its state back

    @cached_property
    def hook(self) -> PayJobsHook:
        """The hook of ``payjobs_conn_id``, made once per operator."""
        return PayJobsHook(self.payjobs_conn_id, lookup_max_pages=self.lookup_max_pages)

    # --- execute --------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """
        Create the job, or find the one an earlier try (or run of the payout key) created; wait if asked.

        Returns the job token, or with ``wait_for_completion`` the final job's summary (after
        deferring, :meth:`execute_complete` returns it); with ``return_full_job`` the job itself
        (created, or final); ``None`` for a dry run. A failure no retry can mend
        (bad input, a refused body, bad credentials, a payout that differs, a guardrail) fails
        the task at once, without its retries.

        :param context: the Airflow context of the running task.
        """
        with _failing_at_once_when_retries_cannot_help():
            check_outlets_wait(self.outlets, self.wait_for_completion)  # outlets may be added after init
            if self.validate_only:
                body = self.prepare_body(context)
                self.log.info(
                    "Dry run: would create a payment job of %s; nothing was sent", describe_body(body)
                )
                return None
            job = self._protocol(context).run().job
        self._publish(context, job["token"])
        if not self.wait_for_completion:
            return dict(job) if self.return_full_job else job["token"]
        return self._announce(context, self._wait(job))

    def _protocol(self, context: Context) -> PayoutProtocol:
        """The exactly-once protocol of this try, given Airflow's task state store and the hook."""
        ti = _task_instance(context)
        run_started = _earliest_run_moment(context)
        key = self._rendered_payout_key()
        window_start = None
        if key is not None:
            window_start = min(
                run_started, datetime.now(timezone.utc) - timedelta(seconds=self.payout_lookback_seconds)
            )
        return PayoutProtocol(
            store=_TaskState(context),
            client=self.hook,
            body_for=lambda generation, positions: self.prepare_body(context, generation, positions),
            is_failed=lambda job: self.status_sets.classify_job(job) is Outcome.FAILED,
            run_started=run_started,
            window_start=window_start,
            scope_for=lambda generation: (
                None if key is None else payout_scope(ti.dag_id, ti.task_id, key, _map_index(ti), generation)
            ),
            resubmit_failed=self.resubmit_failed,
            own_ids=not _body_has_no_ids(self.body),
            failure_message=failure_message,
            log=self.log,
        )

    def _rendered_payout_key(self) -> str | None:
        return None if self.payout_key is None else check_payout_key(self.payout_key)

    def prepare_body(
        self, context: Context, generation: int = 0, positions: Sequence[int] | None = None
    ) -> dict[str, Any]:
        """
        The rendered body, with schedule in UTC and a clientPaymentId on every item, checked.

        :param context: the Airflow context of the running task (its ids derive the clientPaymentIds).
        :param generation: 0, or the resubmission whose derived ids to use.
        :param positions: the items to keep (a resubmission pays only unpaid ones); None keeps all.
        """
        body = _parse_body(self.body)
        for key in ("notBefore", "notAfter"):
            if body.get(key) is not None:
                body[key] = _to_utc_text(body[key], key)
        # Checked before ids are derived: errors name the positions of the body as written.
        body = prepare_create_body(body)
        ti = _task_instance(context)
        payout_key = self._rendered_payout_key()
        if payout_key is not None:
            body = with_payout_ids(body, ti.dag_id, ti.task_id, payout_key, _map_index(ti), generation)
        else:
            body, _ = with_client_payment_ids(
                body,
                ti.dag_id,
                ti.task_id,
                context["run_id"],  # pyright: ignore[reportTypedDictNotRequiredAccess]  # as "ti" below
                _map_index(ti),
                generation,
            )
        if positions is not None:
            body["items"] = [body["items"][position] for position in positions]
        check_guardrails(body, self.max_items, self.max_total_amount)
        return body

    def _publish(self, context: Context, token: str) -> None:
        self.job_token = token
        self._task_instance = _task_instance(context)
        _task_instance(context).xcom_push(key=JOB_TOKEN_KEY, value=token)
        push_job_link(_task_instance(context), self.hook.settings.portal_url, token)

    # --- waiting --------------------------------------------------------------------------------

    def _wait(self, job: dict[str, Any]) -> dict[str, Any]:
        wait = JobWait(job["token"], self.status_sets, time.time() + self.timeout_seconds, self.log)
        event = wait.observe(job)
        if event is None and self.deferrable:
            # Loaded only when deferring: DAG files are parsed without the triggerer's classes.
            from airflow_provider_payjobs.triggers.payjobs import PaymentJobTrigger

            self.defer(
                trigger=PaymentJobTrigger(
                    job_token=job["token"],
                    payjobs_conn_id=self.payjobs_conn_id,
                    end_time=wait.end_time,
                    poll_interval=self.poll_interval,
                    cancel_on_kill=self.cancel_on_kill,
                    fail_on_failed_items=self.status_sets.fail_on_failed_items,
                ),
                method_name="execute_complete",
            )
        while event is None:
            time.sleep(wait.sleep_seconds(self.poll_interval))
            try:
                event = wait.observe(self.hook.retrieve_payment_job(job["token"]))
            except PayJobsError as error:
                event = wait.observe_error(error, self.hook.retry_policy)
        return self._finish(event, lambda _token: wait.last_job or job)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """
        Resume after the trigger fired: the final job's summary (or the job), or a failed task.

        The event carries no items: on success the job is read again, so what the task decides
        on and returns is the job as the API says it is now.

        :param context: the Airflow context of the running task.
        :param event: the trigger's event (``status``, ``job_token``, ``message``, ``job_status``,
            ``items_by_status``).
        """
        self.job_token = (event or {}).get("job_token") or self.job_token
        self._task_instance = context.get("ti")
        return self._announce(context, self._finish(event, self.hook.retrieve_payment_job))

    def _announce(self, context: Context, job: dict[str, Any]) -> dict[str, Any]:
        """What the task returns for its finished job; the job's summary in each outlet's event."""
        return finished_job_result(context, self.outlets, job, self.return_full_job)

    def _finish(
        self, event: dict[str, Any] | None, read_job: Callable[[str], Mapping[str, Any]]
    ) -> dict[str, Any]:
        if event and event.get("status") == TIMEOUT and self.cancel_on_kill:
            self._cancel_quietly(event.get("job_token"), "the wait timed out")
        try:
            job = job_from_event(event, self.status_sets, read_job)
        except AirflowFailException as error:
            if self._retry_resubmits(event):
                # Let Airflow retry the task: the retry pays what this job left unpaid.
                raise AirflowException(
                    f"{error}; a retry pays its unpaid items (resubmit_failed=True)"
                ) from error
            raise
        self.log.info("Payment job %s finished %s", job.get("token"), job.get("status"))
        return job

    def _retry_resubmits(self, event: dict[str, Any] | None) -> bool:
        """Whether a retry would pay what the failed job left unpaid, with nobody deciding anew."""
        event = event or {}
        # An event fired by an earlier version of the provider carries the job, not its status.
        job = event.get("job")
        status = JobStatus.parse(
            event.get("job_status") or (job.get("status") if isinstance(job, Mapping) else None)
        )
        return (
            self.resubmit_failed
            and event.get("status") == FAILED
            and status is not None  # fail closed: a job of unknown status is not paid around
            and status is not JobStatus.CANCELLED  # someone meant it
            and _body_has_no_ids(self.body)
        )

    def on_kill(self) -> None:
        """
        The worker is stopping this task: cancel its job only if a person marked the task failed
        or skipped, or its ``execution_timeout`` expired; clear, mark success and a worker
        shutting down let the job go on (see ``airflow_provider_payjobs/airflow_support/user_action.py``).
        """
        if not self.cancel_on_kill or not self.job_token:
            return
        # The task runner calls on_kill while handling AirflowTaskTimeout; a SIGTERM handler is not.
        timed_out = isinstance(sys.exc_info()[1], AirflowTaskTimeout)
        verdict = decide_in_worker(self._task_instance, timed_out=timed_out)
        if verdict.cancel:
            self._cancel_quietly(self.job_token, verdict.reason)
        elif verdict.certain:
            self.log.info(verdict.describe(self.job_token))
        else:
            self.log.error(verdict.describe(self.job_token))

    def _cancel_quietly(self, token: str | None, reason: str) -> None:
        """Best effort: log what happened, never raise."""
        if not token:
            return
        try:
            job = self.hook.cancel_payment_job(token)
            self.log.warning("Cancelled payment job %s because %s (now %s)", token, reason, job.get("status"))
        except Exception as error:
            self.log.warning("Could not cancel payment job %s after %s: %s", token, reason, error)


class CancelPaymentJobOperator(BaseOperator):
    """
    Cancels a payment job that has not finished processing; returns the cancelled job's summary.

    :param job_token: the job to cancel (templated).
    :param payjobs_conn_id: the Airflow connection.
    :param if_terminal: what to do when the job already ended: ``"fail"`` raises an error naming
        its status; ``"skip"`` logs and returns the job's summary.
    :param return_full_job: return the whole job as XCom (items and payees, readable by every
        Viewer) instead of its summary ``{"job", "status", "created", "items_by_status",
        "totals_per_currency", "paid_per_currency"}``.
    """

    template_fields: Sequence[str] = ("job_token", "payjobs_conn_id")
    operator_extra_links = (PaymentJobLink(),)
    ui_color = "#f6dcdc"

    def __init__(
        self,
        *,
        job_token: str,
        payjobs_conn_id: str = PayJobsHook.default_conn_name,
        if_terminal: str = "fail",
        return_full_job: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.return_full_job = return_full_job
        if if_terminal not in ("fail", "skip"):
            raise PayJobsValidationError("if_terminal", "must be 'fail' or 'skip'", if_terminal)
        self.job_token = job_token
        self.payjobs_conn_id = payjobs_conn_id
        self.if_terminal = if_terminal

    def execute(self, context: Context) -> dict[str, Any]:
        """
        Cancel the job and return its summary; a job already ended fails the task or is returned
        (``if_terminal``).

        :param context: the Airflow context of the running task.
        """
        hook = PayJobsHook(self.payjobs_conn_id)
        job = hook.retrieve_payment_job(self.job_token)
        push_job_link(context.get("ti"), hook.settings.portal_url, self.job_token)
        if JobStatus.parse(job.get("status")) not in TERMINAL_STATUSES:
            try:
                return job_result(hook.cancel_payment_job(self.job_token), self.return_full_job)
            except PayJobsApiError as error:
                if error.status_code != 400:
                    raise
                job = hook.retrieve_payment_job(self.job_token)  # it finished meanwhile
                if JobStatus.parse(job.get("status")) not in TERMINAL_STATUSES:
                    raise
        message = f"Payment job {self.job_token} is already {job.get('status')}; nothing to cancel"
        if self.if_terminal == "fail":
            raise AirflowFailException(message)
        self.log.info(message)
        return job_result(job, self.return_full_job)


class _TaskState:
    """
    The task state store of Airflow 3.3+ (``task_state_store`` in the context).

    Without it (older Airflow) nothing is stored and a retry finds its job on the server
    by the deterministic clientPaymentIds instead.
    """

    def __init__(self, context: Context) -> None:
        self.store = context.get("task_state_store")

    def get(self, key: str) -> Any:
        return self.store.get(key) if self.store is not None else None

    def set(self, key: str, value: Any) -> None:
        if self.store is not None:
            self.store.set(key, value)

    def delete(self, key: str) -> None:
        if self.store is not None:
            self.store.delete(key)


def _parse_body(body: Any) -> dict[str, Any]:
    """A shallow copy of the body, parsed first when it is a JSON string (the items are copied later)."""
    if isinstance(body, str):
        body = _load_json(body)
    if not isinstance(body, Mapping):
        raise PayJobsValidationError("body", "must be a dict or a JSON object string", type(body).__name__)
    return dict(body)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_refuse_repeated_keys, parse_float=Decimal)
    except PayJobsValidationError:
        raise
    # RecursionError: nested too deep to parse; ValueError: bad JSON, or an integer of over 4300 digits.
    except (ValueError, RecursionError) as error:
        reason = str(error)[:120].encode("utf-8", "backslashreplace").decode("utf-8")
        raise PayJobsValidationError("body", f"is not valid JSON ({reason})") from None


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One JSON object holding a key twice: which value counts would be a guess."""
    parsed = dict(pairs)
    if len(parsed) < len(pairs):
        repeated = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise PayJobsValidationError(
            "body", f"holds the key {_short_repr(repeated)} twice in one JSON object"
        )
    return parsed


def _to_utc_text(value: Any, field: str) -> str:
    """
    ``notBefore``/``notAfter`` as RFC 3339 UTC: a datetime (naive means UTC), a date (midnight
    UTC), or an ISO 8601 string starting with its date (without an offset it means UTC).
    """
    if isinstance(value, str):
        text = check_text(value, field)
        parsed: Any = None
        if RFC3339_RE.fullmatch(text):  # pendulum refuses RFC 3339's lower-case t and z
            parsed = parse_rfc3339(text, field)
        elif _DATE_FIRST.match(text):
            try:
                parsed = pendulum.parse(text, tz="UTC", strict=True)
            except Exception:  # pendulum raises ParserError, ValueError, TypeError or OverflowError
                parsed = None
        if not isinstance(parsed, datetime):  # a duration, an interval, or no date-time at all
            raise PayJobsValidationError(
                field, "must be a datetime, a date or an ISO 8601 date-time starting with its date", value
            )
        value = parsed
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, datetime):
        raise PayJobsValidationError(
            field, "must be a datetime, a date or an ISO 8601 date-time starting with its date", value
        )
    rfc3339_text: str = to_rfc3339(value, field)  # a datetime's is text
    return rfc3339_text


def _body_has_no_ids(body: Any) -> bool:
    parsed = _parse_body(body) if isinstance(body, (str, Mapping)) else {}
    items = parsed.get("items")
    return all(
        not isinstance(item, Mapping) or item.get("clientPaymentId") is None
        for item in (items if isinstance(items, (list, tuple)) else [])
    )


def _task_instance(context: Context) -> RuntimeTaskInstanceProtocol:
    """``context["ti"]``: Airflow types every context key optional; a running task's holds this one."""
    return context["ti"]  # pyright: ignore[reportTypedDictNotRequiredAccess]


def _earliest_run_moment(context: Context) -> datetime:
    """The earliest the run could have paid: clearing a run moves its start_date, not run_after.

    (logical_date is a label for the data, not a moment the run existed.)
    """
    dag_run = context.get("dag_run")
    known = [
        moment
        for name in ("run_after", "queued_at", "start_date")
        if isinstance(moment := getattr(dag_run, name, None), datetime)
    ]
    return min(known) if known else datetime.now(timezone.utc) - timedelta(days=1)


class _failing_at_once_when_retries_cannot_help:  # named like a statement: it is used as one
    """Turn an error that every retry would repeat into AirflowFailException: no retries for it."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any
    ) -> Literal[False]:
        if isinstance(error, PayJobsError):
            reason = permanent_failure_reason(error)
            if reason is not None:
                raise AirflowFailException(f"{error} (not retried: {reason})") from error
        return False


def _map_index(ti: Any) -> int:
    map_index = getattr(ti, "map_index", -1)
    return map_index if isinstance(map_index, int) else -1


def _positive_seconds(value: float | timedelta, field: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    valid = not isinstance(seconds, bool) and isinstance(seconds, (int, float))
    # Compared, not converted: float() of a huge int overflows. NaN and inf fail the comparison.
    if not valid or not 0 < seconds < 1e15:
        raise PayJobsValidationError(
            field, "must be a positive, finite number of seconds or a timedelta", value
        )
    return float(seconds)
