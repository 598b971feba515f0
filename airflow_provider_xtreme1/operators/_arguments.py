"""Operator arguments that need the hook (TLS verification of presigned transfers); the plain parsers
live in :mod:`airflow_provider_xtreme1._arguments`."""

from __future__ import annotations

from typing import Any


def storage_verify(verify: Any, hook: Any) -> Any:
    """TLS verification for presigned transfers: the operator's ``verify`` when given, else the Xtreme1
    connection's (``verify`` / ``ca_bundle`` extras), so a private CA is configured once.

    Checked before anything starts: ``"false"`` (as from a param) is ``False``, a CA bundle must exist.
    """
    from airflow.sdk.exceptions import AirflowNotFoundException

    from airflow_provider_xtreme1.transfer import check_verify

    if verify is None or verify == "":
        try:
            verify = hook.settings.verify
        except AirflowNotFoundException:  # a PutArchive without any Xtreme1 connection: system CAs
            verify = True
    return check_verify(verify, "verify")
