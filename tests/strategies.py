"""
Hypothesis strategies for the Payment Jobs wire contract.

- :func:`wire_bodies`: valid create bodies made only of JSON values, as they go on the wire. Any
  judge of the contract (the client's validation, the sandbox) must accept every one of them.
- :func:`python_bodies`: the same bodies as a Python caller may give them (Decimals in any
  notation, numeric strings, floats with arithmetic noise, datetimes, tuples, enum members).
- :func:`wire_amounts`: amounts that fit a currency's minor unit, as JSON numbers.
- :func:`odd_values`: any JSON value and odd Python values (huge ints, NaN and infinities,
  Decimals with sNaN, bytes, sets, datetimes with odd offsets, lone surrogates, nested and
  self-holding containers, objects whose ``repr`` fails).
- :func:`mutated_bodies`: a valid body with one field (at any depth) replaced by an odd or a
  nearly valid value, and the path of that field, e.g. ``items[2].currency``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from airflow_provider_payjobs.client.models import Languages, PaymentPurposes, currencies, minor_units
from airflow_provider_payjobs.client.validation import (
    ITEM_FIELDS,
    JOB_FIELDS,
    MAX_AMOUNT,
    MAX_SIGNIFICANT_DIGITS,
)

# The settings of the properties of the client's checks and of the two judges compared: examples
# per property from PAYJOBS_HYPOTHESIS_EXAMPLES (default 50), derandomized where CI is set.
PROPERTIES = settings(
    max_examples=int(os.environ.get("PAYJOBS_HYPOTHESIS_EXAMPLES", "50")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
CURRENCIES = sorted(currencies())
PURPOSES = [member.value for member in PaymentPurposes]
# Offsets timezone() takes: strictly inside a day, down to the microsecond.
DAY = timedelta(hours=24)
OFFSETS = st.one_of(
    st.sampled_from([timedelta(0), timedelta(hours=14), -timedelta(hours=12), DAY - timedelta(minutes=1)]),
    st.timedeltas(min_value=-DAY + timedelta(microseconds=1), max_value=DAY - timedelta(microseconds=1)),
)
# The first and last days of what datetime holds, where offsets push the UTC form out of range.
EDGE_DATETIMES = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 2)),
    st.datetimes(min_value=datetime(9999, 12, 30)),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)),
)
TEXT_WITHOUT_SURROGATES = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
ANY_TEXT = st.text(st.characters(), max_size=12)  # surrogates and NUL included
# Built, not listed: a strategy's repr must not hold an int str() refuses (over 4300 digits).
HUGE_INTEGERS = st.sampled_from(
    [(10, 400), (-10, 400), (10, 4000), (2, 31), (2, 53), (2, 63), (2, 1024)]
).flatmap(lambda power: st.sampled_from([-1, 0, 1]).map(lambda step: power[0] ** power[1] + step))
ODD_DECIMALS = st.sampled_from(
    [Decimal(text) for text in ("sNaN", "-sNaN", "NaN", "Infinity", "-Infinity", "1e400", "1e-400")]
    + [Decimal("0.30000000000000001"), Decimal("-0"), Decimal("12.50")]
)


# --- valid bodies -------------------------------------------------------------------------------------


def _token(*prefixes: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda prefix, uuid, upper: f"{prefix}-{str(uuid).upper() if upper else uuid}",
        st.sampled_from(prefixes),
        st.uuids(),
        st.booleans(),
    )


SOURCE_TOKENS = _token("acct", "user", "dest")
DESTINATION_TOKENS = _token("acct", "dest", "user")
JOB_TOKENS = _token("jobs")
# Letters and digits of the Basic Multilingual Plane: each counts once in UTF-16 too.
WORD = st.characters(categories=("L", "N"), max_codepoint=0xFFFF)
EMAILS = st.builds(
    lambda name, domain, tld: f"{name}@{domain}.{tld}",
    st.text(WORD, min_size=3, max_size=30),
    st.text(WORD, min_size=1, max_size=30),
    st.text(WORD, min_size=2, max_size=10),
)
PROGRAM_USER_IDS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=5, max_size=50),
    st.text(WORD, min_size=5, max_size=100),
)


@cache  # one strategy object per minor unit
def exact_amounts(fraction_digits: int) -> st.SearchStrategy[Decimal]:
    """Decimals > 0, at most 2**53, of at most 15 significant and ``fraction_digits`` fraction digits."""
    return st.builds(
        lambda coefficient, places, scale: Decimal(coefficient).scaleb(scale - places),
        st.one_of(st.integers(1, 999_99), st.integers(1, 10**MAX_SIGNIFICANT_DIGITS - 1)),
        st.integers(0, fraction_digits),
        st.sampled_from([0, 0, 0, 1]),  # now and then trailing whole zeros (1E+1): still exact
    ).filter(lambda amount: amount <= MAX_AMOUNT)


@cache  # one strategy object per minor unit
def wire_amounts(fraction_digits: int) -> st.SearchStrategy[int | float]:
    """
    Amounts as JSON numbers that fit ``fraction_digits``: ints, and floats whose shortest repr is
    the amount (any decimal of at most 15 significant digits comes back from its double).
    """
    exact = exact_amounts(fraction_digits).map(
        lambda amount: int(amount) if amount == amount.to_integral_value() else float(amount)
    )
    rounded_floats = (
        st.floats(min_value=0.01, max_value=1e6)
        .map(lambda number: round(number, fraction_digits))
        .filter(lambda number: number > 0)
    )
    return exact | rounded_floats


def _currency_and_amount() -> st.SearchStrategy[dict[str, Any]]:
    """A currency and an amount fitting its minor unit."""
    return st.sampled_from(CURRENCIES).flatmap(
        lambda currency: st.fixed_dictionaries(
            {"currency": st.just(currency), "amount": wire_amounts(minor_units()[currency])}
        )
    )


WIRE_AMOUNTS = wire_amounts(2)
OPTIONAL_TEXT = st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)


@cache  # one strategy object: hypothesis validates each new one, which is slow
def _item(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    common = {
        "sourceToken": st.none() | SOURCE_TOKENS,
        "note": OPTIONAL_TEXT,
        "memo": OPTIONAL_TEXT,
        "purpose": st.none() | st.sampled_from(PURPOSES),
        "clientPaymentId": st.none()
        | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1),
    }
    if kind == "gateway":
        specific = {"destinationToken": DESTINATION_TOKENS}
    else:
        specific = st.sampled_from(["email", "programUserId", "both"]).flatmap(
            lambda which: st.fixed_dictionaries(
                {
                    **({"email": EMAILS} if which != "programUserId" else {}),
                    **({"programUserId": PROGRAM_USER_IDS} if which != "email" else {}),
                }
            )
        )
        return st.builds(_merged, _currency_and_amount(), _without_none(common), specific)
    return st.builds(_merged, _currency_and_amount(), _without_none({**common, **specific}))


def _merged(*parts: dict[str, Any]) -> dict[str, Any]:
    return {key: value for part in parts for key, value in part.items()}


def _payment_id(item: dict[str, Any]) -> Any:
    """What makes items distinct: their clientPaymentIds (unique in a job), when they have one."""
    return item.get("clientPaymentId", object())


def _without_none(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of ``fields``, leaving out the keys whose drawn value is None (absent on the wire)."""
    return st.fixed_dictionaries(fields).map(lambda item: {k: v for k, v in item.items() if v is not None})


