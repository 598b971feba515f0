"""The annotation side of the Xtreme1 API as :class:`~._api.ApiCall` builders, with no I/O.

Statistics, lock records, the data flow (valid/invalid/submit) and splits. Paths below the ``/api``
prefix; each builder cites the controller of the server (paths relative to
``backend/src/main/java/ai/basic/x1/``) whose behaviour it relies on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_xtreme1._api.parsers import _count, _nothing, _optional_record, _record, _records
from airflow_provider_xtreme1._arguments import _choice, _many, _params, parse_id
from airflow_provider_xtreme1._calls import ApiCall, _BadData
from airflow_provider_xtreme1.vocabulary import SPLIT_SORT_BY, SPLIT_TARGETS, SPLIT_TYPES, SPLITTING_BY

#: The split types a split assigns (``NOT_SPLIT`` is where items start).
ASSIGNABLE_SPLITS = tuple(s for s in SPLIT_TYPES if s != "NOT_SPLIT")
_STAT_FIELDS = ("annotatedCount", "notAnnotatedCount", "invalidCount", "itemCount")


def _statistics(data: Any) -> dict[str, Any]:
    record = _record(data)
    for key in (*_STAT_FIELDS, "objectCount"):
        value = record.get(key)
        if value is None:
            record[key] = 0  # DatasetStatisticsBO's fields are Integers; an empty group reads null
        elif isinstance(value, bool) or not isinstance(value, int):
            raise _BadData(f"{key} is not a count: {value!r}")
    return record


def _lock_records(data: Any) -> list[dict[str, Any]]:
    records = _records(data)
    for record in records:
        # lockedNum is null for a record holding no data (the grouped count has no row)
        record["lockedNum"] = int(record.get("lockedNum") or 0)
    return records


def _class_statistics(data: Any) -> dict[str, Any]:
    record = _record(data)
    record["toolTypeUnits"] = _records(record.get("toolTypeUnits"))
    record["classUnits"] = _records(record.get("classUnits"))
    return record


def data_statistics(dataset_id: int | str) -> ApiCall[dict[str, Any]]:
    """``GET /dataset/{id}/statistics/dataStatus`` (DatasetController): counts of the dataset's
    single-data items by annotation status, and its object count. A deleted or unknown dataset answers
    zeros, not an error: callers that must notice a deletion ask ``dataset/info`` too."""
    path = f"/dataset/{parse_id(dataset_id, 'dataset_id')}/statistics/dataStatus"
    return ApiCall("GET", path, parse=_statistics)


def class_statistics(dataset_id: int | str) -> ApiCall[dict[str, Any]]:
    """``GET /dataset/{id}/statistics/classObject``: objects per class and per tool type (model-run
    objects included; objects whose class is no dataset class are counted under ``"No class"``)."""
    path = f"/dataset/{parse_id(dataset_id, 'dataset_id')}/statistics/classObject"
    return ApiCall("GET", path, parse=_class_statistics)


def lock_records(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    """``GET /data/findLockRecordByDatasetId``: every user's lock record of the dataset
    (``recordId``, ``lockedNum``, ``lockedBy`` nickname)."""
    params = _params(datasetId=parse_id(dataset_id, "dataset_id"))
    return ApiCall("GET", "/data/findLockRecordByDatasetId", params=params, parse=_lock_records)


def lock_data(dataset_id: int | str, data_ids: Iterable[int | str] | int | str) -> ApiCall[int]:
    """``POST /data/annotate`` (DataInfoController, DataInfoUseCase.annotateCommon): lock single-data
    items for the token's user; answers the user's lock record id for the dataset. Data someone else
    holds is skipped silently (``INSERT IGNORE``) unless nothing could be locked."""
    body = {
        "datasetId": parse_id(dataset_id, "dataset_id"),
        "operateItemType": "SINGLE_DATA",
        "dataIds": _many(data_ids, "data_ids", parse_id),
    }
    return ApiCall("POST", "/data/annotate", json=body, parse=_count)


def own_lock_record(record_id: int | str) -> ApiCall[dict[str, Any] | None]:
    """``GET /data/findDataAnnotationRecord/{id}``: the caller's record with the data it holds
    (``datas[].dataId``), ``null`` for another user's or an unknown record."""
    path = f"/data/findDataAnnotationRecord/{parse_id(record_id, 'record_id')}"
    return ApiCall("GET", path, parse=_optional_record)


def unlock(record_id: int | str) -> ApiCall[None]:
    """``POST /data/unLock/{recordId}``: release the caller's record (unknown ids pass silently)."""
    return ApiCall("POST", f"/data/unLock/{parse_id(record_id, 'record_id')}", parse=_nothing)


