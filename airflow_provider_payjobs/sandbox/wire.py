"""Reading a request off the wire within limits: headers, query string, body bytes and JSON."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict
from urllib.parse import unquote_to_bytes

from starlette.requests import ClientDisconnect, Request

from airflow_provider_payjobs.sandbox.errors import Refusal
from airflow_provider_payjobs.sandbox.limits import (
    MAX_BODY_BYTES,
    MAX_DRAINED_BYTES,
    MAX_JSON_DEPTH,
    describe,
)

# A host name, an IPv4 address or a bracketed IPv6 address, then an optional port (RFC 9110, 7.2).
_HOST = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,60}")
_DIGITS = re.compile(r"[0-9]{1,10}")
LARGEST_EXACT_INTEGER = 2**53  # of a double


class UnrepresentableNumber:
    """A JSON number that no double holds exactly, kept as its text so that messages can quote it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def check_host(request: Request) -> None:
    """A malformed or repeated ``Host`` answers 400 (RFC 9112, 3.2): links are built from it."""
    hosts = request.headers.getlist("host")
    if len(hosts) > 1:
        raise Refusal(400, "Host: the header is given more than once")
    if hosts and not _HOST.fullmatch(hosts[0]):
        raise Refusal(
            400, f"Host: must be a host name or address with an optional port, got {describe(hosts[0])}"
        )


def check_accept(request: Request) -> None:
    """An ``Accept`` header that rules JSON out answers 406: every answer of the API is JSON."""
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if not ranges & {"application/json", "application/*", "*/*"}:
        raise Refusal(406, f"Accept: the API answers application/json only, got {describe(accept)}")


def check_content_type(request: Request, expected: str) -> str | None:
    """None when the body's media type is ``expected`` (parameters aside); else what was sent."""
    sent = request.headers.get("content-type", "")
    return None if sent.split(";")[0].strip().lower() == expected else sent


