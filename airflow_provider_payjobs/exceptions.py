"""Typed errors of the provider: one base class, so callers can catch everything with one clause."""

from __future__ import annotations

import reprlib
from typing import Any, TypedDict

from airflow_provider_payjobs.client.redaction import PAYEE_DATA_FIELDS, redact

# How much of a non-JSON body (a proxy's HTML page, say) an error message quotes.
BODY_EXCERPT_CHARS = 200


class PayJobsError(Exception):
    """Base class of every error this provider raises."""


class PayJobsValidationError(PayJobsError, ValueError):
    """
    Input that breaks a rule of the API; raised before anything is sent.

    :param field: where the bad value is, e.g. ``items[3].currency``.
    :param rule: the rule it breaks, in words.
    :param value: the offending value, quoted in the message when short and not secret.
    """

    def __init__(self, field: str, rule: str, value: Any = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        shown = "" if value is None else f" (got {_short_repr(value)})"
        if value is not None and field.rsplit(".", 1)[-1] in PAYEE_DATA_FIELDS:
            shown = " (the value is not shown: payee data)"  # messages reach logs a Viewer reads
        message = f"{field}: {rule}{shown}"
        # Logs and UIs must be able to write the message: no lone surrogate survives in it.
        super().__init__(message.encode("utf-8", "backslashreplace").decode("utf-8"))


class _CallContext(TypedDict):
    """The keyword arguments :meth:`PayJobsApiError.from_response` passes on about the call."""

    method: str
    path: str
    retry_after: float | None
    location: str | None


class PayJobsApiError(PayJobsError):
    """
    An answer from the API that is not a success: any status outside 2xx (redirects included,
    which are never followed), or a 2xx whose body cannot be used (see
    :class:`PayJobsMalformedAnswerError`).

    Carries the ApiErrorResult fields when the body has them; otherwise ``body_excerpt``
    holds the start of whatever came back. Every text that came from the server has the
    secrets this process knows replaced by ``***``.

    :param status_code: the HTTP status.
    :param method: the HTTP method of the failed call.
    :param path: the path of the failed call, without the base URL.
    :param severity: the ApiErrorResult's ``severity``.
    :param error: the ApiErrorResult's ``error``.
    :param code: the ApiErrorResult's ``code``.
    :param message: the ApiErrorResult's ``message``; for a validation error it names the field.
    :param reference_id: the ApiErrorResult's ``referenceId``, to quote to PayQuicker.
    :param timestamp: the ApiErrorResult's ``timestamp``.
    :param request_ref: the ApiErrorResult's ``requestRef``.
    :param body_excerpt: the start of a body that is not an ApiErrorResult.
    :param retry_after: the wait the answer's ``Retry-After`` asked for, in seconds, if it had one.
    :param location: the ``Location`` header of a redirect (3xx), which is never followed.
    """

    def __init__(
        self,
        status_code: int,
        *,
        method: str = "",
        path: str = "",
        severity: str | None = None,
        error: str | None = None,
        code: int | float | None = None,
        message: str | None = None,
        reference_id: str | None = None,
        timestamp: str | None = None,
        request_ref: str | None = None,
        body_excerpt: str | None = None,
        retry_after: float | None = None,
        location: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        self.severity = redact(severity)
        self.error = redact(error)
        self.code = code
        self.message = redact(message)
        self.reference_id = redact(reference_id)
        self.timestamp = redact(timestamp)
        self.request_ref = redact(request_ref)
        self.body_excerpt = redact(body_excerpt)
        self.retry_after = retry_after
        self.location = redact(location)
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" on {self.method} {self.path}".rstrip() if self.method else ""
        text = f"PayQuicker API answered HTTP {self.status_code}{where}"
        if 300 <= self.status_code < 400:
            text += f", a redirect to {self.location or '(no Location)'!r} that was not followed"
        if self.message or self.error:
            text += f": {self.error or ''}{' - ' if self.error and self.message else ''}{self.message or ''}"
        elif self.body_excerpt:
            text += f"; body was not an ApiErrorResult: {self.body_excerpt!r}"
        if self.reference_id:
            text += f" (referenceId {self.reference_id})"
        return text

    @classmethod
    def from_response(
        cls,
        status_code: int,
        body_text: str,
        *,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
        location: str | None = None,
    ) -> PayJobsApiError:
        """
        Build the error from a raw answer, whatever its body holds.

        :param status_code: the HTTP status.
        :param body_text: the body as text, an ApiErrorResult or anything else.
        :param method: the HTTP method of the failed call.
        :param path: the path of the failed call, without the base URL.
        :param retry_after: the wait ``Retry-After`` asked for, in seconds, if any.
        :param location: the ``Location`` header of a redirect, if any.
        """
        import json

        try:
            body = json.loads(body_text) if body_text else None
        except (ValueError, RecursionError):
            body = None
        context: _CallContext = {
            "method": method,
            "path": path,
            "retry_after": retry_after,
            "location": location,
        }
        if not isinstance(body, dict) or not ({"message", "error", "code"} & body.keys()):
            excerpt = (body_text or "")[:BODY_EXCERPT_CHARS] or "<empty body>"
            return cls(status_code, body_excerpt=excerpt, **context)
        return cls(
            status_code,
            severity=_text_or_none(body.get("severity")),
            error=_text_or_none(body.get("error")),
            code=body.get("code") if isinstance(body.get("code"), (int, float)) else None,
            message=_text_or_none(body.get("message")),
            reference_id=_text_or_none(body.get("referenceId")),
            timestamp=_text_or_none(body.get("timestamp")),
            request_ref=_text_or_none(body.get("requestRef")),
            **context,
        )


class PayJobsMalformedAnswerError(PayJobsApiError):
    """
    A 2xx answer that cannot be used: not JSON, too large, or not the shape the call relies on.

    :param status_code: the HTTP status (2xx).
    :param why: what is wrong with the answer, in words.
    :param method: the HTTP method of the call.
    :param path: the path of the call, without the base URL.
    :param body_excerpt: the start of the body, secrets removed.
    """

    def __init__(
        self, status_code: int, why: str, *, method: str = "", path: str = "", body_excerpt: str = ""
    ) -> None:
        self.why = why
        super().__init__(status_code, method=method, path=path, body_excerpt=body_excerpt)

    def _describe(self) -> str:
        where = f" on {self.method} {self.path}".rstrip() if self.method else ""
        text = f"PayQuicker API answered HTTP {self.status_code}{where} with a malformed answer: {self.why}"
        if self.body_excerpt:
            text += f"; it starts {self.body_excerpt!r}"
        return text


class PayJobsAuthError(PayJobsError):
    """
    The token endpoint refused to issue a token, or the token was refused.

    :param oauth_error: the OAuth error code, e.g. ``invalid_client`` or ``invalid_scope``.
    :param status_code: the HTTP status of the token endpoint's answer.
    :param description: the ``error_description`` the server sent, if any.
    """

    def __init__(self, oauth_error: str | None, status_code: int | None, description: str | None = None):
        self.oauth_error = redact(oauth_error)
        self.status_code = status_code
        self.description = description = redact(description)
        text = f"PayQuicker token request failed: {self.oauth_error or 'unknown error'}"
        if status_code is not None:
            text += f" (HTTP {status_code})"
        if description:
            text += f": {description}"
        super().__init__(text)


class PayJobsTransportError(PayJobsError):
    """
    The call got no HTTP answer: the connection was refused or dropped, TLS failed, or it timed out.

    :param description: what happened, in words.
    :param kind: one of ``refused``, ``connect_timeout``, ``tls``, ``invalid_request`` (the
        request never reached the server), ``dropped`` or ``read_timeout`` (it may have been acted
        on; ``read_timeout`` also when the whole answer did not come within the timeout).
    :param method: the HTTP method of the call, when known.
    :param path: the path of the call, without the base URL, when known.
    """

    NEVER_SENT_KINDS = frozenset({"refused", "connect_timeout", "tls", "invalid_request"})
    # Trying again cannot help: the same certificate, the same unbuildable request.
    PERMANENT_KINDS = frozenset({"tls", "invalid_request"})

    def __init__(self, description: str, *, kind: str, method: str = "", path: str = "") -> None:
        self.kind = kind
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {description}" if method else description)

    @property
    def request_sent(self) -> bool:
        """False only when the request provably never reached the server; a POST is retried only then."""
        return self.kind not in self.NEVER_SENT_KINDS


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _short_repr(value: Any) -> str:
    """At most 80 characters showing ``value``; never raises, whatever the value (a huge int, a
    deep or self-holding container, a broken ``__repr__``), and never holds a lone surrogate."""
    if isinstance(value, int) and value.bit_length() > 200:  # str() refuses past 4300 digits
        sign = "negative " if value < 0 else ""
        return f"<{sign}int of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = _SHORT_REPR.repr(value)
    except Exception:  # an int too long for str(), or a __repr__ that fails: name the type only
        return f"<{type(value).__name__} that cannot be shown>"
    if not isinstance(text, str):
        return f"<{type(value).__name__} that cannot be shown>"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 80 else text[:77] + "..."


# Caps on how much of a container, string or nesting a message quotes, so quoting stays cheap.
_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = 70
_SHORT_REPR.maxother = 70
_SHORT_REPR.maxlong = 70


class PayJobsConflictError(PayJobsError):
    """
    Some clientPaymentIds of a create body are already held by other jobs, but no single job holds them all.

    Creating the job could pay those items twice, and adopting a job would leave items unpaid:
    a person must decide.

    :param holders: each conflicting clientPaymentId and the job tokens that hold it.
    """

    def __init__(self, holders: dict[str, list[str]]) -> None:
        self.holders = holders
        listed = "; ".join(
            f"{payment_id} in {', '.join(jobs)}" for payment_id, jobs in sorted(holders.items())
        )
        super().__init__(
            "clientPaymentIds already used by other payment jobs, and no single job holds them all: " + listed
        )


class PayJobsReconcileError(PayJobsError):
    """
    Whether a create already happened cannot be told, or the job found pays something else.

    Creating could pay twice and adopting could leave someone unpaid: nothing is sent.
    """


class PayJobsPayoutMismatchError(PayJobsReconcileError):
    """
    A job already holds this payout's clientPaymentIds (some or all) but pays something else.

    Adopting it would leave someone unpaid and creating another could pay twice: nothing is sent,
    and a retry cannot change that.

    :param job_tokens: the job, or the jobs (comma-separated), holding the ids.
    :param differences: how the job differs from the body, item by item (payees are not named).
    """

    def __init__(self, job_tokens: str, differences: list[str]) -> None:
        self.job_tokens = job_tokens
        self.differences = differences
        shown = "; ".join(differences[:10]) + (
            f"; and {len(differences) - 10} more" if len(differences) > 10 else ""
        )
        super().__init__(
            f"payment job {job_tokens} already holds clientPaymentIds of this payout but does not pay what "
            f"the body says: {shown}. That job exists and may be paying; nothing new was posted. The body "
            "must render the same items on every try and, under a payout_key, on every run of the key: check "
            "that job in PayQuicker (cancel it if it is wrong), then pay anything else under another "
            "payout_key, in a new DAG run without one, or under your own clientPaymentIds."
        )


# Token errors a retry would repeat: the client, its secret, its grant or its scopes are wrong.
PERMANENT_OAUTH_ERRORS = frozenset(
    {
        "invalid_client",
        "unauthorized_client",
        "invalid_grant",
        "invalid_scope",
        "unsupported_grant_type",
        "invalid_request",
    }
)
# Client errors a retry would repeat; 401 is not among them (a token revoked in between is renewed),
# nor 408, 409, 425 and 429 (time, a conflict that may clear, too early, too many).
PERMANENT_STATUS_CODES = frozenset({400, 403, 404, 405, 410, 413, 414, 415, 422})


def permanent_failure_reason(error: BaseException) -> str | None:
    """
    Why retrying the task cannot help with ``error``, or None when a retry may.

    :param error: what a call or the payout protocol raised.
    """
    if isinstance(error, PayJobsValidationError):
        return "the input breaks a rule of the API, and the same input breaks it again"
    if isinstance(error, (PayJobsPayoutMismatchError, PayJobsConflictError)):
        return "a job already holds this payout's ids and pays something else: a person must decide"
    if isinstance(error, PayJobsAuthError) and error.oauth_error in PERMANENT_OAUTH_ERRORS:
        return f"the token endpoint refused the credentials ({error.oauth_error}): fix the connection"
    if isinstance(error, PayJobsMalformedAnswerError):
        return None
    if isinstance(error, PayJobsApiError) and error.status_code in PERMANENT_STATUS_CODES:
        return f"the API refused the request (HTTP {error.status_code}) and would refuse it again"
    reason = getattr(error, "retry_cannot_help", None)
    return reason if isinstance(reason, str) else None
