"""Upload state machine and real archive parsing by the §5 rules."""

from __future__ import annotations

import json

from emulator_kit import camera_config, image_bytes, make_tar, make_zip, pcd_bytes


def test_image_zip_passes_through_downloading_and_counts(api):
    ds = api.dataset("IMAGE")
    files = {f"wrap/image_0/{i:04d}.png": image_bytes() for i in range(1, 4)}
    files["wrap/image_0/0004.jpg"] = image_bytes("JPEG")
    files["wrap/image_0/0005.bmp"] = image_bytes("BMP")
    files["__MACOSX/wrap/image_0/._0001.png"] = b"junk"
    rec, seen = api.wait_upload(api.upload(ds, make_zip(files)))
    assert "DOWNLOADING" in seen and "DOWNLOAD_COMPLETED" in seen and seen[-1] == "PARSE_COMPLETED"
    assert rec["totalDataNum"] == 5 and rec["parsedDataNum"] == 5 and rec["errorMessage"] == ""
    assert rec["totalFileSize"] == rec["downloadedFileSize"] > 0
    assert api.names(ds) == ["0001", "0002", "0003", "0004", "0005"]
    item = api.root_items(ds)[0]
    node = item["content"][0]
    assert node["name"] == "image_0" and node["type"] == "directory"
    file = node["files"][0]["file"]
    assert file["extraInfo"] == {"width": 8, "height": 6} and "/minio/xtreme1/1/" in file["url"]


def test_undecodable_image_drops_its_batch_silently(api):
    ds = api.dataset("IMAGE")
    files = {f"image_0/{i:02d}.png": image_bytes() for i in range(1, 8)}
    files["image_0/03.png"] = b"\x89PNG\r\n\x1a\nnot really"
    del files["image_0/06.png"]
    files["image_0/06.webp"] = image_bytes("WEBP")
    rec = api.import_ok(ds, make_zip(files))
    assert rec["status"] == "PARSE_COMPLETED" and rec["errorMessage"] == ""
    assert rec["totalDataNum"] == 7 and rec["parsedDataNum"] == 7
    # 01..05 were one batch (03 broken); 06 (WebP) + 07 the next: both batches gone
    assert api.names(ds) == []
    ds2 = api.dataset("IMAGE")
    files = {f"image_0/{i:02d}.jpg": image_bytes("JPEG") for i in range(1, 8)}
    files["image_0/07.jpg"] = b"\xff\xd8garbage"
    api.import_ok(ds2, make_zip(files))
    assert api.names(ds2) == ["01", "02", "03", "04", "05"]


def test_loose_images_and_empty_archive_fail(api):
    ds = api.dataset("IMAGE")
    rec = api.import_ok(ds, make_zip({"pics/a.png": image_bytes()}))
    assert (
        rec["status"] == "FAILED"
        and rec["errorMessage"] == "The format of the compressed package is incorrect"
    )
    rec = api.import_ok(ds, make_zip({}))
    assert rec["status"] == "FAILED" and rec["errorMessage"] == "Compressed package is empty"


def test_single_image_and_format_gate(api):
    ds = api.dataset("IMAGE")
    rec = api.import_ok(ds, image_bytes(), file_name="photo_1.png")
    assert rec["status"] == "PARSE_COMPLETED" and rec["totalDataNum"] == 1
    assert api.names(ds) == ["photo_1"]
    rec = api.import_ok(ds, b"%PDF", file_name="doc.pdf")
    assert rec["status"] == "FAILED" and rec["errorMessage"] == "Incorrect file format"
    lidar = api.dataset("LIDAR_BASIC")
    assert api.import_ok(lidar, image_bytes(), file_name="x.png")["errorMessage"] == "Incorrect file format"


