"""
Client-side checks of everything the API constrains, run before a request is sent.

The hook calls four entry points: :func:`prepare_create_body`, :func:`list_query`,
:func:`retrieve_query` and :func:`validate_job_token`. Each takes any Python value and either
returns what goes on the wire or raises
:class:`~airflow_provider_payjobs.exceptions.PayJobsValidationError` naming the field (with its
position, e.g. ``items[3].currency``) and the rule: never another exception, and nothing is sent.

Whatever they accept, a correct server can store and serve back:

- text is valid Unicode that UTF-8 can encode (no lone surrogates) and holds no NUL character;
- date-times, given as datetimes or RFC 3339 strings, lie in years 1 to 9999 once in UTC;
- an amount is exact money: a finite decimal greater than 0, with no more fraction digits than
  its currency's ISO 4217 minor unit (USD 2, JPY 0, KWD 3) and at most 15 significant digits, so
  that even a server reading the JSON number as a double reads back the amount that was meant
  (``amount_of`` says what an int, Decimal, numeric string or float is taken as);
- integers in a query (``page``, ``pageSize``) fit an int32.

Languages are taken as a :class:`~airflow_provider_payjobs.client.models.Languages` member, its name
(``ENUS``) or its language tag (``en-US``), names and tags in any ASCII case (BCP 47 tags are
case-insensitive); the tag, in its canonical case, is what is sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from airflow_provider_payjobs.client.models import (
    DESTINATION_TOKEN_RE,
    EMAIL_RE,
    JOB_TOKEN_RE,
    SOURCE_TOKEN_RE,
    Languages,
    PaymentPurposes,
    currencies,
    minor_units,
)
from airflow_provider_payjobs.exceptions import PayJobsValidationError, _short_repr

MAX_PAGE_SIZE = 50
INT32_MAX = 2**31 - 1
# Every integer up to 2**53 is a double; past it a server reading the number as a double pays another amount.
MAX_EXACT_INTEGER = 2**53
MAX_AMOUNT = Decimal(MAX_EXACT_INTEGER)
# Any decimal of at most 15 significant digits (in a double's range) comes back from the nearest
# double unchanged, so a server that reads JSON numbers as doubles still reads this amount.
MAX_SIGNIFICANT_DIGITS = 15
# A float this close (in units in the last place) to an amount that fits its currency is float
# arithmetic's noise around that amount: 0.1 + 0.2 is 0.30000000000000004, 1 ulp from 0.3.
FLOAT_NOISE_ULPS = 4
# A numeric string: ASCII digits and an optional fraction; no sign, exponent, spaces or underscores.
AMOUNT_TEXT_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
AMOUNT_TEXT_RULE = (
    'must be a numeric string of ASCII digits with an optional fraction, e.g. "10.50" '
    "(no sign, exponent, spaces or underscores)"
)
# Rounding a float's shortest repr to a minor unit: exact whatever the caller's decimal context.
_ROUNDING = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])
# An amount with more fraction digits than this is not written out in an error, only quoted short.
_SHOWN_FRACTION_DIGITS = 24
PROGRAM_USER_ID_LENGTH = (5, 100)
EMAIL_LENGTH = (8, 100)
JOB_FIELDS = frozenset({"notBefore", "notAfter", "items"})
COMMON_ITEM_FIELDS = frozenset(
    {"amount", "currency", "sourceToken", "note", "memo", "purpose", "clientPaymentId"}
)
GATEWAY_ONLY_FIELDS = frozenset({"destinationToken"})
PORTAL_ONLY_FIELDS = frozenset({"programUserId", "email"})
ITEM_FIELDS = COMMON_ITEM_FIELDS | GATEWAY_ONLY_FIELDS | PORTAL_ONLY_FIELDS
PURPOSES = frozenset(member.value for member in PaymentPurposes)
# RFC 3339 date-time: a full date, a time, and an explicit offset (Z or +hh:mm). ASCII digits only.
RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
# Names (ENUS) and tags (en-US) in capitals: how a language given in any ASCII case is looked up.
_LANGUAGES_BY_KEY = {
    **{member.name: member for member in Languages},
    **{member.value.upper(): member for member in Languages},
}
_LANGUAGE_RULE = "must be a Languages member, name or tag: " + ", ".join(
    f"{member.name} ({member.value})" for member in Languages
)


# --- entry points for the hook ----------------------------------------------------------------------


def prepare_create_body(body: Any) -> dict[str, Any]:
    """
    Check a GatewayPaymentJob or PortalPaymentJob body and return a fresh copy ready for the wire.

    Every item pays either a destination token (gateway) or a portal user (``programUserId``
    and/or ``email``); one job never mixes the two. Fields that are None are left out. Datetimes
    become RFC 3339 UTC strings (a naive datetime is UTC), tuples lists, and every amount a
    :class:`~decimal.Decimal` in plain form (``"10.50"`` becomes ``Decimal("10.5")``, ``100``
    ``Decimal("100")``). An amount is an int, a Decimal, a numeric string (``"10.50"``) or a
    float; greater than 0, at most 2**53, of at most 15 significant digits and of no more
    fraction digits than its currency's ISO 4217 minor unit (USD 2, JPY 0, KWD 3), so the
    currency is checked first. A float is taken by its shortest repr; when that has too many
    fraction digits, the repr rounded half-even to the minor unit, ``q``, is taken if
    ``abs(x - float(q)) <= 4 * math.ulp(x)``: ``0.1 + 0.2`` is 0.3 USD, 10.005 is refused in
    USD. ``amount_of`` holds these rules. Send the body with ``answers.encoded_body``, which
    writes those exact digits (``json.dumps`` cannot).

    :param body: anything; a Mapping of ``notBefore``, ``notAfter`` and ``items`` passes.
    :raises PayJobsValidationError: naming the first field that breaks a rule, and the rule.
    """
    if not isinstance(body, Mapping):
        raise PayJobsValidationError("body", "must be a JSON object", type(body).__name__)
    for key in body:
        if not isinstance(key, str) or key not in JOB_FIELDS:
            raise PayJobsValidationError(
                describe_key(key), f"is not a field of a payment job (allowed: {_names(JOB_FIELDS)})"
            )
    wire: dict[str, Any] = {}
    start = _schedule_moment(body.get("notBefore"), "notBefore", wire)
    end = _schedule_moment(body.get("notAfter"), "notAfter", wire)
    if start is not None and end is not None and not start < end:
        raise PayJobsValidationError(
            "notBefore", f"must be before notAfter ({wire['notAfter']})", body.get("notBefore")
        )
    items = body.get("items")
    if not isinstance(items, (list, tuple)) or not items:
        raise PayJobsValidationError("items", "must be a non-empty list of payments", _type_of(items))
    wire["items"] = []
    job_kind = None
    for position, item in enumerate(items):
        kind, wire_item = _prepare_item(item, f"items[{position}]")
        if job_kind is not None and kind != job_kind:
            raise PayJobsValidationError(
                f"items[{position}]",
                f"is a {kind} payment but items[0] is a {job_kind} payment; one job never mixes the two",
            )
        job_kind = kind
        wire["items"].append(wire_item)
    return wire


def list_query(
    page: Any, page_size: Any, filter: Any = None, sort: Any = None, language: Any = None
) -> dict[str, Any]:
    """
    The query of ``GET /payments/jobs``: ``page``, ``pageSize`` and the optional ``filter``,
    ``sort`` and ``language`` (as its tag); errors name the hook's arguments.

    :param page: page number, from 1.
    :param page_size: jobs per page, 1 to 50.
    :param filter: passed to the API untouched.
    :param sort: passed to the API untouched.
    :param language: a Languages member, its name (``ENUS``) or its tag (``en-US``).
    """
    validate_page(page, page_size)
    query: dict[str, Any] = {"page": int(page), "pageSize": int(page_size)}
    return _with_optional(
        query,
        filter=_optional_text(filter, "filter"),
        sort=_optional_text(sort, "sort"),
        language=validate_language(language),
    )


def retrieve_query(job_token: Any, filter: Any = None, language: Any = None) -> dict[str, Any]:
    """
    The query of ``GET /payments/jobs/{job-token}``, once the token is checked.

    :param job_token: ``jobs-<uuid>``.
    :param filter: passed to the API untouched.
    :param language: a Languages member, its name (``ENUS``) or its tag (``en-US``).
    """
    validate_job_token(job_token)
    return _with_optional({}, filter=_optional_text(filter, "filter"), language=validate_language(language))


def validate_job_token(job_token: Any, field: str = "job_token") -> str:
    """
    Return ``job_token`` when it is a well-formed ``jobs-<uuid>`` token of 41 characters.

    :param job_token: the value to check.
    :param field: the name the error gives the value.
    """
    if not isinstance(job_token, str) or not JOB_TOKEN_RE.fullmatch(job_token):
        raise PayJobsValidationError(field, "must match jobs-<uuid> (41 characters)", job_token)
    return str.__str__(job_token)


# --- pieces, also used by the operator and the sandbox ------------------------------------------------


def validate_page(page: Any, page_size: Any, page_size_field: str = "page_size") -> None:
    """Check the list endpoint's paging: ``1 <= page <= 2**31 - 1`` and ``1 <= page_size <= 50``.

    :param page_size_field: the name errors give the page size: the hook's argument by default,
        the wire's ``pageSize`` when the sandbox checks a request.
    """
    if not _is_integer(page) or not 1 <= page <= INT32_MAX:
        raise PayJobsValidationError("page", f"must be an integer from 1 to {INT32_MAX} (int32)", page)
    if not _is_integer(page_size) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise PayJobsValidationError(
            page_size_field, f"must be an integer from 1 to {MAX_PAGE_SIZE}", page_size
        )


def validate_language(language: Any) -> str | None:
    """The language tag to send (``en-US``) for a Languages member, name or tag; None when not given."""
    if language is None:
        return None
    if isinstance(language, Languages):
        return language.value
    # ASCII only: str.upper() maps some other letters onto ASCII ones (dotless i to "I").
    if isinstance(language, str) and language.isascii():
        member = _LANGUAGES_BY_KEY.get(language.upper())
        if member is not None:
            return member.value
    raise PayJobsValidationError("language", _LANGUAGE_RULE, language)


def to_rfc3339(value: Any, field: str = "datetime") -> Any:
    """A datetime as an RFC 3339 UTC string (naive means UTC); any other value unchanged.

    :raises PayJobsValidationError: the datetime's time zone cannot be read, or its UTC form
        leaves years 1 to 9999.
    """
    if not isinstance(value, datetime):
        return value
    return _utc(value, field).replace(tzinfo=None).isoformat() + "Z"


def parse_rfc3339(value: Any, field: str) -> datetime:
    """Parse an RFC 3339 date-time string with an explicit offset (an aware datetime, as given).

    :raises PayJobsValidationError: not such a string, not a real date-time, or its UTC form leaves
        years 1 to 9999.
    """
    match = RFC3339_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PayJobsValidationError(
            field, "must be an RFC 3339 date-time with offset, e.g. 2026-01-31T09:00:00Z", value
        )
    year, month, day, hour, minute, second, fraction, sign, offset_hours, offset_minutes = match.groups()
    try:
        offset = timedelta(0)
        if sign:
            if int(offset_hours) > 23 or int(offset_minutes) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
            offset = -offset if sign == "-" else offset
        microsecond = int((fraction or "0")[:6].ljust(6, "0"))
        parts = (int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond)
        parsed = datetime(*parts, tzinfo=timezone(offset))
    except ValueError:
        raise PayJobsValidationError(field, "is not a real calendar date-time", value) from None
    _utc(parsed, field)
    return parsed


def validate_create_body(body: Any) -> None:
    """Check a create body (:func:`prepare_create_body` without keeping its result)."""
    prepare_create_body(body)


def normalize_body(body: Any) -> dict[str, Any]:
    """The same as :func:`prepare_create_body`; kept for callers written before it existed."""
    return prepare_create_body(body)


def check_text(value: Any, field: str, length: tuple[int, int | None] | None = None) -> str:
    """
    ``value`` as a plain str, when it is text a server can store: UTF-8 encodable, without NUL.

    :param length: the least and most characters allowed. The least counts code points; the most
        counts UTF-16 code units, so that a character outside the Basic Multilingual Plane (an
        emoji) counts twice there: a server counting either way accepts what passes here.
    """
    if not isinstance(value, str):
        raise PayJobsValidationError(field, "must be a string, not " + type(value).__name__, value)
    if "\x00" in value:
        raise PayJobsValidationError(field, "must not contain the NUL character (U+0000)", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(value[error.start])
        raise PayJobsValidationError(
            field, f"must be valid Unicode; it holds a lone surrogate U+{code:04X} that UTF-8 cannot encode"
        ) from None
    if length is not None:
        low, high = length
        utf16_units = len(value) + sum(1 for character in value if ord(character) > 0xFFFF)
        if len(value) < low or (high is not None and utf16_units > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            wide = " (a character outside the Basic Multilingual Plane counts as two)" if high else ""
            raise PayJobsValidationError(field, f"must be {bounds} characters long{wide}", value)
    return str.__str__(value)


# --- the create body, piece by piece ------------------------------------------------------------------


def _schedule_moment(value: Any, field: str, wire: dict[str, Any]) -> datetime | None:
    """Check ``notBefore``/``notAfter``, put its wire form in ``wire``, and return it as a UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = _utc(value, field)
        wire[field] = moment.replace(tzinfo=None).isoformat() + "Z"
        return moment
    if not isinstance(value, str):
        raise PayJobsValidationError(
            field, "must be a datetime or an RFC 3339 date-time string, e.g. 2026-01-31T09:00:00Z", value
        )
    moment = parse_rfc3339(value, field)
    wire[field] = str.__str__(value)
    return _utc(moment, field)