def mark_data(data_id: int | str, valid: bool) -> ApiCall[None]:
    """``POST /data/flow/markAsValid|markAsInvalid/{dataId}`` (DataFlowController): the caller must hold
    the item's lock. Changes ``status``; the annotation status follows on :func:`submit_data`."""
    action = "markAsValid" if valid else "markAsInvalid"
    return ApiCall("POST", f"/data/flow/{action}/{parse_id(data_id, 'data_id')}", parse=_nothing)


def submit_data(data_id: int | str) -> ApiCall[None]:
    """``POST /data/flow/submit/{itemId}``: a VALID item becomes ANNOTATED, an INVALID one INVALID."""
    return ApiCall("POST", f"/data/flow/submit/{parse_id(data_id, 'data_id')}", parse=_nothing)


def data_status(data_ids: Iterable[int | str] | int | str) -> ApiCall[list[dict[str, Any]]]:
    """``GET /data/getDataStatusByIds``: ``{id, datasetId, name, status, annotationStatus}`` per live
    item (unknown and deleted ids are left out)."""
    params = _params(dataIds=_many(data_ids, "data_ids", parse_id))
    return ApiCall("GET", "/data/getDataStatusByIds", params=params, parse=_records)


def split_by_ids(data_ids: Iterable[int | str] | int | str, split_type: str) -> ApiCall[None]:
    """``POST /data/split/dataIds`` (DataInfoSplitReqDTO): set the split of items (a scene's frames
    follow it); ids the server does not know are ignored."""
    body = {
        "dataIds": _many(data_ids, "data_ids", parse_id),
        "splitType": _choice(split_type, SPLIT_TYPES, "split_type"),
    }
    return ApiCall("POST", "/data/split/dataIds", json=body, parse=_nothing)


def check_split_ratio(value: Any, name: str) -> int:
    """A split percentage as the server validates it: a whole number from 1 to 100 (0 is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValueError(f"{name} must be a whole percentage from 1 to 100, got {value!r}")
    return value


def split_by_ratio(
    dataset_id: int | str,
    *,
    training: int,
    validation: int,
    test: int,
    total: int = 100,
    splitting_by: str = "RANDOM",
    target: str | None = None,
    sort_by: str | None = None,
    descending: bool = False,
) -> ApiCall[None]:
    """``POST /data/split/filter`` (DataInfoSplitFilterDTO, DataInfoUseCase.splitByFilter).

    Every ratio is 1..100; ``training + validation + test`` must be 100 (the server only validates each
    ratio, gives test whatever is left, and fails with HTTP 500 when the shares exceed the items)."""
    ratios = {
        "totalSizeRatio": check_split_ratio(total, "total"),
        "trainingRatio": check_split_ratio(training, "training"),
        "validationRatio": check_split_ratio(validation, "validation"),
        "testRatio": check_split_ratio(test, "test"),
    }
    if training + validation + test != 100:
        raise ValueError(
            f"training + validation + test must add up to 100, got {training} + {validation} + {test}"
        )
    body: dict[str, Any] = {
        "datasetId": parse_id(dataset_id, "dataset_id"),
        **ratios,
        "splittingBy": _choice(splitting_by, SPLITTING_BY, "splitting_by"),
    }
    if target is not None:
        body["targetDataType"] = _choice(target, SPLIT_TARGETS, "target")
    if sort_by is not None:
        if body["splittingBy"] != "ORDER":
            raise ValueError("sort_by only applies to splitting_by='ORDER'")
        body["sortBy"] = _choice(sort_by, SPLIT_SORT_BY, "sort_by")
        body["ascOrDesc"] = "DESC" if descending else "ASC"
    return ApiCall("POST", "/data/split/filter", json=body, parse=_nothing)


def split_candidates(dataset_id: int | str, target: str | None = None) -> ApiCall[int]:
    """``GET /data/split/totalDataCount``: how many root items a split by ratio would draw from."""
    kind = None if target is None else _choice(target, SPLIT_TARGETS, "target")
    params = _params(datasetId=parse_id(dataset_id, "dataset_id"), targetDataType=kind)
    return ApiCall("GET", "/data/split/totalDataCount", params=params, parse=_count)


def java_round(value: float) -> int:
    """``Math.round`` of Java (half up), which the server uses for split sizes."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def planned_split(candidates: int, *, total: int, training: int, validation: int) -> dict[str, int]:
    """The sizes DataInfoUseCase.splitByFilter will give each split of ``candidates`` root items:
    ``limit = round(candidates * total / 100)``; training and validation are rounded shares of it and
    test gets the rest."""
    limit = java_round(candidates * total / 100)
    train = java_round(limit * training / 100)
    valid = java_round(limit * validation / 100)
    return {"TRAINING": train, "VALIDATION": valid, "TEST": limit - train - valid}
