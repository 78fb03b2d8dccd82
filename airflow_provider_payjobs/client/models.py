"""The API's enumerations and token patterns, exactly as the wire contract spells them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from importlib.resources import files
from types import MappingProxyType

API_VERSION = "2026.02.01"
API_VERSION_HEADER = "X-MyPayQuicker-Version"

# Checked with fullmatch: "$" alone would let a token with a trailing newline through.
UUID_PATTERN = r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
JOB_TOKEN_RE = re.compile(rf"^jobs-{UUID_PATTERN}$")
SOURCE_TOKEN_RE = re.compile(rf"^(acct|user|dest)-{UUID_PATTERN}$")
DESTINATION_TOKEN_RE = re.compile(rf"^(acct|dest|user)-{UUID_PATTERN}$")
EMAIL_RE = re.compile(r"^.+@.+\..+")
TOKEN_LENGTH = 41
UNDEFINED_CURRENCY = "UNDEFINED"


class JobStatus(str, Enum):
    """JobStatusTypes: the status of a payment job."""

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

    @classmethod
    def parse(cls, value: object) -> JobStatus | None:
        """
        The status named by ``value``, or None for one the API never documented.

        :param value: a status as the API sent it, in any case.
        """
        try:
            return cls(str(value).upper())
        except ValueError:
            return None


SUCCESS_STATUSES = frozenset({JobStatus.COMPLETED})
FAILURE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
TERMINAL_STATUSES = SUCCESS_STATUSES | FAILURE_STATUSES
# Cancelling is allowed until processing has completed.
CANCELLABLE_STATUSES = frozenset(JobStatus) - TERMINAL_STATUSES


class TransferStatus(str, Enum):
    """TransferStatuses: the status of one payment (item) of a job."""

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


# Item outcomes a resubmission can trust: money certainly moved (never paid again), or certainly
# did not (paid again). Any other item status means "cannot tell", and nothing is resubmitted.
PAID_TRANSFER_STATUSES = frozenset({TransferStatus.COMPLETED.value})
UNPAID_TRANSFER_STATUSES = frozenset(
    status.value
    for status in (
        TransferStatus.FAILED,
        TransferStatus.CANCELLED,
        TransferStatus.EXPIRED,
        TransferStatus.VOIDED,
    )
)
# Items whose money did not reach the payee: a COMPLETED job holding one is not a success.
FAILED_TRANSFER_STATUSES = UNPAID_TRANSFER_STATUSES | {TransferStatus.RETURNED.value}


class Languages(str, Enum):
    """
    Languages: the ``language`` query parameter.

    Member names are the contract's (``ENUS``); each value is the language tag sent on the wire
    (``en-US``), as PayQuicker's own SDKs send it.
    """

    CSCZ = "cs-CZ"
    DEDE = "de-DE"
    ENGB = "en-GB"
    ENUS = "en-US"
    ESES = "es-ES"
    ESMX = "es-MX"
    FRCA = "fr-CA"
    FRFR = "fr-FR"
    ITIT = "it-IT"
    JAJP = "ja-JP"
    KOKR = "ko-KR"
    NLNL = "nl-NL"
    PLPL = "pl-PL"
    PTBR = "pt-BR"
    PTPT = "pt-PT"
    RURU = "ru-RU"
    ZHHANS = "zh-Hans"
    ZHHANT = "zh-Hant"


class PaymentPurposes(str, Enum):
    """PaymentPurposes: why a payment is made."""

    BONUS = "BONUS"
    EXPENSE = "EXPENSE"
    INCOME = "INCOME"
    NON_TAXABLE = "NON_TAXABLE"
    OTHER = "OTHER"
    TAXABLE = "TAXABLE"
    UNDEFINED = "UNDEFINED"


class Environment(str, Enum):
    """The PayQuicker environments a connection can point at."""

    PRODUCTION = "production"
    SANDBOX = "sandbox"
    UAT = "uat"
    DEVELOPMENT = "development"


@lru_cache(maxsize=1)
def currencies() -> frozenset[str]:
    """
    The codes a payment may be made in: the Currencies list (``currencies.txt``, one code per line)
    without ``UNDEFINED``, the enum's placeholder, which is no currency anyone can be paid in.
    """
    text = files("airflow_provider_payjobs.client").joinpath("currencies.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip()) - {UNDEFINED_CURRENCY}


@lru_cache(maxsize=1)
def minor_units() -> Mapping[str, int]:
    """
    The ISO 4217 minor unit of every code of :func:`currencies`: how many fraction digits an amount
    in it may have (JPY 0, USD 2, KWD 3). Read from ``minor_units.txt``, one ``CODE DIGITS`` line
    per code, whose header names its sources and what codes ISO does not list are given.
    """
    text = files("airflow_provider_payjobs.client").joinpath("minor_units.txt").read_text(encoding="utf-8")
    table: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].split()
        if not content:
            continue
        # A packaging mistake, not user input: fail loudly at first use rather than guess.
        if len(content) != 2 or not (content[1].isascii() and content[1].isdigit()) or content[0] in table:
            raise ValueError(f"minor_units.txt line {number} is not a new `CODE DIGITS` line: {line!r}")
        table[content[0]] = int(content[1])
    return MappingProxyType(table)
