"""Faults on demand: random ones by probability (seeded), and scripted one-shot ones for tests."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

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
RANDOM_FAULT_PREFIX = "/api/v2/payments"


class InvalidFaults(ValueError):
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
        for name in PROBABILITIES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise InvalidFaults(f"{name} must be a probability from 0 to 1, got {value!r}")
        for name in ("retry_after_seconds", "latency_ms", "slow_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise InvalidFaults(f"{name} must be a number >= 0, got {value!r}")
        if self.commit_then_fail_mode not in COMMIT_THEN_FAIL_MODES:
            raise InvalidFaults(f"commit_then_fail_mode must be one of {', '.join(COMMIT_THEN_FAIL_MODES)}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise InvalidFaults(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.script, list):
            raise InvalidFaults("script must be a list of rules")
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
                    return rule["fault"]
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
    if not isinstance(rule, dict) or rule.get("fault") not in SCRIPTED_FAULTS:
        raise InvalidFaults(
            f"a script rule needs a fault from {', '.join(sorted(SCRIPTED_FAULTS))}; got {rule!r}"
        )
    times = rule.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise InvalidFaults(f"a script rule's times must be an integer >= 1; got {times!r}")
    return {"fault": rule["fault"], "method": rule.get("method"), "path": rule.get("path"), "times": times}


def _matches(rule: dict[str, Any], method: str, path: str) -> bool:
    if rule.get("method") and rule["method"].upper() != method:
        return False
    return not rule.get("path") or path.startswith(rule["path"])
