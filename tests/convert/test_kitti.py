"""KITTI 3D from real exports of the emulator: files, round trip, and a reader we did not write."""

from __future__ import annotations

import json
import math
import shutil
import zipfile

import pytest
from convert_kit import FORWARD, box, camera, fusion_data, shape, write_export, write_package

from airflow_provider_xtreme1.convert import CameraConfigError, convert_export
from airflow_provider_xtreme1.convert.kitti import read_calib, read_labels, to_lidar


def exported_boxes(zip_path) -> dict[str, list[dict]]:
    """``{"[scene_]name": [3D box objects]}`` straight from the export zip."""
    out = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if parts[-2] == "result":
                key = "_".join([*parts[1:-2], parts[-1][: -len(".json")]])
                out[key] = [
                    o for s in json.loads(zf.read(name)) for o in s["objects"] if o["type"] == "3D_BOX"
                ]
    return out


def test_fusion_export_to_kitti_round_trips_every_box(fusion_export, tmp_path):
    out = tmp_path / "kitti"
    summary = convert_export(fusion_export["zip"], "kitti", out, camera_configs=fusion_export["package"])

    boxes = exported_boxes(fusion_export["zip"])
    stems = (out / "ImageSets" / "all.txt").read_text().split()
    assert sorted(stems) == sorted(boxes) and len(stems) == summary["frames"] == 9
    written = skipped = 0
    for stem in stems:
        calib = read_calib((out / "calib" / f"{stem}.txt").read_text())
        assert set(calib) == {"P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"}
        labels = read_labels((out / "label_2" / f"{stem}.txt").read_text())
        # camera 0 of the sample looks along lidar +x: boxes behind it are counted, not written
        visible = [o for o in boxes[stem] if o["contour"]["center3D"]["x"] > 0]
        assert len(labels) == len(visible)
        written += len(labels)
        skipped += len(boxes[stem]) - len(visible)
        for label, obj in zip(labels, visible, strict=True):
            back = to_lidar(label, calib["Tr_velo_to_cam"])
            c, s, r = (obj["contour"][k] for k in ("center3D", "size3D", "rotation3D"))
            assert back.center == pytest.approx((c["x"], c["y"], c["z"]), abs=0.01)
            assert back.size == pytest.approx((s["x"], s["y"], s["z"]), abs=0.01)
            assert math.cos(back.yaw - r["z"]) == pytest.approx(1.0, abs=1e-3)
            assert label["type"] == obj["modelClass"]
    assert summary["written"] == {"3D_BOX": written}
    assert summary["unrepresentable"] == ({"3D_BOX": skipped} if skipped else {})
    classes = json.loads((out / "classes.json").read_text())["classes"]
    assert [c["name"] for c in classes] == sorted({o["modelClass"] for v in boxes.values() for o in v})


def test_datumaro_reads_the_kitti_output(fusion_export, tmp_path):
    from datumaro.components.dataset import Dataset

    out = tmp_path / "kitti"
    summary = convert_export(fusion_export["zip"], "kitti", out, camera_configs=fusion_export["package"])
    (out / "image_2").mkdir()  # datumaro's KITTI 3D importer wants the image folder to exist
    dataset = Dataset.import_from(str(out), "kitti3d")
    assert len(dataset) == summary["frames"]
    item = dataset.get("000001")
    labels = read_labels((out / "label_2" / "000001.txt").read_text())
    fields = ("location", "dimensions", "rotation_y", "alpha")
    assert [{k: a.attributes[k] for k in fields} for a in item.annotations] == [
        {k: x[k] for k in fields} for x in labels
    ]
    x1, y1, x2, y2 = labels[0]["bbox"]
    assert item.annotations[0].get_bbox() == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=1e-4)
    assert sum(len(i.annotations) for i in dataset) == summary["objects"]