async def body_of(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """
    The whole request body, received once (:func:`receive_body`) and then kept on the request.

    :param limit: the most bytes this endpoint takes, at most ``MAX_BODY_BYTES``.
    :raises Refusal: 413 past ``limit``; 400 when the client hung up mid-body.
    """
    received = await receive_body(request)
    if isinstance(received, Refusal):
        raise received
    body, size = received
    if size > limit:
        raise Refusal(413, f"body: larger than the sandbox's limit of {limit} bytes")
    return body


async def receive_body(request: Request) -> tuple[bytes, int] | Refusal:
    """
    The body (its first ``MAX_BODY_BYTES``) and its full size; or why it could not be had.

    A longer body is read on and dropped, up to a bound, so that the client gets to read the 413.
    """
    kept = getattr(request.state, "sandbox_body", None)
    if kept is None:
        kept = await _receive(request)
        request.state.sandbox_body = kept
    return kept


async def _receive(request: Request) -> tuple[bytes, int] | Refusal:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_DRAINED_BYTES:
        return b"", int(declared)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_DRAINED_BYTES:
                break
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
    except ClientDisconnect:
        return Refusal(400, "body: the connection closed before the body was complete")
    return b"".join(chunks), size


def parse_json(raw: bytes, what: str = "body", *, exact_numbers: bool = False) -> Any:
    """
    Strict JSON (RFC 8259): UTF-8, no NaN or Infinity, nesting at most ``MAX_JSON_DEPTH`` deep.

    Numbers no double holds exactly (``1e400``, a 400-digit integer, ``0.1000000000000000001``)
    come back as :class:`UnrepresentableNumber`, for the field's own rule to refuse by name.

    :param exact_numbers: read every number as the :class:`~decimal.Decimal` of its digits instead
        (``0.3`` is ``Decimal("0.3")``, ``10.50`` keeps its zero): money is never a float here.
        Only an exponent no Decimal holds makes an :class:`UnrepresentableNumber` then.
    :raises Refusal: 400 naming ``what`` and the rule.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(400, f"{what}: is not UTF-8 (byte {error.start} cannot be decoded)") from None
    too_deep = f"{what}: JSON nested too deep; the sandbox takes at most {MAX_JSON_DEPTH} levels"
    try:
        numbers: _NumberParsers = {"parse_int": _exact, "parse_float": _exact} if exact_numbers else _DOUBLES
        value = json.loads(text, parse_constant=_no_constant, **numbers)
    except RecursionError:  # CPython's decoder stops deep nesting so, long before the C stack is at risk
        raise Refusal(400, too_deep) from None
    except ValueError as error:
        raise Refusal(400, f"{what}: is not valid JSON ({str(error)[:120]})") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise Refusal(400, too_deep)
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (a top-level one is level 1)."""
    pending = [(value, 1)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, (dict, list)):
            if level > limit:
                return True
            pending.extend(
                (child, level + 1) for child in (node.values() if isinstance(node, dict) else node)
            )
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _integer(text: str) -> int | UnrepresentableNumber:
    if len(text) > 20:  # also keeps int() away from its 4300-digit limit
        return UnrepresentableNumber(text)
    value = int(text)
    return value if abs(value) <= LARGEST_EXACT_INTEGER else UnrepresentableNumber(text)


def _decimal(text: str) -> float | UnrepresentableNumber:
    value = float(text)
    exact = _exact(text)  # not Decimal(text): an exponent past any Decimal's would raise
    if not math.isfinite(value) or isinstance(exact, UnrepresentableNumber) or exact != Decimal(repr(value)):
        return UnrepresentableNumber(text)
    return value


def _exact(text: str) -> Decimal | UnrepresentableNumber:
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent past what any Decimal holds: 1e-9999999999999999999
        return UnrepresentableNumber(text)


class _NumberParsers(TypedDict):
    """How ``json.loads`` reads integers and fractions."""

    parse_int: Callable[[str], Any]
    parse_float: Callable[[str], Any]


_DOUBLES: _NumberParsers = {"parse_int": _integer, "parse_float": _decimal}


def query_parameters(request: Request, allowed: Collection[str]) -> dict[str, str]:
    """
    The query string as ``{name: value}``: UTF-8 after percent-decoding, each name at most once.

    :param allowed: the endpoint's parameters; any other name answers 400.
    :raises Refusal: 400 naming the parameter.
    """
    return form_fields(request.scope.get("query_string", b""), allowed)


def form_fields(raw: bytes, allowed: Collection[str] | None = None) -> dict[str, str]:
    """
    ``application/x-www-form-urlencoded`` fields (a query string or a form body), each at most once.

    :param allowed: the names taken; None takes any name.
    :raises Refusal: 400 naming the field.
    """
    found: dict[str, str] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition(b"=")
        name = _percent_decoded(raw_name, "parameter name")
        if allowed is not None and name not in allowed:
            expected = ", ".join(allowed) if allowed else "none"
            raise Refusal(
                400, f"{_named(name)}: not a query parameter of this endpoint (it takes {expected})"
            )
        if name in found:
            raise Refusal(400, f"{_named(name)}: given more than once")
        found[name] = _percent_decoded(raw_value, _named(name))
    return found


def _named(name: str) -> str:
    """A parameter's name for a message: as sent when it is plain, else quoted and escaped."""
    return name if _PLAIN_NAME.fullmatch(name) else describe(name)


def _percent_decoded(raw: bytes, what: str) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, f"{what}: is not UTF-8 once percent-decoded") from None


def wire_integer(name: str, text: str | None, low: int, high: int) -> int:
    """A required integer query parameter: ASCII digits only, from ``low`` to ``high``."""
    rule = f"must be a whole number from {low} to {high} in ASCII digits"
    if text is None:
        raise Refusal(400, f"{name}: is required; {rule}")
    value = int(text) if _DIGITS.fullmatch(text) else None
    if value is None or not low <= value <= high:
        raise Refusal(400, f"{name}: {rule}, got {describe(text)}")
    return value
