"""Reading operator arguments that may arrive directly, from XCom, or as rendered template text."""

from __future__ import annotations

import ast
from typing import Any

from airflow_provider_xtreme1._api import parse_id


def as_id(value: Any, name: str) -> int:
    """An Xtreme1 id (``12``, ``"12"``, an XCom value) as an int; otherwise an error naming the argument."""
    return parse_id(value.strip() if isinstance(value, str) else value, name)


def as_list(value: Any) -> list[Any]:
    """A list given as such, as one value, as ``"a,b"`` text, or rendered by Jinja (``"[1, 2]"``)."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("[", "(")):
            return [part.strip() for part in text.split(",") if part.strip()]
        value = ast.literal_eval(text)
    if isinstance(value, (str, int, float)):
        return [value]
    return list(value)


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


def as_bool(value: Any, name: str) -> bool:
    """A flag given as a bool or rendered by Jinja (``"True"``, ``"false"``, ``"1"``, ``""``)."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", "", "none"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


#: Templated flags: rendered from Jinja they arrive as text, so ``"false"`` must become ``False``.
FLAG_FIELDS = (
    "overwrite",
    "with_results",
    "checksum",
    "exclude_model_data",
    "wait_for_completion",
    "fail_on_warnings",
    "fetch_camera_configs",
    "require_cameras",
)


def render_flags(task: Any) -> None:
    """After rendering, turn the task's templated flags back into bools (a bad value fails here)."""
    for name in FLAG_FIELDS:
        if name in task.template_fields:
            setattr(task, name, as_bool(getattr(task, name), name))