def test_lidar_basic_frames_get_kitti_velodyne_axes(basic_export, tmp_path):
    summary = convert_export(basic_export["zip"], "kitti", tmp_path / "k")
    assert summary["frames_without_camera"] == summary["frames"] == 2
    calib = read_calib((tmp_path / "k" / "calib" / "000001.txt").read_text())
    assert calib["Tr_velo_to_cam"] == [0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0]
    labels = read_labels((tmp_path / "k" / "label_2" / "000001.txt").read_text())
    assert labels and all(label["bbox"] == [0, 0, 0, 0] for label in labels)


def test_fusion_export_without_camera_configs_is_refused_by_default(fusion_export, tmp_path):
    with pytest.raises(CameraConfigError, match=r"data/000001.json: frame '000001' has a camera config"):
        convert_export(fusion_export["zip"], "kitti", tmp_path / "k")
    assert not list(tmp_path.iterdir())  # the partial folder is gone too
    summary = convert_export(fusion_export["zip"], "kitti", tmp_path / "k", require_cameras=False)
    assert summary["frames_without_camera"] == 9


def test_what_kitti_cannot_hold_is_counted_by_type_and_reason(tmp_path):
    objects = [
        box("Car", (10, 2, 0.8), (4, 2, 1.6), trackId="a"),
        box("Car", (10, -2, 0.8), (4, 2, 1.6), (0.2, 0, 0)),  # rolled
        box("Car", (-10, 0, 0.8), (4, 2, 1.6)),  # behind the camera
        box(None, (10, 0, 0.8), (4, 2, 1.6)),  # no class
        {"type": "3D_BOX", "className": None, "modelClass": "Car", "contour": None},  # model run, issue #324
        shape("2D_BOX", "Car", [(1, 1), (5, 5)], view=0),
        shape("POLYGON", "Car", [(1, 1), (5, 5), (1, 5)], view=0),
        {"type": "3D_SEGMENT_POINTS", "className": "Road", "contour": {"points": [1, 2]}},
    ]
    export = write_export(tmp_path / "e.zip", [(None, fusion_data(1, "f1"), objects)])
    package = write_package(tmp_path / "pkg", {"f1": [camera(FORWARD)]})
    summary = convert_export(export, "kitti", tmp_path / "k", camera_configs=package)
    assert summary["written"] == {"3D_BOX": 1}
    assert summary["unrepresentable"] == {"2D_BOX": 1, "3D_BOX": 4, "3D_SEGMENT_POINTS": 1, "POLYGON": 1}
    assert summary["unrepresentable_reasons"] == {
        "2D_BOX: KITTI 3D holds 3D boxes only": 1,
        "3D_BOX: box with roll or pitch (KITTI boxes turn about one axis)": 1,
        "3D_BOX: no class name": 1,
        "3D_BOX: no geometry in the export": 1,
        "3D_BOX: outside the image of camera 0": 1,
        "3D_SEGMENT_POINTS: KITTI 3D holds 3D boxes only": 1,
        "POLYGON: KITTI 3D holds 3D boxes only": 1,
    }


def test_camera_configs_are_found_in_a_zipped_package_with_a_wrapper_folder(tmp_path):
    export = write_export(
        tmp_path / "e.zip",
        [
            (None, fusion_data(1, "000001"), [box("Car", (10, 2, 0.8), (4, 2, 1.6))]),
            ("scene_01", fusion_data(2, "000001", scene="scene_01"), [box("Car", (20, 2, 0.8), (4, 2, 1.6))]),
        ],
    )
    folder = write_package(tmp_path / "unzipped" / "pkg", {"000001": [camera(FORWARD)]})
    write_package(folder, {"scene_01/000001": [camera([*FORWARD[:7], 1.2, *FORWARD[8:]])]})
    shutil.make_archive(str(tmp_path / "package"), "zip", tmp_path / "unzipped")
    summary = convert_export(export, "kitti", tmp_path / "k", camera_configs=tmp_path / "package.zip")
    assert summary["objects"] == 2
    root = read_calib((tmp_path / "k" / "calib" / "000001.txt").read_text())["Tr_velo_to_cam"]
    scene = read_calib((tmp_path / "k" / "calib" / "scene_01_000001.txt").read_text())["Tr_velo_to_cam"]
    assert (root[7], scene[7]) == (0.2, 1.2)  # each frame got its own config, not its namesake's
