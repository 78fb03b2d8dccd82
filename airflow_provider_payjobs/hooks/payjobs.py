"""PayJobsHook: the PayQuicker Payment Jobs API (list, create, retrieve, cancel) over OAuth 2.0."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any
from urllib.parse import quote

import requests

from airflow_provider_payjobs import UI_FIELD_BEHAVIOUR, http_errors, reconcile
from airflow_provider_payjobs.async_client import shared_async_client
from airflow_provider_payjobs.auth import TOKEN_CACHE, AccessToken
from airflow_provider_payjobs.compat import BaseHook, get_connection_async, mask_secret
from airflow_provider_payjobs.connection_settings import PayJobsSettings
from airflow_provider_payjobs.exceptions import PayJobsApiError, PayJobsAuthError, PayJobsTransportError
from airflow_provider_payjobs.models import API_VERSION_HEADER, Languages
from airflow_provider_payjobs.retries import RetryPolicy
from airflow_provider_payjobs.validation import (
    list_query,
    prepare_create_body,
    retrieve_query,
    validate_job_token,
)

# A gateway's "bad gateway" or "timeout": the service behind it may still save the create.
GATEWAY_STATUS_CODES = frozenset({502, 504})
JOBS_PATH = "/payments/jobs"


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
    """

    conn_name_attr = "payjobs_conn_id"
    default_conn_name = "payjobs_default"
    conn_type = "payjobs"
    hook_name = "PayQuicker Payment Jobs"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's labels and hidden fields (Airflow 3.0 and 3.1 read them here)."""
        return copy.deepcopy(UI_FIELD_BEHAVIOUR)

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
    ) -> None:
        super().__init__()
        self.payjobs_conn_id = payjobs_conn_id
        self._overrides = {
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
        """The resolved connection settings, loaded without blocking the event loop."""
        if self._settings is None:
            self._settings = self._settings_from(await get_connection_async(self, self.payjobs_conn_id))
        return self._settings

    def _settings_from(self, connection: Any) -> PayJobsSettings:
        settings = PayJobsSettings.from_connection(connection, self._overrides)
        mask_secret(settings.credentials.client_secret)
        return settings

    @property
    def retry_policy(self) -> RetryPolicy:
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
        return self._request("GET", JOBS_PATH, params=_list_params(page, page_size, filter, sort, language))

    def iter_payment_jobs(
        self,
        page_size: int = 50,
        filter: str | None = None,
        sort: str | None = None,
        language: Languages | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every payment job across all pages, page by page as they are needed."""
        page = 1
        while True:
            result = self.list_payment_jobs(page, page_size, filter=filter, sort=sort, language=language)
            payload = result.get("payload") or []
            yield from payload
            page_count = _counter(result.get("meta", {}).get("pageCount"))
            # Without a page count, a full page may have a next one: stopping early could hide a job.
            last = len(payload) < page_size if page_count is None else page >= page_count
            if not payload or last:
                return
            page += 1

    def create_payment_job(
        self,
        body: Mapping[str, Any],
        *,
        created_since: datetime | None = None,
        before_post: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """
        Create a payment job (PaymentJobResult). The body is validated first.

        When every item carries a ``clientPaymentId``, a create whose outcome is unknown (5xx,
        429, timeout, connection dropped after sending) is reconciled before it is tried again:
        a job already holding those ids is adopted instead of posting a second one, and a
        refusal saying an id is already used adopts the job that holds them all. Without ids,
        a create is retried only when the request provably never reached the server.

        :param body: a GatewayPaymentJob or PortalPaymentJob; datetimes are sent as RFC 3339 UTC.
        :param created_since: when the first attempt to create this job started, if earlier
            than this call (a task retry); bounds the search for an existing job.
        :param before_post: called right before each POST is sent (the operator records when, so
            that a later try knows how long a request it never saw answered may still land).
        """
        wire_body = prepare_create_body(body)
        ids = reconcile.client_payment_ids(wire_body)
        since = created_since or datetime.now(timezone.utc)
        posts = _PostTimes(before_post)
        outcome_unknown = False
        policy = self.retry_policy
        for attempt in policy.retrying("POST", JOBS_PATH, self.log, idempotent=ids is not None):
            with attempt:
                if outcome_unknown and ids:
                    existing = self._find_earlier_create(ids, since, wire_body, posts.may_still_land_since)
                    if existing is not None:
                        return existing
                try:
                    return self._send_once("POST", JOBS_PATH, None, wire_body, before_send=posts.sending)
                except PayJobsApiError as error:
                    if ids and (reconcile.is_duplicate_id_refusal(error) or error.status_code < 300):
                        # Refused as a repeat, or accepted with an unreadable answer: the job exists.
                        return self._adopt_or_raise(ids, since, wire_body, error)
                    outcome_unknown = policy.should_retry(error, "GET")
                    posts.failed(may_still_land=error.status_code in GATEWAY_STATUS_CODES)
                    raise
                except PayJobsTransportError as error:
                    outcome_unknown = outcome_unknown or error.request_sent
                    posts.failed(may_still_land=error.request_sent)
                    raise
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def find_job_holding(
        self,
        client_payment_ids: list[str],
        created_since: datetime,
        *,
        may_still_land_since: datetime | None = None,
    ) -> dict[str, Any] | None:
        """
        The job already holding all ``client_payment_ids``, created since ``created_since``.

        :param may_still_land_since: when a create of these ids left whose answer was never seen
            (unanswered, or a gateway's 502/504). While none holds them, the search is made again
            once that create could have been saved (``create_landing_seconds`` after it left).
        :raises PayJobsConflictError: some ids are held but no single job holds them all.
        """
        existing = self._search_jobs(client_payment_ids, created_since)
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
                existing = self._search_jobs(client_payment_ids, created_since)
        if existing is not None:
            self.log.warning(
                "Payment job %s already holds these %d clientPaymentIds: adopting it, not creating another",
                existing["token"],
                len(client_payment_ids),
            )
        return existing

    def _search_jobs(self, client_payment_ids: list[str], created_since: datetime) -> dict[str, Any] | None:
        return reconcile.find_job_holding(
            client_payment_ids, created_since, self.iter_payment_jobs(), self.retrieve_payment_job
        )

    def _find_earlier_create(
        self, ids: list[str], since: datetime, body: Mapping[str, Any], in_flight_since: datetime | None
    ) -> dict[str, Any] | None:
        """The job an earlier attempt created, checked to pay what ``body`` says; None when none exists."""
        existing = self.find_job_holding(ids, since, may_still_land_since=in_flight_since)
        if existing is not None:
            reconcile.check_pays_the_same(body, existing)
        return existing

    def _adopt_or_raise(
        self, ids: list[str], since: datetime, body: Mapping[str, Any], error: PayJobsApiError
    ) -> dict[str, Any]:
        existing = self._find_earlier_create(ids, since, body, None)
        if existing is None:
            raise error
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
        params = _job_params(job_token, filter, language)
        return self._request("GET", _job_path(job_token), params=params)

    def cancel_payment_job(self, job_token: str) -> dict[str, Any]:
        """
        Cancel a payment job that has not finished processing (PaymentJobResult).

        :param job_token: ``jobs-<uuid>``.
        """
        validate_job_token(job_token)
        return self._request("DELETE", _job_path(job_token))

    # --- async twins for triggers ---------------------------------------------------------------

    async def aretrieve_payment_job(
        self, job_token: str, filter: str | None = None, language: Languages | str | None = None
    ) -> dict[str, Any]:
        """:meth:`retrieve_payment_job` for the event loop (httpx, shared client and token)."""
        params = _job_params(job_token, filter, language)
        return await self._arequest("GET", _job_path(job_token), params=params)

    async def acancel_payment_job(self, job_token: str) -> dict[str, Any]:
        """:meth:`cancel_payment_job` for the event loop."""
        validate_job_token(job_token)
        return await self._arequest("DELETE", _job_path(job_token))

    # --- connection test ------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and list one page, trying once; say plainly what failed."""
        probe = PayJobsHook(self.payjobs_conn_id, **{**self._overrides, "retry_limit": 1})
        try:
            probe.list_payment_jobs(1, 1)
        except Exception as error:
            return False, describe_connection_failure(error, probe._settings)
        finally:
            probe.close()
        return True, f"Connected to {probe.settings.base_url}: token granted and jobs listed."

    # --- sync transport -------------------------------------------------------------------------

    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive session per hook."""
        session = requests.Session()
        session.headers.update({"accept": "application/json", API_VERSION_HEADER: self.settings.api_version})
        session.verify = self.settings.verify
        return session

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    def get_access_token(self, *, force_refresh: bool = False) -> AccessToken:
        """A cached bearer token, fetched when missing or about to expire."""
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
        for attempt in self.retry_policy.retrying("POST", path, self.log, idempotent=True):
            with attempt:
                try:
                    answer = self.session.post(url, headers=headers, data=form, timeout=self.settings.timeout)
                except requests.RequestException as error:
                    raise http_errors.from_requests_error(error, "POST", path) from None
                token = http_errors.token_from_answer(answer.status_code, answer.text, answer.headers, path)
        mask_secret(token.value)
        self.log.debug("PayQuicker access token granted for client %s", self.settings.credentials.client_id)
        return token

    def _request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None
    ) -> Any:
        for attempt in self.retry_policy.retrying(method, path, self.log):
            with attempt:
                return self._send_once(method, path, params, json_body)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json_body: Any,
        before_send: Callable[[], None] | None = None,
    ) -> Any:
        def send(token: AccessToken) -> requests.Response:
            if before_send is not None:
                before_send()  # token in hand: the request leaves right after this
            return self._send(method, path, params, json_body, token)

        token = self.get_access_token()
        answer = send(token)
        if answer.status_code == 401:
            # The token expired early or was revoked: one fresh token, one more try.
            TOKEN_CACHE.drop(self.settings.credentials, token)
            answer = send(self.get_access_token())
        self.log.debug("PayQuicker %s %s -> HTTP %s", method, path, answer.status_code)
        if not answer.ok:
            raise http_errors.api_error(answer.status_code, answer.text, answer.headers, method, path)
        return http_errors.decode_json(answer.status_code, answer.text, method, path)

    def _send(
        self, method: str, path: str, params: dict[str, Any] | None, json_body: Any, token: AccessToken
    ) -> requests.Response:
        try:
            return self.session.request(
                method,
                self.settings.base_url + path,
                params=params,
                json=json_body,
                headers={"Authorization": f"Bearer {token.value}"},
                timeout=self.settings.timeout,
            )
        except requests.RequestException as error:
            raise http_errors.from_requests_error(error, method, path) from None

    # --- async transport ------------------------------------------------------------------------

    async def _arequest(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> Any:
        settings = await self.asettings()
        async for attempt in settings.retry_policy.async_retrying(method, path, self.log):
            with attempt:
                return await self._asend_once(settings, method, path, params)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _asend_once(
        self, settings: PayJobsSettings, method: str, path: str, params: dict[str, Any] | None
    ) -> Any:
        shared = shared_async_client(settings)
        token = await shared.token(settings, self.log)
        answer = await shared.send(settings, method, path, params, token)
        if answer.status_code == 401:
            TOKEN_CACHE.drop(settings.credentials, token)
            answer = await shared.send(settings, method, path, params, await shared.token(settings, self.log))
        if answer.is_error:
            raise http_errors.api_error(answer.status_code, answer.text, answer.headers, method, path)
        return http_errors.decode_json(answer.status_code, answer.text, method, path)


class _PostTimes:
    """When a create's POSTs left, and since when one of them may still be landing."""

    def __init__(self, on_send: Callable[[], None] | None) -> None:
        self.on_send = on_send
        # Wall clock, as a later try (another process) reads the same moment from the state store.
        self.last_sent: datetime | None = None
        self.may_still_land_since: datetime | None = None

    def sending(self) -> None:
        self.last_sent = datetime.now(timezone.utc)
        if self.on_send is not None:
            self.on_send()

    def failed(self, *, may_still_land: bool) -> None:
        # Sticky: an answered failure later does not make an earlier unanswered request land.
        if may_still_land and self.last_sent is not None:  # not when no POST has left yet
            self.may_still_land_since = self.last_sent


def describe_connection_failure(error: BaseException, settings: PayJobsSettings | None) -> str:
    """A plain sentence for what went wrong when testing a connection."""
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
            return f"TLS failed with {where}: check the certificate or the 'verify' extra."
        if error.kind in {"connect_timeout", "read_timeout"}:
            return f"{where} did not answer in time."
        return f"Cannot reach {where}: {error}"
    return f"Connection test failed: {error}"


def _list_params(
    page: int, page_size: int, filter: str | None, sort: str | None, language: Languages | str | None
) -> dict[str, Any]:
    return list_query(page, page_size, filter, sort, language)


def _job_params(job_token: str, filter: str | None, language: Languages | str | None) -> dict[str, Any]:
    return retrieve_query(job_token, filter, language)


def _job_path(job_token: str) -> str:
    return f"{JOBS_PATH}/{quote(job_token, safe='')}"


def _counter(value: Any) -> int | None:
    """The list meta counters are strings on the wire."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
