"""
The exactly-once payout protocol under every interleaving of faults and kills, simulated.

The real :class:`PayoutProtocol` and :class:`CreateAttempts` run against an in-memory server,
store and client (``protocol_world``); a kill strikes before or after each store write and each
request, and the task is tried again on the same store or on a lost one. After each schedule:
no item is paid twice, a try that returns success leaves no item unpaid, and every task ends in
a result or one of the protocol's stated errors. The same exploration against deliberately
broken variants must find a double payment: the checker can fail.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_world import (
    GET_FAULTS,
    POST_FAULTS,
    SLOW_SAVES,
    Run,
    Schedule,
    run_schedule,
    violations,
)

from airflow_provider_payjobs.payout import reconcile
from airflow_provider_payjobs.payout.protocol import CreateAttempts, PayoutProtocol, PayoutResult


@dataclass
class Exploration:
    """What an exploration saw: how many schedules, how they ended, and the ones that broke a rule."""

    schedules: int = 0
    endings: Counter[str] = field(default_factory=Counter)
    broken: list[tuple[Run, list[str]]] = field(default_factory=list)

    def check(self, run: Run) -> Run:
        self.schedules += 1
        outcome = run.outcome
        if isinstance(outcome, PayoutResult):
            self.endings["paid"] += 1
        else:
            self.endings["tries ran out" if outcome is None else type(outcome).__name__] += 1
        found = violations(run)
        if found:
            self.broken.append((run, found))
        return run

    def summary(self) -> str:
        endings = ", ".join(f"{name} {count}" for name, count in sorted(self.endings.items()))
        return f"explored {self.schedules} schedules ({endings}); {len(self.broken)} broke a rule"

    def first_violation(self) -> str:
        if not self.broken:
            return "none"
        run, found = self.broken[0]
        return f"{found}\n{run.describe()}"


def base_schedules(post_fault_count: int) -> Iterator[Schedule]:
    """Both server modes, a failing first job or not, every fault on each of the first POSTs."""
    for deduplicating, first_job_fails in itertools.product((True, False), (False, True)):
        for faults in itertools.product(POST_FAULTS, repeat=post_fault_count):
            yield Schedule(deduplicating, faults, first_job_fails=first_job_fails)


def explore(schedules: Iterable[Schedule], *, crash_count: int, **run_options: Any) -> Exploration:
    """
    Every schedule with no kill, then with a kill at each step the run takes (each losing the
    store or not), up to ``crash_count`` kills: each later kill at a step after the one before.
    """
    exploration = Exploration()

    def kill_later(schedule: Schedule, run: Run) -> None:
        if len(schedule.crashes) == crash_count:
            return
        assert run.steps is not None
        first = schedule.crashes[-1] + 1 if schedule.crashes else 0
        for step, lost in itertools.product(range(first, run.steps.count), (False, True)):
            killed = schedule.with_crashes((*schedule.crashes, step), (*schedule.store_lost, lost))
            kill_later(killed, exploration.check(run_schedule(killed, **run_options)))

    for schedule in schedules:
        kill_later(schedule, exploration.check(run_schedule(schedule, **run_options)))
    return exploration


def test_every_single_kill_with_every_fault_on_two_posts_pays_once() -> None:
    exploration = explore(base_schedules(post_fault_count=2), crash_count=1)
    print(exploration.summary())
    assert not exploration.broken, f"{exploration.summary()}: {exploration.first_violation()}"
    # Two faults and two kills leave retries enough: no schedule has to fail closed.
    assert exploration.endings["paid"] == exploration.schedules, exploration.summary()


def test_every_pair_of_kills_with_every_fault_on_the_first_post_pays_once() -> None:
    exploration = explore(base_schedules(post_fault_count=1), crash_count=2)
    print(exploration.summary())
    assert not exploration.broken, f"{exploration.summary()}: {exploration.first_violation()}"
    # Two faults and two kills leave retries enough: no schedule has to fail closed.
    assert exploration.endings["paid"] == exploration.schedules, exploration.summary()


def test_every_read_fault_around_the_first_post_pays_once() -> None:
    schedules = (
        Schedule(deduplicating, (post_fault,), get_faults, first_job_fails=first_job_fails)
        for deduplicating, first_job_fails in itertools.product((True, False), (False, True))
        for post_fault in POST_FAULTS
        for get_faults in itertools.product(GET_FAULTS, repeat=4)
    )
    exploration = explore(schedules, crash_count=0)
    print(f"read faults: {exploration.summary()}")
    assert not exploration.broken, f"{exploration.summary()}: {exploration.first_violation()}"


def test_a_failed_look_after_an_unreadable_created_answer_does_not_post_again() -> None:
    # Found by this simulation, then fixed: the server saves job-1 but its 201 is unreadable; the
    # look that follows loses its list answers; the create call's next attempt must look again.
    schedule = Schedule(
        deduplicating=False, post_faults=("malformed",), get_faults=("none", "dropped", "dropped", "dropped")
    )
    run = run_schedule(schedule, max_tries=1)
    found = violations(run)
    assert not found, f"{found}\n{run.describe()}"


@st.composite
def long_schedules(draw: st.DrawFn) -> tuple[Schedule, int]:
    """
    Many faults on POSTs and GETs, up to four kills anywhere in the first 80 steps, and a bound
    of tries that may run out (the task then ends in the error its last try raised).
    """
    crashes = tuple(sorted(draw(st.sets(st.integers(0, 80), max_size=4))))
    schedule = Schedule(
        deduplicating=draw(st.booleans()),
        post_faults=tuple(draw(st.lists(st.sampled_from(POST_FAULTS), max_size=6))),
        get_faults=tuple(draw(st.lists(st.sampled_from(GET_FAULTS), max_size=10))),
        crashes=crashes,
        store_lost=tuple(draw(st.lists(st.booleans(), min_size=len(crashes), max_size=len(crashes)))),
        first_job_fails=draw(st.booleans()),
    )
    return schedule, draw(st.integers(1, len(crashes) + 4))


def test_long_random_schedules_pay_once() -> None:
    exploration = Exploration()

    @settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(long_schedules())
    def check(schedule_and_tries: tuple[Schedule, int]) -> None:
        schedule, max_tries = schedule_and_tries
        run = exploration.check(run_schedule(schedule, max_tries=max_tries))
        found = violations(run)
        assert not found, f"{found}\n{run.describe()}"

    check()
    print(f"random schedules: {exploration.summary()}")
    assert exploration.endings["paid"] > 0, exploration.summary()
    assert len(exploration.endings) > 1, f"no schedule ran out of tries: {exploration.summary()}"


# --- the checker finds what a broken protocol does ------------------------------------------------


class PostsWithoutLooking(CreateAttempts):
    """Broken: the first POST of a create call goes out without looking for a job holding the ids."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.must_look = False


