"""YOLO and COCO from real image exports (read back by globox and pycocotools) and from camera views."""

from __future__ import annotations

import json
import zipfile

import pytest
from convert_kit import FORWARD, box, camera, fusion_data, image_data, shape, write_export, write_package

from airflow_provider_xtreme1.convert import convert_export


def exported_rects(zip_path) -> dict[str, list[tuple[str, tuple[float, float, float, float]]]]:
    """``{"[scene/]name": [(class, (x1, y1, x2, y2))]}`` of the 2D boxes in the export zip."""
    out = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if parts[-2] == "result":
                key = "/".join([*parts[1:-2], parts[-1][: -len(".json")]])
                rects = []
                for source in json.loads(zf.read(name)):
                    for obj in source["objects"]:
                        xs = [p["x"] for p in obj["contour"]["points"]]
                        ys = [p["y"] for p in obj["contour"]["points"]]
                        rects.append((obj["modelClass"], (min(xs), min(ys), max(xs), max(ys))))
                out[key] = rects
    return out


def test_image_export_to_coco_loads_in_pycocotools(image_export, tmp_path):
    from pycocotools.coco import COCO

    summary = convert_export(image_export["zip"], "coco", tmp_path / "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    rects = exported_rects(image_export["zip"])
    assert len(coco.getImgIds()) == summary["frames"] == 8
    assert len(coco.getAnnIds()) == summary["objects"] == sum(len(v) for v in rects.values())
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert sorted(names.values()) == [
        c["name"] for c in json.loads((tmp_path / "coco" / "classes.json").read_text())["classes"]
    ]
    for image in coco.loadImgs(coco.getImgIds()):
        key = image["file_name"].replace("image_0/", "").rsplit(".", 1)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        got = [
            (
                names[a["category_id"]],
                (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]),
            )
            for a in anns
        ]
        assert got == rects[key]
        assert all(coco.annToMask(a).shape == (image["height"], image["width"]) for a in anns)


def test_image_export_to_yolo_loads_in_globox(image_export, tmp_path):
    import globox

    summary = convert_export(image_export["zip"], "yolo", tmp_path / "yolo")
    classes = (tmp_path / "yolo" / "classes.txt").read_text().split("\n")[:-1]
    rects = exported_rects(image_export["zip"])
    seen = 0
    for scene in ("", "scene_01/"):
        labels = tmp_path / "yolo" / "labels" / scene / "image_0"
        images = image_export["package"] / scene / "image_0"
        annotations = globox.AnnotationSet.from_yolo_v5(labels, image_folder=images, image_extension=".png")
        for ann in annotations:
            key = scene + ann.image_id.rsplit(".", 1)[0]
            got = [(classes[int(b.label)], b.ltrb) for b in ann.boxes]
            assert [(c, pytest.approx(r, abs=1e-3)) for c, r in got] == rects[key]
            seen += len(got)
    assert seen == summary["objects"] == image_export["objects"]


def test_camera_views_of_fusion_items_get_their_own_label_files(tmp_path):
    objects = [
        box("Car", (10, 2, 0.8), (4, 2, 1.6)),
        shape("2D_BOX", "Car", [(4, 6), (20, 16)], view=1),
        shape("2D_BOX", "Car", [(-10, 6), (20, 60)], view=0),  # clipped to the 64x48 image: y 6..48
        shape("2D_BOX", "Car", [(100, 100), (120, 120)], view=0),  # outside the image
        shape("2D_BOX", "Car", [(1, 1), (2, 2)], view=5),  # no such camera
        shape("POLYGON", "Sign", [(1, 1), (9, 1), (5, 8)], view=0),
        shape("POLYLINE", "Lane", [(0, 40), (30, 20)], view=0),
    ]
    export = write_export(
        tmp_path / "e.zip", [("scene_01", fusion_data(1, "000001", "scene_01", cameras=2), objects)]
    )
    package = write_package(tmp_path / "pkg", {"scene_01/000001": [camera(FORWARD)] * 2})

    yolo = convert_export(export, "yolo", tmp_path / "yolo", camera_configs=package)
    labels = tmp_path / "yolo" / "labels" / "scene_01"
    assert (labels / "camera_image_1" / "000001.txt").read_text() == "0 0.187500 0.229167 0.250000 0.208333\n"
    assert (labels / "camera_image_0" / "000001.txt").read_text() == "0 0.156250 0.562500 0.312500 0.875000\n"
    assert yolo["unrepresentable_reasons"] == {
        "2D_BOX: its image (viewIndex) is not in the export": 1,
        "2D_BOX: outside its image": 1,
        "3D_BOX: not a 2D shape": 1,
        "POLYGON: YOLO holds boxes": 1,
        "POLYLINE: YOLO holds boxes": 1,
    }
    assert (tmp_path / "yolo" / "classes.txt").read_text() == "Car\nLane\nSign\n"

    coco = convert_export(export, "coco", tmp_path / "coco", camera_configs=package)
    doc = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert [i["file_name"] for i in doc["images"]] == [
        "scene_01/camera_image_0/000001.jpg",
        "scene_01/camera_image_1/000001.jpg",
    ]
    polygon = next(a for a in doc["annotations"] if a["category_id"] == 3)
    assert (
        polygon["segmentation"] == [[1, 1, 9, 1, 5, 8]]
        and polygon["area"] == 28
        and polygon["bbox"] == [1, 1, 8, 7]
    )
    assert coco["written"] == {"2D_BOX": 2, "POLYGON": 1}
    assert coco["unrepresentable"] == {"2D_BOX": 2, "3D_BOX": 1, "POLYLINE": 1}


def test_fixed_class_list_and_unknown_image_size_are_counted(tmp_path):
    items = [
        (
            None,
            image_data(1, "a"),
            [shape("2D_BOX", "Car", [(1, 1), (5, 5)]), shape("2D_BOX", "Bus", [(1, 1), (5, 5)])],
        ),
        (None, image_data(2, "b", width=None, height=None), [shape("2D_BOX", "Car", [(1, 1), (5, 5)])]),
        (None, image_data(3, "c"), None),
    ]
    export = write_export(tmp_path / "e.zip", items)
    summary = convert_export(export, "yolo", tmp_path / "y", classes=["Truck", "Car"])
    assert (tmp_path / "y" / "classes.txt").read_text() == "Car\nTruck\n"
    assert (
        tmp_path / "y" / "labels" / "image_0" / "a.txt"
    ).read_text() == "0 0.046875 0.062500 0.062500 0.083333\n"
    assert (tmp_path / "y" / "labels" / "image_0" / "c.txt").read_text() == ""  # a background image
    assert summary["unrepresentable_reasons"] == {
        "2D_BOX: class 'Bus' not in the class list": 1,
        "2D_BOX: image size unknown": 1,
    }
