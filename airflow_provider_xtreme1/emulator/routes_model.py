"""``/model/*``, ``/modelRun/*`` and ``/annotate/data/listByDataIds``."""

from __future__ import annotations

import copy
from typing import Any

from .api import ApiError, Request, bad_sql, constraint_error, java_error, npe, param_error
from .exporter import matching_run_data, run_model
from .models import model_fits
from .routes_dataset import enum_errors, page_of
from .views import run_dto

DATASET_TYPES = ("IMAGE", "LIDAR_FUSION", "LIDAR_BASIC", "LIDAR", "TEXT")
MODEL_DATASET_TYPES = ("LIDAR_FUSION", "LIDAR_BASIC", "IMAGE", "LIDAR")  # ModelDatasetTypeEnum.java
_ENUM_PKG = "ai.basic.x1.entity.enums"
# adapter/dto/request/ModelRunFilterDataDTO.java (Default group, as bound by modelRun/dataCount)
RUN_FILTER_ENUMS = {
    "splitType": (
        ("TRAINING", "VALIDATION", "TEST", "NOT_SPLIT"),
        "splitType must be one of TRAINING,VALIDATION,TEST,NOT_SPLIT",
    ),
    "annotationStatus": (
        ("ANNOTATED", "NOT_ANNOTATED", "INVALID"),
        "annotationStatus must be one of ANNOTATED, NOT_ANNOTATED, INVALID",
    ),
}
# adapter/dto/RunRecordQueryDTO.java (its status message really says "ascOrDesc")
RUN_QUERY_ENUMS = {
    "runRecordType": (("IMPORTED", "RUNS"), "runRecordType must be one of IMPORTED,RUNS"),
    "status": (
        ("STARTED", "RUNNING", "SUCCESS", "SUCCESS_WITH_ERROR", "FAILURE"),
        "ascOrDesc must be one of STARTED,RUNNING,SUCCESS,SUCCESS_WITH_ERROR,FAILURE",
    ),
    "ascOrDesc": (("ASC", "DESC"), "ascOrDesc must be one of ASC,DESC"),
}


def _bound_enum(req: Request, name: str, enum: str) -> str | None:
    """A DTO field typed as a Java enum: a bad name is a bind error (HTTP 200 PARAM_ERROR)."""
    raw = req.param(name)
    if raw in (None, ""):
        return None
    if raw not in MODEL_DATASET_TYPES:
        raise param_error(
            f"{name} Failed to convert property value of type 'java.lang.String' to required type "
            f"'{_ENUM_PKG}.{enum}' for property '{name}'; nested exception is "
            "org.springframework.core.convert.ConversionFailedException: Failed to convert from type "
            f"[java.lang.String] to type [{_ENUM_PKG}.{enum}] for value '{raw}'; nested exception is "
            f"java.lang.IllegalArgumentException: No enum constant {_ENUM_PKG}.{enum}.{raw}"
        )
    return raw


