"""
Every Airflow import that differs between Airflow versions, in one place.

The provider supports Airflow 3.0 and newer (Airflow 2 reached end of life on 22 April 2026).
Airflow 3 keeps moving names into the task SDK (``airflow.sdk``); the fallbacks below serve
3.0 and 3.1, so the rest of the package imports from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator, Context, PokeReturnValue
from airflow.sdk.bases.xcom import BaseXCom as XCom
from airflow.sdk.log import mask_secret

try:  # Airflow 3.1+
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef, attr-defined]

try:  # Airflow 3.2+ moved these into the task SDK too
    from airflow.sdk import conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
    )
except ImportError:  # Airflow 3.0 and 3.1
    # Type checkers see the newest Airflow, where these are older, differently typed copies.
    from airflow.configuration import conf  # type: ignore[assignment]
    from airflow.exceptions import (  # type: ignore[no-redef, attr-defined]
        AirflowException,  # pyright: ignore[reportPrivateImportUsage]
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
    )


def airflow_version_at_least(version: str) -> bool:
    """Whether the running Airflow is ``version`` or newer."""
    from packaging.version import Version

    return Version(Version(AIRFLOW_VERSION).base_version) >= Version(version)


def reset_secrets_masker() -> None:
    """Airflow's secrets masker, emptied: its task runner does so in every task process it starts."""
    # The newest Airflow keeps the 3.0 module as a shim whose __getattr__ types the name loosely.
    reset: Callable[[], None]
    try:  # Airflow 3.1+
        from airflow.sdk._shared.secrets_masker import reset_secrets_masker as reset
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import (  # type: ignore[no-redef]
            reset_secrets_masker as reset,  # pyright: ignore[reportAssignmentType]
        )
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
    "PokeReturnValue",
    "XCom",
    "airflow_version_at_least",
    "conf",
    "get_connection_async",
    "mask_secret",
    "reset_secrets_masker",
]