def test_lidar_fusion_with_scene_cameras_and_duplicates(api):
    ds = api.dataset("LIDAR_FUSION")
    files = {}
    for prefix in ("pkg/", "pkg/Scene_01/"):
        for n in ("000001", "000002"):
            files[f"{prefix}lidar_point_cloud_0/{n}.pcd"] = pcd_bytes()
            files[f"{prefix}camera_image_0/{n}.jpg"] = image_bytes("JPEG")
            files[f"{prefix}camera_image_1/{n}.png"] = image_bytes()
            files[f"{prefix}camera_config/{n}.json"] = camera_config(2)
    files["pkg/data/ignored.json"] = "{}"
    files["pkg/Sence_02/lidar_point_cloud_0/000009.pcd"] = pcd_bytes()  # typo: not a scene
    rec = api.import_ok(ds, make_zip(files))
    assert rec["status"] == "PARSE_COMPLETED", rec
    assert rec["totalDataNum"] == 5 and rec["errorMessage"] == ""
    roots = api.root_items(ds)
    assert sorted((d["name"], d["type"]) for d in roots) == [
        ("000001", "SINGLE_DATA"),
        ("000002", "SINGLE_DATA"),
        ("000009", "SINGLE_DATA"),
        ("Scene_01", "SCENE"),
    ]
    scene = next(d for d in roots if d["type"] == "SCENE")
    assert api.names(ds, parent_id=scene["id"]) == ["000001", "000002"]
    frame = next(d for d in roots if d["name"] == "000001")
    assert [n["name"] for n in frame["content"]] == [
        "camera_config",
        "camera_image_0",
        "camera_image_1",
        "lidar_point_cloud_0",
    ]
    again = api.import_ok(ds, make_zip(files))
    assert again["status"] == "PARSE_COMPLETED"
    assert "Duplicate scene names:Scene_01;" in again["errorMessage"]
    assert again["errorMessage"].count("Duplicate data names;") == 1
    ds2 = api.dataset("LIDAR_FUSION")
    api.import_ok(ds2, make_zip({"lidar_point_cloud_0/a.pcd": pcd_bytes()}))
    dup = api.import_ok(
        ds2, make_zip({"lidar_point_cloud_0/a.pcd": pcd_bytes(), "lidar_point_cloud_0/b.pcd": pcd_bytes()})
    )
    assert dup["errorMessage"] == "Duplicate data names;" and api.names(ds2) == ["a", "b"]


def test_lidar_basic_from_tar_with_bad_files(api):
    ds = api.dataset("LIDAR_BASIC")
    files = {
        "lidar_point_cloud_0/01.pcd": pcd_bytes(),
        "lidar_point_cloud_0/02.pcd": b"not a point cloud",
        "lidar_point_cloud_0/03.pcd": pcd_bytes(),
        "camera_image_0/03.jpg": image_bytes("JPEG"),
        "camera_image_0/03.png": image_bytes(),
        "lidar_point_cloud_10/99.pcd": pcd_bytes(),  # two digits: not a sensor parent on its own
    }
    rec = api.import_ok(ds, make_tar(files), file_name="pkg.tar")
    assert rec["status"] == "PARSE_COMPLETED" and rec["totalDataNum"] == 3
    assert "There are duplicate files in camera_image_0 folder,file name is 03" in rec["errorMessage"]
    assert "02.pcd is not a valid PCD file;" in rec["errorMessage"]
    assert api.names(ds) == ["01"]
    rec = api.import_ok(api.dataset("LIDAR_BASIC"), make_zip({"point_cloud/01.pcd": pcd_bytes()}))
    assert rec["errorMessage"] == "The format of the compressed package is incorrect"


def test_text_items_are_root_to_leaf_paths(api):
    ds = api.dataset("TEXT")
    dialog = [
        {"id": "1", "parentId": None, "text": "hi", "role": "prompter"},
        {"id": "2", "parentId": "1", "text": "hello", "role": "assistant"},
        {"id": "3", "parentId": "1", "text": "hey", "role": "assistant"},
        {"id": "4", "parentId": "3", "text": "bye", "role": "prompter"},
        {"id": "5", "parentId": "1", "role": "assistant"},  # no text: dropped
    ]
    files = {
        "t/TEXT/chat.json": json.dumps(dialog),
        "t/Text/solo.json": json.dumps(dialog[:1]),
        "t/other/skip.json": json.dumps(dialog),
    }
    rec = api.import_ok(ds, make_zip(files))
    assert rec["status"] == "PARSE_COMPLETED" and rec["totalDataNum"] == 2 and rec["parsedDataNum"] == 2
    assert sorted(api.names(ds)) == ["chat_1", "chat_2", "solo_1"]
    assert api.import_ok(api.dataset("TEXT"), make_zip({"x/a.json": "[]"}))["status"] == "FAILED"


