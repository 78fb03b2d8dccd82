"""
The wire contract as the sandbox reads it (docs/sandbox.md, "The contract the sandbox follows").

Written from the contract alone, not from the provider's client-side validation, so that the
sandbox is a second, independent judge of what a client sends: where the two disagree, a test
finds out. Every rule names the field it applies to, e.g. ``items[3].currency: must be ...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from airflow_provider_payjobs.sandbox.errors import Refusal
from airflow_provider_payjobs.sandbox.limits import MAX_ITEMS, describe
from airflow_provider_payjobs.sandbox.money import (
    MAX_AMOUNT,
    MAX_SIGNIFICANT_DIGITS,
    amount_shown,
    digits_of,
    fraction_rule,
)
from airflow_provider_payjobs.sandbox.wire import UnrepresentableNumber

API_VERSION = "2026.02.01"
API_VERSION_HEADER = "X-MyPayQuicker-Version"
# The Languages query values are the tags; ENUS and the like are only the members' names.
LANGUAGE_TAGS = ("cs-CZ", "de-DE", "en-GB", "en-US", "es-ES", "es-MX", "fr-CA", "fr-FR", "it-IT", "ja-JP",
                 "ko-KR", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ru-RU", "zh-Hans", "zh-Hant")  # fmt: skip
PAYMENT_PURPOSES = ("BONUS", "EXPENSE", "INCOME", "NON_TAXABLE", "OTHER", "TAXABLE", "UNDEFINED")
# The contract's Currencies list: the sandbox's own copy, so that it reads nothing of the client.
_CURRENCY_FILE = Path(__file__).resolve().parent / "currencies.txt"
CURRENCIES = frozenset(_CURRENCY_FILE.read_text(encoding="utf-8").split()) - {"UNDEFINED"}
_UUID = r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
JOB_TOKEN = re.compile(f"jobs-{_UUID}")
SOURCE_TOKEN = re.compile(f"(?:acct|user|dest)-{_UUID}")
DESTINATION_TOKEN = re.compile(f"(?:acct|dest|user)-{_UUID}")
# ^.+@.+\..+ as the contract writes it: anchored at the start only; "." is any but a line end.
EMAIL = re.compile("[^\n\r\u2028\u2029]+@[^\n\r\u2028\u2029]+\\.[^\n\r\u2028\u2029]+")
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,59}")  # field names shown as sent in messages
RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


class JobStatus(str, Enum):
    """JobStatusTypes."""

    COMPLETED = "COMPLETED"
    APPROVED = "APPROVED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    IN_PROGRESS = "IN_PROGRESS"
    PARSING = "PARSING"
    PENDING_REVIEW = "PENDING_REVIEW"
    PROCESSING = "PROCESSING"
    SCHEDULED = "SCHEDULED"
    SUBMITTED = "SUBMITTED"


TERMINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.FAILED})


class TransferStatus(str, Enum):
    """TransferStatuses."""

    ACCEPTED = "ACCEPTED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
    QUOTED = "QUOTED"
    RETURNED = "RETURNED"
    SCHEDULED = "SCHEDULED"
    VERIFICATION_HOLD = "VERIFICATION_HOLD"
    VOIDED = "VOIDED"


def broken(rule: str, field: str = "") -> PydanticCustomError:
    """
    A broken rule, for a pydantic validator to raise; ``rule`` goes into the message verbatim.

    :param field: the field it is about, for a model validator (whose errors carry no location).
    """
    return PydanticCustomError("contract", "{rule}", {"rule": rule, "field": field})


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise broken("must be text UTF-8 can encode (a lone surrogate such as \\ud800 is not)") from None
    # The contract is silent; PostgreSQL text and many other stores cannot hold a NUL at all.
    if "\x00" in text:
        raise broken("must not contain the NUL character (U+0000), which many stores cannot hold")
    return text


def _matching(pattern: re.Pattern[str], rule: str) -> AfterValidator:
    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise broken(f"{rule}, got {describe(text)}")
        return text

    return AfterValidator(check)


def _one_of(choices: Any, rule: str) -> AfterValidator:
    def check(text: str) -> str:
        if text not in choices:
            raise broken(f"{rule}, got {describe(text)}")
        return text

    return AfterValidator(check)


def utf16_units(text: str) -> int:
    """
    How many UTF-16 code units ``text`` takes: a character outside the BMP takes two.

    :param text: text UTF-8 can encode (no lone surrogates).
    """
    return len(text.encode("utf-16-le")) // 2


def _length(low: int, high: int) -> AfterValidator:
    # The contract does not say what a character is. A JSON Schema server counts code points, a
    # .NET or Java one UTF-16 units: the least counts code points, the most UTF-16 units, so
    # that what passes here passes on a server counting either way.
    def check(text: str) -> str:
        units = utf16_units(text)
        if len(text) < low or units > high:
            raise broken(
                f"must be {low} to {high} characters long (at least {low} code points, at most {high} "
                f"UTF-16 code units: a character outside the Basic Multilingual Plane counts two), "
                f"got {len(text)} code points and {units} UTF-16 units"
            )
        return text

    return AfterValidator(check)


def _amount(value: Any) -> Decimal:
    """An amount read exactly (``parse_json(exact_numbers=True)``): the rules that need no currency."""
    if isinstance(value, UnrepresentableNumber):
        raise broken(f"must be a number of at most {MAX_SIGNIFICANT_DIGITS} digits, got {describe(value)}")
    if not isinstance(value, Decimal):  # a JSON true, false, string, list or object
        raise broken(f"must be a number, got {describe(value)}")
    if not value.is_finite() or not value > 0:
        raise broken(f"must be a finite number greater than 0, got {amount_shown(value)}")
    if value > MAX_AMOUNT:
        raise broken(f"must be at most {MAX_AMOUNT} (2**53, the largest whole amount a double holds)")
    significant, _ = digits_of(value)
    if significant > MAX_SIGNIFICANT_DIGITS:
        raise broken(
            f"must have at most {MAX_SIGNIFICANT_DIGITS} significant digits, which a server reading it "
            f"as a double keeps exactly; {amount_shown(value)} has {significant}"
        )
    return value


def _not_empty(text: str) -> str:
    if not text:
        raise broken("must not be empty: it is the key payments are deduplicated by")
    return text


def _email(text: str) -> str:
    if not EMAIL.match(text):
        raise broken(f"must look like name@domain.tld (^.+@.+\\..+), got {describe(text)}")
    return text


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 date-time with its offset, whose UTC form falls in years 1 to 9999."""
    match = RFC3339.fullmatch(text)
    if not match:
        raise broken(f"must be an RFC 3339 date-time such as 2026-02-01T09:30:00Z, got {describe(text)}")
    year, month, day, hour, minute, second, fraction, sign, off_hours, off_minutes = match.groups()
    if second == "60":
        raise broken("a leap second (:60) cannot be stored; use :59")
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))  # finer fractions are cut, as datetime must
    try:
        if int(off_minutes or 0) > 59:
            raise ValueError("offset minutes past 59")
        offset = timedelta(hours=int(off_hours or 0), minutes=int(off_minutes or 0))
        zone = timezone(-offset if sign == "-" else offset)  # refuses 24 hours or more
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, zone
        )
    except ValueError:
        raise broken(f"is not a real date, time and offset, got {describe(text)}") from None
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise broken(f"in UTC falls outside years 1 to 9999, got {describe(text)}") from None


