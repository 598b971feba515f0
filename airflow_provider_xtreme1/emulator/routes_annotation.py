"""Annotation endpoints: locks, saving objects, the data flow (valid/invalid/submit), splits, statistics.

Modelled on adapter/api/controller/DataInfoController.java (annotate, lock records, split, status
lookups), DataAnnotationController.java (``annotate/data/save``), DataFlowController.java and
DatasetController.java (``statistics/classObject``); the use cases are cited in :mod:`.annotation`.
Every caller is the token's user (``state.USER_ID``); other annotators exist only through the
simulation API (:mod:`.annotators`).
"""

from __future__ import annotations

from typing import Any

from . import annotation
from .api import Request, bad_sql, constraint_error, java_error, param_error
from .state import USER_ID

_ENUM_PKG = "ai.basic.x1.entity.enums"
ITEM_TYPES = ("SINGLE_DATA", "SCENE")
SPLIT_TYPES = ("TRAINING", "VALIDATION", "TEST", "NOT_SPLIT")
SPLIT_TYPE_MSG = "splitType must be one of TRAINING,VALIDATION,TEST,NOT_SPLIT"
# adapter/dto/request/DataInfoSplitFilterDTO.java: @ValidStringEnum fields and their messages.
FILTER_ENUMS = {
    "targetDataType": (("SPLIT", "NOT_SPLIT"), "targetDataType must be one of SPLIT,NOT_SPLIT"),
    "splittingBy": (("RANDOM", "ORDER"), "splittingBy must be one of RANDOM,ORDER"),
    "sortBy": (("NAME", "CREATE_TIME"), "sortBy must be one of NAME,CREATE_TIME"),
    "ascOrDesc": (("ASC", "DESC"), "ascOrDesc must be one of ASC,DESC"),
}
RATIOS = ("totalSizeRatio", "trainingRatio", "validationRatio", "testRatio")
NOT_READABLE = "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: "


def _long(value: Any, name: str) -> int:
    """A JSON value bound to ``Long``/``Integer`` by Jackson (numbers and numeric strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise java_error(f"{NOT_READABLE}Cannot deserialize value of type `java.lang.Long` ({name})")
    try:
        return int(float(value)) if isinstance(value, (float, str)) else value
    except ValueError:
        raise java_error(
            f'{NOT_READABLE}Cannot deserialize value of type `java.lang.Long` from String "{value}"'
        ) from None


def _long_list(body: dict[str, Any], name: str) -> list[int] | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list):  # ACCEPT_SINGLE_VALUE_AS_ARRAY is off in Spring Boot's mapper
        raise java_error(f"{NOT_READABLE}Cannot deserialize value of type `java.util.ArrayList<Long>`")
    return [_long(v, name) for v in raw]


def _enum(value: Any, enum: str, allowed: tuple[str, ...]) -> str | None:
    """A body field typed as a Java enum: an unknown name fails in Jackson (HTTP 500)."""
    if value is None:
        return None
    if value not in allowed:
        raise java_error(
            f"{NOT_READABLE}Cannot deserialize value of type `{_ENUM_PKG}.{enum}` from String "
            f'"{value}": not one of the values accepted for Enum class: [{", ".join(allowed)}]'
        )
    return value


# ------------------------------------------------------------------------------------------- locks


def annotate(emu, req: Request) -> int:
    """``POST /data/annotate`` (DataAnnotateDTO): lock data for the caller; answers the record id."""
    body = req.json_object()
    item_type = _enum(body.get("operateItemType"), "ItemTypeEnum", ITEM_TYPES)
    data_ids = _long_list(body, "dataIds")
    errors = []
    if body.get("datasetId") is None:
        errors.append("datasetId not allow null")
    if item_type is None:
        errors.append("operateItemType not allow null")
    if not data_ids:
        errors.append("dataIds not allow null")
    if errors:
        raise param_error(*errors)
    with emu._store.lock:
        return annotation.lock(
            emu._store,
            _long(body["datasetId"], "datasetId"),
            data_ids,
            USER_ID,
            item_type,
            bool(body.get("isFilterData")),
        )


def _dataset_param(req: Request, method: str, message: str = "datasetId cannot be null") -> int:
    dataset_id = req.opt_long_param("datasetId")
    if dataset_id is None:
        raise constraint_error(method, "datasetId", message)
    return dataset_id


def lock_record_of_caller(emu, req: Request) -> dict[str, Any] | None:
    """``GET /data/findLockRecordIdByDatasetId``: the caller's own record, or ``null``."""
    dataset_id = _dataset_param(req, "findLockRecordIdByDatasetId")
    with emu._store.lock:
        for rec in emu._store.lock_records.values():
            if rec["datasetId"] == dataset_id and rec["createdBy"] == USER_ID:
                return {
                    "recordId": rec["id"],
                    "lockedNum": annotation.locked_count(emu._store, rec["id"]),
                    "lockedBy": None,
                }
    return None


