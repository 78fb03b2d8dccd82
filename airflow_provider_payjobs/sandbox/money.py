"""
Exact money: amounts read from the wire as Decimals, checked against ISO 4217 minor units, and
written back as JSON numbers with the very digits that were sent (``0.3`` stays ``0.3``).

The sandbox's own rules, written apart from the client's (``docs/sandbox.md``, "Amounts").
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from starlette.responses import JSONResponse

# Every whole number up to 2**53 is a double; a larger amount is no sane payment either.
MAX_AMOUNT = Decimal(2**53)
# Any decimal of at most 15 significant digits comes back unchanged from the nearest double, so a
# server that reads JSON numbers as doubles still reads the amount that was meant.
MAX_SIGNIFICANT_DIGITS = 15
MINOR_UNITS_FILE = Path(__file__).resolve().parent / "minor_units.txt"


def read_minor_units(text: str) -> MappingProxyType[str, int]:
    """
    The ``CODE DIGITS`` lines of a minor units table (``#`` starts a comment).

    :param text: the table's text.
    :raises ValueError: on a line that is not a new ``CODE DIGITS`` pair: a broken table must stop
        the sandbox at start, not let it guess.
    """
    table: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.partition("#")[0].split()
        if not words:
            continue
        if len(words) != 2 or not words[1].isdecimal() or not words[1].isascii() or words[0] in table:
            raise ValueError(f"{MINOR_UNITS_FILE.name} line {number}: not a new 'CODE DIGITS' pair: {line!r}")
        table[words[0]] = int(words[1])
    return MappingProxyType(table)


MINOR_UNITS = read_minor_units(MINOR_UNITS_FILE.read_text(encoding="utf-8"))


def digits_of(amount: Decimal) -> tuple[int, int]:
    """
    The significant digits and the fraction digits of a finite ``amount``, trailing zeros not
    counted: ``10.50`` has 3 and 1, ``1E+2`` 1 and 0. Read from its digits, with no context.

    :param amount: a finite Decimal.
    """
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int), "finite amounts only"
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    significant = max(1, len(digits) - zeros)
    return significant, max(0, -(exponent + zeros))


def fraction_rule(currency: str, fraction_digits: int) -> str | None:
    """
    Why ``fraction_digits`` are too many in ``currency``; None when they fit its minor unit.

    :param currency: a code of the Currencies list.
    :param fraction_digits: the amount's fraction digits, trailing zeros not counted.
    """
    allowed = MINOR_UNITS.get(currency)
    if allowed is None:
        return f"the sandbox knows no minor unit for {currency}, so it takes no amount in it"
    if fraction_digits <= allowed:
        return None
    digits = f"{fraction_digits} fraction digit{'' if fraction_digits == 1 else 's'}"
    whole = "whole amounts only; " if allowed == 0 else ""
    return (
        f"has {digits}; {currency} allows at most {allowed} "
        f"({whole}its ISO 4217 minor unit; trailing zeros do not count)"
    )


def number_text(amount: Decimal) -> str:
    """
    ``amount`` as a JSON number, in plain notation with its digits as sent: ``10.50``, ``100``.

    :param amount: a finite Decimal whose exponent is small (a stored amount's is).
    """
    return format(amount, "f")


def amount_shown(amount: Decimal) -> str:
    """
    ``amount`` for a message: plain when short (``0.001``), else as Python writes it (``1E-400``).

    :param amount: any Decimal.
    """
    exponent = amount.as_tuple().exponent
    plain = isinstance(exponent, int) and -30 <= exponent <= 30  # never write out a gigabyte of zeros
    return number_text(amount) if plain else str(amount)


def exact_json(value: Any) -> str:
    """
    Compact JSON of ``value``, with every :class:`~decimal.Decimal` written by :func:`number_text`.

    The rest is written as Starlette's JSONResponse writes it: UTF-8 text, no NaN.

    :param value: JSON-able data: dicts, lists, strings, numbers, booleans, None and Decimals.
    """
    if isinstance(value, str):
        return json.encoder.encode_basestring(value)
    if isinstance(value, Decimal):
        return number_text(value)
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{exact_json(str(key))}:{exact_json(item)}" for key, item in value.items()) + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(exact_json(item) for item in value) + "]"
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value, allow_nan=False)


class ExactJSONResponse(JSONResponse):
    """A JSON answer whose Decimal amounts keep their exact digits (no float round trip)."""

    def render(self, content: Any) -> bytes:
        return exact_json(content).encode("utf-8")