WireText = Annotated[str, AfterValidator(_encodable)]
WireDatetime = Annotated[WireText, AfterValidator(parse_datetime)]
Currency = Annotated[
    WireText, _one_of(CURRENCIES, "must be an ISO 4217 code from the contract's list, in capitals")
]
Purpose = Annotated[WireText, _one_of(PAYMENT_PURPOSES, f"must be one of {', '.join(PAYMENT_PURPOSES)}")]
SourceToken = Annotated[WireText, _matching(SOURCE_TOKEN, "must be acct-, user- or dest- and a UUID")]
DestinationToken = Annotated[
    WireText, _matching(DESTINATION_TOKEN, "must be acct-, dest- or user- and a UUID")
]


class _Quote(BaseModel):
    """The fields both quotes share. Null stands for absent, as generated clients send it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    amount: Annotated[Any, AfterValidator(_amount)]
    currency: Currency
    sourceToken: SourceToken | None = None
    note: WireText | None = None
    memo: WireText | None = None
    purpose: Purpose | None = None
    clientPaymentId: Annotated[WireText, AfterValidator(_not_empty)] | None = None

    @model_validator(mode="after")
    def _fits_the_minor_unit(self) -> _Quote:
        _, fraction_digits = digits_of(self.amount)
        rule = fraction_rule(self.currency, fraction_digits)
        if rule is not None:
            raise broken(f"{amount_shown(self.amount)} {rule}", field="amount")
        return self


class GatewayQuote(_Quote):
    """GatewayPaymentJobQuote: pays a known destination."""

    destinationToken: DestinationToken


class PortalQuote(_Quote):
    """PortalPaymentJobQuote: pays a portal user, by programUserId and/or email."""

    programUserId: Annotated[WireText, _length(5, 100)] | None = None
    email: Annotated[WireText, _length(8, 100), AfterValidator(_email)] | None = None

    @model_validator(mode="after")
    def _names_a_payee(self) -> PortalQuote:
        if self.programUserId is None and self.email is None:
            raise broken("a portal payment needs programUserId and/or email")
        return self


class _JobEnvelope(BaseModel):
    """GatewayPaymentJob / PortalPaymentJob, items aside (their kind is decided item by item)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    notBefore: WireDatetime | None = None  # parsed: a datetime in UTC
    notAfter: WireDatetime | None = None
    items: list[Any]


_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class JobRequest:
    """
    A create body that keeps every rule of the contract.

    :param not_before: ``notBefore`` in UTC, or None.
    :param not_after: ``notAfter`` in UTC, or None.
    :param items: the quotes as sent, absent and null fields left out.
    """

    not_before: datetime | None
    not_after: datetime | None
    items: list[dict[str, Any]]


