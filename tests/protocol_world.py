"""
An in-memory world for the exactly-once payout protocol: a server, a store, a client and crashes.

Nothing here sleeps, talks HTTP or imports Airflow. Time is a :class:`SimulatedClock` that every
part reads: the protocol's ``datetime.now`` is pointed at it (:func:`simulated_time`), a request
takes one simulated second, a retry wait one more, and a landing wait moves the clock to the
landing moment. One :class:`Schedule` (server mode, faults per request, crash points, whether a
crash loses the store) decides every choice, so a run is a pure function of its schedule.

The protocol code driven here is the real one: :class:`PayoutProtocol` runs each task try and
:class:`CreateAttempts` each create call; only the server, the store and the transport are fakes.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsError,
    PayJobsMalformedAnswerError,
    PayJobsTransportError,
    permanent_failure_reason,
)
from airflow_provider_payjobs.payout import protocol, reconcile
from airflow_provider_payjobs.payout.protocol import CreateAttempts, CreateResult, PayoutProtocol

START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
# A save the server is slow with becomes visible this long after the POST arrived; it is within
# the landing window, which is what the client is promised (2 x timeout + settle).
SLOW_SAVE_SECONDS = 20
LANDING_SECONDS = 30
RESTART_SECONDS = 60  # Airflow's retry delay between two tries
MAX_EVENTS = 2_000  # a schedule that takes more steps than this hangs
POLICY = RetryPolicy(attempts=3)
JOBS_PATH = "/api/v2/payments/jobs"
ITEM_COUNT = 2
QUIET = logging.getLogger("protocol_simulation")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False
QUIET.setLevel(logging.CRITICAL + 1)

# What one request meets. A POST's fault decides whether the server saves the job and what the
# client sees; a GET's fault only what the client sees (the read is retried like the hook's).
GET_FAULTS = ("none", "dropped", "refused", "503")


def _transport(kind: str) -> Callable[[], Exception]:
    return lambda: PayJobsTransportError(f"no answer ({kind})", kind=kind, method="POST", path=JOBS_PATH)


def _status(code: int) -> Callable[[], Exception]:
    return lambda: PayJobsApiError(code, method="POST", path=JOBS_PATH, message=f"HTTP {code}")


# Faults that stop a POST before the server saves anything.
NOT_SAVED: dict[str, Callable[[], Exception]] = {
    "refused": _transport("refused"),
    "429": _status(429),
    "502": _status(502),
    "503": _status(503),
}
# Faults after the server saved the job: the answer the client gets instead of the job.
ANSWER_LOST: dict[str, Callable[[], Exception]] = {
    "dropped": _transport("dropped"),
    "read_timeout": _transport("read_timeout"),
    "slow": _transport("read_timeout"),  # no answer while the save drags on
    "504_slow": _status(504),  # the gateway gave up while the service was still saving
    "500_saved": _status(500),
    "malformed": lambda: PayJobsMalformedAnswerError(201, "not JSON", method="POST", path=JOBS_PATH),
}
SLOW_SAVES = frozenset({"slow", "504_slow"})
POST_FAULTS = ("none", *NOT_SAVED, *ANSWER_LOST)


class ProcessKilled(BaseException):
    """The worker process dies here: no ``except Exception`` in the protocol or a retry loop sees it."""


class Hang(BaseException):
    """A schedule took more than ``MAX_EVENTS`` steps: the protocol would not have ended."""


@dataclass(frozen=True)
class Schedule:
    """
    Every choice of one simulated task run.

    :param deduplicating: the server refuses (409) a POST whose ids a job already holds.
    :param post_faults: the fault met by the n-th POST of the run (missing: none).
    :param get_faults: the fault met by the n-th GET of the run (missing: none).
    :param crashes: the global step numbers at which the process is killed.
    :param store_lost: for each crash, whether the restart finds the task's store empty.
    :param first_job_fails: the server's first job ends FAILED, its item 0 paid and item 1 not
        (the task resubmits what it did not pay).
    """

    deduplicating: bool
    post_faults: tuple[str, ...] = ()
    get_faults: tuple[str, ...] = ()
    crashes: tuple[int, ...] = ()
    store_lost: tuple[bool, ...] = ()
    first_job_fails: bool = False

    def with_crashes(self, crashes: tuple[int, ...], store_lost: tuple[bool, ...]) -> Schedule:
        return Schedule(
            self.deduplicating, self.post_faults, self.get_faults, crashes, store_lost, self.first_job_fails
        )


class SimulatedClock:
    """The one clock of a world; it only moves forward."""

    def __init__(self) -> None:
        self.now = START

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def advance_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


class Steps:
    """Counts the steps where a process can die, and kills it at the schedule's crash points."""

    def __init__(self, crashes: Sequence[int]) -> None:
        self.crashes = set(crashes)
        self.count = 0
        self.trace: list[str] = []

    def point(self, label: str) -> None:
        number = self.count
        self.count += 1
        self.trace.append(label)
        if self.count > MAX_EVENTS:
            raise Hang(f"more than {MAX_EVENTS} steps")
        if number in self.crashes:
            raise ProcessKilled(f"killed at step {number}: {label}")


