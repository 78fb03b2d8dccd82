"""Every limit the sandbox enforces, in one place (docs/sandbox.md lists them), and the bounds check."""

from __future__ import annotations

import math
from typing import Any, cast

# Requests.
MAX_BODY_BYTES = 4 * 1024 * 1024  # a create or admin body; more answers 413
MAX_TOKEN_FORM_BYTES = 64 * 1024  # the token endpoint's form; more answers 413
MAX_DRAINED_BYTES = 64 * 1024 * 1024  # read and dropped past a limit, so the client sees the 413
MAX_JSON_DEPTH = 32  # nesting of arrays and objects; the contract needs 3
MAX_ITEMS = 5000  # items of one job
MAX_QUERY_INTEGER = 2**31 - 1  # page and pageSize are int32 on the wire
MAX_PAGE_SIZE = 50

# Admin settings (PUT /_sandbox/config, PUT /_sandbox/faults, POST /_sandbox/clock, and the CLI).
MAX_STEP_SECONDS = 86_400.0  # a day per status
MAX_TOKEN_TTL = 31_536_000  # a year
MAX_RETRY_AFTER_SECONDS = 86_400.0
MAX_LATENCY_MS = 60_000.0
MAX_SLOW_SECONDS = 3_600.0
MAX_CLOCK_ADVANCE_SECONDS = 3_153_600_000.0  # a hundred years (of 365 days) per call
CLOCK_END_YEAR = 9000  # the clock never reaches this year, so every datetime it makes stays printable
MAX_SEED = 2**53  # JSON numbers the sandbox takes are those a double holds exactly
MAX_SCRIPT_RULES = 100
MAX_RULE_TIMES = 1_000_000
MAX_RULE_TEXT = 2_000  # characters of a script rule's method or path


class OutOfBounds(ValueError):
    """A setting that is not a number within its documented bounds; the message says which."""


def bounded_number(name: str, value: Any, low: float, high: float, *, integer: bool = False) -> float:
    """
    ``value`` itself when it is a finite number (an integer if ``integer``) from ``low`` to ``high``.

    :param name: the setting's name, for the message.
    :raises OutOfBounds: otherwise (booleans, NaN, infinities and numbers JSON cannot hold included).
    """
    kind = "an integer" if integer else "a number"
    is_number = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not is_number or not math.isfinite(value) or not low <= value <= high:
        raise OutOfBounds(
            f"{name} must be {kind} from {_plain(low)} to {_plain(high)}, got {describe(value)}"
        )
    return cast(float, value)  # an int or a float, checked above


def _plain(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


def describe(value: Any, limit: int = 40) -> str:
    """``value`` for an error message: short, ASCII, and printable whatever it holds."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        shown = ascii(value[:limit])
        return shown[:-1] + "...'" if len(value) > limit else shown
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
