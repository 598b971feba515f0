"""Builders of a dataset's ontology and data clean-up requests.

The per-item endpoints of adapter/api/controller/DatasetClassController.java,
DatasetClassificationController.java and DataInfoController.java (``deleteBatch``), and the class
statistics of DatasetController.java. The ontology sync uses these, never the bulk
``/ontology/importByJson``, which drops invalid rows and repeats silently and never stores a
classification's ``options``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_xtreme1._api.parsers import _nothing, _record, _records
from airflow_provider_xtreme1._arguments import _choice, parse_id
from airflow_provider_xtreme1._calls import ApiCall
from airflow_provider_xtreme1.vocabulary import INPUT_TYPES, TOOL_TYPES

#: ``@Length(max = 256)`` on the class and classification DTOs (``varchar(256)`` columns).
NAME_CHARS = 256

_CLASS_FIELDS = ("name", "color", "toolType", "toolTypeOptions", "attributes")
_CLASSIFICATION_FIELDS = ("name", "inputType", "isRequired", "attribute")


def _class_body(dataset_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: fields.get(k) for k in _CLASS_FIELDS}
    body["toolType"] = _choice(body["toolType"], TOOL_TYPES, "toolType")
    body["datasetId"] = parse_id(dataset_id, "dataset_id")
    return body


def _classification_body(dataset_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: fields.get(k) for k in _CLASSIFICATION_FIELDS}
    body["inputType"] = _choice(body["inputType"], INPUT_TYPES, "inputType")
    body["datasetId"] = parse_id(dataset_id, "dataset_id")
    return body


def create_dataset_class(dataset_id: int | str, fields: Mapping[str, Any]) -> ApiCall[None]:
    """``POST /datasetClass/create``; the answer carries no id (read the classes again)."""
    return ApiCall(
        "POST", "/datasetClass/create", json=_class_body(dataset_id, fields), idempotent=False, parse=_nothing
    )


def update_dataset_class(
    dataset_id: int | str, class_id: int | str, fields: Mapping[str, Any]
) -> ApiCall[None]:
    """``POST /datasetClass/update/{id}`` (a full replacement of name, colour, tool type and options)."""
    path = f"/datasetClass/update/{parse_id(class_id, 'class_id')}"
    return ApiCall("POST", path, json=_class_body(dataset_id, fields), parse=_nothing)


def delete_dataset_class(class_id: int | str) -> ApiCall[None]:
    path = f"/datasetClass/delete/{parse_id(class_id, 'class_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def get_dataset_classifications(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    path = f"/datasetClassification/findAll/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("GET", path, parse=_records)


def create_dataset_classification(dataset_id: int | str, fields: Mapping[str, Any]) -> ApiCall[None]:
    body = _classification_body(dataset_id, fields)
    return ApiCall("POST", "/datasetClassification/create", json=body, idempotent=False, parse=_nothing)


def update_dataset_classification(
    dataset_id: int | str, classification_id: int | str, fields: Mapping[str, Any]
) -> ApiCall[None]:
    path = f"/datasetClassification/update/{parse_id(classification_id, 'classification_id')}"
    return ApiCall("POST", path, json=_classification_body(dataset_id, fields), parse=_nothing)


def delete_dataset_classification(classification_id: int | str) -> ApiCall[None]:
    path = f"/datasetClassification/delete/{parse_id(classification_id, 'classification_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def get_class_statistics(dataset_id: int | str) -> ApiCall[dict[str, Any]]:
    """``GET /dataset/{id}/statistics/classObject``: objects per class (``classUnits``: name, tool type,
    colour, ``objectAmount``) and per tool type."""
    path = f"/dataset/{parse_id(dataset_id, 'dataset_id')}/statistics/classObject"
    return ApiCall("GET", path, parse=_record)


def delete_data(dataset_id: int | str, data_ids: Iterable[int | str]) -> ApiCall[None]:
    """``POST /data/deleteBatch``: all or nothing — one locked item refuses the whole batch."""
    ids = [parse_id(i, "data_ids") for i in data_ids]
    if not ids:
        raise ValueError("data_ids must not be empty")
    body = {"datasetId": parse_id(dataset_id, "dataset_id"), "ids": ids}
    return ApiCall("POST", "/data/deleteBatch", json=body, idempotent=False, parse=_nothing)
