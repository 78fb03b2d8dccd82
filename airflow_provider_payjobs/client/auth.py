"""OAuth 2.0 client credentials: the token request, and a process-wide cache of tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_payjobs.client.redaction import SECRETS
from airflow_provider_payjobs.exceptions import PayJobsAuthError

TOKEN_PATH = "/auth/connect/token"
# Tokens are renewed this long before they expire (or at 10% of a short lifetime).
REFRESH_MARGIN_SECONDS = 60.0
# A token answer without a usable expires_in is trusted for this long.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0
# A token is never trusted longer than this, whatever expires_in says.
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600.0
# What may go into an Authorization header: visible ASCII, no spaces (RFC 6750 b64token and more).
ACCESS_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,4096}")


@dataclass(frozen=True)
class ClientCredentials:
    """
    What a token request needs; the secret is left out of repr and of the cache key.

    :param base_url: the API base URL, ending in ``/api/v2``.
    :param client_id: the OAuth client id.
    :param client_secret: the OAuth client secret.
    :param scopes: space-delimited scopes to request.

    ``cache_key`` tells one client's tokens from another's: URL, client id, a digest of the secret
    (never the secret itself), scopes.
    """

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str
    cache_key: tuple[str, str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Whatever a server echoes of these is removed before it reaches an error or a log.
        SECRETS.add_client_credentials(self.client_id, self.client_secret)
        # A digest of the secret keeps tokens of a rotated or wrong secret apart. Computed once:
        # every call of every trigger looks its token up by it.
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        object.__setattr__(self, "cache_key", (self.base_url, self.client_id, digest, self.scopes))

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
    """
    A bearer token and when (``time.monotonic()``) to stop using it.

    :param value: the token itself.
    :param refresh_at: the ``time.monotonic()`` moment after which a new token is fetched.
    """

    value: str = field(repr=False)
    refresh_at: float

    def is_fresh(self) -> bool:
        """Whether the token may still be used (its refresh moment is not reached)."""
        return time.monotonic() < self.refresh_at


def parse_token_answer(status_code: int, body_text: str) -> AccessToken:
    """
    The token from a token endpoint answer, or :class:`PayJobsAuthError` saying what is wrong.

    A 2xx must hold a string ``access_token`` fit for a header and a ``token_type`` of bearer;
    ``expires_in`` is trusted between 0 and a day (a default lifetime when it is not a number).
    """
    try:
        body: Any = json.loads(body_text) if body_text else None
    except (ValueError, RecursionError):
        body = None
    if 200 <= status_code < 300 and isinstance(body, dict) and "access_token" in body:
        value = body["access_token"]
        if isinstance(value, str) and value:
            SECRETS.add(value)  # before any message below could quote it
        return _checked_token(status_code, body)
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        raise PayJobsAuthError(body["error"][:100].lower(), status_code, _text(body.get("error_description")))
    if isinstance(body, dict):  # it may hold a token in a shape we did not expect: name keys only
        fields = sorted(body)[:20]
        raise PayJobsAuthError(None, status_code, f"unexpected token answer with fields {fields}")
    if body is not None:
        raise PayJobsAuthError(None, status_code, f"unexpected token answer of type {type(body).__name__}")
    if 200 <= status_code < 300 or "token" in body_text.lower():  # it may be a bare or encoded token
        raise PayJobsAuthError(None, status_code, f"unexpected token answer ({len(body_text)} characters)")
    raise PayJobsAuthError(None, status_code, f"unexpected token answer: {body_text[:200]!r}")


def _checked_token(status_code: int, body: dict[str, Any]) -> AccessToken:
    value = body["access_token"]
    if not isinstance(value, str) or not ACCESS_TOKEN_RE.fullmatch(value):
        kind = type(value).__name__ if not isinstance(value, str) else f"{len(value)} characters"
        raise PayJobsAuthError(None, status_code, f"the access_token is not a usable token ({kind})")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        shown = repr(token_type)[:40] if isinstance(token_type, str) else type(token_type).__name__
        raise PayJobsAuthError(None, status_code, f"the token_type is {shown}, not Bearer")
    lifetime = _lifetime(body.get("expires_in"))
    margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
    return AccessToken(value, time.monotonic() + lifetime - margin)


def _lifetime(expires_in: Any) -> float:
    """Seconds a token may be used: ``expires_in`` bounded to [0, a day]; a default when not a number."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        return DEFAULT_TOKEN_LIFETIME_SECONDS
    if isinstance(expires_in, float) and math.isnan(expires_in):
        return DEFAULT_TOKEN_LIFETIME_SECONDS
    # Compared before any conversion: an integer of 400 digits does not fit a float.
    return float(min(max(expires_in, 0), MAX_TOKEN_LIFETIME_SECONDS))


class TokenCache:
    """Tokens by (base URL, client id, secret digest, scopes), shared by every hook in the process."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str, str], AccessToken] = {}
        self._new_locks()
        # A forked child may inherit a lock held by another thread of the parent: never wait on it.
        os.register_at_fork(after_in_child=self._new_locks)

    def _new_locks(self) -> None:
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
    """A server's free text, shortened; a value of another type is named, not quoted."""
    if value is None:
        return None
    return value[:500] if isinstance(value, str) else f"<{type(value).__name__}>"
