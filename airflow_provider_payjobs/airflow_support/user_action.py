"""
What a person did to a payout task whose ``on_kill`` runs, and whether that cancels its job.

Airflow calls ``on_kill`` without saying why. The triggerer (3.3+) calls the trigger's
``on_kill`` whenever a deferred task's trigger is taken away: mark failed, mark success and
clear alike. The worker calls the operator's ``on_kill`` on SIGTERM (the server said the task
must stop, or the worker shuts down) and on ``execution_timeout``. What the person did shows in
the task instance's state, read back through the Task SDK when ``on_kill`` runs:

- ``failed`` (mark failed, the task or its run) or ``skipped`` (mark skipped): they want the
  work stopped: cancel, when ``cancel_on_kill``.
- ``success`` (mark success, the task or its run): the payout is fine: it goes on.
- no state, ``scheduled``, ``queued``, ``running``, ``restarting``, ``deferred``, ``up_for_retry``
  or ``up_for_reschedule``: the task was cleared (or its trigger moved to another triggerer),
  and a try resumes the same job: it goes on.
- ``running`` in the worker: nobody changed the task. An ``execution_timeout`` is a deadline
  (cancel, as the ``timeout`` deadline does); anything else is the worker shutting down, and the
  next try resumes the job (it goes on).

When the state cannot be read (no Task SDK, an error, a run deleted, a state Airflow did not have
when this was written), the job goes on and an error says how to cancel it. A cancel cannot be
undone and is silent under mark success (a green task, nobody paid); a job that goes on pays what
its DAG meant to pay, once, and can still be cancelled by a person until it completes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from typing import Any

# What the person meant, by the state the task instance has when on_kill runs.
STOP_STATES = {
    "failed": "the task (or its run) was marked failed",
    "skipped": "the task was marked skipped",
}
GO_ON_STATES = {
    "success": "the task (or its run) was marked success",
    None: "the task was cleared and will run again",
    "scheduled": "the task was cleared and is scheduled again",
    "queued": "the task was cleared and is queued again",
    "running": "the task was cleared and runs again",
    "restarting": "the task was cleared while running",
    "deferred": "the task is deferred again (a new try, or its trigger moved to another triggerer)",
    "up_for_retry": "the task will be retried",
    "up_for_reschedule": "the task will be rescheduled",
}
MISSING = "<missing>"  # the task instance is gone from its run (the run was deleted)
# A worker waits at most this long for the state: the supervisor escalates to SIGKILL 5 s after SIGTERM.
WORKER_LOOKUP_SECONDS = 2.0


@dataclass(frozen=True)
class KillVerdict:
    """
    Whether ``on_kill`` cancels the job, and why, in words for the task log.

    :param cancel: cancel the job.
    :param reason: what happened, e.g. "the task (or its run) was marked failed".
    :param certain: False when the state could not be read or is one this module does not know.
    """

    cancel: bool
    reason: str
    certain: bool = True

    def describe(self, job_token: str) -> str:
        """One log line: what happened and what it does to the job."""
        if self.cancel:
            return f"Cancelling payment job {job_token}: {self.reason}"
        line = f"Payment job {job_token} goes on, not cancelled: {self.reason}"
        if not self.certain:
            line += (
                ". If it was meant to stop, cancel it in PayQuicker (or with CancelPaymentJobOperator) "
                "before it completes"
            )
        return line


def decide(state: Any, *, in_worker: bool = False, timed_out: bool = False) -> KillVerdict:
    """
    The verdict for the state a task instance has when its ``on_kill`` runs.

    :param state: the state read back (a string, None for no state, :data:`MISSING`), or an
        exception raised while reading it.
    :param in_worker: the operator's ``on_kill`` in the worker (else the trigger's, in the triggerer).
    :param timed_out: the worker's ``execution_timeout`` expired (only meaningful in the worker).
    """
    if isinstance(state, BaseException):
        return KillVerdict(False, f"the task's state could not be read ({state})", certain=False)
    if state == MISSING:
        return KillVerdict(False, "the task instance no longer exists (was its run deleted?)", certain=False)
    state = getattr(state, "value", state)
    if in_worker and state == "running":
        if timed_out:
            return KillVerdict(True, "the task's execution_timeout expired")
        return KillVerdict(False, "the worker is stopping the task; the next try resumes this job")
    if state in STOP_STATES:
        return KillVerdict(True, STOP_STATES[state])
    if state in GO_ON_STATES:
        return KillVerdict(False, GO_ON_STATES[state])
    return KillVerdict(False, f"the task is in state {state!r}, which says nothing about stopping it", False)


def read_task_state(task_instance: Any) -> Any:
    """
    The current state of ``task_instance`` (dag_id, run_id, task_id, map_index) on the server.

    Returns the state (None for none) or :data:`MISSING`; raises when it cannot be read.
    """
    if task_instance is None:
        raise LookupError("no task instance to look up")
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    map_index = getattr(task_instance, "map_index", -1)
    map_index = map_index if isinstance(map_index, int) else -1
    task_id, run_id = task_instance.task_id, task_instance.run_id
    states = RuntimeTaskInstance.get_task_states(
        dag_id=task_instance.dag_id, map_index=map_index, task_ids=[task_id], run_ids=[run_id]
    )
    key = task_id if map_index < 0 else f"{task_id}_{map_index}"
    in_run = (states or {}).get(run_id) or {}
    return in_run.get(key, MISSING)


async def decide_in_triggerer(task_instance: Any) -> KillVerdict:
    """The trigger's verdict: its task instance's state, read off the event loop."""
    try:
        state = await asyncio.to_thread(read_task_state, task_instance)
    except Exception as error:
        state = error
    return decide(state)


def decide_in_worker(task_instance: Any, *, timed_out: bool) -> KillVerdict:
    """
    The operator's verdict, within :data:`WORKER_LOOKUP_SECONDS`.

    ``on_kill`` runs in a SIGTERM handler that may have interrupted the task's own call to its
    supervisor (which holds the channel's lock): the lookup runs in a thread and is given up on.
    """
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="payjobs-on-kill")
    try:
        state = pool.submit(read_task_state, task_instance).result(timeout=WORKER_LOOKUP_SECONDS)
    except concurrent.futures.TimeoutError:
        state = TimeoutError(f"no answer within {WORKER_LOOKUP_SECONDS:g} s")
    except Exception as error:
        state = error
    finally:
        pool.shutdown(wait=False)
    return decide(state, in_worker=True, timed_out=timed_out)
