"""OpenLABEL 1.0 from real exports: the ASAM schema, two readers we did not write, and a round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from convert_kit import (
    BACKWARD,
    FORWARD,
    box,
    camera,
    fusion_data,
    image_data,
    shape,
    write_export,
    write_package,
)
from test_kitti import exported_boxes

from airflow_provider_xtreme1.convert import convert_export
from airflow_provider_xtreme1.convert.geometry import quaternion_to_euler_xyz
from airflow_provider_xtreme1.convert.openlabel import read_cuboids


def assert_valid(path: Path) -> dict:
    """The ASAM schema (vendored by openlabel-checker), its structural checks, and kognic's model."""
    from kognic.openlabel.models import OpenLabelAnnotation
    from openlabel_checker.core import check_file
    from openlabel_checker.models import Severity

    report = check_file(str(path))
    problems = [i for i in report.issues if i.severity in (Severity.ERROR, Severity.WARNING)]
    assert not problems, [(i.checker_id, i.path, i.message) for i in problems]
    doc = json.loads(path.read_text())
    OpenLabelAnnotation.model_validate(doc)
    return doc


def test_fusion_export_to_openlabel_validates_and_round_trips(fusion_export, tmp_path):
    out = tmp_path / "ol"
    summary = convert_export(fusion_export["zip"], "openlabel", out, camera_configs=fusion_export["package"])
    files = sorted(p.name for p in (out / "openlabel").iterdir())
    assert files == ["000001.json", "000002.json", "000003.json", "scene_01.json", "scene_02.json"]
    boxes = exported_boxes(fusion_export["zip"])
    count = 0
    for name in files:
        doc = assert_valid(out / "openlabel" / name)
        root = doc["openlabel"]
        assert root["metadata"]["schema_version"] == "1.0.0"
        assert set(root["coordinate_systems"]) == {"lidar", "camera_0", "camera_1"}
        stem = name[: -len(".json")]
        keys = [f"{stem}_{n:06d}" for n in range(1, 4)] if stem.startswith("scene_") else [stem]
        cuboids = read_cuboids(doc)
        assert sorted(cuboids) == list(range(len(keys)))
        for frame, key in enumerate(keys):
            assert root["frames"][str(frame)]["frame_properties"]["name"] == key.rsplit("_", 1)[-1]
            for (cls, val), obj in zip(cuboids[frame], boxes[key], strict=True):
                c, s, r = (obj["contour"][k] for k in ("center3D", "size3D", "rotation3D"))
                assert cls == obj["modelClass"]
                assert val[:3] == pytest.approx([c["x"], c["y"], c["z"]])
                assert val[7:] == pytest.approx([s["x"], s["y"], s["z"]])
                assert quaternion_to_euler_xyz(*val[3:7]) == pytest.approx((r["x"], r["y"], r["z"]), abs=1e-9)
                count += 1
    assert count == summary["objects"] == sum(len(v) for v in boxes.values())


def test_a_scene_keeps_one_object_per_track_over_its_frames(fusion_export, tmp_path):
    convert_export(
        fusion_export["zip"], "openlabel", tmp_path / "ol", camera_configs=fusion_export["package"]
    )
    root = json.loads((tmp_path / "ol" / "openlabel" / "scene_01.json").read_text())["openlabel"]
    assert root["frame_intervals"] == [{"frame_start": 0, "frame_end": 2}]
    for uid, obj in root["objects"].items():
        assert obj["frame_intervals"] == [{"frame_start": 0, "frame_end": 2}]  # sample tracks span the scene
        assert all(uid in root["frames"][str(f)]["objects"] for f in range(3))


