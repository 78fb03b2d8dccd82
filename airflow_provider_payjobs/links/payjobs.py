"""The "PayQuicker job" extra link, built from the ``portal_url`` connection extra."""

from __future__ import annotations

from typing import Any

from airflow_provider_payjobs.airflow_support.compat import BaseOperatorLink, XCom

JOB_TOKEN_KEY = "job_token"
JOB_URL_KEY = "job_url"


class PaymentJobLink(BaseOperatorLink):
    """
    Links a task to its payment job in the PayQuicker portal; no link without a ``portal_url``.

    Airflow 3 calls ``get_link`` in the worker when a try ends (deferring included) and keeps
    the URL for the UI. The live operator knows its job and connection, so the URL is built from
    them: no XCom is looked up (a missing one is logged as an error by the task runner's client).
    """

    # Airflow's stubs declare name a property; a class attribute is what its docs show and it reads.
    name = "PayQuicker job"  # pyright: ignore[reportAssignmentType]

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """
        The job's portal URL, or ``""`` when there is no job or no ``portal_url``; never raises.

        :param operator: the task's operator, as Airflow passes it.
        :param ti_key: the task instance's key, as Airflow passes it.
        """
        token = getattr(operator, "job_token", None)
        conn_id = getattr(operator, "payjobs_conn_id", None)
        if conn_id is None:  # not one of this provider's operators: what it pushed, if anything
            return XCom.get_value(key=JOB_URL_KEY, ti_key=ti_key) or ""
        if not token or "{{" in str(token):
            return ""
        try:
            portal_url = _portal_url(operator, conn_id)
        except Exception:  # a link never fails a task; the connection's problem shows elsewhere
            return ""
        return job_url(portal_url, str(token)) or ""


def _portal_url(operator: Any, conn_id: str) -> str | None:
    hook = getattr(operator, "hook", None)
    if hook is None:
        from airflow_provider_payjobs.hooks.payjobs import PayJobsHook

        hook = PayJobsHook(conn_id)
    return hook.settings.portal_url


def push_job_link(ti: Any, portal_url: str | None, job_token: str) -> None:
    """
    Push the job's portal URL to XCom: under ``job_url`` for downstream tasks, and under the
    link's own key so that the UI shows the link while the task is still deferred.

    :param ti: the running task instance (nothing is pushed when None).
    :param portal_url: the connection's ``portal_url`` pattern; no link when empty.
    :param job_token: the job's token.
    """
    url = job_url(portal_url, job_token)
    if url and ti is not None:
        ti.xcom_push(key=JOB_URL_KEY, value=url)
        ti.xcom_push(key=PaymentJobLink().xcom_key, value=url)


def job_url(portal_url: str | None, job_token: str) -> str | None:
    """
    The portal URL of a job from the pattern (``{job_token}`` placeholder), or None without one.

    :param portal_url: the pattern; without ``{job_token}``, the token is appended as a path segment.
    :param job_token: the job's token.
    """
    if not portal_url:
        return None
    if "{job_token}" in portal_url:
        return portal_url.replace("{job_token}", job_token)
    return portal_url.rstrip("/") + "/" + job_token
