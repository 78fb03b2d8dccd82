"""
What an asset event about a finished payment job carries, written and read in one place.

Two producers write it: :class:`~airflow_provider_payjobs.triggers.payjobs.PaymentJobEventTrigger`
(an asset watcher; Airflow wraps the payload as ``{"from_trigger": True, "payload": ...}``) and the
operator and sensor with an outlet asset (the payload is the event's extra itself).
:func:`payout_from_asset_event` reads both, so a downstream DAG need not care which one fired.

The job's identifier is under ``job``, not ``job_token``: Airflow masks the value of any extra key
whose name holds "token", and people must be able to read which job an event is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_payjobs.client.job_status import summarize_job

JOB_KEY = "job"  # the event's identity: one event per job


def job_event_payload(job: Mapping[str, Any]) -> dict[str, Any]:
    """
    The small, JSON-ready summary of a finished job: no payee, email or destination.

    ``{"job": "jobs-…", "status": "COMPLETED", "created": "…", "items_by_status": {...},
    "totals_per_currency": {...}, "paid_per_currency": {...}}`` (amounts as decimal strings).

    :param job: the job as the API answers it (with its items).
    """
    summary = summarize_job(job)
    return {
        JOB_KEY: summary.pop("job_token"),
        "status": summary.pop("status"),
        "created": job.get("created"),
        **summary,
    }


def payout_from_asset_event(event: Any) -> dict[str, Any] | None:
    """
    The payload of an asset event (or of its ``extra``) about a payment job; None for any other.

    :param event: an ``AssetEvent`` from ``triggering_asset_events`` or ``inlet_events``, or its
        extra as a dict. A watcher's extra is ``{"from_trigger": True, "payload": {...}}``; an
        outlet's extra is the payload itself.
    """
    extra = event if isinstance(event, Mapping) else getattr(event, "extra", None)
    if not isinstance(extra, Mapping):
        return None
    payload = extra.get("payload") if extra.get("from_trigger") else extra
    if isinstance(payload, Mapping) and isinstance(payload.get(JOB_KEY), str):
        return dict(payload)
    return None
