"""
Client-side checks of everything the API constrains, run before a request is sent.

Each check raises :class:`PayJobsValidationError` naming the field (with its position,
e.g. ``items[3].currency``) and the rule. The sandbox runs the same checks, so that it
refuses what the real service refuses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from airflow_provider_payjobs.exceptions import PayJobsValidationError
from airflow_provider_payjobs.models import (
    DESTINATION_TOKEN_RE,
    EMAIL_RE,
    JOB_TOKEN_RE,
    SOURCE_TOKEN_RE,
    Languages,
    PaymentPurposes,
    currencies,
)

MAX_PAGE_SIZE = 50
PROGRAM_USER_ID_LENGTH = (5, 100)
EMAIL_LENGTH = (8, 100)
JOB_FIELDS = frozenset({"notBefore", "notAfter", "items"})
COMMON_ITEM_FIELDS = frozenset(
    {"amount", "currency", "sourceToken", "note", "memo", "purpose", "clientPaymentId"}
)
GATEWAY_ONLY_FIELDS = frozenset({"destinationToken"})
PORTAL_ONLY_FIELDS = frozenset({"programUserId", "email"})
# RFC 3339 date-time: a full date, a time, and an explicit offset (Z or +hh:mm).
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def validate_job_token(job_token: Any, field: str = "job_token") -> str:
    """Return ``job_token`` when it is a well-formed ``jobs-<uuid>`` token of 41 characters."""
    if not isinstance(job_token, str) or not JOB_TOKEN_RE.fullmatch(job_token):
        raise PayJobsValidationError(field, "must match jobs-<uuid> (41 characters)", job_token)
    return job_token


def validate_page(page: Any, page_size: Any, page_size_field: str = "page_size") -> None:
    """Check the list endpoint's paging: ``page >= 1`` and ``1 <= page_size <= 50``.

    :param page_size_field: the name errors give the page size: the hook's argument by default,
        the wire's ``pageSize`` when the sandbox checks a request.
    """
    if not _is_integer(page) or page < 1:
        raise PayJobsValidationError("page", "must be an integer >= 1", page)
    if not _is_integer(page_size) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise PayJobsValidationError(
            page_size_field, f"must be an integer from 1 to {MAX_PAGE_SIZE}", page_size
        )


def validate_language(language: Languages | str | None) -> str | None:
    """Return the wire value of a Languages member or name, or None when not given."""
    if language is None:
        return None
    try:
        return Languages(language.value if isinstance(language, Languages) else str(language).upper()).value
    except ValueError:
        allowed = ", ".join(member.value for member in Languages)
        raise PayJobsValidationError("language", f"must be one of {allowed}", language) from None


def to_rfc3339(value: Any) -> Any:
    """A datetime as an RFC 3339 UTC string (naive means UTC); any other value unchanged."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return value