def _utc(value: datetime, field: str) -> datetime:
    """``value`` in UTC (naive means UTC), refused when that leaves years 1 to 9999."""
    try:
        offset = value.utcoffset()
    except Exception:  # a tzinfo is user code: whatever it raises, the field is named
        raise PayJobsValidationError(field, "has a time zone whose UTC offset cannot be read") from None
    # A plain datetime: a subclass (pendulum's) may do its own arithmetic.
    naive = datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond
    )
    try:
        moment = naive - offset if offset else naive
    except OverflowError:
        raise PayJobsValidationError(field, "must lie in years 1 to 9999 once in UTC", value) from None
    return moment.replace(tzinfo=timezone.utc)


def _prepare_item(item: Any, where: str) -> tuple[str, dict[str, Any]]:
    """Check one quote; return ``"gateway"`` or ``"portal"`` and its wire form."""
    if not isinstance(item, Mapping):
        raise PayJobsValidationError(where, "must be a JSON object", type(item).__name__)
    for key in item:
        if not isinstance(key, str) or key not in ITEM_FIELDS:
            raise PayJobsValidationError(
                describe_key(key, where), f"is not a field of a payment (allowed: {_names(ITEM_FIELDS)})"
            )
    has_gateway = any(item.get(key) is not None for key in GATEWAY_ONLY_FIELDS)
    has_portal = any(item.get(key) is not None for key in PORTAL_ONLY_FIELDS)
    if has_gateway and has_portal:
        raise PayJobsValidationError(
            where, "has destinationToken and programUserId/email; a payment is gateway or portal, never both"
        )
    if not has_gateway and not has_portal:
        raise PayJobsValidationError(
            where, "needs destinationToken (gateway) or programUserId/email (portal)"
        )
    currency = _currency(item.get("currency"), f"{where}.currency")  # first: it bounds the amount
    checked = {"currency": currency, "amount": amount_of(item.get("amount"), currency, f"{where}.amount")}
    for key in ITEM_FIELDS - checked.keys():
        value = item.get(key)
        if value is not None:
            checked[key] = _ITEM_CHECKS[key](value, f"{where}.{key}")
    wire_item = {str.__str__(key): checked[key] for key in item if key in checked}  # in the given order
    return ("gateway" if has_gateway else "portal"), wire_item


