"""Annotation state changes shared by the HTTP routes and the annotator simulation.

Locks are ``data_annotation_record`` rows (one per dataset and user, ``uk_dataset_id_created_by``) and
``data_edit`` rows (one per locked data id, ``uk_data_id``) as usecase/DataInfoUseCase.java
(annotateCommon, batchInsertDataEdit), DataEditUseCase.java (checkLock) and
DataAnnotationRecordUseCase.java write them. Saving objects follows DataAnnotationObjectUseCase.java;
the status flow follows DataFlowUseCase.java. All functions expect ``store.lock`` to be held.
"""

from __future__ import annotations

from typing import Any

from ..collation import collation_key
from .api import ApiError, java_error
from .state import Store, iso

UNLOCKED = ("DATASET__DATA__DATA_HAS_BEEN_UNLOCKED", "The data has been unlocked")
EXIST_ANNOTATE = ("DATASET_DATA_EXIST_ANNOTATE", "The selected data has been annotated by others")
OTHER_TYPE = ("DATASET_DATA_EXIST_OTHER_TYPE_ANNOTATE", "Other types of annotations exist")
UNLOCK_ID_ERROR = ("DATASET_DATA_UNLOCK_ID_ERROR", "Please pass in the correct unlock id")
HUMAN_SOURCE = "DATA_FLOW"  # DataAnnotationObjectSourceTypeEnum for objects saved by annotate/data/save
GROUND_TRUTH_SOURCE_ID = -1


def user_id(store: Store, nickname: str) -> int:
    """The id of the user with this nickname (created on first use)."""
    for uid, name in store.users.items():
        if name == nickname:
            return uid
    uid = store.next_id("user")
    store.users[uid] = nickname
    return uid


def lock(
    store: Store,
    dataset_id: int,
    data_ids: list[int],
    uid: int,
    item_type: str = "SINGLE_DATA",
    is_filter: bool = False,
) -> int:
    """``POST /data/annotate``: one record per (dataset, user), then ``INSERT IGNORE`` of data_edit rows."""
    record = next(
        (r for r in store.lock_records.values() if r["datasetId"] == dataset_id and r["createdBy"] == uid),
        None,
    )
    fresh = record is None
    if record is None:
        rid = store.next_id("lock")
        record = {
            "id": rid,
            "datasetId": dataset_id,
            "itemType": item_type,
            "createdBy": uid,
            "createdAt": iso(),
        }
        store.lock_records[rid] = record
    else:
        if record["itemType"] != item_type:
            raise ApiError(*OTHER_TYPE)
        mine = [e for e in store.data_edits.values() if e["annotationRecordId"] == record["id"]]
        held = [e["sceneId"] if item_type == "SCENE" else e["dataId"] for e in mine]
        if held and data_ids[0] in held and is_filter:
            return record["id"]
    rows = [(i, None) for i in data_ids]
    if item_type == "SCENE":
        rows = [(d["id"], d["parentId"]) for d in _frames(store, dataset_id, data_ids)]
    inserted = 0
    for data_id, scene_id in rows:
        if data_id in store.data_edits:  # uk_data_id: INSERT IGNORE skips data someone holds
            continue
        store.data_edits[data_id] = {
            "id": store.next_id("edit"),
            "annotationRecordId": record["id"],
            "datasetId": dataset_id,
            "sceneId": scene_id,
            "dataId": data_id,
            "createdBy": uid,
        }
        inserted += 1
    if inserted == 0 and (is_filter or fresh):
        # The @Transactional method rolls back the new record too.
        if fresh:
            store.lock_records.pop(record["id"], None)
        raise ApiError(*EXIST_ANNOTATE)
    return record["id"]


def _frames(store: Store, dataset_id: int, scene_ids: list[int]) -> list[dict[str, Any]]:
    wanted = set(scene_ids)
    return sorted(
        (d for d in store.data.values() if d["datasetId"] == dataset_id and d["parentId"] in wanted),
        key=lambda d: d["id"],
    )


def drop_record(store: Store, record_id: int) -> None:
    store.lock_records.pop(record_id, None)
    for data_id in [k for k, e in store.data_edits.items() if e["annotationRecordId"] == record_id]:
        del store.data_edits[data_id]


def unlock_by_record(store: Store, record_id: int, uid: int) -> None:
    """``POST /data/unLock/{id}``: unknown ids pass silently; another user's record is refused."""
    record = store.lock_records.get(record_id)
    if record is None:
        return
    if record["createdBy"] != uid:
        raise ApiError(*UNLOCK_ID_ERROR)
    drop_record(store, record_id)


def locked_count(store: Store, record_id: int) -> int:
    return sum(1 for e in store.data_edits.values() if e["annotationRecordId"] == record_id)