class ForgetsUnansweredPosts(CreateAttempts):
    """Broken: a POST that got no answer is not waited for, so a slow save is not seen landing."""

    def _failed(self, *, may_still_land: bool) -> None:
        return None


class TakesFailedJobsForPaid(PayoutProtocol):
    """Broken: a FAILED job counts as paid, so the try returns success with items unpaid."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(**fields)
        self.is_failed = lambda job: False


def non_deduplicating(schedules: Iterable[Schedule]) -> list[Schedule]:
    return [schedule for schedule in schedules if not schedule.deduplicating]


@pytest.fixture
def _quiet_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken variant makes the search log "paid more than once?" hundreds of times: expected."""
    monkeypatch.setattr(reconcile.log, "disabled", True)


@pytest.mark.usefixtures("_quiet_search")
def test_the_checker_finds_the_double_payment_of_a_create_that_posts_without_looking() -> None:
    exploration = explore(
        non_deduplicating(base_schedules(post_fault_count=1)),
        crash_count=1,
        attempts_class=PostsWithoutLooking,
    )
    print(f"broken variant (posts without looking): {exploration.summary()}")
    paid_twice = [found for _, found in exploration.broken if any("paid 2 times" in text for text in found)]
    assert paid_twice, f"the checker missed the double payment: {exploration.summary()}"


@pytest.mark.usefixtures("_quiet_search")
def test_the_checker_finds_the_double_payment_of_a_create_that_does_not_wait_for_a_landing() -> None:
    exploration = explore(
        non_deduplicating(base_schedules(post_fault_count=1)),
        crash_count=1,
        attempts_class=ForgetsUnansweredPosts,
    )
    print(f"broken variant (no landing wait): {exploration.summary()}")
    paid_twice = [run for run, found in exploration.broken if any("paid 2 times" in text for text in found)]
    assert paid_twice, f"the checker missed the double payment: {exploration.summary()}"
    assert all(SLOW_SAVES & set(run.schedule.post_faults) for run in paid_twice), (
        "only a slow save lands late"
    )


def test_a_deduplicating_server_stops_the_double_payment_of_a_create_that_posts_without_looking() -> None:
    exploration = explore(
        [schedule for schedule in base_schedules(post_fault_count=1) if schedule.deduplicating],
        crash_count=1,
        attempts_class=PostsWithoutLooking,
    )
    print(f"broken variant on a deduplicating server: {exploration.summary()}")
    assert not exploration.broken, exploration.first_violation()


def test_the_checker_finds_a_success_that_leaves_items_unpaid() -> None:
    exploration = explore(
        [schedule for schedule in base_schedules(post_fault_count=1) if schedule.first_job_fails],
        crash_count=1,
        protocol_class=TakesFailedJobsForPaid,
    )
    print(f"broken variant (a failed job taken for paid): {exploration.summary()}")
    unpaid = [found for _, found in exploration.broken if any("unpaid" in text for text in found)]
    assert unpaid, f"the checker missed the unpaid items: {exploration.summary()}"