def normalize_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a create body ready for JSON: datetimes as RFC 3339, Decimals as floats."""
    normalized: dict[str, Any] = {key: to_rfc3339(value) for key, value in body.items()}
    items = normalized.get("items")
    if isinstance(items, list):
        normalized["items"] = [
            {key: float(value) if isinstance(value, Decimal) else value for key, value in item.items()}
            if isinstance(item, Mapping)
            else item
            for item in items
        ]
    return normalized


def validate_create_body(body: Any) -> None:
    """
    Check a GatewayPaymentJob or PortalPaymentJob body.

    Every item pays either a destination token (gateway) or a portal user
    (``programUserId`` and/or ``email``); one job never mixes the two.
    """
    if not isinstance(body, Mapping):
        raise PayJobsValidationError("body", "must be a JSON object", type(body).__name__)
    for key in body:
        if key not in JOB_FIELDS:
            raise PayJobsValidationError(
                key, f"is not a field of a payment job (allowed: {_names(JOB_FIELDS)})"
            )
    _validate_schedule(body)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise PayJobsValidationError("items", "must be a non-empty list of payments")
    job_kind = None
    for position, item in enumerate(items):
        kind = _validate_item(item, f"items[{position}]")
        if job_kind is None:
            job_kind = kind
        elif kind != job_kind:
            raise PayJobsValidationError(
                f"items[{position}]",
                f"is a {kind} payment but items[0] is a {job_kind} payment; one job never mixes the two",
            )


def parse_rfc3339(value: Any, field: str) -> datetime:
    """Parse an RFC 3339 date-time string with an explicit offset."""
    if not isinstance(value, str) or not RFC3339_RE.fullmatch(value):
        raise PayJobsValidationError(
            field, "must be an RFC 3339 date-time with offset, e.g. 2026-01-31T09:00:00Z", value
        )
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise PayJobsValidationError(field, "is not a real calendar date-time", value) from None


def _validate_schedule(body: Mapping[str, Any]) -> None:
    not_before = body.get("notBefore")
    not_after = body.get("notAfter")
    start = parse_rfc3339(not_before, "notBefore") if not_before is not None else None
    end = parse_rfc3339(not_after, "notAfter") if not_after is not None else None
    if start and end and not start < end:
        raise PayJobsValidationError("notBefore", f"must be before notAfter ({not_after})", not_before)


def _validate_item(item: Any, where: str) -> str:
    """Check one quote; return ``"gateway"`` or ``"portal"``."""
    if not isinstance(item, Mapping):
        raise PayJobsValidationError(where, "must be a JSON object", type(item).__name__)
    allowed = COMMON_ITEM_FIELDS | GATEWAY_ONLY_FIELDS | PORTAL_ONLY_FIELDS
    for key in item:
        if key not in allowed:
            raise PayJobsValidationError(
                f"{where}.{key}", f"is not a field of a payment (allowed: {_names(allowed)})"
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
    _validate_amount(item.get("amount"), f"{where}.amount")
    currency = item.get("currency")
    if currency not in currencies():
        raise PayJobsValidationError(
            f"{where}.currency", "must be an ISO 4217 code from the Currencies list", currency
        )
    _check_pattern(item, "sourceToken", SOURCE_TOKEN_RE, where, "(acct|user|dest)-<uuid>")
    _check_pattern(item, "destinationToken", DESTINATION_TOKEN_RE, where, "(acct|dest|user)-<uuid>")
    _check_text(item, "programUserId", where, PROGRAM_USER_ID_LENGTH)
    _check_text(item, "email", where, EMAIL_LENGTH)
    if item.get("email") is not None and not EMAIL_RE.match(item["email"]):
        raise PayJobsValidationError(f"{where}.email", "must look like name@domain.tld", item["email"])
    for key in ("note", "memo"):
        _check_text(item, key, where, None)
    _check_text(item, "clientPaymentId", where, (1, None))
    purpose = item.get("purpose")
    if purpose is not None and purpose not in {member.value for member in PaymentPurposes}:
        raise PayJobsValidationError(f"{where}.purpose", f"must be one of {_names(PaymentPurposes)}", purpose)
    return "gateway" if has_gateway else "portal"


def _validate_amount(amount: Any, field: str) -> None:
    if amount is None:
        raise PayJobsValidationError(field, "is required")
    if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal)):
        raise PayJobsValidationError(field, "must be a number, not " + type(amount).__name__, amount)
    if not math.isfinite(float(amount)) or amount <= 0:
        raise PayJobsValidationError(field, "must be a finite number greater than 0", amount)


def _check_pattern(
    item: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, shape: str
) -> None:
    value = item.get(key)
    if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        raise PayJobsValidationError(f"{where}.{key}", f"must match {shape} (41 characters)", value)


def _check_text(item: Mapping[str, Any], key: str, where: str, length: tuple[int, int | None] | None) -> None:
    value = item.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise PayJobsValidationError(f"{where}.{key}", "must be a string", value)
    if length is not None:
        low, high = length
        if len(value) < low or (high is not None and len(value) > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise PayJobsValidationError(f"{where}.{key}", f"must be {bounds} characters long", value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _names(values: Any) -> str:
    return ", ".join(sorted(getattr(value, "value", value) for value in values))
