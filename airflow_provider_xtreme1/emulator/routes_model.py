"""``/model/*``, ``/modelRun/*`` and ``/annotate/data/listByDataIds``."""

from __future__ import annotations

import copy
from typing import Any

from .api import ApiError, Request, npe, param_error
from .exporter import matching_run_data, run_model
from .models import model_fits
from .routes_dataset import page_of
from .views import run_dto

DATASET_TYPES = ("IMAGE", "LIDAR_FUSION", "LIDAR_BASIC", "LIDAR", "TEXT")


def _model(m: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(m)


def model_list(emu, req: Request) -> list[dict[str, Any]]:
    dtype = req.param("datasetType")
    wanted = {dtype} if dtype else None
    if dtype in ("LIDAR_FUSION", "LIDAR_BASIC"):
        wanted = {dtype, "LIDAR"}
    models = [m for m in emu._store.models.values() if wanted is None or m["datasetType"] in wanted]
    return [_model(m) for m in sorted(models, key=lambda m: m["name"])]


def model_page(emu, req: Request) -> dict[str, Any]:
    dtype = req.param("datasetType")
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
    dataset_id = req.required_long("datasetId")
    model_id = req.required_long("modelId")
    ds = emu._store.live_dataset(dataset_id)
    if ds is None:
        raise ApiError("DATASET__NOT_EXIST", "dataset not exist")
    data_filter = {
        "dataCountRatio": req.opt_long("dataCountRatio"),
        "isExcludeModelData": (req.param("isExcludeModelData") or "").lower() == "true",
        "splitType": req.param("splitType"),
        "annotationStatus": req.param("annotationStatus"),
    }
    return len(matching_run_data(emu, ds, model_id, data_filter))


def _live_runs(emu) -> list[dict[str, Any]]:
    return [
        r
        for r in emu._store.runs.values()
        if not r["isDeleted"] and emu._store.live_dataset(r["datasetId"]) is not None
    ]


def runs_page(emu, req: Request) -> dict[str, Any]:
    model_id = req.opt_long("modelId")
    if model_id is None:
        raise param_error("modelId must not be null")
    dataset_ids = set(req.long_list("datasetIds"))
    run_no = req.param("runNo")
    status = set(req.list_param("status"))
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
    out = []
    wanted = req.long_list("dataIds")
    with emu._store.lock:
        grouped: dict[int, list[dict[str, Any]]] = {i: [] for i in wanted}
        for o in emu._store.objects:  # one pass, not one per id: batches of 1,000 ids stay cheap
            if o["dataId"] in grouped:
                grouped[o["dataId"]].append(o)
        for data_id in wanted:
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
