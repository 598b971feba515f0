"""Parsers of the envelope's ``data``, one per shape an endpoint returns."""

from __future__ import annotations

from typing import Any, TypeVar

from airflow_provider_xtreme1._calls import _BadData

T = TypeVar("T")


_SERIAL_FIELDS = ("serialNumber", "modelSerialNo")


def _record(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _BadData(f"expected an object, got {type(data).__name__}")
    for key in _SERIAL_FIELDS:
        if data.get(key) is not None:
            data[key] = str(data[key])
    return data


def _records(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise _BadData(f"expected a list, got {type(data).__name__}")
    return [_record(item) for item in data]


def _page(data: Any) -> dict[str, Any]:
    page = _record(data)
    page["list"] = _records(page.get("list"))
    return page


def _optional_record(data: Any) -> dict[str, Any] | None:
    return None if data is None else _record(data)


def _serial_number(data: Any) -> str:
    if isinstance(data, bool) or not isinstance(data, (str, int)) or not str(data).strip():
        raise _BadData(f"expected a serial number, got {data!r}")
    return str(data).strip()


def _count(data: Any) -> int:
    if isinstance(data, bool) or not isinstance(data, (int, float, str)):
        raise _BadData(f"expected a number, got {data!r}")
    try:
        return int(data)
    except ValueError:
        raise _BadData(f"expected a number, got {data!r}") from None


def _flag(data: Any) -> bool:
    if not isinstance(data, bool):
        raise _BadData(f"expected true or false, got {data!r}")
    return data


def _nothing(data: Any) -> None:
    return None


def _presigned(data: Any) -> dict[str, Any]:
    record = _record(data)
    if not record.get("presignedUrl") or not record.get("accessUrl"):
        raise _BadData("presignedUrl or accessUrl is missing")
    return record