def lock_records(emu, req: Request) -> list[dict[str, Any]]:
    """``GET /data/findLockRecordByDatasetId``: every user's record with its nickname and count
    (``lockedNum`` is ``null`` for a record that holds no data: the grouped count has no row)."""
    dataset_id = _dataset_param(req, "findLockRecordByDatasetId")
    store = emu._store
    with store.lock:
        out = []
        for rec in sorted(store.lock_records.values(), key=lambda r: r["id"]):
            if rec["datasetId"] != dataset_id:
                continue
            count = annotation.locked_count(store, rec["id"])
            out.append(
                {
                    "recordId": rec["id"],
                    "lockedNum": count or None,
                    "lockedBy": store.users.get(rec["createdBy"]),
                }
            )
        return out


def own_record(emu, req: Request) -> dict[str, Any] | None:
    """``GET /data/findDataAnnotationRecord/{id}``: the caller's record with its locked rows
    (DataEditDTO, by id), ``null`` for another user's or an unknown record."""
    record_id = req.path_long("id")
    store = emu._store
    with store.lock:
        rec = store.lock_records.get(record_id)
        if rec is None or rec["createdBy"] != USER_ID:
            return None
        edits = sorted(
            (e for e in store.data_edits.values() if e["annotationRecordId"] == record_id),
            key=lambda e: e["id"],
        )
        datas = [
            {
                **{k: e[k] for k in ("id", "annotationRecordId", "sceneId", "dataId", "datasetId")},
                "modelId": None,
                "modelVersion": None,
            }
            for e in edits
        ]
    return {"datasetId": rec["datasetId"], "itemType": rec["itemType"], "serialNo": None, "datas": datas}


def unlock(emu, req: Request) -> None:
    record_id = req.path_long("id")
    with emu._store.lock:
        annotation.unlock_by_record(emu._store, record_id, USER_ID)


def unlock_records(emu, req: Request) -> None:
    """``POST /data/unLockByLockRecordIds`` (DataBatchUnlockDTO): anyone's records, no owner check."""
    body = req.json_object()
    ids = _long_list(body, "lockRecordIds")
    if ids is None:
        raise param_error("lockRecordIds lockRecordIds cannot be null")
    if not ids:
        raise bad_sql(")")  # data_edit ... annotation_record_id IN ()
    with emu._store.lock:
        for record_id in ids:
            annotation.drop_record(emu._store, record_id)


# ------------------------------------------------------------------------------- objects and flow


def save(emu, req: Request) -> list[dict[str, Any]]:
    """``POST /annotate/data/save`` (ObjectResultDTO): objects replace those of their data."""
    body = req.json_object()
    infos = body.get("dataInfos")
    if infos is not None and not (isinstance(infos, list) and all(isinstance(i, dict) for i in infos)):
        # Jackson fails before validation runs
        raise java_error(f"{NOT_READABLE}Cannot deserialize value of type `java.util.ArrayList`")
    errors = []
    if body.get("datasetId") is None:
        errors.append("datasetId must not be null")
    if not infos:
        errors.append("dataInfos must not be empty")
    else:
        errors += [
            f"dataInfos[{i}].dataId dataId cannot null"
            for i, info in enumerate(infos)
            if info.get("dataId") is None
        ]
    if errors:
        raise param_error(*errors)
    dataset_id = _long(body["datasetId"], "datasetId")
    parsed = []
    for info in infos:
        objects = info.get("objects")
        parsed.append(
            {
                "dataId": _long(info["dataId"], "dataId"),
                "objects": [
                    {
                        "id": _long(o["id"], "id") if o.get("id") is not None else None,
                        "frontId": o.get("frontId"),
                        "classId": _long(o["classId"], "classId") if o.get("classId") is not None else None,
                        "classAttributes": o.get("classAttributes"),
                    }
                    for o in objects or []
                ]
                if objects is not None
                else None,
            }
        )
    with emu._store.lock:
        annotation.check_lock(emu._store, USER_ID, {p["dataId"] for p in parsed})
        return annotation.save_objects(emu._store, dataset_id, parsed, USER_ID)


def mark_invalid(emu, req: Request) -> None:
    data_id = req.path_long("dataId")
    with emu._store.lock:
        annotation.change_status(emu._store, USER_ID, data_id, "INVALID")


def mark_valid(emu, req: Request) -> None:
    data_id = req.path_long("dataId")
    with emu._store.lock:
        annotation.change_status(emu._store, USER_ID, data_id, "VALID")


def submit(emu, req: Request) -> None:
    item_id = req.path_long("itemId")
    with emu._store.lock:
        annotation.submit(emu._store, USER_ID, item_id)


# ------------------------------------------------------------------------------------------- split


def split_by_ids(emu, req: Request) -> None:
    """``POST /data/split/dataIds`` (DataInfoSplitReqDTO)."""
    body = req.json_object()
    ids = _long_list(body, "dataIds")
    split_type = body.get("splitType")
    errors = []
    if not ids:
        errors.append("dataIds dataIds cannot be null")
    if split_type in (None, ""):
        errors.append("splitType splitType cannot be null")
    elif split_type not in SPLIT_TYPES:
        errors.append(f"splitType {SPLIT_TYPE_MSG}")
    if errors:
        raise param_error(*errors)
    with emu._store.lock:
        annotation.split_by_ids(emu._store, ids, split_type)