def amount_of(amount: Any, currency: str, field: str = "amount") -> Decimal:
    """
    The exact amount ``amount`` means in ``currency``, as the plain Decimal the wire carries.

    Taken: an int, a :class:`~decimal.Decimal`, a numeric string (ASCII digits with an optional
    fraction, ``"10.50"``; no sign, exponent, spaces or underscores) or a float. A float means the
    decimal of its shortest repr (``0.1`` is 0.1, not the binary fraction near it). When that repr
    has more fraction digits than the currency allows, the float may still be float arithmetic's
    noise around an amount that fits: with ``q`` the repr rounded half-even to the minor unit,
    ``q`` is taken when ``abs(amount - float(q)) <= 4 * math.ulp(amount)``. So ``0.1 + 0.2``
    (0.30000000000000004) is 0.3 USD, while 10.005, far more than 4 ulp from 10.00 and 10.01, is
    refused in USD (and is 10.005 in KWD).

    The amount must then be greater than 0, at most 2**53, have at most 15 significant digits
    (any such decimal survives a server reading it as a double) and no more fraction digits,
    trailing zeros not counted, than the currency's ISO 4217 minor unit (JPY 0, USD 2, KWD 3).

    :param amount: the amount as given.
    :param currency: a code of :func:`~airflow_provider_payjobs.client.models.currencies`, already checked.
    :param field: the name errors give the amount, e.g. ``items[3].amount``.
    :returns: the amount without exponent or trailing fraction zeros: ``Decimal("10.5")``.
    :raises PayJobsValidationError: naming ``field`` and the rule broken.
    """
    if amount is None:
        raise PayJobsValidationError(field, "is required")
    value = decimal_of(amount, field)
    if value > MAX_AMOUNT:
        raise PayJobsValidationError(
            field, f"must be at most {MAX_EXACT_INTEGER}, the largest whole amount a double holds", amount
        )
    allowed = minor_units()[currency]
    plain, significant, fraction = _plain(value)
    if fraction > allowed and isinstance(amount, float):
        nearest = _without_float_noise(amount, value, allowed)
        if nearest is not None:
            plain, significant, fraction = _plain(nearest)
    if fraction > allowed:
        quoted = None if fraction <= _SHOWN_FRACTION_DIGITS else amount  # else the rule shows it
        raise PayJobsValidationError(field, _minor_unit_rule(plain, fraction, currency, allowed), quoted)
    if significant > MAX_SIGNIFICANT_DIGITS:
        raise PayJobsValidationError(
            field,
            f"must have at most {MAX_SIGNIFICANT_DIGITS} significant digits (a server reading the amount "
            f"as a double keeps any {MAX_SIGNIFICANT_DIGITS} exactly); it has {significant}",
            amount,
        )
    return plain