def test_ground_truth_import_binds_class_ids(api):
    ds = api.dataset("LIDAR_BASIC")
    classes = api.create_classes(ds, "Car", "Truck", "Pedestrian")
    box = {
        "center3D": {"x": 1, "y": 2, "z": 0},
        "size3D": {"x": 4, "y": 2, "z": 1.5},
        "rotation3D": {"x": 0, "y": 0, "z": 0.3},
    }
    result = {
        "objects": [
            {
                "type": "3D_BOX",
                "classId": classes["Truck"],
                "className": "whatever",
                "trackId": "t1",
                "contour": box,
            },
            {"type": "3D_BOX", "classId": 424242, "className": "Bus", "classValues": [1], "contour": box},
            {"type": "CUBE", "contour": box},
            {"type": "3D_BOX", "className": "Car"},
        ]
    }
    files = {
        "lidar_point_cloud_0/f1.pcd": pcd_bytes(),
        "result/f1.json": json.dumps(result),
        "lidar_point_cloud_0/f2.pcd": pcd_bytes(),
        "result/f2.json": json.dumps([result, result]),
    }
    plain = api.dataset("LIDAR_BASIC")
    api.import_ok(plain, make_zip(files))
    plain_ids = [d["id"] for d in api.root_items(plain)]
    assert all(
        e["objects"] == []
        for e in api.data(api.get("/annotate/data/listByDataIds", dataIds=",".join(map(str, plain_ids))))
    )
    rec = api.import_ok(ds, make_zip(files), resultType="GROUND_TRUTH")
    assert "f1.json the objects exist object type error;" in rec["errorMessage"]
    assert "f1.json the objects exist object contour miss;" in rec["errorMessage"]
    f1 = next(d for d in api.root_items(ds) if d["name"] == "f1")
    entry = api.data(api.get("/annotate/data/listByDataIds", dataIds=f1["id"]))[0]
    objs = [o["classAttributes"] for o in entry["objects"]]
    assert all(o["sourceId"] == -1 for o in entry["objects"])
    assert objs[0]["classId"] == classes["Truck"] and objs[0]["className"] == "Truck"
    assert "classId" not in objs[1] and objs[1]["modelClass"] == "Bus" and "classValues" not in objs[1]
    assert len(objs) == 2 and len(objs[0]["id"]) == 32 and objs[0]["version"] == 0


def test_model_run_import_creates_run_and_unknown_model_sticks(api):
    ds = api.dataset("IMAGE")
    result = {"objects": [{"type": "2D_BOX", "className": "car", "contour": {"points": [{"x": 1, "y": 1}]}}]}
    files = {"image_0/a.png": image_bytes(), "result/a.json": json.dumps(result)}
    rec = api.import_ok(ds, make_zip(files), resultType="MODEL_RUN", modelId=2)
    assert rec["status"] == "PARSE_COMPLETED"
    runs = api.data(api.get(f"/modelRun/findModelRunRecordByDatasetId/{ds}"))
    assert len(runs) == 1 and runs[0]["status"] == "SUCCESS" and runs[0]["runRecordType"] == "RUNS"
    stuck = api.upload(api.dataset("IMAGE"), make_zip(files), resultType="MODEL_RUN", modelId=77)
    api.emu.wait_jobs()  # the job returned: what it left now stays
    assert api.upload_record(stuck)["status"] == "DOWNLOAD_COMPLETED"


def test_worker_pool_of_two_keeps_third_job_unstarted(emu, api):
    emu.step_delay = 0.15
    ds = api.dataset("IMAGE")
    payload = make_zip({"image_0/a.png": image_bytes()})
    serials = [api.upload(ds, payload) for _ in range(3)]
    statuses = [api.upload_record(s)["status"] for s in serials]
    assert statuses[2] == "UNSTARTED" and "DOWNLOADING" in statuses[:2]
    emu.step_delay = 0.01
    assert api.wait_upload(serials[2])[0]["status"] == "PARSE_COMPLETED"


def test_external_url_source_is_downloaded_over_http(emu, api):
    ds = api.dataset("IMAGE")
    urls = api.put_object(ds, "remote.zip", make_zip({"image_0/r.png": image_bytes()}))
    key = urls["presignedUrl"].split("/minio/xtreme1/")[1].split("?")[0]
    public = emu._signer.presign("GET", key, emu.url.split("//")[1], 60)
    serial = api.data(api.post("/data/upload", {"fileUrl": public, "datasetId": ds, "source": "URL"}))
    assert api.wait_upload(serial)[0]["status"] == "PARSE_COMPLETED"
    assert api.names(ds) == ["r"]
    bad = api.data(
        api.post("/data/upload", {"fileUrl": urls["presignedUrl"], "datasetId": ds, "source": "URL"})
    )
    assert api.upload_record(bad)["errorMessage"] == "File url error"  # a PUT-signed URL answers 403
    gone = api.data(
        api.post("/data/upload", {"fileUrl": urls["accessUrl"], "datasetId": 9999, "source": "URL"})
    )
    assert api.upload_record(gone)["errorMessage"] == "Dataset not found"
