"""
The hook's async transport: one httpx client and one token fetch at a time, per event loop and connection.

The triggerer runs thousands of triggers in one process; sharing keeps it to one keep-alive
connection pool, one TLS handshake and one token request per connection.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from typing import Any

import httpx

from airflow_provider_payjobs import http_errors
from airflow_provider_payjobs.auth import TOKEN_CACHE, AccessToken
from airflow_provider_payjobs.compat import mask_secret
from airflow_provider_payjobs.connection_settings import PayJobsSettings
from airflow_provider_payjobs.models import API_VERSION_HEADER


class SharedAsyncClient:
    """One httpx client and one token fetch at a time, per event loop and connection."""

    def __init__(self, settings: PayJobsSettings) -> None:
        verify: bool | ssl.SSLContext = (
            settings.verify
            if isinstance(settings.verify, bool)
            else (ssl.create_default_context(cafile=settings.verify))
        )
        self.client = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=settings.timeout,
            verify=verify,
            headers={"accept": "application/json", API_VERSION_HEADER: settings.api_version},
        )
        self.token_lock = asyncio.Lock()

    async def token(self, settings: PayJobsSettings, log: Any) -> AccessToken:
        credentials = settings.credentials
        token = TOKEN_CACHE.get(credentials)
        if token is not None:
            return token
        async with self.token_lock:
            token = TOKEN_CACHE.get(credentials)
            if token is None:
                token = await self._fetch_token(settings, log)
                TOKEN_CACHE.put(credentials, token)
        return token

    async def _fetch_token(self, settings: PayJobsSettings, log: Any) -> AccessToken:
        url, headers, form = settings.credentials.token_request()
        path = url.removeprefix(settings.base_url)
        async for attempt in settings.retry_policy.async_retrying("POST", path, log, idempotent=True):
            with attempt:
                try:
                    answer = await self.client.post(url, headers=headers, data=form)
                except httpx.TransportError as error:
                    raise http_errors.from_httpx_error(error, "POST", path) from None
                token = http_errors.token_from_answer(answer.status_code, answer.text, answer.headers, path)
        mask_secret(token.value)
        return token

    async def send(
        self,
        settings: PayJobsSettings,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        token: AccessToken,
    ) -> httpx.Response:
        try:
            return await self.client.request(
                method,
                settings.base_url + path,
                params=params,
                headers={"Authorization": f"Bearer {token.value}"},
            )
        except httpx.TransportError as error:
            raise http_errors.from_httpx_error(error, method, path) from None


# Triggers of one connection in one triggerer loop share a client (keep-alive, one TLS handshake).
ASYNC_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, SharedAsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def shared_async_client(settings: PayJobsSettings) -> SharedAsyncClient:
    loop = asyncio.get_running_loop()
    clients = ASYNC_CLIENTS.setdefault(loop, {})
    key = (settings.credentials.cache_key, settings.api_version, settings.timeout, str(settings.verify))
    if key not in clients:
        clients[key] = SharedAsyncClient(settings)
    return clients[key]