def decimal_of(number: Any, field: str) -> Decimal:
    """
    ``number`` as an exact Decimal, when it is a finite number greater than 0.

    An int, a Decimal, a numeric string (``^[0-9]+(\\.[0-9]+)?$``) or a float, taken by its
    shortest repr; never a bool. No bound on size or digits: :func:`amount_of` adds those of money.

    :param number: the value as given.
    :param field: the name errors give the value.
    :raises PayJobsValidationError: naming ``field`` and the rule broken.
    """
    if isinstance(number, bool) or not isinstance(number, (int, float, Decimal, str)):
        raise PayJobsValidationError(
            field,
            "must be a number (int, Decimal or float) or a numeric string, not " + type(number).__name__,
        )
    if isinstance(number, str):
        if not AMOUNT_TEXT_RE.fullmatch(number):
            raise PayJobsValidationError(field, AMOUNT_TEXT_RULE, number)
        value = Decimal(str.__str__(number))
    elif isinstance(number, float):
        if not 0 < number < math.inf:  # NaN fails it too
            raise PayJobsValidationError(field, "must be a finite number greater than 0", number)
        # The shortest text that is this float (float.__repr__: a subclass may print otherwise).
        value = Decimal(float.__repr__(number))
    else:
        value = Decimal(number)  # exact for an int of any size; a Decimal as it is
    # Comparisons only: a Decimal NaN raises on ">".
    if not (value.is_finite() and value > 0):
        raise PayJobsValidationError(field, "must be a finite number greater than 0", number)
    return value