def parse_job_request(body: Any) -> JobRequest:
    """
    Check a create body against the contract.

    :raises Refusal: 400 naming every field that breaks a rule, and the rule.
    """
    if not isinstance(body, dict):
        raise Refusal(
            400,
            f"body: must be a JSON object (a GatewayPaymentJob or PortalPaymentJob), got {describe(body)}",
        )
    problems: list[str] = []
    envelope = _validated(_JobEnvelope, body, "", problems)
    if envelope is None:
        raise Refusal(400, _joined(problems))
    # The contract states no order; a window that ends before it starts can never run.
    if envelope.notBefore and envelope.notAfter and not envelope.notBefore < envelope.notAfter:
        problems.append(f"notBefore: must be strictly before notAfter, got {describe(body['notBefore'])}")
    if not 1 <= len(envelope.items) <= MAX_ITEMS:
        problems.append(f"items: must be a non-empty list of at most {MAX_ITEMS}, got {len(envelope.items)}")
        raise Refusal(400, _joined(problems))
    kinds = [_kind(item) for item in envelope.items]
    first_kind = next((kind for kind in kinds if isinstance(kind, type)), None)
    items = []
    for position, (item, kind) in enumerate(zip(envelope.items, kinds, strict=True)):
        if isinstance(kind, str):
            problems.append(f"items[{position}]: {kind}")
        elif kind is not first_kind:
            problems.append(f"items[{position}]: a job never mixes gateway and portal payments")
        elif quote := _validated(kind, item, f"items[{position}]", problems):
            items.append(quote.model_dump(exclude_none=True))
    if problems:
        raise Refusal(400, _joined(problems))
    return JobRequest(envelope.notBefore, envelope.notAfter, items)  # type: ignore[arg-type]


def _validated(model: type[_Model], value: dict[str, Any], where: str, problems: list[str]) -> _Model | None:
    """``value`` as ``model`` (unknown fields left out), or None; every problem added to ``problems``."""
    # Unknown names first, and named safely: pydantic would quote them raw or not at all.
    known = model.model_fields
    unknown = [name for name in value if name not in known]
    problems.extend(f"{_field(where, name)}: is not a field the contract defines here" for name in unknown)
    try:
        checked = model.model_validate({name: field for name, field in value.items() if name in known})
    except ValidationError as error:
        problems.extend(_messages(error, where))
        return None
    return checked


def _joined(problems: list[str]) -> str:
    return "; ".join(problems[:10]) + ("; ..." if len(problems) > 10 else "")


def _kind(item: Any) -> type[_Quote] | str:
    """The quote model ``item`` is meant as, or why it is neither."""
    if not isinstance(item, dict):
        return f"must be an object (a payment quote), got {describe(item)}"
    gateway = item.get("destinationToken") is not None
    portal = item.get("programUserId") is not None or item.get("email") is not None
    if gateway and portal:
        return (
            "destinationToken (a gateway payment) never comes with programUserId or email (a portal payment)"
        )
    if not gateway and not portal:
        return "needs destinationToken (a gateway payment) or programUserId and/or email (a portal payment)"
    return GatewayQuote if gateway else PortalQuote


_TYPE_RULES = {
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _messages(error: ValidationError, where: str) -> list[str]:
    """``items[3].currency: must be ...``, one per problem."""
    parts = []
    for problem in error.errors(include_url=False):
        place = where
        for part in problem["loc"]:
            place = f"{place}[{part}]" if isinstance(part, int) else _field(place, str(part))
        if problem["type"] == "contract":
            assert "ctx" in problem  # the contract's own errors always carry their rule and field
            rule = problem["ctx"]["rule"]
            if problem["ctx"]["field"]:
                place = _field(place, problem["ctx"]["field"])
        elif problem["type"] == "missing":
            rule = "is required"
        else:
            rule = (
                f"{_TYPE_RULES.get(problem['type'], 'has the wrong type')}, got {describe(problem['input'])}"
            )
        parts.append(f"{place or 'body'}: {rule}")
    return parts


def _field(where: str, name: str) -> str:
    """``where.name``, with a name that is not plain quoted and escaped."""
    shown = name if _PLAIN_NAME.fullmatch(name) else describe(name)
    return f"{where}.{shown}" if where else shown


# Query parameters (wire names) of the two GET endpoints.
LIST_PARAMETERS = ("page", "pageSize", "filter", "sort", "language")
RETRIEVE_PARAMETERS = ("filter", "language")


def check_language(value: str | None) -> None:
    """``language`` takes one of the 18 tags exactly (``en-US``), not a member name (``ENUS``)."""
    if value is not None and value not in LANGUAGE_TAGS:
        raise Refusal(
            400,
            f"language: must be one of the Languages tags {', '.join(LANGUAGE_TAGS)}, got {describe(value)}",
        )


def check_job_token(text: str) -> str:
    """The ``job-token`` path parameter: ``jobs-`` and a UUID, 41 characters."""
    if not JOB_TOKEN.fullmatch(text):
        raise Refusal(
            400, f"job-token: must be jobs- and a UUID (jobs-<uuid>, 41 characters), got {describe(text)}"
        )
    return text
