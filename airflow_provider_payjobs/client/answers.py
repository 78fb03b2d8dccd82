"""
What the sync and async transports hand back, and how an answer becomes a result or a typed error.

Both transports read at most a capped number of bytes, never follow a redirect, and return an
:class:`Answer`; everything after that (status, content encoding, JSON, secrets in error text)
is decided here, once, for both.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from airflow_provider_payjobs.client.auth import AccessToken, parse_token_answer
from airflow_provider_payjobs.client.retries import parse_retry_after
from airflow_provider_payjobs.exceptions import (
    BODY_EXCERPT_CHARS,
    PayJobsApiError,
    PayJobsMalformedAnswerError,
)

# Of an error answer only the start is read: enough for an ApiErrorResult, never a flood.
ERROR_BODY_BYTES = 64 * 1024
# The only content encodings asked for (Accept-Encoding), so the only ones decoded.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True)
class Answer:
    """
    One HTTP answer as a transport read it.

    :param status: the HTTP status code.
    :param headers: the answer's headers (a case-insensitive mapping).
    :param body: the body as received (still content-encoded), at most the read limit.
    :param complete: False when the body was longer than the read limit and was cut there.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    complete: bool = True

    @property
    def is_success(self) -> bool:
        """Only 2xx is success: 1xx, 3xx (never followed) and anything past 599 are errors too."""
        return 200 <= self.status < 300


def encoded_body(
    json_body: Any, form: Mapping[str, str] | None, headers: Mapping[str, str]
) -> tuple[Any, Mapping[str, str]]:
    """
    The request body both transports send (JSON bytes, or form fields) and its headers.

    JSON is compact and ASCII, as ``json.dumps(..., separators=(",", ":"))`` writes it, except that
    a :class:`~decimal.Decimal` (an amount, as validation leaves it) is a JSON number with exactly
    its digits in plain notation: ``Decimal("0.3")`` is ``0.3``, ``Decimal("1E+2")`` is ``100``.

    :raises ValueError: a NaN or infinity (a float or a Decimal), which JSON has no number for.
    :raises TypeError: a value JSON cannot carry.
    """
    if json_body is None:
        return form, headers
    parts: list[str] = []
    _encode_json(json_body, parts)
    return "".join(parts).encode("ascii"), {**headers, "content-type": "application/json"}


def _encode_json(value: Any, parts: list[str]) -> None:
    """Append the JSON text of ``value`` to ``parts``; the exact types first, they are most of a body."""
    kind = type(value)
    if kind is str:
        parts.append(_json_string(value))
    elif kind is dict:
        _encode_object(value, parts)
    elif kind is Decimal:
        parts.append(_json_decimal(value))
    elif kind is list or kind is tuple:
        _encode_array(value, parts)
    elif value is None or value is True or value is False:
        parts.append(_JSON_CONSTANTS[value])
    else:
        _encode_other(value, parts)


def _encode_object(value: Mapping[Any, Any], parts: list[str]) -> None:
    append = parts.append
    separator = "{"
    for key, element in value.items():
        if not isinstance(key, str):
            raise TypeError(f"keys must be str, not {type(key).__name__}")
        kind = type(element)
        # Inline: an item's values are text and one amount, thousands of times over.
        if kind is str:
            append(f"{separator}{_json_string(key)}:{_json_string(element)}")
        elif kind is Decimal:
            append(f"{separator}{_json_string(key)}:{_json_decimal(element)}")
        else:
            append(f"{separator}{_json_string(key)}:")
            _encode_json(element, parts)
        separator = ","
    append("{}" if separator == "{" else "}")


def _encode_array(value: list[Any] | tuple[Any, ...], parts: list[str]) -> None:
    parts.append("[")
    for position, element in enumerate(value):
        if position:
            parts.append(",")
        _encode_json(element, parts)
    parts.append("]")


def _json_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"Decimal {value} is not a JSON number")
    return format(value, "f")  # plain notation, every digit: never an exponent