def locked_by(store: Store, data_id: int) -> str | None:
    """The nickname of whoever holds ``data_id`` (DataInfoUseCase.findByPage sets ``lockedBy``)."""
    edit = store.data_edits.get(data_id)
    return store.users.get(edit["createdBy"]) if edit else None


def check_lock(store: Store, uid: int, data_ids: set[int]) -> dict[str, Any]:
    """DataEditUseCase.checkLock: every id must be locked by ``uid`` (as data or as scene); returns
    the user's first data_edit row (the callers read its ``sceneId``, right or not)."""
    edits = sorted((e for e in store.data_edits.values() if e["createdBy"] == uid), key=lambda e: e["id"])
    if not edits:
        raise ApiError(*UNLOCKED)
    data = {e["dataId"] for e in edits}
    scenes = {e["sceneId"] for e in edits if e["sceneId"] is not None}
    if not data_ids <= data and not data_ids <= scenes:
        raise ApiError(*UNLOCKED)
    return edits[0]


def save_objects(
    store: Store, dataset_id: int, data_infos: list[dict[str, Any]], uid: int
) -> list[dict[str, Any]]:
    """``POST /annotate/data/save`` after checkLock: the objects sent replace every object of their
    data (model results included); new ones get ``sourceType=DATA_FLOW``, ``sourceId=-1``; a data
    entry without objects loses all of its objects. Returns ``[{id, dataId, frontId}]`` of inserts."""
    emptied = {info["dataId"] for info in data_infos if not info.get("objects")}
    store.objects = [o for o in store.objects if o["dataId"] not in emptied]
    incoming = [(info["dataId"], obj) for info in data_infos for obj in info.get("objects") or []]
    touched = {data_id for data_id, _ in incoming}
    old = {o["id"]: o for o in store.objects if o["dataId"] in touched}
    kept: set[int] = set()
    inserted = []
    updates: dict[int, dict[str, Any]] = {}
    for data_id, obj in incoming:
        oid = obj.get("id")
        if oid is not None and oid in old:
            kept.add(oid)
            updates[oid] = {
                "dataId": data_id,
                "classId": obj.get("classId"),
                "classAttributes": obj.get("classAttributes"),
            }
        elif oid is None:
            row = {
                "id": store.next_id("file"),
                "datasetId": dataset_id,
                "dataId": data_id,
                "classId": obj.get("classId"),
                "classAttributes": obj.get("classAttributes"),
                "sourceType": HUMAN_SOURCE,
                "sourceId": GROUND_TRUTH_SOURCE_ID,
                "createdAt": iso(),
                "createdBy": uid,
            }
            store.objects.append(row)
            inserted.append({"id": row["id"], "dataId": data_id, "frontId": obj.get("frontId")})
        # an id that is not stored (any more) is dropped without a word
    gone = set(old) - kept
    store.objects = [o for o in store.objects if o["id"] not in gone]
    for o in store.objects:
        if o["id"] in updates:
            o.update(updates[o["id"]])
    return inserted


def _set(store: Store, data_id: int | None, **fields: Any) -> None:
    item = store.data.get(data_id) if data_id is not None else None
    if item is not None:
        item.update(fields)


def change_status(store: Store, uid: int, data_id: int, status: str) -> None:
    """``POST /data/flow/markAsInvalid|markAsValid/{dataId}`` (DataFlowUseCase.changeDataStatus).

    Only ``status`` changes; ``annotationStatus`` follows on submit. An invalid frame makes its scene
    invalid; marking it valid again never restores the scene, because the use case counts every
    data row of the server (``dataInfoDAO.count()`` without its wrapper) instead of the scene's."""
    edit = check_lock(store, uid, {data_id})
    _set(store, data_id, status=status)
    if edit["sceneId"] is not None and (status == "INVALID" or not store.data):
        _set(store, edit["sceneId"], status=status)


def submit(store: Store, uid: int, item_id: int) -> None:
    """``POST /data/flow/submit/{itemId}`` (DataFlowUseCase.submit): a VALID item becomes ANNOTATED,
    an INVALID one gets annotationStatus INVALID; a scene follows its frames."""
    edit = check_lock(store, uid, {item_id})
    item = store.data.get(item_id)
    if item is None:
        raise java_error("java.util.NoSuchElementException: No value present")
    item["annotationStatus"] = "ANNOTATED" if item["status"] == "VALID" else "INVALID"
    scene_id = edit["sceneId"]
    if scene_id is None:
        return
    frames = [
        d for d in store.data.values() if d["datasetId"] == edit["datasetId"] and d["parentId"] == scene_id
    ]
    if not any(d["status"] == "INVALID" for d in frames):
        _set(store, scene_id, status="VALID", annotationStatus="ANNOTATED")
        for d in frames:
            d["annotationStatus"] = "ANNOTATED"
    else:
        _set(store, scene_id, status="INVALID", annotationStatus="INVALID")
        for d in frames:
            d["annotationStatus"] = "ANNOTATED" if d["status"] == "VALID" else "INVALID"