def _plain(value: Decimal) -> tuple[Decimal, int, int]:
    """
    A finite ``value`` > 0 without exponent or trailing fraction zeros, with its count of
    significant digits and of fraction digits. Built from its digits, so no decimal context
    (whose precision would round) takes part.
    """
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a finite value's exponent: never "n", "N" or "F"
    if digits[-1] and exponent <= 0:  # already plain (10.5, 7): the common case, kept cheap
        return value, len(digits), -exponent
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
    exponent += len(digits) - kept
    if exponent >= 0:
        return Decimal((0, digits[:kept] + (0,) * exponent, 0)), kept, 0
    return Decimal((0, digits[:kept], exponent)), kept, -exponent


def _minor_unit_rule(plain: Decimal, fraction: int, currency: str, allowed: int) -> str:
    """``10.005 has 3 fraction digits; USD allows at most 2``: the amount shown when it is short."""
    # Formatted only when short: Decimal("1E-999999999") written out would take a gigabyte.
    shown = format(plain, "f") if fraction <= _SHOWN_FRACTION_DIGITS else "it"
    digits = f"{fraction} fraction digit{'s' if fraction != 1 else ''}"
    whole = " (whole amounts only)" if allowed == 0 else ""
    return f"{shown} has {digits}; {currency} allows at most {allowed}{whole}"


