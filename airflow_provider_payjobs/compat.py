"""
Every Airflow import that differs between Airflow versions, in one place.

Airflow 3 moved the authoring API to ``airflow.sdk``; the fallbacks keep the names
importable on Airflow 2.11 (support planned), so the rest of the package imports from here.
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3: the task SDK
    from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator, Context
    from airflow.sdk.bases.xcom import BaseXCom as XCom
    from airflow.sdk.log import mask_secret
except ImportError:  # Airflow 2.11
    from airflow.models import BaseOperator, BaseOperatorLink  # type: ignore[no-redef]
    from airflow.models.xcom import XCom  # type: ignore[no-redef]
    from airflow.sensors.base import BaseSensorOperator  # type: ignore[no-redef]
    from airflow.utils.context import Context  # type: ignore[no-redef]
    from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]

try:  # Airflow 3.1+
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0 and 2.11
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

try:  # Airflow 3.2+ moved these into the task SDK too
    from airflow.sdk import conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
    )
except ImportError:  # Airflow 3.0, 3.1 and 2.11
    from airflow.configuration import conf  # type: ignore[no-redef]
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
    )

try:
    from airflow import __version__ as AIRFLOW_VERSION
except ImportError:  # pragma: no cover - Airflow always has a version
    AIRFLOW_VERSION = "0"


def airflow_version_at_least(version: str) -> bool:
    """Whether the running Airflow is ``version`` or newer."""
    from packaging.version import Version

    return Version(Version(AIRFLOW_VERSION).base_version) >= Version(version)


def reset_secrets_masker() -> None:
    """Airflow's secrets masker, emptied: its task runner does so in every task process it starts."""
    try:  # Airflow 3.1+
        from airflow.sdk._shared.secrets_masker import reset_secrets_masker as reset
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import reset_secrets_masker as reset
    reset()


async def get_connection_async(hook: Any, conn_id: str) -> Any:
    """``hook.aget_connection`` (Airflow 3.1+), else the blocking lookup run off the event loop."""
    if hasattr(hook, "aget_connection"):
        return await hook.aget_connection(conn_id)
    from asgiref.sync import sync_to_async

    return await sync_to_async(hook.get_connection)(conn_id)


__all__ = [
    "AIRFLOW_VERSION",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Context",
    "XCom",
    "airflow_version_at_least",
    "conf",
    "get_connection_async",
    "mask_secret",
    "reset_secrets_masker",
]
