"""Faults on demand: random ones by probability (seeded), and scripted one-shot ones for tests."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from airflow_provider_payjobs.sandbox.limits import (
    MAX_LATENCY_MS,
    MAX_RETRY_AFTER_SECONDS,
    MAX_RULE_TEXT,
    MAX_RULE_TIMES,
    MAX_SCRIPT_RULES,
    MAX_SEED,
    MAX_SLOW_SECONDS,
    OutOfBounds,
    bounded_number,
    describe,
)

PROBABILITIES = ("error_500", "error_502", "error_503", "error_429", "drop_connection", "commit_then_fail")
SCRIPTED_FAULTS = frozenset(
    {
        "500",
        "502",
        "503",
        "504",
        "429",
        "drop",
        "html_502",
        "empty_500",
        "truncated_json_500",
        "commit_then_fail_500",
        "commit_then_fail_drop",
        "commit_then_truncated_200",
        "late_commit_504",
        "slow",
    }
)
COMMIT_THEN_FAIL_MODES = ("500", "drop", "either")
# Seconds (or milliseconds) settings and their bounds.
DURATIONS = {
    "retry_after_seconds": MAX_RETRY_AFTER_SECONDS,
    "latency_ms": MAX_LATENCY_MS,
    "slow_seconds": MAX_SLOW_SECONDS,
}
RULE_KEYS = frozenset({"fault", "method", "path", "times"})
RANDOM_FAULT_PREFIX = "/api/v2/payments"


class InvalidFaults(OutOfBounds):
    """Fault settings that make no sense; the message says which and why."""


@dataclass
class FaultSettings:
    """
    Every fault knob. Probabilities apply to ``/api/v2/payments…``; scripted rules to any ``/api/v2`` path.

    ``commit_then_fail`` only applies to a create: the job is created, then the answer is a
    500 or a dropped connection (``commit_then_fail_mode``).
    """

    error_500: float = 0.0
    error_502: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    drop_connection: float = 0.0
    commit_then_fail: float = 0.0
    commit_then_fail_mode: str = "either"
    retry_after_seconds: float = 1.0
    latency_ms: float = 0.0
    slow_seconds: float = 2.0
    seed: int | None = None
    script: list[dict[str, Any]] = field(default_factory=list)

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """A copy with ``changes`` applied, checked."""
        known = {item.name for item in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidFaults(f"unknown fault setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        merged = FaultSettings(**{**asdict(self), **changes})
        merged.check()
        return merged

    def check(self) -> None:
        """Every setting within its bounds (docs/sandbox.md), else :class:`InvalidFaults`."""
        try:
            for name in PROBABILITIES:
                bounded_number(f"{name} (a probability)", getattr(self, name), 0, 1)
            for name, highest in DURATIONS.items():
                bounded_number(name, getattr(self, name), 0, highest)
            if self.seed is not None:
                bounded_number("seed", self.seed, -MAX_SEED, MAX_SEED, integer=True)
        except OutOfBounds as error:
            raise InvalidFaults(str(error)) from None
        if (
            not isinstance(self.commit_then_fail_mode, str)
            or self.commit_then_fail_mode not in COMMIT_THEN_FAIL_MODES
        ):
            raise InvalidFaults(f"commit_then_fail_mode must be one of {', '.join(COMMIT_THEN_FAIL_MODES)}")
        if not isinstance(self.script, list) or len(self.script) > MAX_SCRIPT_RULES:
            raise InvalidFaults(f"script must be a list of at most {MAX_SCRIPT_RULES} rules")
        self.script = [_checked_rule(rule) for rule in self.script]


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject."""

    def __init__(self, settings: FaultSettings) -> None:
        self._lock = threading.Lock()
        self.initial = settings
        self.replace(settings)

    def replace(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._random = random.Random(settings.seed)

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        settings = self.settings.updated(changes)
        if "seed" in changes or "script" in changes or settings.seed != self.settings.seed:
            self.replace(settings)
        else:
            with self._lock:
                self.settings = settings
        return settings

    def choose(self, method: str, path: str, *, is_create: bool) -> str | None:
        """The fault for this request: a scripted rule first, then the dice."""
        with self._lock:
            for rule in self.settings.script:
                if _matches(rule, method, path):
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self.settings.script.remove(rule)
                    fault: str = rule["fault"]  # _checked_rule made it one of SCRIPTED_FAULTS
                    return fault
            if not path.startswith(RANDOM_FAULT_PREFIX):
                return None
            return self._roll(is_create)

    def _roll(self, is_create: bool) -> str | None:
        settings = self.settings
        candidates = [
            ("500", settings.error_500),
            ("502", settings.error_502),
            ("503", settings.error_503),
            ("429", settings.error_429),
            ("drop", settings.drop_connection),
        ]
        if is_create:
            mode = settings.commit_then_fail_mode
            if mode == "either":
                mode = "500" if self._random.random() < 0.5 else "drop"
            candidates.append((f"commit_then_fail_{mode}", settings.commit_then_fail))
        for fault, probability in candidates:
            if probability and self._random.random() < probability:
                return fault
        return None


def _checked_rule(rule: Any) -> dict[str, Any]:
    if (
        not isinstance(rule, dict)
        or not isinstance(rule.get("fault"), str)
        or rule["fault"] not in SCRIPTED_FAULTS
    ):
        raise InvalidFaults(
            f"a script rule needs a fault from {', '.join(sorted(SCRIPTED_FAULTS))}; got {describe(rule)}"
        )
    unknown = sorted(set(rule) - RULE_KEYS)
    if unknown:
        raise InvalidFaults(f"a script rule takes {', '.join(sorted(RULE_KEYS))}; got {describe(unknown[0])}")
    for name in ("method", "path"):
        text = rule.get(name)
        if text is not None and (not isinstance(text, str) or not 0 < len(text) <= MAX_RULE_TEXT):
            raise InvalidFaults(
                f"a script rule's {name} must be text of 1 to {MAX_RULE_TEXT} characters or null"
            )
    try:
        times = bounded_number("a script rule's times", rule.get("times", 1), 1, MAX_RULE_TIMES, integer=True)
    except OutOfBounds as error:
        raise InvalidFaults(str(error)) from None
    return {"fault": rule["fault"], "method": rule.get("method"), "path": rule.get("path"), "times": times}


def _matches(rule: dict[str, Any], method: str, path: str) -> bool:
    if rule.get("method") and rule["method"].upper() != method:
        return False
    return not rule.get("path") or path.startswith(rule["path"])