def _without_float_noise(amount: float, shortest: Decimal, allowed: int) -> Decimal | None:
    """The amount fitting ``allowed`` fraction digits that ``amount`` is float noise around, if any."""
    nearest = shortest.quantize(Decimal((0, (1,), -allowed)), context=_ROUNDING)
    if nearest > 0 and abs(amount - float(nearest)) <= FLOAT_NOISE_ULPS * math.ulp(amount):
        return nearest
    return None


def _currency(currency: Any, field: str) -> str:
    # A list or dict is unhashable: test the type before looking it up.
    if not isinstance(currency, str) or currency not in currencies():
        raise PayJobsValidationError(
            field, "must be an ISO 4217 code from the Currencies list (not UNDEFINED)", currency
        )
    return str.__str__(currency)


def _purpose(purpose: Any, field: str) -> str:
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise PayJobsValidationError(field, f"must be one of {_names(PURPOSES)}", purpose)
    return str.__str__(purpose)


def _token(pattern: re.Pattern[str], shape: str) -> Any:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise PayJobsValidationError(field, f"must match {shape} (41 characters)", value)
        return str.__str__(value)

    return check


def _email(value: Any, field: str) -> str:
    text = check_text(value, field, EMAIL_LENGTH)
    if not EMAIL_RE.match(text):
        raise PayJobsValidationError(field, "must look like name@domain.tld", value)
    return text


_ITEM_CHECKS = {
    "sourceToken": _token(SOURCE_TOKEN_RE, "(acct|user|dest)-<uuid>"),
    "destinationToken": _token(DESTINATION_TOKEN_RE, "(acct|dest|user)-<uuid>"),
    "programUserId": lambda value, field: check_text(value, field, PROGRAM_USER_ID_LENGTH),
    "email": _email,
    "note": check_text,
    "memo": check_text,
    "clientPaymentId": lambda value, field: check_text(value, field, (1, None)),
    "purpose": _purpose,
}


# --- small helpers ------------------------------------------------------------------------------------


def describe_key(key: Any, where: str = "") -> str:
    """A mapping key as a field name: ``where.key`` for a plain name, else ``where[<repr>]``."""
    if isinstance(key, str) and key.isidentifier() and key.isascii() and len(key) <= 64:
        return f"{where}.{key}" if where else key
    return f"{where or 'body'}[{_short_repr(key)}]"


def _optional_text(value: Any, field: str) -> str | None:
    return None if value is None else check_text(value, field)


def _with_optional(params: dict[str, Any], **optional: Any) -> dict[str, Any]:
    params.update({name: value for name, value in optional.items() if value is not None})
    return params


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_of(value: Any) -> str | None:
    return None if value is None else type(value).__name__


def _names(values: Any) -> str:
    return ", ".join(sorted(getattr(value, "value", value) for value in values))