def rfc3339_text(local: datetime, offset: timedelta, fraction: str, lower: bool) -> str:
    """The wall-clock time ``local`` at ``offset``, a fraction of seconds as given, T/Z in either case."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    zone = "Z" if not offset else f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    clock = f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local:%H:%M:%S}"  # %Y drops zeros
    text = f"{clock}{'.' + fraction if fraction else ''}{zone}"
    return text.replace("T", "t").replace("Z", "z") if lower else text


@st.composite
def _schedule(draw: st.DrawFn, as_python: bool) -> dict[str, Any]:
    """notBefore and/or notAfter, in order, in UTC years 1 to 9999 in their own offsets too."""
    first = draw(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1)))
    second = first + draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)))
    present = draw(st.sampled_from([(), ("notBefore",), ("notAfter",), ("notBefore", "notAfter")]))
    schedule = {}
    for name, moment in zip(("notBefore", "notAfter"), (first, second), strict=True):
        if name not in present:
            continue
        moment = moment.replace(microsecond=0)
        offset = timedelta(minutes=draw(st.integers(-23 * 60 - 59, 23 * 60 + 59)))
        if as_python and draw(st.booleans()):
            schedule[name] = (moment + offset).replace(tzinfo=timezone(offset))
        else:
            fraction = draw(st.sampled_from(["", "5", "123", "123456", "123456789"]))
            schedule[name] = rfc3339_text(moment + offset, offset, fraction, draw(st.booleans()))
    return schedule


@st.composite
def wire_bodies(draw: st.DrawFn, max_items: int = 4) -> dict[str, Any]:
    """A valid GatewayPaymentJob or PortalPaymentJob made of JSON values only."""
    kind = draw(st.sampled_from(["gateway", "portal"]))
    items = draw(st.lists(_item(kind), min_size=1, max_size=max_items, unique_by=_payment_id))
    return {**draw(_schedule(as_python=False)), "items": items}


@st.composite
def python_bodies(draw: st.DrawFn, max_items: int = 4) -> dict[str, Any]:
    """A valid body as Python callers give it: Decimal amounts, datetimes, enum members, a tuple."""
    kind = draw(st.sampled_from(["gateway", "portal"]))
    items = draw(st.lists(_item(kind), min_size=1, max_size=max_items, unique_by=_payment_id))
    for item in items:
        item["amount"] = draw(python_amounts(item["amount"]))
        if "purpose" in item and draw(st.booleans()):
            item["purpose"] = PaymentPurposes(item["purpose"])
    return {**draw(_schedule(as_python=True)), "items": tuple(items) if draw(st.booleans()) else items}


# The largest amount whose float one ulp off is still float noise around it in every currency.
MAX_NOISY_AMOUNT = Decimal(10**10)  # 4 ulp of 1e10 is under half of 0.0001 (CLF, UYW)


def python_amounts(amount: int | float) -> st.SearchStrategy[Any]:
    """
    The amount a wire amount means, as a Python caller may give it: as it is, a Decimal with
    trailing zeros (``Decimal("10.500")``) or in scientific notation (``Decimal("1.05E+1")``), a
    numeric string (``"10.50"``), or a float one ulp off it, as float arithmetic leaves amounts.
    """
    exact = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    plain = f"{exact:f}"
    given = st.one_of(
        st.just(amount),
        st.integers(0, 3).map(lambda zeros: Decimal(_with_zeros(plain, zeros))),
        st.just(Decimal(f"{exact:e}")),
        st.integers(0, 3).map(lambda zeros: _with_zeros(plain, zeros)),
    )
    if exact > MAX_NOISY_AMOUNT:
        # Past this, one ulp is a sizeable part of a minor unit: a float one ulp off may read as
        # another amount of 16 digits (2**45 + 1 ulp is 35184372088832.01), rightly refused.
        return given
    return given | st.sampled_from([math.inf, 0.0]).map(lambda toward: math.nextafter(float(exact), toward))


def _with_zeros(plain: str, zeros: int) -> str:
    """``plain`` (``10.5``, ``7``) with ``zeros`` more fraction zeros: ``10.500``, ``7.00``."""
    if not zeros:
        return plain
    return plain + ("" if "." in plain else ".") + "0" * zeros


# --- odd values ---------------------------------------------------------------------------------------


def _self_holding() -> list[Any]:
    holder: list[Any] = []
    holder.append(holder)
    return holder


ODD_DATETIMES = st.one_of(
    st.builds(lambda moment, offset: moment.replace(tzinfo=timezone(offset)), EDGE_DATETIMES, OFFSETS),
    EDGE_DATETIMES,
    st.datetimes(timezones=st.timezones()),
)
ODD_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTEGERS,
    st.floats(),
    st.decimals(),
    ODD_DECIMALS,
    ANY_TEXT,
    st.binary(max_size=8),
    st.complex_numbers(),
    st.fractions(),
    ODD_DATETIMES,
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.sampled_from([*Languages, *PaymentPurposes]),
    st.builds(object),
    st.builds(_self_holding),
)


HASHABLE_KEYS = st.one_of(
    st.sampled_from(CURRENCIES), ANY_TEXT, st.integers(), st.none(), st.tuples(st.integers())
)


@cache  # one strategy object: hypothesis validates each new one, which is slow
def odd_values() -> st.SearchStrategy[Any]:
    """Any JSON value and odd Python values, in containers of every kind, nested."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(ANY_TEXT, children, max_size=3),
        max_leaves=6,
    )
    python_values = st.recursive(
        ODD_SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.tuples(children, children),
            st.sets(st.integers() | ANY_TEXT, max_size=3),
            st.frozensets(st.integers(), max_size=3),
            st.dictionaries(st.integers() | ANY_TEXT | st.tuples(st.integers()), children, max_size=3),
        ),
        max_leaves=6,
    )
    return json_values | python_values


