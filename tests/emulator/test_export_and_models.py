"""Export records and zips; dataset-level model runs."""

from __future__ import annotations

import io
import json
import time
import zipfile

import requests
from emulator_kit import image_bytes, make_zip, pcd_bytes

BOX = {
    "center3D": {"x": 1, "y": 2, "z": 0},
    "size3D": {"x": 4, "y": 2, "z": 1.5},
    "rotation3D": {"x": 0, "y": 0, "z": 0.3},
}


def _lidar_dataset(api, name="lidar") -> int:
    ds = api.dataset("LIDAR_FUSION", name)
    truck = api.create_classes(ds, "Car", "Truck")["Truck"]
    files = {}
    for prefix in ("", "scene_01/"):
        for n in ("01", "02"):
            files[f"{prefix}lidar_point_cloud_0/{n}.pcd"] = pcd_bytes()
            files[f"{prefix}camera_image_0/{n}.png"] = image_bytes()
    files["result/01.json"] = json.dumps({"objects": [{"type": "3D_BOX", "classId": truck, "contour": BOX}]})
    assert api.import_ok(ds, make_zip(files), resultType="GROUND_TRUTH")["status"] == "PARSE_COMPLETED"
    return ds


def _zip(api, rec) -> zipfile.ZipFile:
    resp = requests.get(rec["filePath"], timeout=5)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/octet-stream"
    return zipfile.ZipFile(io.BytesIO(resp.content))


def _zip_bytes(rec) -> bytes:
    return requests.get(rec["filePath"], timeout=5).content


def _start_run(api, ds, model_id=1, **extra):
    body = {
        "datasetId": ds,
        "modelId": model_id,
        "dataFilterParam": {"dataCountRatio": 100, "isExcludeModelData": False},
        "resultFilterParam": {
            "classes": ["CAR", "truck", "PEDESTRIAN", "BUS"],
            "minConfidence": 0.3,
            "maxConfidence": 1,
        },
    }
    body.update(extra)
    return api.post("/model/modelRun", body)


