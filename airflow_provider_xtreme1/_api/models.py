"""Builders of model, model-run and annotation requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from airflow_provider_xtreme1._api.parsers import _count, _nothing, _optional_record, _page, _records
from airflow_provider_xtreme1._arguments import (
    _as_list,
    _choice,
    _many,
    _page_number,
    _page_size,
    _params,
    parse_id,
)
from airflow_provider_xtreme1._calls import ApiCall
from airflow_provider_xtreme1.vocabulary import (
    ANNOTATION_STATUSES,
    MODEL_DATASET_TYPES,
    RUN_STATUSES,
    SPLIT_TYPES,
)

T = TypeVar("T")


def list_models(dataset_type: str | None = None) -> ApiCall[list[dict[str, Any]]]:
    kind = None if dataset_type is None else _choice(dataset_type, MODEL_DATASET_TYPES, "dataset_type")
    return ApiCall("GET", "/model/list", params=_params(datasetType=kind), parse=_records)


def get_model(model_id: int | str) -> ApiCall[dict[str, Any] | None]:
    return ApiCall("GET", f"/model/info/{parse_id(model_id, 'model_id')}", parse=_optional_record)


def _data_filter_param(
    data_count_ratio: int, exclude_model_data: bool, split_type: str | None, annotation_status: str | None
) -> dict[str, Any]:
    if (
        isinstance(data_count_ratio, bool)
        or not isinstance(data_count_ratio, int)
        or not 1 <= data_count_ratio <= 100
    ):
        raise ValueError(
            f"data_count_ratio must be a whole percentage from 1 to 100, got {data_count_ratio!r}"
        )
    param: dict[str, Any] = {
        "dataCountRatio": data_count_ratio,
        "isExcludeModelData": bool(exclude_model_data),
    }
    if split_type is not None:
        param["splitType"] = _choice(split_type, SPLIT_TYPES, "split_type")
    if annotation_status is not None:
        param["annotationStatus"] = _choice(annotation_status, ANNOTATION_STATUSES, "annotation_status")
    return param


def count_model_run_data(
    dataset_id: int | str,
    model_id: int | str,
    *,
    data_count_ratio: int = 100,
    exclude_model_data: bool = False,
    split_type: str | None = None,
    annotation_status: str | None = None,
) -> ApiCall[int]:
    f = _data_filter_param(data_count_ratio, exclude_model_data, split_type, annotation_status)
    params = _params(
        datasetId=parse_id(dataset_id, "dataset_id"),
        modelId=parse_id(model_id, "model_id"),
        isExcludeModelData=f["isExcludeModelData"],
        dataCountRatio=f["dataCountRatio"],
        splitType=f.get("splitType"),
        annotationStatus=f.get("annotationStatus"),
    )
    return ApiCall("GET", "/model/modelRun/dataCount", params=params, parse=_count)


def start_model_run(
    dataset_id: int | str,
    model_id: int | str,
    *,
    classes: Iterable[str],
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    data_count_ratio: int = 100,
    exclude_model_data: bool = False,
    split_type: str | None = None,
    annotation_status: str | None = None,
) -> ApiCall[None]:
    # Without classes the server's result handler fails and the run never ends, so they are required.
    codes = list(dict.fromkeys(str(c).strip() for c in _as_list(classes) if str(c).strip()))
    if not codes:
        raise ValueError("classes must name at least one model class code (e.g. ['CAR', 'PEDESTRIAN'])")
    result_filter: dict[str, Any] = {"classes": codes}
    for name, value in (("minConfidence", min_confidence), ("maxConfidence", max_confidence)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
            result_filter[name] = value
    if min_confidence is not None and max_confidence is not None and min_confidence > max_confidence:
        raise ValueError("min_confidence must not exceed max_confidence")
    body = {
        "datasetId": parse_id(dataset_id, "dataset_id"),
        "modelId": parse_id(model_id, "model_id"),
        "resultFilterParam": result_filter,
        "dataFilterParam": _data_filter_param(
            data_count_ratio, exclude_model_data, split_type, annotation_status
        ),
    }
    return ApiCall("POST", "/model/modelRun", json=body, idempotent=False, parse=_nothing)


def find_model_runs(
    model_id: int | str,
    *,
    dataset_ids: Iterable[int | str] | int | str | None = None,
    status: str | None = None,
    asc: bool = False,
    page_no: int = 1,
    page_size: int = 10,
) -> ApiCall[dict[str, Any]]:
    params = _params(
        modelId=parse_id(model_id, "model_id"),
        datasetIds=None if dataset_ids is None else _many(dataset_ids, "dataset_ids", parse_id),
        status=None if status is None else _choice(status, RUN_STATUSES, "status"),
        ascOrDesc="ASC" if asc else "DESC",
        pageNo=_page_number(page_no),
        pageSize=_page_size(page_size),
    )
    return ApiCall("GET", "/modelRun/findModelRunRecordByPage", params=params, parse=_page)


def get_model_runs_of_dataset(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    path = f"/modelRun/findModelRunRecordByDatasetId/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("GET", path, parse=_records)


def get_finished_model_runs(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    path = f"/modelRun/getDatasetModelRunResult/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("GET", path, parse=_records)


def get_raw_annotations(data_ids: Iterable[int | str] | int | str) -> ApiCall[list[dict[str, Any]]]:
    params = _params(dataIds=_many(data_ids, "data_ids", parse_id))
    return ApiCall("GET", "/annotate/data/listByDataIds", params=params, parse=_records)
