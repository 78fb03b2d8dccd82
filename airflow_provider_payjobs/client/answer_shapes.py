"""
The shapes the provider relies on in a 2xx answer, checked before a result is returned.

A server may answer 200 with a list, ``null``, a job without a token or a page whose payload is
a string. Such an answer raises :class:`PayJobsMalformedAnswerError` naming what is wrong; no
caller ever meets a ``KeyError`` or ``AttributeError`` on what a server sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from airflow_provider_payjobs.client.models import JOB_TOKEN_RE

META_COUNTERS = ("pageNo", "pageSize", "pageCount", "recordCount")
# Counters are strings of digits on the wire; 18 digits is far past any real page or record count.
COUNTER_RE = re.compile(r"\d{1,18}", re.ASCII)
# Item fields that other code reads, and the JSON types they must have when present.
NUMBER, TEXT = ((int, float), "a number"), ((str,), "a string")
ITEM_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "amount": NUMBER,
    "currency": TEXT,
    "status": TEXT,
    "clientPaymentId": TEXT,
    "token": TEXT,
}
Malformed = Callable[[str], Exception]


def check_job(data: Any, malformed: Malformed, expected_token: str | None = None) -> dict[str, Any]:
    """
    ``data`` when it is a job: an object with a ``jobs-<uuid>`` token and, if any, a list of items.

    :param malformed: builds the error to raise from a reason.
    :param expected_token: the job asked for; an answer about another job is malformed.
    """
    problem = job_problem(data)
    if problem is None and expected_token is not None and data["token"].lower() != expected_token.lower():
        problem = f"it is job {data['token']}, not {expected_token}"
    if problem is not None:
        raise malformed(problem)
    return cast(dict[str, Any], data)  # job_problem found none: an object


def check_job_page(data: Any, malformed: Malformed) -> dict[str, Any]:
    """``data`` when it is a page of jobs: an object whose ``payload`` is a list of jobs, sane counters."""
    if not isinstance(data, dict):
        raise malformed(f"a page of jobs must be a JSON object, not {_json_type(data)}")
    payload = data.get("payload")
    if not isinstance(payload, list):
        raise malformed(f"its payload must be a list of jobs, not {_json_type(payload)}")
    for position, job in enumerate(payload):
        problem = job_problem(job)
        if problem is not None:
            raise malformed(f"payload[{position}]: {problem}")
    meta = data.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise malformed(f"its meta must be an object, not {_json_type(meta)}")
    for name in META_COUNTERS:
        value = (meta or {}).get(name)
        if value is not None and counter(value) is None:
            raise malformed(f"meta.{name} is not a whole number ({str(value)[:30]!r})")
    return data


def page_count(page: dict[str, Any]) -> int | None:
    """The page count of a checked page, or None when the server did not say."""
    value = (page.get("meta") or {}).get("pageCount")
    return None if value is None else counter(value)


def counter(value: Any) -> int | None:
    """A list counter (a string of digits on the wire, or a number) as an int; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**18 else None
    if isinstance(value, str) and COUNTER_RE.fullmatch(value):
        return int(value)
    return None


def job_problem(job: Any) -> str | None:
    """What makes ``job`` unusable as a job, or None."""
    if not isinstance(job, dict):
        return f"a job must be a JSON object, not {_json_type(job)}"
    token = job.get("token")
    if not isinstance(token, str) or not JOB_TOKEN_RE.fullmatch(token):
        shown = repr(token)[:50] if isinstance(token, str) else _json_type(token)
        return f"its token must be jobs-<uuid>, not {shown}"
    items = job.get("items")
    if items is None:
        return None
    if not isinstance(items, list):
        return f"its items must be a list, not {_json_type(items)}"
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            return f"items[{position}] must be an object, not {_json_type(item)}"
        for name, (types, kind) in ITEM_FIELD_TYPES.items():
            value = item.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
                return f"items[{position}].{name} must be {kind}, not {_json_type(value)}"
    return None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
