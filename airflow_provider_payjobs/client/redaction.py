"""
Secrets this process knows, and their removal from any text a server sent back.

A server may echo what it was sent: an error message quoting the Authorization header, an
``error_description`` quoting the Basic credentials. Such text goes into exceptions, log lines and
``test_connection``'s message, so it is cleaned here first, without relying on Airflow's masker
(which is not there in every process, nor for text held in an exception).
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import quote, quote_plus

REPLACEMENT = "***"
# Item fields whose values say who is paid or what they are told: never quoted in a message, as
# messages reach task logs a Viewer reads. In quoted JSON their value becomes "***" (also when the
# excerpt cuts it short).
PAYEE_DATA_FIELDS = frozenset({"destinationToken", "email", "programUserId", "memo", "note"})
_PAYEE_VALUE = re.compile(
    r'("(?:' + "|".join(sorted(PAYEE_DATA_FIELDS)) + r')"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|$)'
)
# Tokens are renewed about hourly; a bound keeps a long-lived triggerer from growing without end.
MAX_REMEMBERED_SECRETS = 1000


class SecretRegistry:
    """Every secret value seen in this process (client secrets, their Basic form, access tokens)."""

    def __init__(self) -> None:
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._longest_first: tuple[str, ...] = ()
        os.register_at_fork(after_in_child=self._new_lock)  # a parent's thread may have held it

    def _new_lock(self) -> None:
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        """Remember ``values`` (empty ones are ignored)."""
        with self._lock:
            for value in values:
                if value and value.strip():
                    self._secrets[value] = None
                    self._secrets.move_to_end(value)
            while len(self._secrets) > MAX_REMEMBERED_SECRETS:
                self._secrets.popitem(last=False)
            self._longest_first = tuple(sorted(self._secrets, key=len, reverse=True))

    def add_client_credentials(self, client_id: str, client_secret: str) -> None:
        """The secret as given, URL-encoded, and inside the Basic credentials it is sent in."""
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.add(client_secret, quote(client_secret, safe=""), quote_plus(client_secret), basic)

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, REPLACEMENT)
        return text


SECRETS = SecretRegistry()


def redact(text: str | None) -> str | None:
    """``text`` without any secret this process knows, nor payee values in JSON; None stays None."""
    return None if text is None else SECRETS.redact(_PAYEE_VALUE.sub(rf'\1"{REPLACEMENT}"', text))


# How a new secret is hidden from the host's logs: Airflow's secrets masker, given by the hook when
# it is imported (the client imports no Airflow); until then, only the registry above.
_log_maskers: list[Callable[[str], None]] = []


def use_log_masker(mask: Callable[[str], None]) -> None:
    """
    Hide every secret passed to :func:`mask_in_logs` with ``mask`` too (the hook gives Airflow's).

    :param mask: called with each secret, e.g. Airflow's ``mask_secret``.
    """
    if mask not in _log_maskers:
        _log_maskers.append(mask)


def mask_in_logs(secret: str) -> None:
    """
    Keep ``secret`` out of the host's logs with every masker given to :func:`use_log_masker`.

    :param secret: a token or a client secret.
    """
    for mask in _log_maskers:
        mask(secret)