def _wait_run(api, ds, model_id=1, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = api.data(
            api.get(
                "/modelRun/findModelRunRecordByPage", modelId=model_id, datasetIds=ds, pageNo=1, pageSize=1
            )
        )
        run = page["list"][0]
        if run["status"] in ("SUCCESS", "SUCCESS_WITH_ERROR", "FAILURE"):
            return run
        time.sleep(0.01)
    raise AssertionError(run)


def test_export_zip_layout_and_filepath(emu, api):
    ds = _lidar_dataset(api)
    serial = api.data(api.get("/data/export", datasetId=ds, selectModelRunIds="-1", dataFormat="COCO"))
    first = api.data(api.get("/data/findExportRecordBySerialNumbers", serialNumbers=serial))[0]
    assert first["status"] == "GENERATING" and first["filePath"] is None
    assert first["fileName"].startswith("lidar-") and first["fileName"].endswith(".zip")
    rec = api.wait_export(serial)
    assert rec["status"] == "COMPLETED" and rec["totalNum"] == 4 and "/minio/xtreme1/1/" in rec["filePath"]
    assert "response-content-type=application%2Foctet-stream" in rec["filePath"]
    top = rec["fileName"][:-4]
    zf = _zip(api, rec)
    assert sorted(zf.namelist()) == sorted(
        [
            f"{top}/data/01.json",
            f"{top}/data/02.json",
            f"{top}/result/01.json",
            f"{top}/scene_01/data/01.json",
            f"{top}/scene_01/data/02.json",
        ]
    )
    data = json.loads(zf.read(f"{top}/data/01.json"))
    assert data["version"] == "Xtreme1 v0.6" and data["type"] == "LIDAR_FUSION"
    assert data["lidarPointClouds"][0]["filename"] == "01.pcd" and data["cameraImages"][0]["width"] == 8
    assert requests.get(data["lidarPointClouds"][0]["url"], timeout=5).content == pcd_bytes()
    result = json.loads(zf.read(f"{top}/result/01.json"))
    assert result[0]["sourceName"] == "Ground Truth" and result[0]["objects"][0]["className"] == "Truck"
    # Behind nginx MinIO sees Host: minio:9000 whatever name the client used, so this still verifies.
    other_host = requests.get(rec["filePath"].replace("127.0.0.1", "localhost"), timeout=5)
    assert other_host.status_code == 200 and other_host.content == _zip_bytes(rec)
    no_sources = api.wait_export(api.data(api.get("/data/export", datasetId=ds, ids="1")))
    assert not any("/result/" in n for n in _zip(api, no_sources).namelist())


def test_export_filters_and_zero_match_stays_generating(api):
    ds = _lidar_dataset(api)
    rec = api.wait_export(api.data(api.get("/data/export", datasetId=ds, name="scene")))
    assert rec["totalNum"] == 2
    serial = api.data(api.get("/data/export", datasetId=ds, annotationStatus="ANNOTATED"))
    api.emu.wait_jobs()  # the job returned: what it left now stays
    assert (
        api.data(api.get("/data/findExportRecordBySerialNumbers", serialNumbers=serial))[0]["status"]
        == "GENERATING"
    )
    assert api.get("/data/export").json()["code"] == "PARAM_ERROR"
    missing = api.get("/data/export", datasetId=424242)
    assert missing.status_code == 500 and missing.json()["message"] == "java.lang.NullPointerException"


def test_model_catalogue(api):
    models = api.data(api.get("/model/list", datasetType="LIDAR_FUSION"))
    assert [m["id"] for m in models] == [1]
    assert len(models[0]["classes"]) == 10 and models[0]["url"]
    coco = api.data(api.get("/model/info/2"))
    assert coco["modelCode"] == "IMAGE_DETECTION" and len(coco["classes"]) == 80
    assert {"person", "car", "traffic light"} <= {c["code"] for c in coco["classes"]}
    assert api.data(api.get("/model/info/99")) is None


def test_model_run_success_results_and_export_loses_geometry(api):
    ds = _lidar_dataset(api, "runs")
    assert (
        api.data(
            api.get(
                "/model/modelRun/dataCount",
                datasetId=ds,
                modelId=1,
                dataCountRatio=50,
                isExcludeModelData="false",
            )
        )
        == 2
    )
    assert api.data(_start_run(api, ds)) is None
    page = api.data(api.get("/modelRun/findModelRunRecordByPage", modelId=1, datasetIds=ds))
    assert page["list"][0]["status"] in ("STARTED", "RUNNING")
    run = _wait_run(api, ds)
    assert run["status"] == "SUCCESS" and run["completionRate"] == 1 and run["metrics"]
    assert isinstance(run["modelSerialNo"], str) and len(run["runNo"]) == 14
    finished = api.data(api.get(f"/modelRun/getDatasetModelRunResult/{ds}"))
    assert finished == [
        {
            "modelId": 1,
            "modelName": "Basic Lidar Object Detection11",
            "runRecords": [{"id": run["id"], "runNo": run["runNo"]}],
        }
    ]
    roots = api.root_items(ds)
    scene = next(d for d in roots if d["type"] == "SCENE")
    frames = api.data(api.get("/data/findByPage", datasetId=ds, parentId=scene["id"]))["list"]
    data_ids = [d["id"] for d in roots + frames if d["type"] == "SINGLE_DATA"]
    entries = api.data(api.get("/annotate/data/listByDataIds", dataIds=",".join(map(str, data_ids))))
    model_objs = [o for e in entries for o in e["objects"] if o["sourceType"] == "MODEL"]
    assert model_objs and all(o["sourceId"] == run["id"] for o in model_objs)
    attrs = model_objs[0]["classAttributes"]
    assert attrs["type"] == "3D_BOX" and {"center3D", "size3D", "rotation3D", "confidence"} <= set(attrs)
    assert all(
        o["classAttributes"]["modelClass"] in ("CAR", "TRUCK", "PEDESTRIAN", "BUS") for o in model_objs
    )
    assert all(o["classAttributes"]["confidence"] >= 0.3 for o in model_objs)
    rec = api.wait_export(
        api.data(api.get("/data/export", datasetId=ds, selectModelRunIds=f"-1,{run['id']}"))
    )
    zf = _zip(api, rec)
    results = [json.loads(zf.read(n)) for n in zf.namelist() if "/result/" in n]
    names = [{s["sourceName"] for s in r} for r in results]
    assert {"Ground Truth"} in names or {"Ground Truth", run["runNo"]} in names
    assert sum(run["runNo"] in n for n in names) == len({o["dataId"] for o in model_objs})
    lost = next(s for r in results for s in r if s["sourceName"] == run["runNo"])["objects"][0]
    assert lost["contour"] is None and lost["className"] is None and lost["modelClass"]


def test_model_run_failures_validation_and_never_finishing(emu, api):
    ds = api.dataset("IMAGE")
    api.import_ok(ds, make_zip({f"image_0/{i}.png": image_bytes(size=(64, 48)) for i in range(4)}))
    emu.set_model_failures(2, "partial")
    api.data(_start_run(api, ds, 2, resultFilterParam={"classes": ["person", "car"]}))
    run = _wait_run(api, ds, 2)
    assert run["status"] == "SUCCESS_WITH_ERROR" and run["errorReason"]
    emu.set_model_failures(2, "all")
    api.data(_start_run(api, ds, 2, resultFilterParam={"classes": ["person"]}))
    run = _wait_run(api, ds, 2)
    assert run["status"] == "FAILURE" and run["completionRate"] is None
    assert json.loads(run["errorReason"])[0].endswith(":Model service connection timed out")
    emu.set_model_failures(2, None)
    empty = _start_run(api, ds, 2, resultFilterParam={"classes": []})
    assert empty.status_code == 400 and empty.json()["code"] == "PARAM_ERROR"
    no_filter = api.post("/model/modelRun", {"datasetId": ds, "modelId": 2})
    assert no_filter.status_code == 500 and "NullPointerException" in no_filter.json()["message"]
    assert _start_run(api, ds, 99).status_code == 500
    assert _start_run(api, ds, 1).json() == {
        "code": "UNKNOWN",
        "data": None,
        "message": "model's dataset type is not match dataset type",
    }
    assert _start_run(api, 4242, 2).json()["code"] == "DATASET__NOT_EXIST"
    assert _start_run(api, api.dataset("IMAGE"), 2).json()["code"] == "DATASET_DATA_SCENARIO_NOT_FOUND"
    api.data(_start_run(api, ds, 2, resultFilterParam=None))
    api.emu.wait_jobs()  # the job returned: what it left now stays
    latest = api.data(api.get("/modelRun/findModelRunRecordByPage", modelId=2, datasetIds=ds))["list"][0]
    assert latest["status"] == "RUNNING"
    oldest = api.data(
        api.get("/modelRun/findModelRunRecordByPage", modelId=2, datasetIds=ds, ascOrDesc="ASC")
    )
    assert oldest["list"][0]["status"] == "SUCCESS_WITH_ERROR"
    image_objs = [
        o for e in api.data(api.get("/annotate/data/listByDataIds", dataIds="1,2")) for o in e["objects"]
    ]
    assert image_objs and all(o["classAttributes"]["type"] == "RECTANGLE" for o in image_objs)
