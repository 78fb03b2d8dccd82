"""Outlet assets of the payout operator and the sensor: the event a finished job puts in each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.watcher.job_events import job_event_payload


def attach_to_outlets(context: Mapping[str, Any], outlets: Iterable[Any], job: Mapping[str, Any]) -> int:
    """
    Put the job's payload in the extra of the asset event each outlet asset gets when the task
    succeeds; how many outlets got it. Asset aliases are left alone (which asset an alias stands
    for is the DAG author's choice, not the job's).

    :param context: the running task's context (its ``outlet_events``).
    :param outlets: the task's outlets.
    :param job: the finished job.
    """
    from airflow.sdk import Asset

    outlet_events = context.get("outlet_events")
    assets = [outlet for outlet in outlets or () if isinstance(outlet, Asset)]
    if outlet_events is None or not assets:
        return 0
    payload = job_event_payload(job)
    for asset in assets:
        outlet_events[asset].extra.update(payload)
    return len(assets)


def finished_job_result(
    context: Mapping[str, Any], outlets: Iterable[Any], job: Mapping[str, Any], return_full_job: bool
) -> dict[str, Any]:
    """
    What a task that saw its job finish returns as XCom, its summary put in each outlet's event.

    The summary by default (token, status, counts, totals; no item, no payee): XCom and the
    rendered fields of the tasks that read it are readable by every Viewer. The whole job only
    when the DAG's author asks for it with ``return_full_job=True``.

    :param context: the running task's context.
    :param outlets: the task's outlets.
    :param job: the finished job.
    :param return_full_job: return the job itself, items and payees included.
    """
    attach_to_outlets(context, outlets, job)
    return job_result(job, return_full_job)


def job_result(job: Mapping[str, Any], return_full_job: bool) -> dict[str, Any]:
    """
    A task's XCom for ``job``: its summary, or the whole job (items and payees) when asked.

    :param job: the job as the API answers it.
    :param return_full_job: return the job itself.
    """
    return dict(job) if return_full_job else job_event_payload(job)


def check_outlets_wait(outlets: Iterable[Any] | None, wait_for_completion: bool) -> None:
    """
    Refuse outlets on a task that does not wait: its asset event would say "payout finished"
    when the job had only been created.

    :param outlets: the task's outlets.
    :param wait_for_completion: whether the task waits for its job to finish.
    :raises PayJobsValidationError: naming ``outlets`` and the rule.
    """
    if outlets and not wait_for_completion:
        raise PayJobsValidationError(
            "outlets",
            "need wait_for_completion=True: an outlet's asset event tells that the payout finished",
            [getattr(outlet, "uri", outlet) for outlet in outlets],
        )
