"""Reading ids, lists, flags, choices and query parameters given by users, templates or XCom: one parser
each, used by the request builders (:mod:`._api`), operators and sensors alike."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_xtreme1.vocabulary import ANNOTATION_STATUSES, SORT_FIELDS, SORT_ORDERS, SPLIT_TYPES


def parse_id(value: Any, name: str) -> int:
    """An integer id given as an int or as digits (e.g. rendered by a template); else ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    return number


def _many(values: Any, name: str, convert: Callable[[Any, str], Any]) -> list[Any]:
    if isinstance(values, (str, int)):
        values = [values]
    items = [convert(v, name) for v in (values or ())]
    if not items:
        raise ValueError(f"{name} must not be empty")
    return items


def _serial(value: Any, name: str) -> str:
    text = str(value).strip()
    if not text or isinstance(value, bool):
        raise ValueError(f"{name} must hold serial numbers, got {value!r}")
    return text


def _choice(value: Any, allowed: frozenset[str], name: str) -> str:
    text = str(getattr(value, "value", value))
    if text not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return text


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_param(v) for v in value)
    return str(getattr(value, "value", value))


def _params(**values: Any) -> dict[str, str]:
    return {k: _param(v) for k, v in values.items() if v is not None}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_FILTER_CHOICES = {
    "annotationStatus": ANNOTATION_STATUSES,
    "splitType": SPLIT_TYPES,
    "sortField": SORT_FIELDS,
    "ascOrDesc": SORT_ORDERS,
}


def _data_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """Query filters of ``/data/findByPage`` and ``/data/export`` (``DataInfoQueryDTO``).

    Keys may be snake_case or the server's camelCase; lists are comma-joined.
    """
    out: dict[str, str] = {}
    for key, value in filters.items():
        if value is None:
            continue
        name = _camel(key)
        if name == "dataIds":
            raise ValueError("the data filter is called 'ids' (the server has no 'dataIds' field)")
        if name in _FILTER_CHOICES:
            value = _choice(value, _FILTER_CHOICES[name], key)
        out[name] = _param(value)
    if ("sortField" in out) != ("ascOrDesc" in out):
        # The server pastes sortField raw into "order by"; without a direction: SQL error, HTTP 500.
        raise ValueError("sort_field and asc_or_desc must be given together")
    return out


def _as_list(values: Any) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (str, int)):
        return [values]
    return list(values)


def _page_number(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"page_no must be a positive integer, got {value!r}")
    return value


def _page_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"page_size must be a positive integer, got {value!r}")
    return value


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


def as_mapping(value: Any) -> Any:
    """A dict given as such or rendered by Jinja to text (JSON or Python's repr) as a dict; any other
    value unchanged, for the caller to refuse with its own message."""
    if not isinstance(value, str) or not value.strip().startswith("{"):
        return value
    text = value.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return value


def id_list(value: Any, name: str) -> list[int]:
    """Ids given as a list, one id, ``"-1,42"`` or a rendered ``"[-1, 42]"``, as ints."""
    return [as_id(v, name) for v in as_list(value)]


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


def default_deferrable() -> bool:
    """The ``[operators] default_deferrable`` option, read when an operator is created."""
    from airflow.sdk import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


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
    "require_unlocked",
    "descending",
    "allow_empty",
    "valid",
    "bind_classes",
    "allow_delete",
    "allow_delete_in_use",
    "confirm_delete",
    "delete_locked",
)


def render_flags(task: Any) -> None:
    """After rendering, turn the task's templated flags back into bools (a bad value fails here)."""
    for name in FLAG_FIELDS:
        if name in task.template_fields:
            setattr(task, name, as_bool(getattr(task, name), name))


def filter_time(value: Any) -> str:
    """A time filter as the server takes it: strings as given, datetimes as ISO-8601 in UTC."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value).strip()


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")


def parse_size(value: Any, name: str) -> int:
    """A size in bytes given as an int or as text with a unit: ``"2GiB"``, ``"500MB"``, ``"1.5 GB"``.

    Units: ``B``, decimal ``KB``/``MB``/``GB``/``TB`` and binary ``KiB``/``MiB``/``GiB``/``TiB`` (case
    does not matter); a bare ``G`` or ``M`` is refused, since it could mean either.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a size in bytes such as 2147483648 or '2GiB', got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        match = _SIZE_RE.fullmatch(str(value)) if isinstance(value, (str, float)) else None
        unit = match.group(2).lower() if match else None
        if unit not in _SIZE_UNITS:
            raise ValueError(
                f"{name} must be a size in bytes such as 2147483648, '2GiB' or '500MB' (units B, KB, MB, "
                f"GB, TB, KiB, MiB, GiB, TiB), got {value!r}"
            )
        number = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if number <= 0:
        raise ValueError(f"{name} must be a positive size, got {value!r}")
    return number
