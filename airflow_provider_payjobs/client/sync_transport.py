"""
The hook's blocking transport: one keep-alive requests session, a total deadline per call, capped reads.

Imported when the first blocking call is made, never while DAG files are parsed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from airflow_provider_payjobs.client.answers import ACCEPT_ENCODING, Answer, encoded_body, read_limit
from airflow_provider_payjobs.client.connection_settings import PayJobsSettings
from airflow_provider_payjobs.client.deadlines import WATCHDOG, CallDeadline
from airflow_provider_payjobs.client.models import API_VERSION_HEADER
from airflow_provider_payjobs.client.transport_security import bypasses_proxies
from airflow_provider_payjobs.exceptions import PayJobsTransportError

READ_CHUNK_BYTES = 64 * 1024


class _WatchedSockets:
    """A connection whose sockets the deadline watchdog may cut (mixed into urllib3's)."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        WATCHDOG.watch(sock)  # from the TCP connect on: a TLS handshake can drip too
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        WATCHDOG.watch(self.sock)  # type: ignore[attr-defined]  # the TLS socket around it, if any


class _WatchedHTTPConnection(_WatchedSockets, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedSockets, HTTPSConnection):
    pass


class _WatchedPool:
    """A pool handing out watched connections (mixed into urllib3's)."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        WATCHDOG.watch(connection.sock)  # a kept-alive connection already has its socket
        return connection


class _WatchedHTTPPool(_WatchedPool, HTTPConnectionPool):
    # urllib3 types ConnectionCls as a protocol that its own connection classes do not match.
    ConnectionCls = _WatchedHTTPConnection  # pyright: ignore[reportAssignmentType]


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection  # pyright: ignore[reportAssignmentType]  # as above


WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, whose connections the deadline watchdog can cut (proxied ones too)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager


class SyncTransport:
    """
    Sends one request and reads its answer within ``settings.timeout`` seconds in all.

    Redirects are never followed; the body is read as sent (content encoding undone later by
    :mod:`~airflow_provider_payjobs.client.answers`), at most ``settings.max_answer_bytes`` of it.

    :param settings: the connection's settings.
    """

    def __init__(self, settings: PayJobsSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        adapter = _WatchedAdapter()
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
                API_VERSION_HEADER: settings.api_version,
            }
        )
        # Given on every request, not as session.verify: requests lets REQUESTS_CA_BUNDLE win over that.
        self.verify: bool | str = settings.ca_bundle or False
        # No environment proxy (nor .netrc) for a loopback host: plain http to it stays on this machine.
        self.session.trust_env = not bypasses_proxies(settings.base_url)

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> Answer:
        """
        One request to ``base_url + path``; the answer whatever its status.

        :param before_send: called right before the request leaves.
        :raises PayJobsTransportError: no complete answer came (refused, TLS, dropped, deadline).
        """
        data, headers = encoded_body(json_body, form, headers)
        if before_send is not None:
            before_send()
        with WATCHDOG.deadline(self.settings.timeout) as call:
            try:
                response = self.session.request(
                    method,
                    self.settings.base_url + path,
                    params=params or None,  # an empty dict costs requests a full merge of settings
                    data=data,
                    headers=headers,
                    timeout=call.remaining() or 0.001,
                    allow_redirects=False,
                    stream=True,
                    verify=self.verify,
                )
                answer = self._read(response)
            except Exception as error:
                raise _transport_error(error, call, method, path, self.settings) from None
        if call.expired:  # cut at the deadline: what was read may look whole but is not
            raise _transport_error(TimeoutError(), call, method, path, self.settings)
        return answer

    def _read(self, response: requests.Response) -> Answer:
        limit = read_limit(response.status_code, self.settings.max_answer_bytes)
        chunks: list[bytes] = []
        size = 0
        complete = True
        try:
            for chunk in response.raw.stream(READ_CHUNK_BYTES, decode_content=False):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    complete = False
                    break
        except BaseException:
            response.close()
            raise
        if complete:
            response.raw.release_conn()  # read to the end: the connection stays alive for the next call
        else:
            response.close()  # the rest is never read: the connection cannot be reused
        body = b"".join(chunks)
        return Answer(response.status_code, response.headers, body[:limit], complete)

    def close(self) -> None:
        self.session.close()


def _transport_error(
    error: BaseException, call: CallDeadline, method: str, path: str, settings: PayJobsSettings
) -> PayJobsTransportError:
    """The typed error for whatever requests or urllib3 raised, telling whether the request may have left."""
    exceptions = requests.exceptions
    timeout = settings.timeout
    if isinstance(error, exceptions.SSLError):
        kind, text = "tls", "TLS handshake or certificate verification failed"
    elif isinstance(error, exceptions.ConnectTimeout):
        kind, text = "connect_timeout", "timed out while connecting"
    elif isinstance(error, exceptions.ConnectionError) and _never_connected(error):
        kind, text = "refused", "could not connect (refused or unreachable)"
    elif call.expired or isinstance(error, (exceptions.Timeout, urllib3.exceptions.TimeoutError)):
        kind, text = "read_timeout", f"no complete answer within the {timeout:g} s timeout"
    elif isinstance(error, (exceptions.InvalidURL, exceptions.InvalidHeader, exceptions.InvalidSchema)):
        kind, text = "invalid_request", "the request could not be built"
    else:
        # Anything else may have happened after the request left: the safe reading for a create.
        kind, text = "dropped", "the connection was dropped before a complete answer came"
    hint = settings.tls_failure_hint() if kind == "tls" else ""
    return PayJobsTransportError(f"{text}: {type(error).__name__}{hint}", kind=kind, method=method, path=path)


def _never_connected(error: BaseException) -> bool:
    """Whether a requests ConnectionError comes from a connection that was never established."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else (current.__cause__ or current.__context__)
    return isinstance(error.args[0] if error.args else None, NewConnectionError)