# Values close to what a field takes, so that mutations also probe what is accepted.
NEAR_VALID: dict[str, st.SearchStrategy[Any]] = {
    "amount": st.one_of(WIRE_AMOUNTS, st.decimals(), HUGE_INTEGERS, st.floats(), ODD_DECIMALS),
    "currency": st.sampled_from(CURRENCIES) | st.sampled_from(CURRENCIES).map(str.lower) | ANY_TEXT,
    "sourceToken": SOURCE_TOKENS | DESTINATION_TOKENS.map(lambda token: token + "\n") | JOB_TOKENS,
    "destinationToken": DESTINATION_TOKENS | SOURCE_TOKENS.map(lambda token: token[:-1]) | JOB_TOKENS,
    "note": ANY_TEXT | TEXT_WITHOUT_SURROGATES,
    "memo": ANY_TEXT | TEXT_WITHOUT_SURROGATES,
    "purpose": st.sampled_from([*PURPOSES, *PaymentPurposes, "bonus", "GIFT"]),
    "clientPaymentId": ANY_TEXT | TEXT_WITHOUT_SURROGATES,
    "programUserId": PROGRAM_USER_IDS | st.text(st.characters(), min_size=3, max_size=110),
    "email": EMAILS | ANY_TEXT | st.just("a@b.c"),
    "schedule": st.one_of(
        st.builds(
            rfc3339_text,
            EDGE_DATETIMES,
            st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timedelta(minutes=minutes)),
            st.sampled_from(["", "1", "999999999"]),
            st.booleans(),
        ),
        ODD_DATETIMES,
        st.dates(),
        st.text(st.sampled_from("0123456789-:TZtz+. "), max_size=30),
    ),
}