@dataclass
class ServerJob:
    token: str
    created: datetime
    visible_at: datetime
    items: list[dict[str, Any]]
    status: str

    def answer(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "created": self.created.isoformat(),
            "status": self.status,
            "count": len(self.items),
            "items": copy.deepcopy(self.items),
        }


class FakeServer:
    """
    The Payment Jobs API as the protocol sees it: jobs, items, clientPaymentIds and a ledger.

    :param clock: the world's clock.
    :param deduplicating: refuse a POST whose ids are held (409, the sandbox's message).
    :param first_job_fails: the first job ends FAILED with item 0 COMPLETED and the others FAILED.
    """

    def __init__(self, clock: SimulatedClock, *, deduplicating: bool, first_job_fails: bool) -> None:
        self.clock = clock
        self.deduplicating = deduplicating
        self.first_job_fails = first_job_fails
        self.jobs: list[ServerJob] = []

    def create(self, body: Mapping[str, Any], *, slow: bool) -> ServerJob:
        """Save a job (visible at once, or ``SLOW_SAVE_SECONDS`` later); the 409 of a deduplicating server."""
        wanted = {item["clientPaymentId"] for item in body["items"]}
        if self.deduplicating and any(wanted & self._ids_of(job) for job in self.jobs):
            raise PayJobsApiError(
                409, method="POST", path=JOBS_PATH, message="clientPaymentId already used by another job"
            )
        fails = self.first_job_fails and not self.jobs
        items = []
        for position, item in enumerate(body["items"]):
            status = "FAILED" if fails and position > 0 else "COMPLETED"
            items.append({**copy.deepcopy(dict(item)), "status": status})
        visible_at = self.clock.now + timedelta(seconds=SLOW_SAVE_SECONDS if slow else 0)
        job_status = "FAILED" if fails else "COMPLETED"
        job = ServerJob(f"job-{len(self.jobs) + 1}", self.clock.now, visible_at, items, job_status)
        self.jobs.append(job)
        return job

    def list_page(self, page: int, page_size: int) -> dict[str, Any]:
        """One page of the jobs visible now, newest first."""
        visible = [job for job in reversed(self.jobs) if job.visible_at <= self.clock.now]
        chunk = visible[(page - 1) * page_size : page * page_size]
        pages = max(1, -(-len(visible) // page_size))
        return {"payload": [job.answer() for job in chunk], "meta": {"pageCount": pages}}

    def retrieve(self, token: str) -> dict[str, Any]:
        for job in self.jobs:
            if job.token == token and job.visible_at <= self.clock.now:
                return job.answer()
        raise PayJobsApiError(404, method="GET", path=f"{JOBS_PATH}/{token}", message="no such job")

    def payments(self) -> Counter[int]:
        """How many times each item position was paid, by every job ever saved (slow ones too)."""
        paid: Counter[int] = Counter()
        for job in self.jobs:
            for item in job.items:
                if item["status"] == "COMPLETED":
                    paid[position_of(item["clientPaymentId"])] += 1
        return paid

    @staticmethod
    def _ids_of(job: ServerJob) -> set[str]:
        return {item["clientPaymentId"] for item in job.items}


class FakeStore:
    """The task's durable store; a step before and after each write, where a kill may strike."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return copy.deepcopy(self.values.get(key))

    def set(self, key: str, value: Any) -> None:
        self.steps.point(f"before set {key}")
        self.values[key] = copy.deepcopy(value)
        self.steps.point(f"after set {key}")

    def delete(self, key: str) -> None:
        self.steps.point(f"before delete {key}")
        self.values.pop(key, None)
        self.steps.point(f"after delete {key}")

    def lose(self) -> None:
        self.values.clear()


class FakeClient:
    """
    The hook's client side without HTTP: a create call is :class:`CreateAttempts` under a retry
    loop with :class:`RetryPolicy`'s rules, reads are retried like the hook's, and a search is
    :func:`reconcile.find_job_holding` that waits (on the simulated clock) for a create landing.

    :param attempts_class: the create call's state (a broken variant in the tests that prove the
        checker finds double payments).
    """

    def __init__(
        self,
        server: FakeServer,
        clock: SimulatedClock,
        steps: Steps,
        schedule: Schedule,
        attempts_class: type[CreateAttempts] = CreateAttempts,
    ) -> None:
        self.server = server
        self.clock = clock
        self.steps = steps
        self.schedule = schedule
        self.attempts_class = attempts_class
        self.posts = 0
        self.gets = 0

    # --- JobsClient ---

    def retrieve_payment_job(self, job_token: str) -> dict[str, Any]:
        return self._read(lambda: self.server.retrieve(job_token))

    def create_exactly_once(
        self,
        body: Mapping[str, Any],
        *,
        created_since: datetime,
        may_still_land_since: datetime | None,
        before_post: Callable[[], None],
        scope: str | None,
    ) -> CreateResult:
        creation = self.attempts_class(
            self,
            body,
            created_since=created_since,
            may_still_land_since=may_still_land_since,
            before_post=before_post,
            scope=scope,
            log=QUIET,
        )
        idempotent = creation.ids is not None
        return _retried(
            creation.attempt,
            lambda error: POLICY.should_retry(error, "POST", idempotent=idempotent),
            self.clock,
        )

    # --- JobSearch ---

    def post_job(self, body: Mapping[str, Any], *, before_send: Callable[[], None]) -> dict[str, Any]:
        fault = _nth(self.schedule.post_faults, self.posts)
        number = self.posts
        self.posts += 1
        before_send()
        self.steps.point(f"before POST {number} ({fault})")
        self.clock.advance(1)
        refusal = NOT_SAVED.get(fault)
        if refusal is not None:
            raise refusal()
        job = self.server.create(body, slow=fault in SLOW_SAVES)
        self.steps.point(f"after POST {number} saved {job.token}")
        lost_answer = ANSWER_LOST.get(fault)
        if lost_answer is not None:
            raise lost_answer()
        return job.answer()

    def find_job_holding(
        self,
        client_payment_ids: list[str],
        created_since: datetime,
        *,
        may_still_land_since: datetime | None = None,
        scope: str | None = None,
    ) -> dict[str, Any] | None:
        def search() -> dict[str, Any] | None:
            return reconcile.find_job_holding(
                client_payment_ids,
                created_since,
                lambda page, size: self._read(lambda: self.server.list_page(page, size)),
                self.retrieve_payment_job,
                scope=scope,
            )

        existing = search()
        if existing is None and may_still_land_since is not None:
            landed_by = may_still_land_since + timedelta(seconds=LANDING_SECONDS)
            if landed_by > self.clock.now:
                self.clock.advance_to(landed_by)
                existing = search()
        return existing

    def should_retry_read(self, error: BaseException) -> bool:
        return POLICY.should_retry(error, "GET")

    def _read(self, read: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            fault = _nth(self.schedule.get_faults, self.gets)
            number = self.gets
            self.gets += 1
            self.steps.point(f"before GET {number} ({fault})")
            self.clock.advance(1)
            if fault == "refused":
                raise PayJobsTransportError(
                    "connection refused", kind="refused", method="GET", path=JOBS_PATH
                )
            if fault == "503":
                raise PayJobsApiError(503, method="GET", path=JOBS_PATH, message="service unavailable")
            answer = read()
            self.steps.point(f"after GET {number}")
            if fault == "dropped":
                raise PayJobsTransportError("no answer", kind="dropped", method="GET", path=JOBS_PATH)
            return answer

        return _retried(attempt, lambda error: POLICY.should_retry(error, "GET"), self.clock)


def _retried(
    attempt: Callable[[], Any], should_retry: Callable[[Exception], bool], clock: SimulatedClock
) -> Any:
    """``attempt()`` at most ``POLICY.attempts`` times, as :meth:`RetryPolicy.call`, in simulated time."""
    for number in range(1, POLICY.attempts + 1):
        try:
            return attempt()
        except Exception as error:
            if number == POLICY.attempts or not should_retry(error):
                raise
            clock.advance(POLICY.min_wait * 2 ** (number - 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _nth(faults: tuple[str, ...], number: int) -> str:
    return faults[number] if number < len(faults) else "none"


def payment_id(generation: int, position: int) -> str:
    return f"payout-g{generation}-{position}"


def position_of(client_payment_id: str) -> int:
    return int(client_payment_id.rsplit("-", 1)[1])


def body_for(generation: int, positions: Sequence[int] | None) -> dict[str, Any]:
    """The task's body for a generation: the payout key's ids, one item per position it pays."""
    chosen = range(ITEM_COUNT) if positions is None else positions
    return {
        "items": [
            {
                "clientPaymentId": payment_id(generation, position),
                "amount": 10 + position,
                "currency": "USD",
                "destinationToken": f"destination-{position}",
            }
            for position in chosen
        ]
    }


def is_failed(job: Mapping[str, Any]) -> bool:
    return job.get("status") in ("FAILED", "CANCELLED")


class _SimulatedDatetime(datetime):
    """``datetime`` whose ``now`` is the world's clock: what the protocol reads as wall time."""

    clock: SimulatedClock | None = None

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        assert cls.clock is not None, "simulated_time() is not active"
        return cls.clock.now if tz is None else cls.clock.now.astimezone(tz)


@contextlib.contextmanager
def simulated_time(clock: SimulatedClock) -> Iterator[None]:
    """Point the protocol module's ``datetime.now`` (its ``_now`` and ``_sending``) at ``clock``."""
    _SimulatedDatetime.clock = clock
    try:
        with mock.patch.object(protocol, "datetime", _SimulatedDatetime):
            yield
    finally:
        _SimulatedDatetime.clock = None


@dataclass
class Run:
    """What happened in one schedule: each try's end, the server's jobs, the steps taken."""

    schedule: Schedule
    tries: list[str] = field(default_factory=list)
    outcome: Any = None  # the final try's PayoutResult or the exception it raised; None: tries ran out
    server: FakeServer | None = None
    steps: Steps | None = None

    def describe(self) -> str:
        assert self.server is not None and self.steps is not None
        jobs = [
            (job.token, job.status, [item["clientPaymentId"] for item in job.items])
            for job in self.server.jobs
        ]
        return f"{self.schedule}\n  tries: {self.tries}\n  jobs: {jobs}\n  steps: {self.steps.trace}"


def run_schedule(
    schedule: Schedule,
    *,
    max_tries: int = 5,
    attempts_class: type[CreateAttempts] = CreateAttempts,
    protocol_class: type[PayoutProtocol] = PayoutProtocol,
) -> Run:
    """
    Run one task (tries until one ends in a result or an error a retry cannot help) under ``schedule``.

    A kill ends a try and the next one starts on the same store, or an emptied one when the
    schedule says the crash lost it; an error Airflow would retry starts the next try too.
    """
    clock = SimulatedClock()
    steps = Steps(schedule.crashes)
    server = FakeServer(clock, deduplicating=schedule.deduplicating, first_job_fails=schedule.first_job_fails)
    store = FakeStore(steps)
    client = FakeClient(server, clock, steps, schedule, attempts_class)
    run = Run(schedule, server=server, steps=steps)
    crashes_seen = 0
    with simulated_time(clock):
        for _ in range(max_tries):
            task_try = protocol_class(
                store=store,
                client=client,
                body_for=body_for,
                is_failed=is_failed,
                run_started=START,
                scope_for=lambda generation: f"payout-g{generation}-",
                resubmit_failed=True,
                log=QUIET,
            )
            try:
                run.outcome = task_try.run()
            except ProcessKilled as killed:
                run.tries.append(str(killed))
                lost = crashes_seen < len(schedule.store_lost) and schedule.store_lost[crashes_seen]
                crashes_seen += 1
                if lost:
                    store.lose()
                run.outcome = None
                clock.advance(RESTART_SECONDS)
                continue
            except PayJobsError as error:
                run.tries.append(f"raised {type(error).__name__}: {error}")
                run.outcome = error
                if permanent_failure_reason(error) is None:
                    clock.advance(RESTART_SECONDS)
                    continue
                return run
            except (Exception, Hang) as error:  # a bug of the protocol (or of this world): shown, not hidden
                run.tries.append(f"broke with {error!r}")
                run.outcome = error
                return run
            run.tries.append(f"returned {run.outcome.how} {run.outcome.job['token']}")
            return run
    return run


def violations(run: Run) -> list[str]:
    """
    What ``run`` broke: an item paid twice, a success that leaves an item unpaid, an end that is
    neither a result nor one of the protocol's stated errors.
    """
    assert run.server is not None
    found = []
    paid = run.server.payments()
    for position, times in sorted(paid.items()):
        if times > 1:
            found.append(f"item {position} paid {times} times")
    outcome = run.outcome
    if isinstance(outcome, protocol.PayoutResult):
        unpaid = [position for position in range(ITEM_COUNT) if paid[position] == 0]
        if unpaid:
            found.append(f"the try returned success ({outcome.how}) but items {unpaid} are unpaid")
        if outcome.job["token"] not in {job.token for job in run.server.jobs}:
            found.append(f"the try returned job {outcome.job['token']}, which the server never saved")
    elif outcome is not None and not isinstance(outcome, PayJobsError):
        found.append(f"the try ended in {outcome!r}, not a result or a stated error")
    return found
