"""
The hook's async transport: one aiohttp session and one token fetch at a time, per event loop and connection.

The triggerer runs thousands of triggers in one process. They share one keep-alive connection
pool and one token per connection; aiohttp was chosen by measurement (``benchmarks/``): httpx's
pool spent most of the triggerer's CPU once a thousand waits queued in it. Imported when the first
async call is made, never while DAG files are parsed.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

import aiohttp

from airflow_provider_payjobs.client.answers import (
    ACCEPT_ENCODING,
    Answer,
    encoded_body,
    read_limit,
    token_from,
)
from airflow_provider_payjobs.client.auth import TOKEN_CACHE, AccessToken
from airflow_provider_payjobs.client.connection_settings import PayJobsSettings
from airflow_provider_payjobs.client.models import API_VERSION_HEADER
from airflow_provider_payjobs.client.redaction import mask_in_logs
from airflow_provider_payjobs.client.transport_security import bypasses_proxies, ssl_context
from airflow_provider_payjobs.exceptions import PayJobsTransportError

# Requests in flight per shared session. Waiting for one of these is not part of a call's
# timeout, so a thousand waits polling at once never time out in the client's own queue.
MAX_CONNECTIONS = 100


class SharedAsyncClient:
    """
    One aiohttp session, its connection slots and its token lock, for one connection in one loop.

    :param settings: the connection's settings.
    """

    def __init__(self, settings: PayJobsSettings) -> None:
        self.settings = settings
        proxy, proxy_auth = _environment_proxy(settings.base_url)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, ssl=ssl_context(settings.ca_bundle)),
            headers={
                "accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
                API_VERSION_HEADER: settings.api_version,
            },
            # Connect, send and the whole answer: the deadline starts once a slot is free.
            timeout=aiohttp.ClientTimeout(total=settings.timeout),
            auto_decompress=False,  # decoded by answers.py, capped, as the sync path does
            cookie_jar=aiohttp.DummyCookieJar(),
            # Proxies from the environment, as requests honours them: looked up once here, since
            # trust_env=True would look them (and .netrc) up in a thread on every request.
            proxy=proxy,
            proxy_auth=proxy_auth,
        )
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.token_lock = asyncio.Lock()
        self.users = 0

    async def token(self, log: Any) -> AccessToken:
        """The cached token of this connection, fetched once for every waiter when missing."""
        credentials = self.settings.credentials
        token = TOKEN_CACHE.get(credentials)
        if token is not None:
            return token
        async with self.token_lock:
            token = TOKEN_CACHE.get(credentials)
            if token is None:
                token = await self._fetch_token(log)
                TOKEN_CACHE.put(credentials, token)
        return token

    async def _fetch_token(self, log: Any) -> AccessToken:
        url, headers, form = self.settings.credentials.token_request()
        path = url.removeprefix(self.settings.base_url)
        # One attempt: a failed fetch is the calling request's failed attempt, retried in its budget.
        token = token_from(await self.send("POST", path, headers=headers, form=form), path)
        mask_in_logs(token.value)
        return token

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        """
        One request to ``base_url + path``; the answer whatever its status. Redirects are never followed.

        :raises PayJobsTransportError: no complete answer came (refused, TLS, dropped, timeout).
        """
        data, headers = encoded_body(json_body, form, headers)
        async with self.slots:
            try:
                async with self.session.request(
                    method,
                    self.settings.base_url + path,
                    params=params,
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    return await _read(response, self.settings.max_answer_bytes)
            except Exception as error:
                raise _transport_error(error, method, path, self.settings) from None

    async def close(self) -> None:
        await self.session.close()


async def _read(response: aiohttp.ClientResponse, max_answer_bytes: int) -> Answer:
    limit = read_limit(response.status, max_answer_bytes)
    length = response.content_length
    if length is not None and length <= limit:
        # The common case, read in one go: the framing holds aiohttp to exactly these bytes.
        return Answer(response.status, response.headers, await response.read())
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            response.close()  # the rest is never read: the connection cannot be reused
            return Answer(response.status, response.headers, b"".join(chunks)[:limit], complete=False)
    return Answer(response.status, response.headers, b"".join(chunks))


def _environment_proxy(base_url: str) -> tuple[Any, Any]:
    """The proxy (and its credentials) the environment sets for ``base_url``, if any (never for loopback)."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    if bypasses_proxies(base_url):
        return None, None

    try:
        return get_env_proxy_for_url(URL(base_url))
    except LookupError:  # no proxy, or the host is in no_proxy
        return None, None


def _transport_error(
    error: Exception, method: str, path: str, settings: PayJobsSettings
) -> PayJobsTransportError:
    """The typed error for whatever aiohttp raised, telling whether the request may have left."""
    timeout = settings.timeout
    if isinstance(error, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        kind, text = "tls", "TLS handshake or certificate verification failed"
    elif isinstance(error, aiohttp.ConnectionTimeoutError):
        kind, text = "connect_timeout", "timed out while connecting"
    elif isinstance(error, aiohttp.ClientConnectorError):
        kind, text = "refused", "could not connect (refused or unreachable)"
    elif isinstance(error, TimeoutError):
        kind, text = "read_timeout", f"no complete answer within the {timeout:g} s timeout"
    elif isinstance(error, (aiohttp.InvalidURL, ValueError)) and not isinstance(error, aiohttp.ClientError):
        kind, text = "invalid_request", "the request could not be built"
    else:
        # Anything else may have happened after the request left: the safe reading for a create.
        kind, text = "dropped", "the connection was dropped before a complete answer came"
    hint = settings.tls_failure_hint() if kind == "tls" else ""
    return PayJobsTransportError(f"{text}: {type(error).__name__}{hint}", kind=kind, method=method, path=path)


# Triggers of one connection in one triggerer loop share a client (keep-alive, one TLS handshake).
ASYNC_CLIENTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[Any, ...], SharedAsyncClient]
] = weakref.WeakKeyDictionary()


class shared_async_client:
    """
    The loop's shared client for ``settings``, open while anyone holds it.

    A trigger holds it for its whole wait, so its polls reuse connections; the last holder to
    leave closes it, so nothing outlives the loop's work. (A class, not a generator: each poll
    enters it again, and a thousand waits poll often.)

    :param settings: the connection's settings.
    """

    __slots__ = ("client", "clients", "key")

    def __init__(self, settings: PayJobsSettings) -> None:
        clients = ASYNC_CLIENTS.get(asyncio.get_running_loop())
        if clients is None:
            clients = ASYNC_CLIENTS[asyncio.get_running_loop()] = {}
        self.clients = clients
        self.key = settings.client_key
        client = self.clients.get(self.key)
        if client is None:
            client = self.clients[self.key] = SharedAsyncClient(settings)
        self.client = client

    async def __aenter__(self) -> SharedAsyncClient:
        self.client.users += 1
        return self.client

    async def __aexit__(self, *exception: object) -> None:
        client = self.client
        client.users -= 1
        if client.users == 0:
            if self.clients.get(self.key) is client:
                del self.clients[self.key]
            await client.close()
