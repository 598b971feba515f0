"""validate_dataset_folder: one table row per layout mistake, with the message fragment a user sees."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from packing_helpers import DIALOG, PCD, PNG, RESULT_2D, WEBP, write_tree

from airflow_provider_xtreme1.archives import validate_dataset_folder
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError

LIDAR = {"lidar_point_cloud_0/0001.pcd": PCD, "lidar_point_cloud_0/0002.pcd": PCD}
IMAGE = {"image_0/0001.png": PNG, "image_0/0002.png": PNG}
TEXT = {"text/a.json": DIALOG}


def _result(objects) -> str:
    return json.dumps({"objects": objects})


# (id, dataset type, files, with_results, expected error fragment)
ERROR_CASES = [
    (
        "no-sensor-folder",
        "LIDAR_FUSION",
        {"point_cloud/0001.pcd": PCD, "images/0001.png": PNG},
        False,
        "no `lidar_point_cloud_<digit>` folder found under",
    ),
    (
        "no-sensor-folder-names-expected",
        "LIDAR_FUSION",
        {"stuff/readme.json": "{}"},
        False,
        "a LIDAR_FUSION dataset needs lidar_point_cloud_0/ (PCD files) and optionally camera_image_<n>/, "
        "camera_config/, result/",
    ),
    (
        "two-digit-sensor-folder",
        "LIDAR_BASIC",
        {"lidar_point_cloud_00/0001.pcd": PCD},
        False,
        "no `lidar_point_cloud_<digit>` folder found",
    ),
    ("image-type-on-lidar-layout", "IMAGE", LIDAR, False, "is this a LIDAR_FUSION dataset?"),
    ("lidar-type-on-image-layout", "LIDAR_FUSION", IMAGE, False, "is this an IMAGE dataset?"),
    (
        "image-in-point-cloud-folder",
        "LIDAR_FUSION",
        {**LIDAR, "lidar_point_cloud_0/0003.jpg": PNG},
        False,
        "ds/lidar_point_cloud_0/0003.jpg: image file in point-cloud folder lidar_point_cloud_0/",
    ),
    (
        "pcd-in-image-folder",
        "IMAGE",
        {**IMAGE, "image_0/0003.pcd": PCD},
        False,
        "ds/image_0/0003.pcd: point cloud in image folder image_0/",
    ),
    (
        "lidar-folder-in-image-layout",
        "IMAGE",
        {**IMAGE, "lidar_point_cloud_0/0001.pcd": PCD},
        False,
        "point clouds cannot be imported into an IMAGE dataset",
    ),
    (
        "pcd-in-camera-folder",
        "LIDAR_FUSION",
        {**LIDAR, "camera_image_0/0001.pcd": PCD},
        False,
        "ds/camera_image_0/0001.pcd: point cloud in image folder",
    ),
    (
        "webp-suffix",
        "IMAGE",
        {**IMAGE, "image_0/0003.webp": WEBP},
        False,
        "ds/image_0/0003.webp: WebP images are refused",
    ),
    (
        "webp-content",
        "IMAGE",
        {**IMAGE, "image_0/0003.png": WEBP},
        False,
        "ds/image_0/0003.png: is a WebP image",
    ),
    (
        "placeholder-image",
        "IMAGE",
        {**IMAGE, "image_0/0003.jpg": b"not really a jpeg"},
        False,
        "ds/image_0/0003.jpg: is not a JPEG/PNG/BMP/TIFF image",
    ),
    (
        "not-a-pcd",
        "LIDAR_BASIC",
        {**LIDAR, "lidar_point_cloud_0/0003.pcd": b"1 2 3\n4 5 6\n"},
        False,
        "ds/lidar_point_cloud_0/0003.pcd: not a PCD point cloud",
    ),
    (
        "unsupported-type-lidar",
        "LIDAR_FUSION",
        {**LIDAR, "lidar_point_cloud_0/0003.bin": b"x"},
        False,
        "unsupported file type '.bin' in lidar_point_cloud_0/; expected .pcd",
    ),
    (
        "unsupported-type-image",
        "IMAGE",
        {**IMAGE, "image_0/0003.gif": b"GIF89a"},
        False,
        "unsupported file type '.gif' in image_0/; expected .jpg, .jpeg, .png, .bmp or .tiff",
    ),
    (
        "unsupported-type-config",
        "LIDAR_FUSION",
        {**LIDAR, "camera_config/0001.txt": "x"},
        False,
        "ds/camera_config/0001.txt: unsupported file type '.txt' in camera_config/; expected .json",
    ),
    (
        "unsafe-space",
        "LIDAR_BASIC",
        {**LIDAR, "lidar_point_cloud_0/frame 3.pcd": PCD},
        False,
        "ds/lidar_point_cloud_0/frame 3.pcd: name contains ' '",
    ),
    (
        "unsafe-percent",
        "LIDAR_BASIC",
        {**LIDAR, "lidar_point_cloud_0/frame%203.pcd": PCD},
        False,
        "name contains '%'",
    ),
    (
        "unsafe-plus",
        "IMAGE",
        {**IMAGE, "image_0/a+b.png": PNG},
        False,
        "ds/image_0/a+b.png: name contains '+'",
    ),
    ("unsafe-non-ascii", "IMAGE", {**IMAGE, "image_0/café.png": PNG}, False, "name contains 'é'"),
    (
        "unsafe-folder-name",
        "LIDAR_BASIC",
        {"my wrapper/lidar_point_cloud_0/0001.pcd": PCD},
        False,
        "ds/my wrapper/: name contains ' '",
    ),
    (
        "duplicate-base-name",
        "IMAGE",
        {**IMAGE, "image_0/0001.jpg": PNG},
        False,
        "has the same base name as 0001.jpg in image_0/; the server skips data item '0001'",
    ),
    (
        "duplicate-base-name-camera",
        "LIDAR_FUSION",
        {**LIDAR, "camera_image_0/0001.png": PNG, "camera_image_0/0001.bmp": PNG},
        False,
        "ds/camera_image_0/0001.png: has the same base name as 0001.bmp",
    ),
    (
        "result-not-json",
        "LIDAR_FUSION",
        {**LIDAR, "result/0001.json": "{not json"},
        True,
        "ds/result/0001.json: not valid JSON",
    ),
    (
        "result-without-objects",
        "LIDAR_FUSION",
        {**LIDAR, "result/0001.json": '{"boxes": []}'},
        True,
        'ds/result/0001.json: a result file must be {"objects": [...]}',
    ),
    (
        "result-old-format",
        "LIDAR_FUSION",
        {**LIDAR, "result/0001.json": '{"result": {"objects": [{"objType": "3d"}]}}'},
        True,
        'the older {"result": {"objects": ...}} format is not imported',
    ),
    (
        "result-dropped-type",
        "IMAGE",
        {**IMAGE, "result/0001.json": _result([{"type": "RECTANGLE", "contour": {"points": []}}])},
        True,
        "ds/result/0001.json: object #0 has type 'RECTANGLE', which the server drops",
    ),
    (
        "result-null-contour",
        "LIDAR_FUSION",
        {**LIDAR, "result/0001.json": _result([{"type": "3D_BOX", "contour": None}])},
        True,
        "ds/result/0001.json: object #0 (3D_BOX) has no contour",
    ),
    (
        "result-not-json-file",
        "LIDAR_FUSION",
        {**LIDAR, "result/0001.txt": "x"},
        True,
        "ds/result/0001.txt: unsupported file type '.txt' in result/",
    ),
    (
        "camera-config-not-array",
        "LIDAR_FUSION",
        {**LIDAR, "camera_config/0001.json": '{"cameraInternal": {}}'},
        False,
        "ds/camera_config/0001.json: camera_config must be a JSON array",
    ),
    ("text-missing-folder", "TEXT", {"dialogs/a.json": DIALOG}, False, "no `text` folder found under"),
    (
        "text-not-array",
        "TEXT",
        {"text/a.json": '{"id": 1}'},
        False,
        "ds/text/a.json: a TEXT file must be a JSON array of {id, parentId, text, role} messages",
    ),
    (
        "text-missing-role",
        "TEXT",
        {"text/a.json": '[{"id": "1", "parentId": null, "text": "hi"}]'},
        False,
        "ds/text/a.json: message #0 lacks role",
    ),
    (
        "text-not-json-file",
        "TEXT",
        {**TEXT, "text/b.txt": "hi"},
        False,
        "ds/text/b.txt: unsupported file type '.txt' in text/; expected .json",
    ),
    ("text-bad-json", "TEXT", {"text/a.json": "[{"}, False, "ds/text/a.json: not valid JSON"),
    (
        "only-empty-sensor-folder",
        "LIDAR_BASIC",
        {"lidar_point_cloud_0/readme.json": "{}"},
        False,
        "unsupported file type '.json' in lidar_point_cloud_0/",
    ),
]


@pytest.mark.parametrize(
    ("dtype", "files", "with_results", "fragment"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_layout_error(tmp_path: Path, dtype, files, with_results, fragment):
    report = validate_dataset_folder(write_tree(tmp_path / "ds", files), dtype, with_results=with_results)
    assert any(fragment in e for e in report.errors), report.errors
    with pytest.raises(Xtreme1ValidationError) as info:
        report.raise_for_errors()
    assert fragment in str(info.value)
    assert info.value.problems == report.errors


# (id, dataset type, files, expected warning fragment) -- these layouts import everything; files the server
# would not read are errors (tests/packing/test_near_misses.py)
WARNING_CASES = [
    (
        "sence-folder",
        "LIDAR_FUSION",
        {"Sence_01/lidar_point_cloud_0/0001.pcd": PCD},
        "ds/Sence_01/: looks like a scene but its name does not start with `scene_`",
    ),
    (
        "sence-suggestion",
        "LIDAR_FUSION",
        {"Sence_01/lidar_point_cloud_0/0001.pcd": PCD},
        "rename it to scene_01",
    ),
    ("scene-dash", "IMAGE", {"scene-01/image_0/0001.png": PNG}, "does not start with `scene_`"),
    (
        "zero-byte-file",
        "LIDAR_BASIC",
        {**LIDAR, "lidar_point_cloud_0/0003.pcd": b""},
        "ds/lidar_point_cloud_0/0003.pcd: file is empty (0 bytes)",
    ),
    (
        "result-without-data",
        "IMAGE",
        {**IMAGE, "result/0001.json": RESULT_2D, "result/0042.json": RESULT_2D},
        "ds/result/: 1 result file(s) match no data item and will be ignored: 0042.json",
    ),
    (
        "bad-result-ignored-without-resulttype",
        "LIDAR_FUSION",
        {**LIDAR, "result/0001.json": "{oops"},
        "(result/ is only read when the import sets resultType)",
    ),
    ("hidden-file", "IMAGE", {**IMAGE, "image_0/.DS_Store": b"\0\0"}, "hidden file(s)/folder(s) are skipped"),
    (
        "text-unknown-role",
        "TEXT",
        {"text/a.json": '[{"id": 1, "parentId": null, "text": "x", "role": "user"}]'},
        "has role 'user'",
    ),
]


@pytest.mark.parametrize(
    ("dtype", "files", "fragment"), [c[1:] for c in WARNING_CASES], ids=[c[0] for c in WARNING_CASES]
)
def test_layout_warning(tmp_path: Path, dtype, files, fragment):
    report = validate_dataset_folder(write_tree(tmp_path / "ds", files), dtype)
    assert report.errors == []
    assert any(fragment in w for w in report.warnings), report.warnings
    report.raise_for_errors()  # warnings alone never raise


def test_clean_layouts_have_no_findings(tmp_path: Path, lidar_folder: Path):
    report = validate_dataset_folder(lidar_folder, "LIDAR_FUSION", with_results=True)
    assert (report.errors, report.warnings) == ([], [])
    assert (report.items, report.scenes, report.files) == (2, 0, 7)
    assert report.bytes == sum(p.stat().st_size for p in lidar_folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("files", "items", "scenes"),
    [
        (
            {
                **LIDAR,
                "scene_01/lidar_point_cloud_0/0001.pcd": PCD,
                "SCENE_02/lidar_point_cloud_0/0001.pcd": PCD,
            },
            4,
            2,
        ),
        ({"wrapper/deeper/lidar_point_cloud_0/0001.pcd": PCD}, 1, 0),
        (
            {
                "lidar_point_cloud_1/0001.pcd": PCD,
                "lidar_point_cloud_0/0001.pcd": PCD,
                "lidar_point_cloud_0/0002.pcd": PCD,
            },
            2,
            0,
        ),
    ],
    ids=["scenes-case-insensitive", "wrapper-folders", "names-joined-across-lidar-folders"],
)
def test_counts(tmp_path: Path, files, items, scenes):
    report = validate_dataset_folder(write_tree(tmp_path / "ds", files), "LIDAR_FUSION")
    assert report.errors == []
    assert (report.items, report.scenes) == (items, scenes)


def test_folder_named_scene_is_itself_a_scene(tmp_path: Path):
    report = validate_dataset_folder(write_tree(tmp_path / "scene_07", LIDAR), "LIDAR_BASIC")
    assert (report.items, report.scenes, report.errors) == (2, 1, [])


def test_missing_and_non_folder(tmp_path: Path):
    assert "does not exist" in validate_dataset_folder(tmp_path / "nope", "IMAGE").errors[0]
    (tmp_path / "f").write_text("x")
    assert "is not a folder" in validate_dataset_folder(tmp_path / "f", "IMAGE").errors[0]
    with pytest.raises(ValueError, match="unknown dataset type"):
        validate_dataset_folder(tmp_path, "VIDEO")


def test_symlinks(tmp_path: Path):
    outside = tmp_path / "outside.pcd"
    outside.write_bytes(PCD)
    folder = write_tree(tmp_path / "ds", LIDAR)
    os.symlink(folder / "lidar_point_cloud_0" / "0001.pcd", folder / "lidar_point_cloud_0" / "0003.pcd")
    report = validate_dataset_folder(folder, "LIDAR_BASIC")
    assert (report.errors, report.items) == ([], 3)  # a link inside the folder is followed

    os.symlink(outside, folder / "lidar_point_cloud_0" / "0004.pcd")
    os.symlink(folder, folder / "loop")
    errors = validate_dataset_folder(folder, "LIDAR_BASIC").errors
    assert any("0004.pcd: symbolic link to" in e and "outside" in e for e in errors), errors
    assert any("ds/loop: symbolic link loop" in e for e in errors), errors


def test_many_problems_are_capped(tmp_path: Path):
    files = {f"image_0/{i:04d}.gif": b"GIF89a" for i in range(60)}
    report = validate_dataset_folder(write_tree(tmp_path / "ds", {**IMAGE, **files}), "IMAGE")
    assert len(report.errors) == 26
    assert "and 35 more problem(s) of the kind 'file type'" in report.errors[-1]


def test_twenty_thousand_files(tmp_path: Path):
    folder = tmp_path / "big"
    (folder / "lidar_point_cloud_0").mkdir(parents=True)
    (folder / "camera_image_0").mkdir()
    for i in range(10_000):
        (folder / "lidar_point_cloud_0" / f"{i:06d}.pcd").touch()
        (folder / "camera_image_0" / f"{i:06d}.png").touch()
    start = time.perf_counter()
    report = validate_dataset_folder(folder, "LIDAR_FUSION")
    elapsed = time.perf_counter() - start
    print(f"\nvalidated 20,000 empty files in {elapsed:.2f} s")
    assert (report.items, report.files, report.errors) == (10_000, 20_000, [])
    assert "and 19975 more problem(s) of the kind 'zero-byte file'" in report.warnings[-1]