@cache  # one strategy object: hypothesis validates each new one, which is slow
def near_valid(field: str) -> st.SearchStrategy[Any]:
    """Odd values, or values near what ``field`` (a wire name) takes."""
    key = "schedule" if field in ("notBefore", "notAfter") else field
    return NEAR_VALID[key] | odd_values() if key in NEAR_VALID else odd_values()


@st.composite
def mutated_bodies(
    draw: st.DrawFn, bodies: Callable[[], st.SearchStrategy[dict[str, Any]]] = python_bodies
) -> tuple[dict[str, Any], str]:
    """A valid body with one field set to another value, and where: ``items[1].amount``, ``notAfter``."""
    body = draw(bodies())
    items = [dict(item) for item in body["items"]]
    body = {**body, "items": items}
    # Mostly single fields of an item: there are ten of them.
    where = draw(st.sampled_from(["job", "items", "item", "extra", *["item field"] * 5]))
    if where == "job":
        field = draw(st.sampled_from(sorted(JOB_FIELDS - {"items"})))
        body[field] = draw(near_valid(field))
        return body, field
    if where == "items":
        body["items"] = draw(odd_values() | st.lists(odd_values(), max_size=3))
        return body, "items"
    position = draw(st.integers(0, len(items) - 1))
    if where == "item":
        items[position] = draw(odd_values() | _item("gateway") | _item("portal"))
        return body, f"items[{position}]"
    if where == "item field":
        field = draw(st.sampled_from(sorted(ITEM_FIELDS)))
        items[position][field] = draw(near_valid(field))
        return body, f"items[{position}].{field}"
    key = draw(st.text(max_size=10).filter(lambda key: key not in ITEM_FIELDS) | st.integers() | st.tuples())
    items[position][key] = draw(odd_values())
    return body, f"items[{position}]"


def fields_that_may_answer(path: str, field: str) -> bool:
    """
    Whether an error naming ``field`` is right for a change at ``path``.

    The field itself or anything inside it; for a field of an item, the item too (a payment is
    gateway or portal, never both); for an item's currency, its amount (whose fraction digits the
    currency bounds); for one schedule bound, the other (their order); for a whole item, any item
    (one job never mixes kinds).
    """
    if field == path or field.startswith((path + ".", path + "[")):
        return True
    if path in ("notBefore", "notAfter"):
        return field in ("notBefore", "notAfter")
    if path.startswith("items[") and path.endswith(".clientPaymentId"):  # the guardrails: one id, once
        return (
            field == path.split(".")[0] or re.fullmatch(r"items\[\d+\]\.clientPaymentId", field) is not None
        )
    if path.startswith("items[") and path.endswith(".currency"):  # it bounds the amount's fraction digits
        item = path.split(".")[0]
        return field in (item, item + ".amount")
    if path.startswith("items[") and "." in path:
        return field == path.split(".")[0]
    if path.startswith("items["):
        return field.startswith("items[")
    return False


# --- what the operator needs --------------------------------------------------------------------------


class _TaskInstance:
    dag_id, task_id, try_number, map_index = "dag", "pay", 1, -1


def task_context(run_id: str = "manual__1") -> dict[str, Any]:
    """The part of an Airflow context that ``CreatePaymentJobOperator.prepare_body`` reads."""
    return {"ti": _TaskInstance(), "run_id": run_id, "dag_run": None}
