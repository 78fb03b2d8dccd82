"""
Deterministic clientPaymentIds.

Without a payout key they are the same on every try of a task and differ across DAG runs (every
run is its own payout); under a payout key they are the same for every run of the key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from airflow_provider_payjobs.exceptions import PayJobsValidationError

# Fixed namespace: changing it would change every derived id, and so break in-flight retries.
NAMESPACE = uuid.UUID("6f0e3c4a-1f9b-5d2e-9a57-7c1d2b8e4f60")


def derive_client_payment_id(
    dag_id: str, task_id: str, run_id: str, map_index: int, position: int, generation: int = 0
) -> str:
    """
    A UUID (as text) derived from where an item is paid.

    :param generation: 0 for the first job of a task run; raised only when a user asks to pay
        again after a failed job (``resubmit_failed=True``).
    """
    key = f"{dag_id}\x1f{task_id}\x1f{run_id}\x1f{map_index}\x1f{position}"
    if generation:
        key += f"\x1fresubmission-{generation}"
    return str(uuid.uuid5(NAMESPACE, key))


def with_client_payment_ids(
    body: Mapping[str, Any], dag_id: str, task_id: str, run_id: str, map_index: int, generation: int = 0
) -> tuple[dict[str, Any], bool]:
    """
    A copy of ``body`` whose items all carry a clientPaymentId, and whether any was derived.

    Ids the user gave are kept: they are how a user deliberately decides what counts as the same payment.
    """
    items = []
    derived = False
    for position, item in enumerate(body.get("items") or []):
        if isinstance(item, Mapping) and item.get("clientPaymentId") is None:
            payment_id = derive_client_payment_id(dag_id, task_id, run_id, map_index, position, generation)
            item = {**item, "clientPaymentId": payment_id}
            derived = True
        items.append(item)
    return {**body, "items": items}, derived


# --- ids under a payout key: the same for every DAG run of the key ----------------------------------
# Under a payout key an item is known by its payee, not its position: a re-run whose query returns the
# items in another order must find them paid. Several items to one payee are told apart by their rank
# in the order of PAYMENT_ORDER_FIELDS, so identical items may swap without changing anything.
PAYEE_FIELDS = ("destinationToken", "programUserId", "email")
PAYMENT_ORDER_FIELDS = ("currency", "amount", "purpose", "sourceToken", "note", "memo")
PAYOUT_ID_PREFIX = "pk-"
MAX_PAYOUT_KEY_LENGTH = 500


def check_payout_key(payout_key: Any, field: str = "payout_key") -> str:
    """
    ``payout_key`` when it can name a payout: a non-empty string (as rendered) without NUL.

    :param payout_key: the rendered key, e.g. ``"payroll-2026-11"``.
    :param field: the name the error gives it.
    """
    if not isinstance(payout_key, str) or not payout_key.strip():
        raise PayJobsValidationError(field, "must be a non-empty string, e.g. 'payroll-{{ ds }}'", payout_key)
    if "\x00" in payout_key or len(payout_key) > MAX_PAYOUT_KEY_LENGTH:
        raise PayJobsValidationError(
            field, f"must hold at most {MAX_PAYOUT_KEY_LENGTH} characters and no NUL", payout_key
        )
    return str.__str__(payout_key)


def payout_scope(dag_id: str, task_id: str, payout_key: str, map_index: int, generation: int = 0) -> str:
    """
    The prefix every derived clientPaymentId of one payout carries: ``pk-`` and 16 hex digits.

    A search finds any job of the payout by it, so a re-run whose items changed fails closed
    instead of paying the new items beside the old ones.

    :param dag_id: the DAG paying.
    :param task_id: the task paying.
    :param payout_key: the rendered payout key.
    :param map_index: the mapped task's index (-1 when not mapped): each batch is its own payout.
    :param generation: 0, or the resubmission (``resubmit_failed``) whose ids these are.
    """
    text = "\x1f".join(("payout", dag_id, task_id, payout_key, str(map_index), str(generation)))
    return PAYOUT_ID_PREFIX + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def payee_of(item: Mapping[str, Any]) -> str:
    """Who an item pays, as one text: its destination token, or its portal user id and email."""
    parts = []
    for name in PAYEE_FIELDS:
        value = item.get(name)
        if value is not None:
            parts.append(f"{name}={str(value).casefold() if name == 'email' else value}")
    return "\x1f".join(parts)


def with_payout_ids(
    body: Mapping[str, Any],
    dag_id: str,
    task_id: str,
    payout_key: str,
    map_index: int = -1,
    generation: int = 0,
) -> dict[str, Any]:
    """
    A copy of a checked ``body`` whose items carry the clientPaymentIds of ``payout_key``.

    Every DAG run (a re-run of a date, a manual run, a backfill) that pays the same items under
    the same key derives the same ids, whatever order the items come in. Ids the user gave are kept.

    :param body: a body as :func:`~airflow_provider_payjobs.client.validation.prepare_create_body` returns it.
    :param dag_id: the DAG paying.
    :param task_id: the task paying.
    :param payout_key: what makes a payout one, e.g. ``"payroll-2026-11"``.
    :param map_index: the mapped task's index, -1 when not mapped.
    :param generation: 0, or the resubmission whose ids these are.
    """
    scope = payout_scope(dag_id, task_id, payout_key, map_index, generation)
    items = [dict(item) for item in body.get("items") or []]
    by_payee: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        by_payee.setdefault(payee_of(item), []).append(position)
    for payee, positions in by_payee.items():
        ranked = sorted(positions, key=lambda position: _payment_order(items[position]))
        for rank, position in enumerate(ranked):
            if items[position].get("clientPaymentId") is None:
                digest = hashlib.sha256(f"{scope}\x1f{payee}\x1f{rank}".encode("utf-8", "surrogatepass"))
                items[position]["clientPaymentId"] = f"{scope}-{digest.hexdigest()[:24]}"
    return {**body, "items": items}


def _payment_order(item: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple("" if item.get(name) is None else str(item.get(name)) for name in PAYMENT_ORDER_FIELDS)
