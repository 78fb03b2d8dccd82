"""PayJobsHook: the PayQuicker Payment Jobs API (list, create, retrieve, cancel) over OAuth 2.0."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import quote

from airflow_provider_payjobs import UI_FIELD_BEHAVIOUR
from airflow_provider_payjobs.airflow_support.compat import BaseHook, get_connection_async, mask_secret
from airflow_provider_payjobs.client.answer_shapes import check_job, check_job_page
from airflow_provider_payjobs.client.answers import Answer, malformed, result_of, token_from
from airflow_provider_payjobs.client.auth import TOKEN_CACHE, TOKEN_PATH, AccessToken
from airflow_provider_payjobs.client.connection_settings import PayJobsSettings
from airflow_provider_payjobs.client.models import Languages
from airflow_provider_payjobs.client.paging import RepeatedPage, job_pages
from airflow_provider_payjobs.client.redaction import use_log_masker
from airflow_provider_payjobs.client.retries import RetryPolicy
from airflow_provider_payjobs.client.settings_cache import shared_settings
from airflow_provider_payjobs.exceptions import (
    PayJobsApiError,
    PayJobsAuthError,
    PayJobsTransportError,
    PayJobsValidationError,
)
from airflow_provider_payjobs.payout import reconcile
from airflow_provider_payjobs.payout.payment_ids import check_payout_key, with_payout_ids
from airflow_provider_payjobs.payout.protocol import CreateAttempts, CreateResult

if TYPE_CHECKING:  # the HTTP libraries load on first use, never while DAG files are parsed
    from airflow_provider_payjobs.client.async_client import SharedAsyncClient
    from airflow_provider_payjobs.client.sync_transport import SyncTransport
from airflow_provider_payjobs.client.validation import (
    list_query,
    prepare_create_body,
    retrieve_query,
    validate_job_token,
)

# The client layer imports no Airflow: the tokens it fetches are hidden with Airflow's masker via this.
use_log_masker(mask_secret)
JOBS_PATH = "/payments/jobs"
# The transport warnings already logged by this process, per connection id.
_WARNED: set[tuple[str, str]] = set()
# What a call checks in a 2xx answer before returning it: (decoded JSON, error factory) -> result.
Checked = TypeVar("Checked")
Shape = Callable[[Any, Callable[[str], Exception]], Checked]


class _Overrides(TypedDict):
    """The hook arguments that win over the connection's extras (None: the extra or the default)."""

    api_version: str | None
    timeout: float | None
    retry_limit: int | None
    retry_min_wait: float | None
    retry_max_wait: float | None
    retry_after_cap: float | None