def split_by_filter(emu, req: Request) -> None:
    """``POST /data/split/filter`` (DataInfoSplitFilterDTO: every ratio 1..100, none may be 0)."""
    body = req.json_object()
    errors = []
    if body.get("datasetId") is None:
        errors.append("datasetId datasetId cannot be null")
    params: dict[str, Any] = {}
    for name in RATIOS:
        if body.get(name) is None:
            errors.append(f"{name} {name} cannot be null")
            continue
        params[name] = _long(body[name], name)
        if not 1 <= params[name] <= 100:
            errors.append(f"{name} {name} is error")
    for name, (allowed, message) in FILTER_ENUMS.items():
        value = body.get(name)
        if value not in (None, "") and value not in allowed:
            errors.append(f"{name} {message}")
        params[name] = value or None
    if body.get("splittingBy") in (None, ""):
        errors.append("splittingBy splittingBy cannot be null")
    if errors:
        raise param_error(*errors)
    params["datasetId"] = _long(body["datasetId"], "datasetId")
    with emu._store.lock:
        annotation.split_by_filter(emu._store, params)


def split_count(emu, req: Request) -> int:
    """``GET /data/split/totalDataCount?datasetId&targetDataType`` (a method-level enum parameter)."""
    target = req.param("targetDataType") or None
    if target is not None and target not in ("SPLIT", "NOT_SPLIT"):
        enum = f"{_ENUM_PKG}.SplitTargetDataTypeEnum"
        raise java_error(
            "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
            f"convert value of type 'java.lang.String' to required type '{enum}'; nested exception is "
            "org.springframework.core.convert.ConversionFailedException: Failed to convert from type "
            f"[java.lang.String] to type [@org.springframework.web.bind.annotation.RequestParam {enum}] "
            f"for value '{target}'; nested exception is java.lang.IllegalArgumentException: No enum "
            f"constant {enum}.{target}"
        )
    dataset_id = _dataset_param(req, "getSplitDataTotalCount")
    with emu._store.lock:
        return len(annotation.split_candidates(emu._store, dataset_id, target))


# -------------------------------------------------------------------------------------- statistics


def class_object(emu, req: Request) -> dict[str, Any]:
    dataset_id = req.path_long("datasetId")
    with emu._store.lock:
        return annotation.class_statistics(emu._store, dataset_id)


def data_status(emu, req: Request) -> list[dict[str, Any]]:
    """``GET /data/getDataStatusByIds`` (DataInfoStatusDTO; unknown and deleted ids left out)."""
    ids = req.long_list_param("dataIds")
    if not ids:
        raise constraint_error("getDataStatusByIds", "dataIds", "dataIds cannot be null")
    with emu._store.lock:
        return [
            {k: d[k] for k in ("id", "datasetId", "name", "status", "annotationStatus")}
            for d in sorted(emu._store.data.values(), key=lambda d: d["id"])
            if d["id"] in set(ids)
        ]


def status_statistics(emu, req: Request) -> dict[str, Any]:
    """``GET /data/getAnnotationStatusStatisticsByDatasetId``: counts of live SINGLE_DATA rows,
    ``objectCount`` always ``null`` (only ``dataset/{id}/statistics/dataStatus`` fills it)."""
    dataset_id = _dataset_param(req, "getAnnotationStatusStatisticsByDatasetId", "DatasetId cannot be null")
    with emu._store.lock:
        items = emu._store.single_data(dataset_id)
    statuses = ("ANNOTATED", "NOT_ANNOTATED", "INVALID")
    counts = {s: sum(d["annotationStatus"] == s for d in items) for s in statuses}
    return {
        "datasetId": dataset_id,
        "annotatedCount": counts["ANNOTATED"],
        "notAnnotatedCount": counts["NOT_ANNOTATED"],
        "invalidCount": counts["INVALID"],
        "objectCount": None,
        "itemCount": len(items),
    }


ROUTES = [
    ("POST", "/data/annotate", annotate),
    ("GET", "/data/findLockRecordIdByDatasetId", lock_record_of_caller),
    ("GET", "/data/findLockRecordByDatasetId", lock_records),
    ("GET", "/data/findDataAnnotationRecord/{id}", own_record),
    ("POST", "/data/unLock/{id}", unlock),
    ("POST", "/data/unLockByLockRecordIds", unlock_records),
    ("POST", "/annotate/data/save", save),
    ("POST", "/data/flow/markAsInvalid/{dataId}", mark_invalid),
    ("POST", "/data/flow/markAsValid/{dataId}", mark_valid),
    ("POST", "/data/flow/submit/{itemId}", submit),
    ("POST", "/data/split/dataIds", split_by_ids),
    ("POST", "/data/split/filter", split_by_filter),
    ("GET", "/data/split/totalDataCount", split_count),
    ("GET", "/dataset/{datasetId}/statistics/classObject", class_object),
    ("GET", "/data/getDataStatusByIds", data_status),
    ("GET", "/data/getAnnotationStatusStatisticsByDatasetId", status_statistics),
]
