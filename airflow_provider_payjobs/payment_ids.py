"""Deterministic clientPaymentIds: the same on every try of a task, different across DAG runs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

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
