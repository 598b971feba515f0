"""Simulated annotators: what they do shows up in every endpoint the real server would answer from."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from emulator_kit import Api, image_bytes, make_zip, pcd_bytes

from airflow_provider_xtreme1.emulator import Xtreme1Emulator
from airflow_provider_xtreme1.emulator.models import COCO_CLASSES


def _images(api: Api, count: int, name: str = "imgs") -> tuple[int, list[int], dict[str, int]]:
    ds = api.dataset("IMAGE", name)
    classes = api.create_classes(ds, "Car", "Person", tool="BOUNDING_BOX")
    files = {f"image_0/{i:02d}.png": image_bytes() for i in range(count)}
    api.import_ok(ds, make_zip(files))
    ids = [d["id"] for d in sorted(api.root_items(ds), key=lambda d: d["name"])]
    return ds, ids, classes


def _status(api: Api, ds: int) -> dict[str, Any]:
    return api.data(api.get(f"/dataset/{ds}/statistics/dataStatus"))


def _page_counts(api: Api, ds: int) -> dict[str, Any]:
    page = api.data(api.get("/dataset/findByPage", pageSize=100))
    row = next(d for d in page["list"] if d["id"] == ds)
    return {k: row[k] for k in ("annotatedCount", "notAnnotatedCount", "invalidCount", "itemCount")}


def _filtered(api: Api, ds: int, **params: Any) -> list[int]:
    page = api.data(api.get("/data/findByPage", datasetId=ds, pageSize=100, **params))
    return sorted(d["id"] for d in page["list"])


def _admin(emu: Xtreme1Emulator, method: str, action: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator/{action}", json=body, timeout=5)


def test_annotating_reaches_statistics_counts_filters_objects_and_class_units(emu, api):
    ds, ids, classes = _images(api, 4)
    emu.annotate(
        [ids[0]], objects=[{"className": "car"}, {"className": "PERSON", "points": [1, 2]}], user="alice"
    )
    emu.annotate([ids[1]], objects=[{"classId": classes["Car"]}], user="bob")

    assert _status(api, ds) == {
        "datasetId": ds,
        "annotatedCount": 2,
        "notAnnotatedCount": 2,
        "invalidCount": 0,
        "objectCount": 3,
        "itemCount": 4,
    }
    assert _page_counts(api, ds) == {
        "annotatedCount": 2,
        "notAnnotatedCount": 2,
        "invalidCount": 0,
        "itemCount": 4,
    }
    assert _filtered(api, ds, annotationStatus="ANNOTATED") == ids[:2]
    assert _filtered(api, ds, annotationStatus="NOT_ANNOTATED") == ids[2:]

    entries = api.data(api.get("/annotate/data/listByDataIds", dataIds=f"{ids[0]},{ids[3]}"))
    first = entries[0]["objects"]
    assert [o["classId"] for o in first] == [classes["Car"], classes["Person"]]
    assert {(o["sourceType"], o["sourceId"], o["datasetId"]) for o in first} == {("DATA_FLOW", -1, ds)}
    assert first[1]["classAttributes"]["points"] == [1, 2] and entries[1]["objects"] == []

    stats = api.data(api.get(f"/dataset/{ds}/statistics/classObject"))
    assert stats["toolTypeUnits"] == [{"objectAmount": 3, "toolType": "BOUNDING_BOX"}]
    assert [(u["name"], u["objectAmount"]) for u in stats["classUnits"]] == [("Person", 1), ("Car", 2)]
    # The simulated editor unlocks when it is done.
    assert api.data(api.get("/data/findLockRecordByDatasetId", datasetId=ds)) == []


def test_a_second_annotation_replaces_the_objects_of_the_item(emu, api):
    ds, ids, _ = _images(api, 1)
    emu.annotate(ids, objects=[{"className": "Car"}, {"className": "Car"}])
    emu.annotate(ids, objects=[{"className": "Person"}])
    objects = api.data(api.get("/annotate/data/listByDataIds", dataIds=ids[0]))[0]["objects"]
    assert [o["classAttributes"]["toolType"] for o in objects] == ["BOUNDING_BOX"]
    assert _status(api, ds)["objectCount"] == 1


def test_locks_are_visible_and_refuse_other_users(emu, api):
    ds, ids, _ = _images(api, 3)
    record = emu.lock([ids[1], ids[2]], user="bob")
    page = api.data(api.get("/data/findByPage", datasetId=ds))["list"]
    assert {d["id"]: d["lockedBy"] for d in page} == {ids[0]: None, ids[1]: "bob", ids[2]: "bob"}
    assert api.data(api.get("/data/info/" + str(ids[1])))["lockedBy"] is None  # info never fills it
    records = api.data(api.get("/data/findLockRecordByDatasetId", datasetId=ds))
    assert records == [{"recordId": record, "lockedNum": 2, "lockedBy": "bob"}]
    assert api.data(api.get("/data/findLockRecordIdByDatasetId", datasetId=ds)) is None

    # The token's user cannot take bob's data, nor release his record with unLock/{id}.
    taken = api.post(
        "/data/annotate", {"datasetId": ds, "operateItemType": "SINGLE_DATA", "dataIds": [ids[1]]}
    )
    assert taken.json()["code"] == "DATASET_DATA_EXIST_ANNOTATE"
    assert api.post(f"/data/unLock/{record}").json()["code"] == "DATASET_DATA_UNLOCK_ID_ERROR"
    # The batch unlock has no owner check.
    assert api.post("/data/unLockByLockRecordIds", {"lockRecordIds": [record]}).json()["code"] == "OK"
    assert api.data(api.get("/data/findLockRecordByDatasetId", datasetId=ds)) == []


def test_marking_invalid_and_valid_moves_the_counts(emu, api):
    ds, ids, _ = _images(api, 3)
    emu.mark_invalid([ids[0], ids[1]], user="carol")
    status = api.data(api.get("/data/getDataStatusByIds", dataIds=f"{ids[0]},{ids[2]}"))
    assert [(s["status"], s["annotationStatus"]) for s in status] == [
        ("INVALID", "INVALID"),
        ("VALID", "NOT_ANNOTATED"),
    ]
    assert _status(api, ds)["invalidCount"] == 2 and _page_counts(api, ds)["invalidCount"] == 2
    assert _filtered(api, ds, annotationStatus="INVALID") == ids[:2]
    emu.mark_valid([ids[1]], user="carol")
    assert _status(api, ds) | {"objectCount": None} == {
        "datasetId": ds,
        "annotatedCount": 1,
        "notAnnotatedCount": 1,
        "invalidCount": 1,
        "objectCount": None,
        "itemCount": 3,
    }
    # Without submit only the status changes (the annotation status waits for the submit).
    emu.mark_invalid([ids[2]], submit=False)
    assert (
        api.data(api.get("/data/getDataStatusByIds", dataIds=ids[2]))[0]["annotationStatus"]
        == "NOT_ANNOTATED"
    )


def test_the_caller_annotates_through_the_api_like_the_editor(api):
    ds, ids, classes = _images(api, 2)
    flow = f"/data/flow/markAsInvalid/{ids[0]}"
    assert api.post(flow).json()["code"] == "DATASET__DATA__DATA_HAS_BEEN_UNLOCKED"
    record = api.data(
        api.post("/data/annotate", {"datasetId": ds, "operateItemType": "SINGLE_DATA", "dataIds": ids})
    )
    mine = api.data(api.get("/data/findLockRecordIdByDatasetId", datasetId=ds))
    assert mine == {"recordId": record, "lockedNum": 2, "lockedBy": None}
    body = {
        "datasetId": ds,
        "dataInfos": [{"dataId": ids[0], "objects": [{"frontId": "f1", "classId": classes["Car"]}]}],
    }
    saved = api.data(api.post("/annotate/data/save", body))
    assert [(s["dataId"], s["frontId"]) for s in saved] == [(ids[0], "f1")]
    # Saving does not change the annotation status; submitting does.
    assert _status(api, ds)["annotatedCount"] == 0
    assert api.data(api.post(f"/data/flow/submit/{ids[0]}")) is None
    api.data(api.post(f"/data/flow/markAsInvalid/{ids[1]}"))
    api.data(api.post(f"/data/flow/submit/{ids[1]}"))
    assert {k: _status(api, ds)[k] for k in ("annotatedCount", "invalidCount", "objectCount")} == {
        "annotatedCount": 1,
        "invalidCount": 1,
        "objectCount": 1,
    }
    api.data(api.post(f"/data/unLock/{record}"))
    assert api.data(api.get("/data/findLockRecordIdByDatasetId", datasetId=ds)) is None


def test_split_by_filter_and_by_ids(api):
    ds, ids, _ = _images(api, 10)
    body = {
        "datasetId": ds,
        "totalSizeRatio": 100,
        "trainingRatio": 60,
        "validationRatio": 20,
        "testRatio": 20,
        "splittingBy": "ORDER",
        "sortBy": "NAME",
        "ascOrDesc": "DESC",
    }
    assert api.data(api.post("/data/split/filter", body)) is None
    assert _filtered(api, ds, splitType="TRAINING") == ids[4:]
    assert _filtered(api, ds, splitType="VALIDATION") == ids[2:4]
    assert _filtered(api, ds, splitType="TEST") == ids[:2]
    api.data(api.post("/data/split/dataIds", {"dataIds": ids[:3], "splitType": "NOT_SPLIT"}))
    assert api.data(api.get("/data/split/totalDataCount", datasetId=ds, targetDataType="NOT_SPLIT")) == 3
    assert api.data(api.get("/data/split/totalDataCount", datasetId=ds, targetDataType="SPLIT")) == 7
    # Half of the unsplit items; RANDOM takes them in id order (the use case's ORDER BY RAND() is
    # overwritten by its own LIMIT clause).
    half = {**body, "targetDataType": "NOT_SPLIT", "totalSizeRatio": 67, "splittingBy": "RANDOM"}
    api.data(api.post("/data/split/filter", half))
    assert _filtered(api, ds, splitType="NOT_SPLIT") == [ids[2]]
    # Shares above the chosen items fail before anything is written.
    before = _filtered(api, ds, splitType="TRAINING")
    bad = api.post("/data/split/filter", {**body, "trainingRatio": 90, "validationRatio": 90})
    assert bad.status_code == 500 and bad.json()["message"].startswith("java.lang.IndexOutOfBoundsException")
    assert _filtered(api, ds, splitType="TRAINING") == before


def test_scene_frames_split_and_lock_with_their_scene(emu, api):
    ds = api.dataset("LIDAR_FUSION", "scenes")
    files = {}
    for n in ("01", "02"):
        files[f"scene_01/lidar_point_cloud_0/{n}.pcd"] = pcd_bytes()
        files[f"scene_01/camera_image_0/{n}.png"] = image_bytes()
    api.import_ok(ds, make_zip(files))
    scene = api.root_items(ds)[0]
    frames = _filtered(api, ds, parentId=scene["id"])
    api.data(api.post("/data/split/dataIds", {"dataIds": [scene["id"]], "splitType": "VALIDATION"}))
    assert _filtered(api, ds, parentId=scene["id"], splitType="VALIDATION") == frames
    emu.lock([frames[0]], user="dave")
    records = api.data(api.get("/data/findLockRecordByDatasetId", datasetId=ds))
    assert records[0]["lockedNum"] == 2 and records[0]["lockedBy"] == "dave"
    emu.unlock(user="dave")
    emu.mark_invalid([frames[1]])
    scene_row = api.data(api.get("/data/getDataStatusByIds", dataIds=scene["id"]))[0]
    assert (scene_row["status"], scene_row["annotationStatus"]) == ("INVALID", "INVALID")
    # Frames are what the statistics count, scenes are not.
    assert _status(api, ds)["invalidCount"] == 1 and _status(api, ds)["itemCount"] == 2


def test_a_deleted_dataset_answers_zeros_not_an_error(emu, api):
    ds, ids, _ = _images(api, 2)
    emu.annotate(ids, objects=[{"className": "Car"}])
    api.data(api.post(f"/dataset/delete/{ds}"))
    assert _status(api, ds) == {
        "datasetId": ds,
        "annotatedCount": 0,
        "notAnnotatedCount": 0,
        "invalidCount": 0,
        "objectCount": 0,
        "itemCount": 0,
    }
    assert api.data(api.get(f"/dataset/{ds}/statistics/classObject")) == {
        "toolTypeUnits": [],
        "classUnits": [],
    }
    assert all(d["id"] != ds for d in api.data(api.get("/dataset/findByPage", pageSize=100))["list"])
    assert api.get(f"/dataset/info/{ds}").json()["code"] == "NOT_FOUND"


def test_admin_endpoints_drive_annotators_from_another_process(emu, api):
    ds, ids, _ = _images(api, 3)
    assert _admin(emu, "POST", "annotate", {"dataIds": [ids[0]], "objects": [{"className": "Car"}]}).ok
    assert _admin(emu, "POST", "mark-invalid", {"dataIds": [ids[1]], "user": "erin"}).ok
    locked = _admin(emu, "POST", "lock", {"dataIds": [ids[2]], "user": "erin"}).json()
    assert _admin(emu, "GET", "locks").json()[0] | {"id": 0} == {
        "id": 0,
        "annotationRecordId": locked["recordId"],
        "datasetId": ds,
        "sceneId": None,
        "dataId": ids[2],
        "createdBy": 3,  # the token's user is 1, the default "annotator" 2
        "user": "erin",
    }
    assert _status(api, ds)["annotatedCount"] == 1 and _status(api, ds)["invalidCount"] == 1
    conflict = _admin(emu, "POST", "annotate", {"dataIds": [ids[2]], "user": "frank"})
    assert conflict.status_code == 400 and "locked by erin" in conflict.json()["error"]
    assert _admin(emu, "POST", "unlock", {"user": "erin", "datasetId": ds}).json() == {"unlocked": 1}
    assert _admin(emu, "POST", "annotate", {"dataIds": [999999]}).status_code == 400
    assert _admin(emu, "POST", "run-metrics", {"runId": 424242, "metrics": []}).status_code == 400


def test_run_metrics_show_on_the_run_record(emu, api):
    ds, _, _ = _images(api, 2)
    body = {
        "datasetId": ds,
        "modelId": 2,
        "dataFilterParam": {"dataCountRatio": 100, "isExcludeModelData": False},
        "resultFilterParam": {"minConfidence": 0, "maxConfidence": 1, "classes": ["car"]},
    }
    api.data(api.post("/model/modelRun", body))
    run = api.data(api.get("/modelRun/findModelRunRecordByPage", modelId=2, datasetIds=ds))["list"][0]
    metrics = [{"name": "mAP", "value": 0.61, "description": "mean average precision"}]
    assert _admin(emu, "POST", "run-metrics", {"runId": run["id"], "metrics": metrics}).ok
    deadline = time.monotonic() + 10
    while (
        again := api.data(api.get("/modelRun/findModelRunRecordByPage", modelId=2, datasetIds=ds))["list"][0]
    )["status"] != "SUCCESS" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert again["metrics"] == {"metrics": metrics}


def test_model_results_count_as_unclassed_objects_until_a_human_save_replaces_them(emu, api):
    ds, ids, _ = _images(api, 1)
    body = {
        "datasetId": ds,
        "modelId": 2,
        "dataFilterParam": {"dataCountRatio": 100, "isExcludeModelData": False},
        "resultFilterParam": {
            "classes": [code for _, code in COCO_CLASSES],
            "minConfidence": 0,
            "maxConfidence": 1,
        },
    }
    api.data(api.post("/model/modelRun", body))
    deadline = time.monotonic() + 10
    while (
        api.data(api.get("/modelRun/findModelRunRecordByPage", modelId=2, datasetIds=ds))["list"][0]["status"]
        != "SUCCESS"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    predicted = _status(api, ds)["objectCount"]
    stats = api.data(api.get(f"/dataset/{ds}/statistics/classObject"))
    assert predicted >= 2 and stats["toolTypeUnits"] == []
    assert stats["classUnits"] == [
        {"toolType": None, "name": "No class", "color": "#dedede", "objectAmount": predicted}
    ]
    assert _status(api, ds)["annotatedCount"] == 0  # predictions do not annotate
    emu.annotate(ids, objects=[{"className": "Person"}])
    objects = api.data(api.get("/annotate/data/listByDataIds", dataIds=ids[0]))[0]["objects"]
    assert [o["sourceType"] for o in objects] == ["DATA_FLOW"]


def test_simulation_refuses_unknown_classes_and_reset_clears_locks(emu, api):
    ds, ids, _ = _images(api, 1)
    with pytest.raises(ValueError, match="no class named 'Bus'"):
        emu.annotate(ids, objects=[{"className": "Bus"}])
    assert api.data(api.get("/data/findLockRecordByDatasetId", datasetId=ds)) == []  # released on error
    emu.lock(ids, user="gina")
    emu.reset(state=True)
    assert api.data(api.get("/data/findLockRecordByDatasetId", datasetId=ds)) == []


def test_deleted_items_leave_the_counts(emu, api):
    ds, ids, _ = _images(api, 3)
    emu.annotate(ids[:2], objects=[{"className": "Car"}])
    api.data(api.post("/data/deleteBatch", {"datasetId": ds, "ids": [ids[0]]}))
    assert _status(api, ds) == {
        "datasetId": ds,
        "annotatedCount": 1,
        "notAnnotatedCount": 1,
        "invalidCount": 0,
        "objectCount": 1,
        "itemCount": 2,
    }
    assert _page_counts(api, ds) == {
        "annotatedCount": 1,
        "notAnnotatedCount": 1,
        "invalidCount": 0,
        "itemCount": 2,
    }
    stats = api.data(api.get(f"/dataset/{ds}/statistics/classObject"))
    assert stats["toolTypeUnits"] == [{"objectAmount": 1, "toolType": "BOUNDING_BOX"}]
    assert api.data(api.get("/data/getDataStatusByIds", dataIds=",".join(map(str, ids)))) == [
        {"id": i, "datasetId": ds, "name": n, "status": "VALID", "annotationStatus": a}
        for i, n, a in ((ids[1], "01", "ANNOTATED"), (ids[2], "02", "NOT_ANNOTATED"))
    ]
