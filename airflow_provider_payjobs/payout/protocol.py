"""
The exactly-once payout protocol: how one task pays one body once, whatever dies when.

It needs two things, both small interfaces: a durable store per task (Airflow's task state store
on 3.3+, nothing on older Airflow) and a jobs client (the hook). It imports no Airflow.

One try of a task, top to bottom (:meth:`PayoutProtocol.run`):

1. **Resume.** A job token in the store is the job an earlier try of this task created: read it
   again. It must pay what this try's body says, or the task fails closed.
2. **Look, then post** (:class:`CreateAttempts`, one create call). Every body carries a
   clientPaymentId on each item, and those ids can exist already: a payout key, ids the user gave,
   an earlier try, a store that was cleared. So before the first POST the client looks for a job
   holding them (a bounded search that fails closed), waiting first for a create an earlier try
   sent and never saw answered. Found: that job is adopted, never posted again. Not found: the
   moment is recorded (``STATE_LAST_POST``) right before each POST. A POST whose outcome is
   unknown (no answer, 5xx, 429) is followed by another look before any new POST; a refusal that
   says the ids are used adopts the job holding them.
3. **Store the token** of the job created or adopted, before anything waits on it.
4. **Resubmit** only when asked (``resubmit_failed``): a FAILED or CANCELLED job's items that it
   certainly did not pay get new ids (the next generation) and go back to step 2; the plan is
   stored after the failed job is forgotten, so a kill in between plans the same again.

Fails closed (:class:`PayoutRefused`, never retried) whenever paying would be a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsConflictError,
    PayJobsError,
    PayJobsPayoutMismatchError,
    PayJobsTransportError,
)
from airflow_provider_payjobs.payout import reconcile
from airflow_provider_payjobs.payout.resubmission import plan_resubmission

if TYPE_CHECKING:  # retries imports tenacity, which a DAG file's parse need not load
    from airflow_provider_payjobs.client.retries import TaskLogger

# Keys in the task state store. Renaming one breaks retries already in flight.
STATE_JOB_TOKEN = "payjobs_job_token"
STATE_CREATE_STARTED = "payjobs_create_started_at"
STATE_LAST_POST = "payjobs_last_post_at"  # when a POST of this job was last sent, by any try
# {"generation": n, "positions": [...], "planned_at": iso}: the n-th resubmission, which items it pays.
STATE_RESUBMISSION = "payjobs_resubmission"
# A gateway's "bad gateway" or "timeout": the service behind it may still save the create.
GATEWAY_STATUS_CODES = frozenset({502, 504})


# --- the two interfaces -------------------------------------------------------------------------


class TaskStore(Protocol):
    """A durable key-value store of one task (all its tries); values are JSON-serializable."""

    def get(self, key: str) -> Any:
        """
        The value stored under ``key``, or None.

        :param key: one of the ``STATE_*`` keys.
        """
        ...

    def set(self, key: str, value: Any) -> None:
        """
        Store ``value`` under ``key``, durably, before returning.

        :param key: one of the ``STATE_*`` keys.
        :param value: a JSON-serializable value.
        """
        ...

    def delete(self, key: str) -> None:
        """
        Forget ``key``.

        :param key: one of the ``STATE_*`` keys.
        """
        ...


class JobSearch(Protocol):
    """What a create call needs of the client: one POST, and the bounded search."""

    def post_job(self, body: Mapping[str, Any], *, before_send: Callable[[], None]) -> dict[str, Any]:
        """
        One POST, no retry; typed errors (:mod:`~airflow_provider_payjobs.exceptions`).

        :param body: the checked wire body.
        :param before_send: called right before the request leaves.
        """
        ...

    def find_job_holding(
        self,
        client_payment_ids: list[str],
        created_since: datetime,
        *,
        may_still_land_since: datetime | None = None,
        scope: str | None = None,
    ) -> dict[str, Any] | None:
        """
        The job holding all ids (and no other of ``scope``), or None; fails closed.

        :param client_payment_ids: the body's ids.
        :param created_since: the start of the search window.
        :param may_still_land_since: when a POST of these ids left unanswered: wait for it to land.
        :param scope: a payout key's id prefix.
        """
        ...

    def should_retry_read(self, error: BaseException) -> bool:
        """
        Whether ``error`` leaves the outcome of a request unknown (a read would be retried).

        :param error: what an attempt raised.
        """
        ...


class JobsClient(Protocol):
    """What a task needs of the client: read a job, and create one exactly once (with retries)."""

    def retrieve_payment_job(self, job_token: str) -> dict[str, Any]:
        """
        The job, read again (with the client's retries).

        :param job_token: ``jobs-<uuid>``.
        """
        ...

    def create_exactly_once(
        self,
        body: Mapping[str, Any],
        *,
        created_since: datetime,
        may_still_land_since: datetime | None,
        before_post: Callable[[], None],
        scope: str | None,
    ) -> CreateResult:
        """
        Look, then post if nothing holds the ids; every attempt within one retry budget.

        :param body: the checked body, ids included.
        :param created_since: the start of the search window.
        :param may_still_land_since: when an earlier try's POST left unanswered.
        :param before_post: called right before each POST leaves.
        :param scope: a payout key's id prefix, or None.
        """
        ...


class NoStore:
    """The store of Airflow before 3.3: keeps nothing; a retry finds its job by its ids instead."""

    def get(self, key: str) -> Any:
        """
        Nothing is kept: always None.

        :param key: ignored.
        """
        return None

    def set(self, key: str, value: Any) -> None:
        """
        Keeps nothing.

        :param key: ignored.
        :param value: ignored.
        """
        return None

    def delete(self, key: str) -> None:
        """
        Nothing to forget.

        :param key: ignored.
        """
        return None


# --- outcomes -----------------------------------------------------------------------------------


class PayoutRefused(PayJobsError):
    """Paying would be a guess (or is not wanted): the task fails closed, and a retry cannot help."""

    retry_cannot_help = "the earlier job's outcome decides it, and a retry finds the same job"


@dataclass(frozen=True)
class CreateResult:
    """
    A create call's job, and whether it was adopted (it existed already) or created by this call.

    :param job: the job as the API returned it.
    :param adopted: True when a job holding the ids existed already and nothing was posted for it.
    """

    job: dict[str, Any]
    adopted: bool


@dataclass(frozen=True)
class PayoutResult:
    """
    What one try ends with: the job paying the body, and how this try came to it.

    :param job: the job.
    :param how: ``"resumed"`` (its token was stored), ``"adopted"`` (found holding the ids) or
        ``"created"`` (posted by this try).
    :param body: the body the job pays (a resubmission pays part of the user's body).
    """

    job: dict[str, Any]
    how: str
    body: dict[str, Any]


# --- step 2: one create call, across its POST attempts -------------------------------------------


class CreateAttempts:
    """
    The state of one create call across its attempts; the client's retry policy calls
    :meth:`attempt` once per attempt.

    :param client: the POST and the search.
    :param body: the checked wire body.
    :param created_since: the start of the search window.
    :param may_still_land_since: when an earlier try sent a POST of these ids that nobody saw
        answered: the first look waits for it to land.
    :param before_post: called right before each POST leaves (the task records the moment).
    :param scope: the prefix of a payout key's ids, if the ids are a payout key's.
    :param log: where adopting is logged.
    """

    def __init__(
        self,
        client: JobSearch,
        body: Mapping[str, Any],
        *,
        created_since: datetime,
        may_still_land_since: datetime | None = None,
        before_post: Callable[[], None] | None = None,
        scope: str | None = None,
        log: TaskLogger | None = None,
    ) -> None:
        self.client = client
        self.body = body
        self.ids = reconcile.client_payment_ids(body)
        self.created_since = created_since
        self.scope = scope
        self.before_post = before_post
        self.log: TaskLogger = log or logging.getLogger(__name__)
        # Look before the first POST whenever there are ids to look for.
        self.must_look = self.ids is not None
        self.may_still_land_since = may_still_land_since
        self.last_sent: datetime | None = None

    def attempt(self) -> CreateResult:
        """One attempt: look when a job may hold the ids, else POST. Raises what the attempt hit."""
        if self.must_look:
            existing = self._look()
            if existing is not None:
                return CreateResult(existing, adopted=True)
        try:
            return CreateResult(self.client.post_job(self.body, before_send=self._sending), adopted=False)
        except PayJobsApiError as error:
            if self.ids and (reconcile.is_duplicate_id_refusal(error) or error.status_code < 300):
                # Refused as a repeat, or accepted with an unreadable answer: the job exists. Until a
                # look succeeds, every later attempt must look again: a POST now could pay twice.
                self.must_look = True
                existing = self._look()
                if existing is None:
                    raise
                return CreateResult(existing, adopted=True)
            self.must_look = self.ids is not None and self.client.should_retry_read(error)
            self._failed(may_still_land=error.status_code in GATEWAY_STATUS_CODES)
            raise
        except PayJobsTransportError as error:
            self.must_look = self.must_look or (self.ids is not None and error.request_sent)
            self._failed(may_still_land=error.request_sent)
            raise

    def _look(self) -> dict[str, Any] | None:
        assert self.ids is not None
        try:
            existing = self.client.find_job_holding(
                self.ids,
                self.created_since,
                may_still_land_since=self.may_still_land_since,
                scope=self.scope,
            )
        except PayJobsConflictError as conflict:
            if self.scope is None:
                raise  # ids the caller chose: which job holds which is the clearest answer
            raise _mismatch(self.body, conflict) from conflict
        self.must_look = False
        if existing is not None:
            check_pays_the_body(self.body, existing)
            self.log.warning(
                "Payment job %s already holds these %d clientPaymentIds: adopting it, not posting again",
                existing["token"],
                len(self.ids),
            )
        return existing

    def _sending(self) -> None:
        # Wall clock: a later try (another process) reads the same moment from the store.
        self.last_sent = datetime.now(timezone.utc)
        if self.before_post is not None:
            self.before_post()

    def _failed(self, *, may_still_land: bool) -> None:
        # Sticky: an answered failure later does not make an earlier unanswered request land.
        if may_still_land and self.last_sent is not None:  # not when no POST has left yet
            self.may_still_land_since = self.last_sent


def check_pays_the_body(body: Mapping[str, Any], job: Mapping[str, Any]) -> None:
    """
    Refuse ``job`` when it holds the body's ids but pays something else.

    :param body: the checked body, ids included.
    :param job: the job holding (some of) its ids.
    :raises PayJobsPayoutMismatchError: naming the differences (at most ten).
    """
    differences = reconcile.payment_differences(body, job)
    if differences:
        raise PayJobsPayoutMismatchError(str(job.get("token")), differences)


def _mismatch(body: Mapping[str, Any], conflict: PayJobsConflictError) -> PayJobsPayoutMismatchError:
    """Some ids are held, but no job holds exactly them: say how the first holder differs."""
    tokens = sorted({token for holders in conflict.holders.values() for token in holders})
    held = set(conflict.holders)
    wanted = set(reconcile.client_payment_ids(body) or [])
    differences = [
        f"items[{position}] ({item.get('clientPaymentId')}) is in no job that holds the others"
        for position, item in enumerate(body.get("items") or [])
        if item.get("clientPaymentId") not in held
    ]
    extra = sorted(held - wanted)
    if extra:
        differences.append(f"the payout already paid other items: {', '.join(extra[:5])}")
    return PayJobsPayoutMismatchError(", ".join(tokens), differences or [str(conflict)])


def _no_scope(generation: int) -> str | None:
    """
    No scope: the ids are a run's, not a payout key's.

    :param generation: ignored.
    """
    return None


def _status_sentence(job: Mapping[str, Any]) -> str:
    """
    ``status FAILED``: the least a failure message says.

    :param job: the failed job.
    """
    return f"status {job.get('status')}"


# --- the task-level protocol: steps 1 to 4 -------------------------------------------------------


@dataclass
class PayoutProtocol:
    """
    One try of a payout task.

    :param store: the task's durable store (:class:`NoStore` on Airflow before 3.3).
    :param client: the jobs client.
    :param body_for: the checked body, ids included, of a generation and the positions it pays
        (``(0, None)``: the whole body).
    :param is_failed: whether a job failed (FAILED, CANCELLED, or items failed when that counts).
    :param run_started: the earliest moment this task run could have paid.
    :param window_start: under a payout key, the start of the look-back window (earlier runs
        of the key created their jobs before this run started).
    :param scope_for: under a payout key, the prefix of a generation's ids.
    :param resubmit_failed: pay again, in a new job, what a failed job certainly did not pay.
    :param own_ids: the user's body sets its own clientPaymentIds (new ones cannot be derived).
    :param failure_message: a sentence on why a job failed.
    :param log: where the protocol's steps are logged, each once.
    """

    store: TaskStore
    client: JobsClient
    body_for: Callable[[int, Sequence[int] | None], dict[str, Any]]
    is_failed: Callable[[Mapping[str, Any]], bool]
    run_started: datetime
    window_start: datetime | None = None
    scope_for: Callable[[int], str | None] = field(default=_no_scope, repr=False)
    resubmit_failed: bool = False
    own_ids: bool = False
    failure_message: Callable[[Mapping[str, Any]], str] = field(default=_status_sentence, repr=False)
    log: TaskLogger = field(default_factory=lambda: logging.getLogger(__name__))

    def run(self) -> PayoutResult:
        """Steps 1 to 4: the job paying this task's body, created at most once."""
        resubmission = self.store.get(STATE_RESUBMISSION) or {}
        generation = int(resubmission.get("generation", 0))
        positions: list[int] | None = resubmission.get("positions")
        body = self.body_for(generation, positions)
        result = self._resume(body)
        while True:
            if result is None:
                result = self._create(body, generation)
            if not self.is_failed(result.job):
                return result
            generation, positions = self._plan_resubmission(result.job, body, generation, positions)
            body = self.body_for(generation, positions)
            result = None

    def _resume(self, body: dict[str, Any]) -> PayoutResult | None:
        """Step 1: the job whose token an earlier try stored, checked to pay this body."""
        token = self.store.get(STATE_JOB_TOKEN)
        if not token:
            return None
        job = self.client.retrieve_payment_job(token)
        check_pays_the_body(body, job)
        self.log.info("Resuming payment job %s, created by an earlier try of this task", token)
        return PayoutResult(job, "resumed", body)

    def _create(self, body: dict[str, Any], generation: int) -> PayoutResult:
        """Steps 2 and 3: look, post if nothing holds the ids, store the token."""
        search_start = self._search_start()  # before this try's start is stored: a resubmission's plan
        earlier_start = self.store.get(STATE_CREATE_STARTED)
        # A POST an earlier try sent (or may have sent: it started) and never saw answered may
        # still be landing.
        posted = self.store.get(STATE_LAST_POST) or earlier_start
        if not earlier_start:  # the first attempt bounds every later search
            self.store.set(STATE_CREATE_STARTED, _now())
        result = self.client.create_exactly_once(
            body,
            created_since=search_start,
            may_still_land_since=datetime.fromisoformat(posted) if posted else None,
            before_post=lambda: self.store.set(STATE_LAST_POST, _now()),
            scope=self.scope_for(generation),
        )
        token = result.job["token"]
        self.store.set(STATE_JOB_TOKEN, token)
        if result.adopted:
            return PayoutResult(result.job, "adopted", body)
        self.log.info("Created payment job %s with %d items", token, len(body["items"]))
        return PayoutResult(result.job, "created", body)

    def _search_start(self) -> datetime:
        """Where a search for this task's job starts: the payout key's window, else this run."""
        if self.window_start is not None:
            return self.window_start
        resubmission = self.store.get(STATE_RESUBMISSION) or {}
        stored = self.store.get(STATE_CREATE_STARTED) or resubmission.get("planned_at")
        return datetime.fromisoformat(stored) if stored else self.run_started

    def _plan_resubmission(
        self,
        failed_job: Mapping[str, Any],
        body: Mapping[str, Any],
        generation: int,
        positions: list[int] | None,
    ) -> tuple[int, list[int]]:
        """Step 4: the next (generation, positions) after ``failed_job``, or a refusal."""
        ended = f"Payment job {failed_job['token']} from an earlier try ended {failed_job.get('status')}"
        if not self.resubmit_failed:
            raise PayoutRefused(
                f"{ended}; not paying again silently. {self.failure_message(failed_job)}. "
                "Set resubmit_failed=True to pay its unpaid items in a new job."
            )
        if self.own_ids:
            raise PayoutRefused(
                f"{ended}; resubmit_failed needs new clientPaymentIds and this body sets its own: "
                "give new ids to pay again."
            )
        current = positions if positions is not None else list(range(len(body["items"])))
        plan = plan_resubmission(body, current, failed_job)
        refusal = plan.refusal(failed_job["token"])
        if refusal:
            raise PayoutRefused(f"{ended}; {refusal}")
        generation += 1
        self.log.warning(
            "%s; paying its %d unpaid items again with new clientPaymentIds (resubmission %d); "
            "the %d items it paid are not paid again",
            ended,
            len(plan.unpaid_positions),
            generation,
            len(plan.paid_ids),
        )
        # Forget the failed job before recording the resubmission: a kill in between leaves a
        # retry that finds the failed job again and plans the same resubmission.
        for key in (STATE_JOB_TOKEN, STATE_CREATE_STARTED, STATE_LAST_POST):
            self.store.delete(key)
        # Its ids cannot exist before now: later searches for this resubmission start here.
        self.store.set(
            STATE_RESUBMISSION,
            {"generation": generation, "positions": plan.unpaid_positions, "planned_at": _now()},
        )
        return generation, plan.unpaid_positions


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
