"""``/data/*``: presigned URLs, upload/import, data listing, export."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from .api import ApiError, Request, Response, constraint_error, java_error, npe, ok_text, param_error
from .exporter import create_export, select_data
from .jobs import create_upload
from .routes_dataset import enum_errors, page_slice
from .state import USER_ID
from .storage import INTERNAL_HOST
from .views import data_dto, export_dto, upload_dto

SOURCES = ("LOCAL", "URL")
RESULT_TYPES = ("GROUND_TRUTH", "MODEL_RUN")
FORMATS = ("XTREME1", "COCO")
# adapter/dto/DataInfoQueryDTO.java: @ValidStringEnum fields and their messages.
ENUMS = {
    "sortField": (
        ("NAME", "CREATED_AT", "DATA_CONFIDENCE"),
        "sort field must be one of NAME,CREATED_AT,DATA_CONFIDENCE",
    ),
    "ascOrDesc": (("ASC", "DESC"), "ascOrDesc must be one of ASC,DESC"),
    "annotationStatus": (
        ("ANNOTATED", "NOT_ANNOTATED", "INVALID"),
        "annotationStatus must be one of ANNOTATED, NOT_ANNOTATED, INVALID",
    ),
    "dataFormat": (FORMATS, "dataFormat must be one of XTREME1,COCO"),
    "splitType": (
        ("TRAINING", "VALIDATION", "TEST", "NOT_SPLIT"),
        "splitType must be one of TRAINING,VALIDATION,TEST,NOT_SPLIT",
    ),
}


def presigned_url(emu, req: Request) -> dict[str, str]:
    file_name = req.required_param("fileName")
    dataset_id = req.required_long("datasetId")
    key = f"{USER_ID}/{dataset_id}/{uuid.uuid4().hex}/{file_name}"
    put = emu._signer.presign("PUT", key, req.host, emu.presign_expiry, scheme=req.scheme)
    access = emu._signer.presign("GET", key, INTERNAL_HOST, emu.presign_expiry, prefix="")
    return {"presignedUrl": put, "accessUrl": access}


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https", "ftp", "file") and bool(parts.netloc)


def upload(emu, req: Request) -> Response:
    body = req.json_object()
    # adapter/dto/DataInfoUploadDTO.java
    errors = []
    if not body.get("fileUrl"):
        errors.append("fileUrl fileUrl is not null")
    elif not isinstance(body["fileUrl"], str) or not _valid_url(body["fileUrl"]):
        errors.append("fileUrl invalid url")
    if body.get("datasetId") is None:
        errors.append("datasetId datasetId cannot be null")
    if body.get("source") is None:
        errors.append("source source cannot be null")
    elif body["source"] not in (*SOURCES, ""):
        errors.append("source source must be one of LOCAL, URL")
    if body.get("resultType") not in (None, "", *RESULT_TYPES):
        errors.append("resultType resultType must be one of GROUND_TRUTH,MODEL_RUN")
    if body.get("dataFormat") not in (None, "", *FORMATS):
        errors.append("dataFormat dataFormat must be one of XTREME1,COCO")
    if errors:
        raise param_error(*errors)
    try:
        body["datasetId"] = int(body["datasetId"])
        body["modelId"] = int(body["modelId"]) if body.get("modelId") is not None else None
    except (TypeError, ValueError):
        raise java_error(
            "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse "
            "error: Cannot deserialize value of type `java.lang.Long`"
        ) from None
    stalls = [f for f in getattr(req, "stalls", []) if f.kind == "stall"]
    stall_at = (stalls[0].stall_at or "DOWNLOADING") if stalls else None
    return ok_text(create_upload(emu, body, stall_at))


def _serials(req: Request, method: str) -> list[str]:
    serials = req.list_param("serialNumbers")
    if not serials:
        raise constraint_error(method, "serialNumbers", "serialNumbers cannot be null")
    return serials


def upload_records(emu, req: Request) -> list[dict[str, Any]]:
    wanted = set(_serials(req, "findUploadRecordBySerialNumbers"))
    with emu._store.lock:
        recs = [upload_dto(r) for r in emu._store.uploads.values() if r["serialNumber"] in wanted]
    return sorted(recs, key=lambda r: r["id"])


def query_params(emu, req: Request) -> dict[str, Any]:
    """Bind a ``DataInfoQueryDTO`` from the query string (bind errors → PARAM_ERROR)."""
    errors = []
    params: dict[str, Any] = {"datasetId": req.opt_long("datasetId")}
    if params["datasetId"] is None:
        errors.append("datasetId datasetId cannot be null")
    errors += enum_errors(req, ENUMS)
    for name in ENUMS:
        if req.param(name) not in (None, ""):
            params[name] = req.param(name)
    if errors:
        raise param_error(*errors)
    params.update(
        ids=req.long_list("ids"),
        parentId=req.opt_long("parentId"),
        name=req.param("name"),
        createStartTime=req.param("createStartTime"),
        createEndTime=req.param("createEndTime"),
        selectModelRunIds=req.long_list("selectModelRunIds"),
    )
    return params


def unknown_column(column: str, clause: str) -> ApiError:
    return java_error(
        "org.springframework.jdbc.BadSqlGrammarException: \n### Error querying database.  Cause: "
        f"java.sql.SQLSyntaxErrorException: Unknown column '{column}' in '{clause}'"
    )


def find_by_page(emu, req: Request) -> dict[str, Any]:
    page_no, page_size = req.int_param("pageNo", 1), req.int_param("pageSize", 10)
    params = query_params(emu, req)
    # DataInfoMapper.xml selectDataPage: runRecordId selects mdr.data_confidence without joining mdr, and
    # sortField DATA_CONFIDENCE orders by a column data lacks. min/maxDataConfidence bind and filter nothing.
    if req.opt_long("runRecordId") is not None:
        raise unknown_column("mdr.data_confidence", "field list")
    if params.get("sortField") == "DATA_CONFIDENCE" and params.get("ascOrDesc"):
        raise unknown_column("d.DATA_CONFIDENCE", "order clause")
    with emu._store.lock:
        items = select_data(emu, params["datasetId"], params, expand_scenes=False)
    return {
        "pageNo": page_no,
        "pageSize": page_size,
        "total": len(items),
        "list": [
            data_dto(emu, d, req.host, req.scheme, dataset_name=True)
            for d in page_slice(items, page_no, page_size)
        ],
    }


def info(emu, req: Request) -> dict[str, Any]:
    item = emu._store.data.get(req.path_long("id"))
    if item is None:
        raise ApiError("NOT_FOUND", "Resource not found")
    return data_dto(emu, item, req.host, req.scheme)


def list_by_ids(emu, req: Request) -> list[dict[str, Any]]:
    # @NotEmpty @RequestParam(required = false) List<Long> dataIds (DataInfoController.java)
    ids = req.long_list_param("dataIds")
    if not ids:
        raise constraint_error("listByIds", "dataIds", "dataIds cannot be null")
    return [data_dto(emu, emu._store.data[i], req.host, req.scheme) for i in ids if i in emu._store.data]


def delete_batch(emu, req: Request) -> None:
    body = req.json_object()
    # adapter/dto/DataInfoDeleteDTO.java: @NotNull datasetId, @NotEmpty ids
    errors = []
    if body.get("datasetId") is None:
        errors.append("datasetId datasetId cannot be null")
    if not body.get("ids"):
        errors.append("ids ids cannot be null")
    if errors:
        raise param_error(*errors)
    ids = [int(i) for i in body["ids"]]
    with emu._store.lock:
        found = [
            i
            for i in ids
            if i in emu._store.data and emu._store.data[i]["datasetId"] == body.get("datasetId")
        ]
        if not found:
            raise ApiError("DATA_NOT_FOUND", "Data not found")
        # DataInfoUseCase.deleteBatch: a data_edit row for any id (or a frame of a scene among them)
        # refuses the whole batch.
        if any(
            d["id"] in emu._store.data_edits and (d["id"] in ids or d["parentId"] in ids)
            for d in emu._store.data.values()
        ):
            raise ApiError("DATASET_DATA_OTHERS_ANNOTATING", "Select data that others are annotating")
        for i in found:
            for frame in emu._store.frames_of(i):
                emu._store.data.pop(frame["id"], None)
            emu._store.data.pop(i, None)
        emu._store.objects = [o for o in emu._store.objects if o["dataId"] in emu._store.data]


def export(emu, req: Request) -> Response:
    params = query_params(emu, req)
    ds = emu._store.datasets.get(params["datasetId"])
    if ds is None or ds["deleted"]:
        raise npe()
    data_format = params.get("dataFormat") or "XTREME1"
    if ds["type"] != "IMAGE":
        data_format = "XTREME1"
    stall = any(f.kind == "stall" for f in getattr(req, "stalls", []))
    return ok_text(create_export(emu, ds, params, data_format, req.host, req.scheme, stall))


def export_records(emu, req: Request) -> list[dict[str, Any]]:
    wanted = set(_serials(req, "findExportRecordBySerialNumber"))
    with emu._store.lock:
        recs = [r for r in emu._store.exports.values() if r["serialNumber"] in wanted]
    return [export_dto(emu, r, req.host, req.scheme) for r in sorted(recs, key=lambda r: r["id"])]


ROUTES = [
    ("GET", "/data/generatePresignedUrl", presigned_url),
    ("POST", "/data/upload", upload),
    ("GET", "/data/findUploadRecordBySerialNumbers", upload_records),
    ("GET", "/data/findByPage", find_by_page),
    ("GET", "/data/info/{id}", info),
    ("GET", "/data/listByIds", list_by_ids),
    ("POST", "/data/deleteBatch", delete_batch),
    ("GET", "/data/export", export),
    ("GET", "/data/findExportRecordBySerialNumbers", export_records),
]
