"""The "PayQuicker job" extra link, built from the ``portal_url`` connection extra."""

from __future__ import annotations

from typing import Any

from airflow_provider_payjobs.compat import BaseOperatorLink, XCom

JOB_TOKEN_KEY = "job_token"
JOB_URL_KEY = "job_url"


class PaymentJobLink(BaseOperatorLink):
    """
    Links a task to its payment job in the PayQuicker portal.

    The operator pushes the URL to XCom when the job exists; there is no link when the
    connection has no ``portal_url`` extra.
    """

    name = "PayQuicker job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(key=JOB_URL_KEY, ti_key=ti_key) or ""


def push_job_link(ti: Any, portal_url: str | None, job_token: str) -> None:
    """Push the job's portal URL to XCom for the link; nothing without a ``portal_url``."""
    url = job_url(portal_url, job_token)
    if url and ti is not None:
        ti.xcom_push(key=JOB_URL_KEY, value=url)


def job_url(portal_url: str | None, job_token: str) -> str | None:
    """The portal URL of a job from the pattern (``{job_token}`` placeholder), or None without one."""
    if not portal_url:
        return None
    if "{job_token}" in portal_url:
        return portal_url.replace("{job_token}", job_token)
    return portal_url.rstrip("/") + "/" + job_token
