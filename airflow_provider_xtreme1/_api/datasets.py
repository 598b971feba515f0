"""Builders of dataset requests (create, read, search, delete, classes)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from airflow_provider_xtreme1._api.parsers import _nothing, _page, _record, _records
from airflow_provider_xtreme1._arguments import _choice, _page_number, _page_size, _params, parse_id
from airflow_provider_xtreme1._calls import ApiCall
from airflow_provider_xtreme1.collation import same_name
from airflow_provider_xtreme1.vocabulary import DATASET_TYPES

T = TypeVar("T")


def current_user() -> ApiCall[dict[str, Any]]:
    return ApiCall("GET", "/user/logged", parse=_record)


def check_dataset_name(name: Any, argument: str = "name") -> str:
    """A dataset name the server can store and export: 1 to 255 characters (``dataset.name`` is a
    ``varchar(255)``), no control characters, no ``/`` or ``\\`` (the export's file and top folder are
    named after the dataset)."""
    text = "" if name is None else str(name)
    if not text.strip():
        raise ValueError(f"{argument} must not be empty.")
    if len(text) > 255:
        raise ValueError(
            f"{argument} is {len(text)} characters long; Xtreme1 stores dataset names in a varchar(255) "
            "column, so at most 255 are allowed."
        )
    bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127 or ch in "/\\"), None)
    if bad is not None:
        raise ValueError(
            f"{argument} {text!r} contains {bad!r}: dataset names may hold no control characters, '/' or "
            "'\\' (exports are files named after the dataset)."
        )
    return text


def create_dataset(name: str, dataset_type: str, description: str | None = None) -> ApiCall[dict[str, Any]]:
    body = {"name": check_dataset_name(name), "type": _choice(dataset_type, DATASET_TYPES, "dataset_type")}
    if description is not None:
        body["description"] = description
    return ApiCall("POST", "/dataset/create", json=body, idempotent=False, parse=_record)


def get_dataset(dataset_id: int | str) -> ApiCall[dict[str, Any]]:
    return ApiCall("GET", f"/dataset/info/{parse_id(dataset_id, 'dataset_id')}", parse=_record)


def find_datasets(
    name: str | None = None, dataset_type: str | None = None, page_no: int = 1, page_size: int = 10
) -> ApiCall[dict[str, Any]]:
    kind = None if dataset_type is None else _choice(dataset_type, DATASET_TYPES, "dataset_type")
    params = _params(
        pageNo=_page_number(page_no), pageSize=_page_size(page_size), name=name or None, type=kind
    )
    return ApiCall("GET", "/dataset/findByPage", params=params, parse=_page)


def delete_dataset(dataset_id: int | str) -> ApiCall[None]:
    path = f"/dataset/delete/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def get_dataset_classes(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    return ApiCall("GET", f"/datasetClass/findAll/{parse_id(dataset_id, 'dataset_id')}", parse=_records)


def find_dataset_by_name(
    name: str, *, page_size: int = 100, max_pages: int = 1000
) -> Generator[ApiCall[Any], Any, dict[str, Any] | None]:
    """A request *flow*: pages through the server's search until the dataset whose name is ``name`` to
    Xtreme1's database (:func:`~airflow_provider_xtreme1.collation.same_name`: case, accents and
    trailing spaces ignored).

    The search is a ``LIKE '%name%'`` in which ``%`` and ``_`` are wildcards and trailing spaces count,
    so it is sent without trailing spaces and its results (a superset) are compared one by one.
    Hooks drive it: each ``yield`` hands out a call and receives its parsed result.
    """
    if not name or not str(name).strip():
        raise ValueError("name must not be empty")
    search = str(name).rstrip(" ")
    for page_no in range(1, max_pages + 1):
        page = yield find_datasets(name=search, page_no=page_no, page_size=page_size)
        items = page.get("list") or []
        for dataset in items:
            if same_name(str(dataset.get("name") or ""), name):
                return dataset
        if not items or page_no * page_size >= int(page.get("total") or 0):
            return None
    return None