def _encode_other(value: Any, parts: list[str]) -> None:
    """Subclasses (str enums, int enums) and floats, as json.dumps would write them."""
    if isinstance(value, str):
        parts.append(_json_string(value))
    elif isinstance(value, bool):
        parts.append("true" if value else "false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        parts.append(float.__repr__(value))
    elif isinstance(value, Decimal):
        parts.append(_json_decimal(value))
    elif isinstance(value, Mapping):
        _encode_object(value, parts)
    elif isinstance(value, (list, tuple)):
        _encode_array(value, parts)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json's own C string encoder, the one json.dumps uses by default (ASCII, \uXXXX escapes).
_json_string = json.encoder.encode_basestring_ascii
_JSON_CONSTANTS = {None: "null", True: "true", False: "false"}


def read_limit(status: int, max_answer_bytes: int) -> int:
    """How many body bytes a transport reads: the cap for a success, a short excerpt for an error."""
    return max_answer_bytes if 200 <= status < 300 else ERROR_BODY_BYTES


def result_of(answer: Answer, method: str, path: str, max_answer_bytes: int) -> Any:
    """
    The decoded JSON of a 2xx answer.

    :raises PayJobsApiError: any other status, with the ApiErrorResult fields when there are any.
    :raises PayJobsMalformedAnswerError: a 2xx that is too large, badly encoded or not JSON.
    """
    if not answer.is_success:
        raise api_error(answer, method, path)
    if not answer.complete:
        raise malformed(answer, method, path, f"the answer is larger than {max_answer_bytes} bytes")
    try:
        body = decoded_body(answer, max_answer_bytes)
    except ValueError as error:
        raise malformed(answer, method, path, str(error)) from None
    try:
        return _JSON.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (ValueError, RecursionError) as error:
        why = "it nests too deeply" if isinstance(error, RecursionError) else "it is not JSON"
        raise malformed(answer, method, path, why, body) from None


def api_error(answer: Answer, method: str, path: str) -> PayJobsApiError:
    """The typed error of an answer that is not a success, quoting its body (secrets removed)."""
    return PayJobsApiError.from_response(
        answer.status,
        text_of(answer),
        method=method,
        path=path,
        retry_after=parse_retry_after(answer.headers.get("Retry-After")),
        location=answer.headers.get("Location"),
    )


def token_from(answer: Answer, path: str) -> AccessToken:
    """The token of a token endpoint answer; a 5xx, 429 or redirect is an API error (retry policy applies)."""
    if answer.status >= 500 or answer.status == 429 or 300 <= answer.status < 400:
        raise api_error(answer, "POST", path)
    if answer.is_success and not answer.complete:  # not quoted: it may hold a token
        raise PayJobsMalformedAnswerError(
            answer.status, "the token answer is too large", method="POST", path=path
        )
    return parse_token_answer(answer.status, text_of(answer))


def malformed(
    answer: Answer, method: str, path: str, why: str, body: bytes | None = None
) -> PayJobsMalformedAnswerError:
    """The error for a 2xx answer that cannot be used, with a short excerpt of it."""
    raw = answer.body if body is None else body
    excerpt = raw[: BODY_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:BODY_EXCERPT_CHARS]
    return PayJobsMalformedAnswerError(answer.status, why, method=method, path=path, body_excerpt=excerpt)


def text_of(answer: Answer) -> str:
    """
    The body as text; an undecodable body is described, never raised on.

    Not redacted here: a token answer must be read as sent. Errors redact what they quote.
    """
    try:
        body = decoded_body(answer, max(ERROR_BODY_BYTES, len(answer.body)))
    except ValueError:
        return "<an undecodable body>"
    return body.decode("utf-8", errors="replace")


def decoded_body(answer: Answer, limit: int) -> bytes:
    """
    The body with its content encoding undone, at most ``limit`` bytes once decoded.

    :raises ValueError: an encoding that was not asked for, a corrupt or cut compressed body, or
        one that decodes to more than ``limit`` bytes.
    """
    encoding = (answer.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        return answer.body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(answer.body, zlib.MAX_WBITS | 16, limit, answer.complete)
    if encoding == "deflate":  # zlib-wrapped as RFC 9110 says; some servers send it raw
        try:
            return _inflate(answer.body, zlib.MAX_WBITS, limit, answer.complete)
        except ValueError:
            return _inflate(answer.body, -zlib.MAX_WBITS, limit, answer.complete)
    raise ValueError(f"its content encoding {encoding[:40]!r} was not asked for")


def _inflate(body: bytes, window_bits: int, limit: int, complete: bool) -> bytes:
    inflater = zlib.decompressobj(window_bits)
    try:
        decoded = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise ValueError("its compressed body is corrupt") from None
    if len(decoded) > limit:
        raise ValueError(f"it decompresses to more than {limit} bytes")
    if complete and not inflater.eof:
        raise ValueError("its compressed body ends early")
    return decoded


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} does not fit a double")
    return value


# One decoder for every answer (json.loads with options builds a new one per call): JSON as
# RFC 8259 has it, so no NaN or Infinity, and no number a double cannot hold.
_JSON = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
