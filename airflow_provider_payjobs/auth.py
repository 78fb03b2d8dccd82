"""OAuth 2.0 client credentials: the token request, and a process-wide cache of tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_payjobs.exceptions import PayJobsAuthError

TOKEN_PATH = "/auth/connect/token"
# Tokens are renewed this long before they expire (or at 10% of a short lifetime).
REFRESH_MARGIN_SECONDS = 60.0
# A token answer without expires_in is trusted for this long.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0


@dataclass(frozen=True)
class ClientCredentials:
    """
    What a token request needs; the secret is left out of repr and of the cache key.

    :param base_url: the API base URL, ending in ``/api/v2``.
    :param client_id: the OAuth client id.
    :param client_secret: the OAuth client secret.
    :param scopes: space-delimited scopes to request.
    """

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str

    @property
    def cache_key(self) -> tuple[str, str, str, str]:
        # A digest of the secret keeps tokens of a rotated or wrong secret apart.
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (self.base_url, self.client_id, digest, self.scopes)

    def token_request(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """URL, headers and form fields of the token request."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        }
        form = {"grant_type": "client_credentials", "scope": self.scopes}
        return self.base_url + TOKEN_PATH, headers, form


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when (``time.monotonic()``) to stop using it."""

    value: str = field(repr=False)
    refresh_at: float

    def is_fresh(self) -> bool:
        return time.monotonic() < self.refresh_at


def parse_token_answer(status_code: int, body_text: str) -> AccessToken:
    """The token from a token endpoint answer, or :class:`PayJobsAuthError` naming the OAuth error."""
    try:
        body: Any = json.loads(body_text) if body_text else None
    except ValueError:
        body = None
    if 200 <= status_code < 300 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, (int, float)) else DEFAULT_TOKEN_LIFETIME_SECONDS
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        return AccessToken(body["access_token"], time.monotonic() + lifetime - margin)
    if isinstance(body, dict) and body.get("error"):
        raise PayJobsAuthError(str(body["error"]).lower(), status_code, _text(body.get("error_description")))
    if isinstance(body, dict):  # it may hold a token in a shape we did not expect: name keys only
        raise PayJobsAuthError(None, status_code, f"unexpected token answer with fields {sorted(body)}")
    if body is not None:
        raise PayJobsAuthError(None, status_code, f"unexpected token answer of type {type(body).__name__}")
    if 200 <= status_code < 300 or "token" in body_text.lower():  # it may be a bare or encoded token
        raise PayJobsAuthError(None, status_code, f"unexpected token answer ({len(body_text)} characters)")
    raise PayJobsAuthError(None, status_code, f"unexpected token answer: {body_text[:200]!r}")


class TokenCache:
    """Tokens by (base URL, client id, secret digest, scopes), shared by every hook in the process."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str, str], AccessToken] = {}
        self._lock = threading.Lock()
        self.lock_for_fetch = threading.Lock()

    def get(self, credentials: ClientCredentials) -> AccessToken | None:
        with self._lock:
            token = self._tokens.get(credentials.cache_key)
        return token if token is not None and token.is_fresh() else None

    def put(self, credentials: ClientCredentials, token: AccessToken) -> None:
        with self._lock:
            self._tokens[credentials.cache_key] = token

    def drop(self, credentials: ClientCredentials, token: AccessToken) -> None:
        """Forget ``token`` (refused by the server), unless another caller already replaced it."""
        with self._lock:
            if self._tokens.get(credentials.cache_key) is token:
                del self._tokens[credentials.cache_key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKEN_CACHE = TokenCache()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