class PayJobsHook(BaseHook):
    """
    Talks to the PayQuicker Payment Jobs API with OAuth 2.0 client credentials.

    The connection's login is the client id, its password the client secret, and its host an
    optional full base URL (for the local sandbox, a proxy or another host); without a host the
    ``environment`` extra (default ``sandbox``) picks the server. Methods return the decoded JSON
    as the API sends it. Input is validated before anything is sent. Reads and cancels are retried
    on transient failures; a create only when the request provably never reached the server.

    :param payjobs_conn_id: the Airflow connection to use.
    :param api_version: overrides the ``api_version`` extra (``X-MyPayQuicker-Version``).
    :param timeout: overrides the ``timeout`` extra: seconds per HTTP request.
    :param retry_limit: overrides the ``retry_limit`` extra: attempts per call, the first included.
    :param retry_min_wait: overrides the ``retry_min_wait`` extra: seconds before the first retry.
    :param retry_max_wait: overrides the ``retry_max_wait`` extra: cap on a wait between attempts.
    :param retry_after_cap: overrides the ``retry_after_cap`` extra: cap on a ``Retry-After`` wait.
    :param lookup_max_pages: the most pages of 50 jobs one search for an existing job reads
        before it fails closed (``reconcile.MAX_LIST_PAGES`` by default).
    """

    conn_name_attr = "payjobs_conn_id"
    default_conn_name = "payjobs_default"
    conn_type = "payjobs"
    hook_name = "PayQuicker Payment Jobs"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """
        The connection form's labels and hidden fields, for Airflow 3.0 and 3.1 (3.2+ read the
        provider info). This method's keys are snake_case: Airflow ignores the whole answer
        without ``hidden_fields``.
        """
        behaviour = copy.deepcopy(UI_FIELD_BEHAVIOUR)
        behaviour["hidden_fields"] = behaviour.pop("hidden-fields")
        return behaviour

    def __init__(
        self,
        payjobs_conn_id: str = default_conn_name,
        *,
        api_version: str | None = None,
        timeout: float | None = None,
        retry_limit: int | None = None,
        retry_min_wait: float | None = None,
        retry_max_wait: float | None = None,
        retry_after_cap: float | None = None,
        lookup_max_pages: int | None = None,
    ) -> None:
        super().__init__()
        self.payjobs_conn_id = payjobs_conn_id
        if lookup_max_pages is not None and (
            isinstance(lookup_max_pages, bool)
            or not isinstance(lookup_max_pages, int)
            or lookup_max_pages < 1
        ):
            raise PayJobsValidationError("lookup_max_pages", "must be an integer >= 1", lookup_max_pages)
        self.lookup_max_pages = lookup_max_pages or reconcile.MAX_LIST_PAGES
        self._overrides: _Overrides = {
            "api_version": api_version,
            "timeout": timeout,
            "retry_limit": retry_limit,
            "retry_min_wait": retry_min_wait,
            "retry_max_wait": retry_max_wait,
            "retry_after_cap": retry_after_cap,
        }
        self._settings: PayJobsSettings | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(payjobs_conn_id={self.payjobs_conn_id!r})"

    # --- settings -------------------------------------------------------------------------------

    @property
    def settings(self) -> PayJobsSettings:
        """The resolved connection settings (loaded once)."""
        if self._settings is None:
            self._settings = self._settings_from(self.get_connection(self.payjobs_conn_id))
        return self._settings

    async def asettings(self) -> PayJobsSettings:
        """
        The resolved connection settings, loaded without blocking the event loop.

        Shared by the hooks of the process for a minute (``settings_cache``): the triggers of one
        connection make one lookup, not one each.
        """
        if self._settings is None:

            async def look_up() -> PayJobsSettings:
                return self._settings_from(await get_connection_async(self, self.payjobs_conn_id))

            key = (self.payjobs_conn_id, tuple(sorted(self._overrides.items())))
            self._settings = await shared_settings(key, look_up)
        return self._settings

    def _settings_from(self, connection: Any) -> PayJobsSettings:
        conn_type = getattr(connection, "conn_type", None)
        if conn_type != self.conn_type:
            # Another type's connection may carry the same host and login, and pay: refuse it.
            raise PayJobsValidationError(
                f"connection {self.payjobs_conn_id!r}",
                f"is of type {conn_type!r}, not {self.conn_type!r}: set its type to "
                f"{self.conn_type!r} (Connection Type 'PayQuicker Payment Jobs' in the UI, "
                f'"conn_type": "{self.conn_type}" in JSON, a {self.conn_type}:// URI)',
            )
        settings = PayJobsSettings.from_connection(connection, self._overrides)
        mask_secret(settings.credentials.client_secret)
        for warning in settings.warnings:
            if (self.payjobs_conn_id, warning) not in _WARNED:  # once per connection and process
                _WARNED.add((self.payjobs_conn_id, warning))
                self.log.warning("%s (connection %r)", warning, self.payjobs_conn_id)
        return settings

    @property
    def retry_policy(self) -> RetryPolicy:
        """How calls are retried: the connection's ``retry_*`` extras, or the hook's overrides."""
        return self.settings.retry_policy

    # --- the four endpoints ---------------------------------------------------------------------

    def list_payment_jobs(
        self,
        page: int,
        page_size: int,
        filter: str | None = None,
        sort: str | None = None,
        language: Languages | str | None = None,
    ) -> dict[str, Any]:
        """
        One page of payment jobs (PaymentJobListResult).

        :param page: page number, from 1.
        :param page_size: jobs per page, 1 to 50.
        :param filter: passed to the API untouched.
        :param sort: passed to the API untouched.
        :param language: a Languages member, its name (``ENUS``) or its tag (``en-US``);
            the tag is sent.
        """
        params = list_query(page, page_size, filter, sort, language)
        return self._request("GET", JOBS_PATH, params=params, shape=check_job_page)

    def iter_payment_jobs(
        self,
        page_size: int = 50,
        filter: str | None = None,
        sort: str | None = None,
        language: Languages | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """
        Every payment job across all pages, page by page as they are needed.

        Stops, with a warning, at a page that lists exactly the jobs of the page before (a server
        that ignores ``page`` would otherwise keep this loop going forever).

        :param page_size: jobs per request, 1 to 50.
        :param filter: passed to the API untouched.
        :param sort: passed to the API untouched.
        :param language: a Languages member, its name (``ENUS``) or its tag (``en-US``);
            the tag is sent.
        """
        pages = job_pages(
            lambda page: self.list_payment_jobs(page, page_size, filter=filter, sort=sort, language=language),
            page_size,
        )
        try:
            for payload in pages:
                yield from payload
        except RepeatedPage as repeat:
            self.log.warning("PayQuicker job list: %s; stopping there", repeat)

    def create_payment_job(
        self,
        body: Mapping[str, Any],
        *,
        created_since: datetime | None = None,
        before_post: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """
        Create a payment job (PaymentJobResult). The body is validated first.

        When every item carries a ``clientPaymentId``, the ids may exist already (an earlier
        call, a retry, ids of a payout key): before the first POST a job already holding them is
        looked for and adopted instead of posting a second one (see :meth:`find_job_holding`), and
        a create whose outcome is unknown (5xx, 429, timeout, connection dropped after sending) is
        looked for again before it is tried again. A refusal saying an id is already used adopts
        the job that holds them all. Without ids, a create is retried only when the request
        provably never reached the server.

        :param body: a GatewayPaymentJob or PortalPaymentJob; datetimes are sent as RFC 3339 UTC.
        :param created_since: the earliest moment a job of these ids could have been created (a
            task retry: its first attempt; a payout key: its look-back window); bounds the search
            for an existing job. Default: this call's start, less ``CLOCK_SKEW_MARGIN``.
        :param before_post: called right before each POST is sent (the operator records when, so
            that a later try knows how long a request it never saw answered may still land).
        """
        return self.create_exactly_once(
            body,
            created_since=created_since or datetime.now(timezone.utc),
            may_still_land_since=None,
            before_post=before_post,
            scope=None,
        ).job

    def create_exactly_once(
        self,
        body: Mapping[str, Any],
        *,
        created_since: datetime,
        may_still_land_since: datetime | None,
        before_post: Callable[[], None] | None,
        scope: str | None,
    ) -> CreateResult:
        """
        :meth:`create_payment_job`, telling whether the job was adopted or created.

        :param body: a GatewayPaymentJob or PortalPaymentJob.
        :param created_since: the start of the search for a job already holding the ids.
        :param may_still_land_since: when an earlier POST of these ids left unanswered.
        :param before_post: called right before each POST is sent.
        :param scope: the prefix of a payout key's ids (see
            :func:`~airflow_provider_payjobs.payout.payment_ids.payout_scope`).
        """
        wire_body = prepare_create_body(body)
        creation = CreateAttempts(
            _WithinOneCall(self),
            wire_body,
            created_since=created_since,
            may_still_land_since=may_still_land_since,
            before_post=before_post,
            scope=scope,
            log=self.log,
        )
        idempotent = creation.ids is not None
        return self.retry_policy.call(
            "POST",
            JOBS_PATH,
            self.log,
            creation.attempt,
            idempotent=idempotent,
            base_url=self.settings.base_url,
        )

    def post_job(self, body: Mapping[str, Any], *, before_send: Callable[[], None]) -> dict[str, Any]:
        """
        One POST of a checked body, no retry, no search: a part of :meth:`create_payment_job`.

        :param body: the wire body, as :func:`prepare_create_body` returns it.
        :param before_send: called right before the request leaves.
        """
        return self._send_once("POST", JOBS_PATH, shape=check_job, json_body=body, before_send=before_send)

    def should_retry_read(self, error: BaseException) -> bool:
        """
        Whether ``error`` is one a read would be retried on: the outcome of a create is unknown.

        :param error: what a create attempt raised.
        """
        return self.retry_policy.should_retry(error, "GET")

    def derive_payout_ids(
        self,
        body: Mapping[str, Any],
        payout_key: str,
        *,
        dag_id: str,
        task_id: str,
        map_index: int = -1,
    ) -> dict[str, Any]:
        """
        The body, checked, with the clientPaymentIds that ``CreatePaymentJobOperator(payout_key=...)``
        derives: code outside an operator that pays the same payout gets the same ids.

        Pass the result to :meth:`create_payment_job` with ``created_since`` at the start of the
        look-back window: a job that already pays the payout is then adopted, not paid again.

        :param body: a GatewayPaymentJob or PortalPaymentJob.
        :param payout_key: what makes the payout one, e.g. ``"payroll-2026-11"``.
        :param dag_id: the DAG whose task pays it (part of the ids).
        :param task_id: the task that pays it (part of the ids).
        :param map_index: the mapped task's index, -1 when not mapped.
        """
        return with_payout_ids(
            prepare_create_body(body), dag_id, task_id, check_payout_key(payout_key), map_index
        )

    def find_job_holding(
        self,
        client_payment_ids: list[str],
        created_since: datetime,
        *,
        may_still_land_since: datetime | None = None,
        scope: str | None = None,
        max_pages: int | None = None,
    ) -> dict[str, Any] | None:
        """
        The job already holding all ``client_payment_ids``, created since ``created_since``.

        The search lists jobs newest first and stops at ``created_since``; it reads at most
        ``max_pages`` pages and fails closed
        (:class:`~airflow_provider_payjobs.exceptions.PayJobsReconcileError`) when it cannot tell.

        :param client_payment_ids: the ids every item of the job was created with.
        :param created_since: the earliest moment the job could have been created; the search
            of the job list stops there.
        :param may_still_land_since: when a create of these ids left whose answer was never seen
            (unanswered, or a gateway's 502/504). While none holds them, the search is made again
            once that create could have been saved (``create_landing_seconds`` after it left).
        :param scope: a payout key's id prefix: a job holding other ids of it is a conflict.
        :param max_pages: the most list pages one search reads (default: the ``lookup_max_pages``
            the hook was made with, else ``reconcile.MAX_LIST_PAGES``).
        :raises PayJobsConflictError: some ids are held but no single job holds them all.
        """
        return self._find_job_holding(
            client_payment_ids,
            created_since,
            may_still_land_since=may_still_land_since,
            scope=scope,
            max_pages=max_pages,
            list_page=self.list_payment_jobs,
            retrieve_job=self.retrieve_payment_job,
        )

    def _find_job_holding(
        self,
        client_payment_ids: list[str],
        created_since: datetime,
        *,
        may_still_land_since: datetime | None,
        scope: str | None,
        max_pages: int | None,
        list_page: Callable[[int, int], dict[str, Any]],
        retrieve_job: Callable[[str], dict[str, Any]],
    ) -> dict[str, Any] | None:
        pages = max_pages or self.lookup_max_pages

        def search() -> dict[str, Any] | None:
            return reconcile.find_job_holding(
                client_payment_ids, created_since, list_page, retrieve_job, scope=scope, max_pages=pages
            )

        existing = search()
        if existing is None and may_still_land_since is not None:
            # That request may still be on its way through the server: let it land before anyone
            # posts again, or a server that does not deduplicate pays twice.
            landed_by = may_still_land_since + timedelta(seconds=self.settings.create_landing_seconds)
            wait = (landed_by - datetime.now(timezone.utc)).total_seconds()
            if wait > 0:
                self.log.warning(
                    "No job holds these clientPaymentIds yet, but a create sent at %s may still be "
                    "saved; looking again in %.1f s",
                    may_still_land_since.isoformat(),
                    wait,
                )
                time.sleep(wait)
                existing = search()
        return existing

    def retrieve_payment_job(
        self, job_token: str, filter: str | None = None, language: Languages | str | None = None
    ) -> dict[str, Any]:
        """
        One payment job (PaymentJobResult).

        :param job_token: ``jobs-<uuid>``.
        :param filter: passed to the API untouched.
        :param language: a Languages member, its name (``ENUS``) or its tag (``en-US``);
            the tag is sent.
        """
        params = retrieve_query(job_token, filter, language)
        return self._request("GET", _job_path(job_token), params=params, shape=_job_shape(job_token))

    def cancel_payment_job(self, job_token: str) -> dict[str, Any]:
        """
        Cancel a payment job that has not finished processing (PaymentJobResult).

        :param job_token: ``jobs-<uuid>``.
        """
        validate_job_token(job_token)
        return self._request("DELETE", _job_path(job_token), shape=_job_shape(job_token))

    # --- async twins for triggers ---------------------------------------------------------------

    async def alist_payment_jobs(
        self,
        page: int,
        page_size: int,
        filter: str | None = None,
        sort: str | None = None,
        language: Languages | str | None = None,
    ) -> dict[str, Any]:
        """
        :meth:`list_payment_jobs` for the event loop (aiohttp, shared session and token).

        :param page: page number, from 1.
        :param page_size: jobs per page, 1 to 50.
        :param filter: passed to the API untouched.
        :param sort: passed to the API untouched.
        :param language: a Languages member, its name or its tag; the tag is sent.
        """
        params = list_query(page, page_size, filter, sort, language)
        return await self._arequest("GET", JOBS_PATH, check_job_page, params=params)

    async def aretrieve_payment_job(
        self, job_token: str, filter: str | None = None, language: Languages | str | None = None
    ) -> dict[str, Any]:
        """
        :meth:`retrieve_payment_job` for the event loop (aiohttp, shared session and token).

        :param job_token: ``jobs-<uuid>``.
        :param filter: passed to the API untouched.
        :param language: a Languages member, its name or its tag; the tag is sent.
        """
        params = retrieve_query(job_token, filter, language)
        return await self._arequest("GET", _job_path(job_token), _job_shape(job_token), params=params)

    async def acancel_payment_job(self, job_token: str) -> dict[str, Any]:
        """
        :meth:`cancel_payment_job` for the event loop.

        :param job_token: ``jobs-<uuid>``.
        """
        validate_job_token(job_token)
        return await self._arequest("DELETE", _job_path(job_token), _job_shape(job_token))

    @asynccontextmanager
    async def shared_async_session(self) -> AsyncIterator[None]:
        """
        Keep this connection's shared async HTTP session open while the block runs.

        Every async call uses the event loop's one session for the connection, open while anyone
        holds it. A trigger holds it for its whole wait, so that its polls (and those of every
        other trigger of the connection) reuse connections and one token.
        """
        from airflow_provider_payjobs.client.async_client import shared_async_client

        async with shared_async_client(await self.asettings()):
            yield

    # --- connection test ------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and list one page, trying once; say plainly what failed."""
        probe_overrides: _Overrides = {**self._overrides, "retry_limit": 1}
        probe = PayJobsHook(self.payjobs_conn_id, **probe_overrides)
        try:
            probe.list_payment_jobs(1, 1)
        except Exception as error:
            # Server text in the error was cleaned of secrets when the error was made.
            return False, describe_connection_failure(error, probe._settings)
        finally:
            probe.close()
        return True, f"Connected to {probe.settings.base_url}: token granted and jobs listed."

    # --- sync transport -------------------------------------------------------------------------

    @cached_property
    def transport(self) -> SyncTransport:
        """One keep-alive session per hook, each call bounded by the timeout (requests, loaded here)."""
        from airflow_provider_payjobs.client.sync_transport import SyncTransport

        return SyncTransport(self.settings)

    def close(self) -> None:
        """Close the hook's HTTP session, if it opened one; a later call opens a new one."""
        if "transport" in self.__dict__:
            self.transport.close()
            del self.__dict__["transport"]

    def get_access_token(self, *, force_refresh: bool = False) -> AccessToken:
        """
        A cached bearer token, fetched (with the connection's retries) when missing or about to expire.

        :param force_refresh: fetch a new token even when the cached one is still fresh.
        """
        return self.retry_policy.call(
            "POST",
            TOKEN_PATH,
            self.log,
            lambda: self._token_for_call(force_refresh=force_refresh),
            idempotent=True,
            base_url=self.settings.base_url,
        )

    def _token_for_call(self, *, force_refresh: bool = False) -> AccessToken:
        """
        The cached token, or one fetch attempt: inside a call a failed fetch is that call's
        failed attempt, retried within its budget, never a nested retry loop of its own.
        """
        credentials = self.settings.credentials
        token = None if force_refresh else TOKEN_CACHE.get(credentials)
        if token is not None:
            return token
        with TOKEN_CACHE.lock_for_fetch:
            token = None if force_refresh else TOKEN_CACHE.get(credentials)
            if token is None:
                token = self._fetch_token()
                TOKEN_CACHE.put(credentials, token)
        return token

    def _fetch_token(self) -> AccessToken:
        url, headers, form = self.settings.credentials.token_request()
        path = url.removeprefix(self.settings.base_url)
        token = token_from(self.transport.send("POST", path, headers=headers, form=form), path)
        mask_secret(token.value)
        self.log.debug("PayQuicker access token granted for client %s", self.settings.credentials.client_id)
        return token

    def _request(
        self, method: str, path: str, *, shape: Shape[Checked], params: dict[str, Any] | None = None
    ) -> Checked:
        return self.retry_policy.call(
            method,
            path,
            self.log,
            lambda: self._send_once(method, path, shape=shape, params=params),
            base_url=self.settings.base_url,
        )

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        shape: Shape[Checked],
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        before_send: Callable[[], None] | None = None,
    ) -> Checked:
        """One attempt (a refused token is renewed once), checked down to the shape the caller relies on."""

        def send(token: AccessToken) -> Answer:
            return self.transport.send(
                method,
                path,
                headers={"Authorization": f"Bearer {token.value}"},
                params=params,
                json_body=json_body,
                before_send=before_send,
            )

        token = self._token_for_call()
        answer = send(token)
        if answer.status == 401:
            # The token expired early or was revoked: one fresh token, one more try.
            TOKEN_CACHE.drop(self.settings.credentials, token)
            answer = send(self._token_for_call())
        self.log.debug("PayQuicker %s %s -> HTTP %s", method, path, answer.status)
        return _checked(answer, method, path, shape, self.settings.max_answer_bytes)

    # --- async transport ------------------------------------------------------------------------

    async def _arequest(
        self, method: str, path: str, shape: Shape[Checked], *, params: dict[str, Any] | None = None
    ) -> Checked:
        from airflow_provider_payjobs.client.async_client import shared_async_client

        settings = await self.asettings()
        async with shared_async_client(settings) as client:
            return await settings.retry_policy.acall(
                method,
                path,
                self.log,
                lambda: self._asend_once(client, method, path, shape, params),
                base_url=settings.base_url,
            )

    async def _asend_once(
        self,
        client: SharedAsyncClient,
        method: str,
        path: str,
        shape: Shape[Checked],
        params: dict[str, Any] | None,
    ) -> Checked:
        token = await client.token(self.log)
        answer = await client.send(
            method, path, headers={"Authorization": f"Bearer {token.value}"}, params=params
        )
        if answer.status == 401:
            TOKEN_CACHE.drop(client.settings.credentials, token)
            token = await client.token(self.log)
            answer = await client.send(
                method, path, headers={"Authorization": f"Bearer {token.value}"}, params=params
            )
        return _checked(answer, method, path, shape, client.settings.max_answer_bytes)


class _WithinOneCall:
    """
    The hook as a create call's attempts see it: the searches they make read each page once, so
    that a failed read is the create's failed attempt, retried in its one budget, never in its own.
    """

    def __init__(self, hook: PayJobsHook) -> None:
        self.hook = hook
        self.post_job = hook.post_job
        self.should_retry_read = hook.should_retry_read

    def find_job_holding(
        self,
        client_payment_ids: list[str],
        created_since: datetime,
        *,
        may_still_land_since: datetime | None = None,
        scope: str | None = None,
    ) -> dict[str, Any] | None:
        hook = self.hook

        def list_page(page: int, page_size: int) -> dict[str, Any]:
            query = list_query(page, page_size)
            return hook._send_once("GET", JOBS_PATH, shape=check_job_page, params=query)

        def retrieve_job(job_token: str) -> dict[str, Any]:
            query = retrieve_query(job_token)
            return hook._send_once("GET", _job_path(job_token), shape=_job_shape(job_token), params=query)

        return hook._find_job_holding(
            client_payment_ids,
            created_since,
            may_still_land_since=may_still_land_since,
            scope=scope,
            max_pages=None,
            list_page=list_page,
            retrieve_job=retrieve_job,
        )


def _checked(answer: Answer, method: str, path: str, shape: Shape[Checked], max_answer_bytes: int) -> Checked:
    """The result of a 2xx answer in the shape the call relies on; a typed error otherwise."""
    return shape(
        result_of(answer, method, path, max_answer_bytes), lambda why: malformed(answer, method, path, why)
    )


def _job_shape(job_token: str) -> Shape[dict[str, Any]]:
    return lambda data, malformed_answer: check_job(data, malformed_answer, expected_token=job_token)


def describe_connection_failure(error: BaseException, settings: PayJobsSettings | None) -> str:
    """
    A plain sentence for what went wrong when testing a connection.

    :param error: what the test call raised.
    :param settings: the connection's settings, when they could be read (they give the URL).
    """
    where = settings.base_url if settings else "the PayQuicker API"
    if isinstance(error, PayJobsAuthError):
        if error.oauth_error == "invalid_scope":
            return f"The client may not have the requested scopes ({error.description or error.oauth_error})."
        if error.oauth_error in {"invalid_client", "unauthorized_client"}:
            return (
                f"Authentication failed at {where}: the client id or secret is wrong ({error.oauth_error})."
            )
        return f"Could not get a token from {where}: {error}"
    if isinstance(error, PayJobsApiError) and error.status_code == 403:
        return f"The token lacks the scope to list jobs (readonly) at {where}: {error}"
    if isinstance(error, PayJobsApiError) and error.status_code == 401:
        return f"The API refused the token at {where}: {error}"
    if isinstance(error, PayJobsTransportError):
        if error.kind == "tls":
            hint = settings.tls_failure_hint() if settings else ""
            return f"TLS failed with {where}: check the certificate or the 'verify' extra{hint}."
        if error.kind in {"connect_timeout", "read_timeout"}:
            return f"{where} did not answer in time."
        return f"Cannot reach {where}: {error}"
    return f"Connection test failed: {error}"


def _job_path(job_token: str) -> str:
    return f"{JOBS_PATH}/{quote(job_token, safe='')}"