def _model(m: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(m)


def model_list(emu, req: Request) -> list[dict[str, Any]]:
    dtype = _bound_enum(req, "datasetType", "ModelDatasetTypeEnum")  # ModelDTO.datasetType
    wanted = {dtype} if dtype else None
    if dtype in ("LIDAR_FUSION", "LIDAR_BASIC"):
        wanted = {dtype, "LIDAR"}
    models = [m for m in emu._store.models.values() if wanted is None or m["datasetType"] in wanted]
    return [_model(m) for m in sorted(models, key=lambda m: m["name"])]


def model_page(emu, req: Request) -> dict[str, Any]:
    page_of([], req)  # pageNo / pageSize are resolved first: a bad number is HTTP 500 before the rest
    dtype = req.param("datasetType") or None  # a plain method parameter: a bad name is HTTP 500
    if dtype is not None and dtype not in MODEL_DATASET_TYPES:
        raise java_error(
            "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
            "convert value of type 'java.lang.String' to required type "
            f"'{_ENUM_PKG}.ModelDatasetTypeEnum'; nested exception is "
            "org.springframework.core.convert.ConversionFailedException: Failed to convert from type "
            f"[java.lang.String] to type [{_ENUM_PKG}.ModelDatasetTypeEnum] for value '{dtype}'; nested "
            f"exception is java.lang.IllegalArgumentException: No enum constant "
            f"{_ENUM_PKG}.ModelDatasetTypeEnum.{dtype}"
        )
    models = [
        _model(m)
        for m in sorted(emu._store.models.values(), key=lambda m: m["id"])
        if not dtype or m["datasetType"] == dtype
    ]
    return page_of(models, req)


def model_info(emu, req: Request) -> dict[str, Any] | None:
    m = emu._store.models.get(req.path_long("id"))
    return _model(m) if m else None


def _validate_result_filter(params: Any) -> None:
    if not isinstance(params, dict):
        raise ApiError("PARAM_ERROR", "classes:must not be empty;", 400)
    problems = []
    if not params.get("classes"):
        problems.append("classes:must not be empty;")
    for name in ("minConfidence", "maxConfidence"):
        value = params.get(name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(f"{name}:must be a number;")
            continue
        if number < 0:
            problems.append(f"{name}:must be greater than or equal to 0;")
        elif number > 1:
            problems.append(f"{name}:must be less than or equal to 1;")
    if problems:
        raise ApiError("PARAM_ERROR", "".join(problems), 400)


def model_run(emu, req: Request) -> None:
    body = req.json_object()
    errors = []
    if body.get("datasetId") is None:
        errors.append("datasetId must not be null")
    if body.get("modelId") is None:
        errors.append("modelId must not be null")
    data_filter = body.get("dataFilterParam")
    if isinstance(data_filter, dict):
        if data_filter.get("dataCountRatio") is None:
            errors.append("dataFilterParam.dataCountRatio must not be null")
        if data_filter.get("isExcludeModelData") is None:
            errors.append("dataFilterParam.isExcludeModelData must not be null")
    if errors:
        raise param_error(*errors)
    result_filter = body.get("resultFilterParam")
    if result_filter is not None:
        _validate_result_filter(result_filter)
    store = emu._store
    model = store.models.get(int(body["modelId"]))
    if model is None:
        raise npe()
    if not (model.get("url") or "").strip():
        raise ApiError("PARAM_ERROR", "Please first configure the model URL.")
    ds = store.live_dataset(int(body["datasetId"]))
    if ds is None:
        raise ApiError("DATASET__NOT_EXIST", "dataset not exist")
    if not model_fits(model["datasetType"], ds["type"]):
        raise ApiError("UNKNOWN", "model's dataset type is not match dataset type")
    if not isinstance(data_filter, dict):
        raise npe()
    with store.lock:
        data_ids = matching_run_data(emu, ds, model["id"], data_filter)
        if not data_ids:
            raise ApiError("DATASET_DATA_SCENARIO_NOT_FOUND", "No data has been found")
        run = store.create_run(model["id"], ds["id"], len(data_ids), result_filter, data_filter)
    stalls = [f for f in getattr(req, "stalls", []) if f.kind == "stall"]
    stall_at = (stalls[0].stall_at or "RUNNING") if stalls else None
    emu._submit("model", run_model, run["id"], data_ids, stall_at)
    return None


def data_count(emu, req: Request) -> int:
    # ModelController.findModelRunDataCount: the @Validated ModelRunFilterDataDTO binds first (bind
    # errors), then method validation of the optional datasetId / modelId (@NotNull) runs.
    errors = []
    ratio = req.opt_long("dataCountRatio")
    exclude = req.param("isExcludeModelData")
    if exclude in (None, ""):
        errors.append("isExcludeModelData not allow null")
    elif exclude.strip().lower() not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
        errors.append(
            "isExcludeModelData Failed to convert property value of type 'java.lang.String' to "
            "required type 'java.lang.Boolean' for property 'isExcludeModelData'"
        )
    errors += enum_errors(req, RUN_FILTER_ENUMS)
    if errors:
        raise param_error(*errors)
    dataset_id, model_id = req.opt_long_param("datasetId"), req.opt_long_param("modelId")
    if dataset_id is None:
        raise constraint_error("findModelRunDataCount", "datasetId", "datasetId cannot be null")
    if model_id is None:
        raise constraint_error("findModelRunDataCount", "modelId", "modelId cannot be null")
    ds = emu._store.live_dataset(dataset_id)
    if ds is None:
        return 0  # a COUNT over no rows
    data_filter = {
        "dataCountRatio": ratio,
        "isExcludeModelData": exclude.strip().lower() in ("true", "on", "yes", "1"),
        "splitType": req.param("splitType") or None,
        "annotationStatus": req.param("annotationStatus") or None,
    }
    return len(matching_run_data(emu, ds, model_id, data_filter))


def _live_runs(emu) -> list[dict[str, Any]]:
    return [
        r
        for r in emu._store.runs.values()
        if not r["isDeleted"] and emu._store.live_dataset(r["datasetId"]) is not None
    ]


def runs_page(emu, req: Request) -> dict[str, Any]:
    page_of([], req)  # pageNo / pageSize are resolved first: a bad number is HTTP 500 before the rest
    model_id = req.opt_long("modelId")
    errors = [] if model_id is not None else ["modelId not allow null"]
    errors += enum_errors(req, RUN_QUERY_ENUMS)  # status is one String, not a list
    if errors:
        raise param_error(*errors)
    dataset_ids = set(req.long_list("datasetIds"))
    run_no = req.param("runNo")
    status = {req.param("status")} - {None, ""}
    kind = req.param("runRecordType")
    with emu._store.lock:
        runs = [
            r
            for r in _live_runs(emu)
            if r["modelId"] == model_id
            and (not dataset_ids or r["datasetId"] in dataset_ids)
            and (not run_no or run_no in r["runNo"])
            and (not status or r["status"] in status)
            and (not kind or r["runRecordType"] == kind)
        ]
        runs.sort(key=lambda r: (r["created"], r["id"]), reverse=(req.param("ascOrDesc") or "DESC") != "ASC")
        page = page_of(runs, req)
        page["list"] = [run_dto(emu, r, dataset_name=True) for r in page["list"]]
    return page


def runs_of_dataset(emu, req: Request) -> list[dict[str, Any]]:
    dataset_id = req.path_long("id")
    with emu._store.lock:
        return [
            run_dto(emu, r)
            for r in emu._store.runs.values()
            if r["datasetId"] == dataset_id and not r["isDeleted"]
        ]


def all_runs(emu, req: Request) -> list[dict[str, Any]]:
    with emu._store.lock:
        return [run_dto(emu, r) for r in _live_runs(emu)]


def dataset_run_results(emu, req: Request) -> list[dict[str, Any]]:
    dataset_id = req.path_long("id")
    grouped: dict[int, dict[str, Any]] = {}
    with emu._store.lock:
        for r in sorted(emu._store.runs.values(), key=lambda r: r["id"]):
            if (
                r["datasetId"] != dataset_id
                or r["isDeleted"]
                or r["status"] not in ("SUCCESS", "SUCCESS_WITH_ERROR")
            ):
                continue
            model = emu._store.models.get(r["modelId"]) or {}
            entry = grouped.setdefault(
                r["modelId"], {"modelId": r["modelId"], "modelName": model.get("name"), "runRecords": []}
            )
            entry["runRecords"].append({"id": r["id"], "runNo": r["runNo"]})
    return list(grouped.values())


def delete_run(emu, req: Request) -> None:
    run = emu._store.runs.get(req.path_long("id"))
    if run is None:
        raise ApiError("DATASET__MODEL_RUN_RECORD_NOT_EXIST", "run record not exist")
    run["isDeleted"] = True


def list_by_data_ids(emu, req: Request) -> list[dict[str, Any]]:
    req.required_param("dataIds", "List")
    ids = req.long_list_param("dataIds") or []
    if not ids:
        raise bad_sql(")")  # DataAnnotationUseCase.findByDataIds: "data_id IN ()"
    out = []
    with emu._store.lock:
        grouped: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for o in emu._store.objects:  # one pass, not one per id: batches of 1,000 ids stay cheap
            if o["dataId"] in grouped:
                grouped[o["dataId"]].append(o)
        for data_id in ids:
            objects = [
                {
                    "id": o["id"],
                    "datasetId": o["datasetId"],
                    "dataId": o["dataId"],
                    "classId": o["classId"],
                    "classAttributes": copy.deepcopy(o["classAttributes"]),
                    "sourceType": o["sourceType"],
                    "sourceId": o["sourceId"],
                    "createdAt": o["createdAt"],
                    "createdBy": o["createdBy"],
                }
                for o in grouped[data_id]
            ]
            out.append({"dataId": data_id, "classificationValues": [], "objects": objects})
    return out


ROUTES = [
    ("GET", "/model/list", model_list),
    ("GET", "/model/page", model_page),
    ("GET", "/model/info/{id}", model_info),
    ("POST", "/model/modelRun", model_run),
    ("GET", "/model/modelRun/dataCount", data_count),
    ("GET", "/modelRun/findModelRunRecordByPage", runs_page),
    ("GET", "/modelRun/findModelRunRecordByDatasetId/{id}", runs_of_dataset),
    ("GET", "/modelRun/findAllModelRunRecord", all_runs),
    ("GET", "/modelRun/getDatasetModelRunResult/{id}", dataset_run_results),
    ("POST", "/modelRun/delete/{id}", delete_run),
    ("GET", "/annotate/data/listByDataIds", list_by_data_ids),
]
