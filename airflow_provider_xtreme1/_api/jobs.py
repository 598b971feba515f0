"""Builders of import and export requests, and of the job-record lookups the operators poll."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from typing import Any, TypeVar

from airflow_provider_xtreme1._api.models import get_model_runs_of_dataset
from airflow_provider_xtreme1._api.parsers import _page, _presigned, _records, _serial_number
from airflow_provider_xtreme1._arguments import (
    _as_list,
    _choice,
    _data_filters,
    _many,
    _page_number,
    _page_size,
    _params,
    _serial,
    parse_id,
)
from airflow_provider_xtreme1._calls import ApiCall
from airflow_provider_xtreme1.archives import SAFE_NAME_RE
from airflow_provider_xtreme1.statuses import JobKind, job_id
from airflow_provider_xtreme1.vocabulary import DATA_FORMATS, IMPORT_SOURCES, RESULT_TYPES

T = TypeVar("T")


def get_presigned_upload_url(dataset_id: int | str, file_name: str) -> ApiCall[dict[str, Any]]:
    # The server URL-decodes the object URL before downloading it, so '%', '+' or spaces break imports.
    if not isinstance(file_name, str) or not SAFE_NAME_RE.fullmatch(file_name):
        raise ValueError(
            "file_name must be a plain file name of letters, digits, '.', '_' and '-' "
            f"(e.g. 'batch-01.zip'), got {file_name!r}"
        )
    params = _params(fileName=file_name, datasetId=parse_id(dataset_id, "dataset_id"))
    return ApiCall("GET", "/data/generatePresignedUrl", params=params, parse=_presigned)


def start_import(
    dataset_id: int | str,
    file_url: str,
    *,
    source: str = "LOCAL",
    result_type: str | None = None,
    model_id: int | str | None = None,
    data_format: str | None = None,
) -> ApiCall[str]:
    if not file_url:
        raise ValueError("file_url must not be empty")
    body: dict[str, Any] = {
        "fileUrl": file_url,
        "datasetId": parse_id(dataset_id, "dataset_id"),
        "source": _choice(source, IMPORT_SOURCES, "source"),
    }
    if result_type is not None:
        body["resultType"] = _choice(result_type, RESULT_TYPES, "result_type")
    if body.get("resultType") == "MODEL_RUN" and model_id is None:
        # Without a model the server's worker fails after the download and the import never finishes.
        raise ValueError("result_type='MODEL_RUN' needs model_id")
    if model_id is not None:
        body["modelId"] = parse_id(model_id, "model_id")
    if data_format is not None:
        body["dataFormat"] = _choice(data_format, DATA_FORMATS, "data_format")
    return ApiCall("POST", "/data/upload", json=body, idempotent=False, parse=_serial_number)


def get_upload_records(serial_numbers: Iterable[str] | str) -> ApiCall[list[dict[str, Any]]]:
    params = {"serialNumbers": ",".join(_many(serial_numbers, "serial_numbers", _serial))}
    return ApiCall("GET", "/data/findUploadRecordBySerialNumbers", params=params, parse=_records)


def find_data(
    dataset_id: int | str, *, page_no: int = 1, page_size: int = 10, **filters: Any
) -> ApiCall[dict[str, Any]]:
    params = {
        **_data_filters(filters),
        **_params(
            datasetId=parse_id(dataset_id, "dataset_id"),
            pageNo=_page_number(page_no),
            pageSize=_page_size(page_size),
        ),
    }
    return ApiCall("GET", "/data/findByPage", params=params, parse=_page)


def start_export(
    dataset_id: int | str,
    *,
    select_model_run_ids: Iterable[int | str] = (-1,),
    data_format: str = "XTREME1",
    **filters: Any,
) -> ApiCall[str]:
    run_ids = [parse_id(v, "select_model_run_ids") for v in _as_list(select_model_run_ids)]
    if not run_ids:
        warnings.warn(
            "select_model_run_ids is empty: the export will contain data but no annotations "
            "(-1 selects ground truth, other values model run ids).",
            UserWarning,
            stacklevel=3,
        )
    params = {
        **_data_filters(filters),
        **_params(
            datasetId=parse_id(dataset_id, "dataset_id"),
            selectModelRunIds=run_ids or None,
            dataFormat=_choice(data_format, DATA_FORMATS, "data_format"),
        ),
    }
    # A GET that starts a job: repeating it would start a second export.
    return ApiCall("GET", "/data/export", params=params, idempotent=False, parse=_serial_number)


def get_export_records(serial_numbers: Iterable[str] | str) -> ApiCall[list[dict[str, Any]]]:
    params = {"serialNumbers": ",".join(_many(serial_numbers, "serial_numbers", _serial))}
    return ApiCall("GET", "/data/findExportRecordBySerialNumbers", params=params, parse=_records)


def get_job_records(
    kind: JobKind | str, ids: Iterable[str | int] | str | int, *, dataset_id: int | str | None = None
) -> ApiCall[dict[str, dict[str, Any]]]:
    """One request returning the records of several jobs of one kind, keyed by ``statuses.job_id``.

    Imports and exports are looked up by serial number; model runs by run id among the runs of
    ``dataset_id`` (required for them). Ids the server does not know are simply absent.
    """
    kind = JobKind(kind)
    wanted = _many(ids, "ids", _serial)
    if kind is JobKind.IMPORT:
        base = get_upload_records(wanted)
    elif kind is JobKind.EXPORT:
        base = get_export_records(wanted)
    else:
        if dataset_id is None:
            raise ValueError("dataset_id is required to look up model runs")
        base = get_model_runs_of_dataset(dataset_id)
    wanted_set = set(wanted)

    def parse(data: Any) -> dict[str, dict[str, Any]]:
        found = {job_id(kind, record): record for record in base.parse(data)}
        return {key: record for key, record in found.items() if key in wanted_set}

    return dataclasses.replace(base, parse=parse)