# -------------------------------------------------------------------------------------------- split


def split_by_ids(store: Store, data_ids: list[int], split_type: str) -> None:
    """DataInfoUseCase.splitByDataIds: the ids and their frames, any dataset, unknown ids ignored."""
    wanted = set(data_ids)
    for d in store.data.values():
        if d["id"] in wanted or d["parentId"] in wanted:
            d["splitType"] = split_type


def split_candidates(store: Store, dataset_id: int, target: str | None) -> list[dict[str, Any]]:
    """DataInfoUseCase.getCommonSplitWrapper: root items (single data and scenes) of the dataset;
    ``SPLIT`` keeps split ones, ``NOT_SPLIT`` unsplit ones, none keeps all. Primary-key order."""
    items = [d for d in store.data.values() if d["datasetId"] == dataset_id and d["parentId"] == 0]
    if target == "SPLIT":
        items = [d for d in items if d["splitType"] != "NOT_SPLIT"]
    elif target == "NOT_SPLIT":
        items = [d for d in items if d["splitType"] == "NOT_SPLIT"]
    return sorted(items, key=lambda d: d["id"])


def _java_round(value: float) -> int:
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def split_by_filter(store: Store, p: dict[str, Any]) -> None:
    """DataInfoUseCase.splitByFilter.

    ``limit = round(count * totalSizeRatio / 100)`` items are taken; training and validation sizes
    are rounded shares of ``limit`` and test gets the rest (``testRatio`` is only validated). For
    RANDOM the use case's ``last(" ORDER BY RAND()")`` is replaced by its later ``last(" limit n")``
    (MyBatis-Plus keeps one ``last``), so RANDOM takes rows in primary-key order like an unsorted
    ORDER. Shares above ``limit`` make ``subList`` throw before anything is written."""
    items = split_candidates(store, p["datasetId"], p.get("targetDataType"))
    limit = _java_round(len(items) * p["totalSizeRatio"] / 100)
    if limit == 0:
        return
    if p["splittingBy"] == "ORDER" and p.get("sortBy"):
        desc = p.get("ascOrDesc") == "DESC"
        if p["sortBy"] == "NAME":
            items.sort(key=lambda d: collation_key(d["name"]), reverse=desc)
        else:
            items.sort(key=lambda d: int(d["created"]), reverse=desc)
    chosen = [d["id"] for d in items[:limit]]
    training = _java_round(limit * p["trainingRatio"] / 100)
    validation = _java_round(limit * p["validationRatio"] / 100) + training
    for start, end in ((0, training), (training, validation), (validation, limit)):
        if end > len(chosen):
            raise java_error(f"java.lang.IndexOutOfBoundsException: toIndex = {end}")
        if start > end:
            raise java_error(f"java.lang.IllegalArgumentException: fromIndex({start}) > toIndex({end})")
    parts = (("TRAINING", 0, training), ("VALIDATION", training, validation), ("TEST", validation, limit))
    for split_type, start, end in parts:
        if end > start:
            split_by_ids(store, chosen[start:end], split_type)


# --------------------------------------------------------------------------------------- statistics

TOOL_ORDER = ("POLYGON", "BOUNDING_BOX", "POLYLINE", "KEY_POINT", "SEGMENTATION", "CUBOID")


def class_statistics(store: Store, dataset_id: int) -> dict[str, Any]:
    """``GET /dataset/{id}/statistics/classObject`` (DatasetClassMapper.xml statisticsObjectByClass /
    statisticsObjectByToolType, DatasetClassUseCase.statisticObjectByClass): every object of the
    dataset's live data, model results included; a class id that is no dataset class reads
    ``"No class"`` / ``#dedede`` / no tool type and is left out of the tool-type units."""
    live = {d["id"] for d in store.data.values() if d["datasetId"] == dataset_id}
    by_class: dict[Any, int] = {}
    for o in store.objects:
        if o["dataId"] in live:
            by_class[o["classId"]] = by_class.get(o["classId"], 0) + 1
    class_units = []
    by_tool: dict[str, int] = {}
    for class_id, amount in sorted(by_class.items(), key=lambda kv: kv[1]):  # ORDER BY objectAmount
        cls = store.classes.get(class_id) if class_id is not None else None
        class_units.append(
            {
                "toolType": cls["toolType"] if cls else None,
                "name": cls["name"] if cls else "No class",
                "color": cls["color"] if cls else "#dedede",
                "objectAmount": amount,
            }
        )
        if cls:
            by_tool[cls["toolType"]] = by_tool.get(cls["toolType"], 0) + amount
    # MySQL 5.7 GROUP BY sorts by the group key: the enum's declared order.
    tool_units = [{"objectAmount": by_tool[t], "toolType": t} for t in TOOL_ORDER if t in by_tool]
    return {"toolTypeUnits": tool_units, "classUnits": class_units}