def test_camera_pose_is_the_inverse_of_camera_external(tmp_path):
    export = write_export(tmp_path / "e.zip", [(None, fusion_data(1, "f", cameras=2), [])])
    package = write_package(tmp_path / "pkg", {"f": [camera(FORWARD), camera(BACKWARD)]})
    convert_export(export, "openlabel", tmp_path / "ol", camera_configs=package)
    root = assert_valid(tmp_path / "ol" / "openlabel" / "f.json")["openlabel"]
    pose = root["coordinate_systems"]["camera_1"]["pose_wrt_parent"]["matrix4x4"]
    # camera 1 sits 0.2 m above the LiDAR looking along lidar -x: its origin in lidar terms is (0, 0, 0.2)
    assert [pose[3], pose[7], pose[11]] == pytest.approx([0, 0, 0.2])
    assert [pose[2], pose[6], pose[10]] == pytest.approx([-1, 0, 0])  # camera z axis = lidar -x
    matrix = root["streams"]["camera_0"]["stream_properties"]["intrinsics_pinhole"]["camera_matrix"]
    assert matrix == [50, 0, 32, 0, 0, 50, 24, 0, 0, 0, 1, 0]


def test_2d_shapes_of_camera_views_and_images(tmp_path):
    fusion = [
        box("Car", (10, 2, 0.8), (4, 2, 1.6), (0.1, 0, 1.0), trackId="t1"),
        shape("2D_RECT", "Car", [(4, 6), (20, 16)], view=1, trackId="t1"),
        shape("POLYLINE", "Lane", [(0, 40), (30, 20), (60, 10)], view=0),
        {"type": "3D_SEGMENT_POINTS", "className": "Road", "contour": {"points": [1, 2]}},
    ]
    images = [
        shape("POLYGON", "Sign", [(1, 1), (9, 1), (5, 8)]),
        shape("BOUNDING_BOX", "Sign", [(2, 3), (6, 7)]),
    ]
    summary = convert_export(
        write_export(tmp_path / "f.zip", [(None, fusion_data(1, "f", cameras=2), fusion)]),
        "openlabel",
        tmp_path / "f",
        camera_configs=write_package(tmp_path / "pkg", {"f": [camera(FORWARD), camera(BACKWARD)]}),
    )
    assert summary["written"] == {"2D_RECT": 1, "3D_BOX": 1, "POLYLINE": 1}
    assert summary["unrepresentable"] == {"3D_SEGMENT_POINTS": 1}
    root = assert_valid(tmp_path / "f" / "openlabel" / "f.json")["openlabel"]
    objects = root["frames"]["0"]["objects"]
    assert len(objects) == 2  # the 3D box and the rectangle share track t1
    track = objects["0"]["object_data"]
    assert track["bbox"] == [{"name": "box2d", "val": [12, 11, 16, 10], "coordinate_system": "camera_1"}]
    assert quaternion_to_euler_xyz(*track["cuboid"][0]["val"][3:7]) == pytest.approx((0.1, 0, 1.0))
    assert objects["1"]["object_data"]["poly2d"][0]["closed"] is False

    convert_export(
        write_export(tmp_path / "i.zip", [(None, image_data(1, "im"), images)]), "openlabel", tmp_path / "i"
    )
    root = assert_valid(tmp_path / "i" / "openlabel" / "im.json")["openlabel"]
    assert root["coordinate_systems"] == {"camera_0": {"type": "sensor_cs", "parent": ""}}
    assert root["streams"] == {"camera_0": {"type": "camera"}}
    frame = root["frames"]["0"]
    polygon, rect = (frame["objects"][k]["object_data"] for k in ("0", "1"))
    assert polygon["poly2d"][0]["val"] == [1, 1, 9, 1, 5, 8] and polygon["poly2d"][0]["closed"] is True
    assert rect["bbox"][0]["val"] == [4, 5, 4, 4]


def test_image_export_to_openlabel_validates(image_export, tmp_path):
    summary = convert_export(image_export["zip"], "openlabel", tmp_path / "ol")
    assert summary["written"] == {"2D_BOX": image_export["objects"]}
    frames = [assert_valid(p)["openlabel"]["frames"] for p in (tmp_path / "ol" / "openlabel").iterdir()]
    assert sum(len(f) for f in frames) == summary["frames"] == 8
