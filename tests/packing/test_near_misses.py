"""Near misses of the folder layout: files the server would not read (or reads, then loses) are errors
that name the folder and the name it should have; ``allow_unread_files`` turns them into warnings.

What counts as read follows the server: data parents hold ``lidar_point_cloud_<digit>``/``image_<digit>``
(any case), sibling folders are read by prefix ignoring case, ``scene_`` ignoring case, ``text`` ignoring
case, ``__MACOSX`` skipped; what the export then matches case-sensitively is lost after the import.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from packing_helpers import DIALOG, PCD, PNG, write_tree

from airflow_provider_xtreme1.archives import (
    check_archive,
    pack_dataset,
    plan_zip,
    suggest_folder,
    validate_dataset_folder,
)
from airflow_provider_xtreme1.sample_data import make_sample_dataset

LIDAR = {"lidar_point_cloud_0/0001.pcd": PCD, "lidar_point_cloud_0/0002.pcd": PCD}
IMAGE = {"image_0/0001.png": PNG, "image_0/0002.png": PNG}
SCENE = {"scene_01/lidar_point_cloud_0/0001.pcd": PCD}

# (id, dataset type, files, expected error fragment)
NEAR_MISSES = [
    (
        "missing-digit",
        "LIDAR_FUSION",
        {**SCENE, "lidar_point_cloud/0001.pcd": PCD, "lidar_point_cloud/0002.pcd": PCD},
        "ds/lidar_point_cloud/: the server does not read the 2 file(s) here (0001.pcd, 0002.pcd); "
        "did you mean `lidar_point_cloud_0/`?",
    ),
    (
        "missing-digit-image",
        "IMAGE",
        {"scene_01/image_0/0001.png": PNG, "image/0001.png": PNG},
        "ds/image/: the server does not read the 1 file(s) here (0001.png); did you mean `image_0/`?",
    ),
    (
        "two-digits",
        "LIDAR_BASIC",
        {**SCENE, "lidar_point_cloud_00/0001.pcd": PCD},
        "ds/lidar_point_cloud_00/: the server does not read the 1 file(s) here (0001.pcd); "
        "did you mean `lidar_point_cloud_0/`?",
    ),
    (
        "plural-camera-folder",
        "LIDAR_FUSION",
        {**LIDAR, "camera_images_1/0001.png": PNG},
        "ds/camera_images_1/: read by the import, but the server's export keeps camera images only from "
        "folders whose name contains `image_` in lower case; rename it to camera_image_1/",
    ),
    (
        "plural-lidar-folder",
        "LIDAR_FUSION",
        {**SCENE, "lidar_point_clouds_0/0001.pcd": PCD},
        "ds/lidar_point_clouds_0/: the server does not read the 1 file(s) here (0001.pcd); "
        "did you mean `lidar_point_cloud_0/`?",
    ),
    (
        "plural-results",
        "LIDAR_BASIC",
        {**LIDAR, "results/0001.json": '{"objects": []}'},
        "ds/results/: the server does not read the 1 file(s) here (0001.json); did you mean `result/`?",
    ),
    (
        "camera-without-index",
        "LIDAR_FUSION",
        {**LIDAR, "camera_image/0001.png": PNG},
        "ds/camera_image/: read by the import, but",
    ),
    (
        "upper-case-lidar",
        "LIDAR_BASIC",
        {"LIDAR_POINT_CLOUD_0/0001.pcd": PCD},
        "ds/LIDAR_POINT_CLOUD_0/: read by the import, but the server's export keeps point clouds only from "
        "folders named `lidar_point_cloud...` in lower case; rename it to lidar_point_cloud_0/",
    ),
    (
        "upper-case-camera",
        "LIDAR_FUSION",
        {**LIDAR, "Camera_Image_0/0001.png": PNG},
        "ds/Camera_Image_0/: read by the import, but the server's export keeps camera images only",
    ),
    (
        "upper-case-config",
        "LIDAR_FUSION",
        {**LIDAR, "Camera_Config/0001.json": "[]"},
        "ds/Camera_Config/: read by the import, but the server's export and model runs find camera "
        "parameters only in a folder named exactly `camera_config`",
    ),
    (
        "upper-case-image",
        "IMAGE",
        {"Image_0/0001.png": PNG},
        "ds/Image_0/: read by the import, but the server's export keeps images only from folders whose "
        "name contains `image_` in lower case; rename it to image_0/",
    ),
    ("upper-case-text", "TEXT", {"Text/a.json": DIALOG}, "ds/Text/: read by the import, but"),
    (
        "dash-separator",
        "LIDAR_FUSION",
        {**SCENE, "lidar-point-cloud-0/0001.pcd": PCD},
        "ds/lidar-point-cloud-0/: the server does not read the 1 file(s) here (0001.pcd); "
        "did you mean `lidar_point_cloud_0/`?",
    ),
    (
        "dash-separator-camera",
        "LIDAR_FUSION",
        {**LIDAR, "camera-image-0/0001.png": PNG},
        "ds/camera-image-0/: the server does not read the 1 file(s) here (0001.png); "
        "did you mean `camera_image_0/`?",
    ),
    (
        "image-folder-in-lidar-layout",
        "LIDAR_FUSION",
        {**LIDAR, "image_1/0001.png": PNG},
        "ds/image_1/: the server does not read the 1 file(s) here (0001.png); image_<digit> folders are not "
        "read in a LIDAR_FUSION dataset; did you mean `camera_image_1/`?",
    ),
    (
        "nested-in-sensor-folder",
        "LIDAR_BASIC",
        {**LIDAR, "lidar_point_cloud_0/more/0003.pcd": PCD},
        "ds/lidar_point_cloud_0/more/: the server does not read the 1 file(s) here (0003.pcd); "
        "folders inside lidar_point_cloud_0/ are not read: move the files up into ds/lidar_point_cloud_0/",
    ),
    (
        "scene-one-level-too-deep",
        "LIDAR_FUSION",
        {**LIDAR, "scene_01/frames/lidar_point_cloud_0/0001.pcd": PCD},
        "ds/scene_01/: named like a scene, but its lidar_point_cloud_<digit>/ folder lies in "
        "ds/scene_01/frames/, one level too deep",
    ),
    (
        "stray-files-at-the-root",
        "LIDAR_FUSION",
        {**LIDAR, "README.md": "x", "0003.pcd": PCD},
        "ds/: the server does not read the 2 file(s) here (0003.pcd, README.md); files next to the sensor "
        "folders are not read; move them into lidar_point_cloud_0/",
    ),
    (
        "stray-files-above-a-wrapper",
        "IMAGE",
        {"set/image_0/0001.png": PNG, "notes.txt": "x"},
        "ds/: the server does not read the 1 file(s) here (notes.txt); remove them or move them",
    ),
    (
        "camera-image-without-point-cloud",
        "LIDAR_FUSION",
        {**LIDAR, "camera_image_0/0001.png": PNG, "camera_image_0/0009.png": PNG},
        "ds/camera_image_0/: 1 file(s) match no point cloud by base name and will be ignored: 0009.png",
    ),
    (
        "duplicate-root-names",
        "LIDAR_BASIC",
        {"a/lidar_point_cloud_0/0001.pcd": PCD, "b/lidar_point_cloud_0/0001.pcd": PCD},
        "data name(s) 0001 also appear under",
    ),
    (
        "text-folder-misnamed",
        "TEXT",
        {"text/a.json": DIALOG, "dialogs/b.json": DIALOG},
        "ds/dialogs/: the server does not read the 1 file(s) here (b.json); did you mean `text/`?",
    ),
    (
        "text-nested",
        "TEXT",
        {"text/a.json": DIALOG, "text/more/b.json": DIALOG},
        "ds/text/more/: the server does not read the 1 file(s) here (b.json); folders inside text/ are not "
        "read: move the files up into ds/text/",
    ),
]


@pytest.mark.parametrize(
    ("dtype", "files", "fragment"), [c[1:] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES]
)
def test_near_miss_is_an_error_unless_allowed(tmp_path: Path, dtype, files, fragment):
    folder = write_tree(tmp_path / "ds", files)
    report = validate_dataset_folder(folder, dtype)
    assert any(fragment in e for e in report.errors), report.errors

    allowed = validate_dataset_folder(folder, dtype, allow_unread_files=True)
    assert allowed.errors == [] or "no `" in allowed.errors[0], allowed.errors
    assert any(fragment in w for w in allowed.warnings), allowed.warnings


@pytest.mark.parametrize(
    "files",
    [
        {**LIDAR, "scene_01/lidar_point_cloud_0/0001.pcd": PCD, "SCENE_02/lidar_point_cloud_0/0001.pcd": PCD},
        {**LIDAR, "camera_image_01/0001.png": PNG, "camera_config/0001.json": "[]", "Result/0001.json": "{}"},
        {**LIDAR, "lidar_point_cloud/0001.pcd": PCD},  # next to lidar_point_cloud_0/ it is read
        {"wrapper/deeper/lidar_point_cloud_0/0001.pcd": PCD, "wrapper/Thumbs.db": b"x"},
    ],
    ids=["scene-case", "read-by-prefix-and-case", "sibling-lidar-folder", "os-files"],
)
def test_what_the_server_reads_is_no_error(tmp_path: Path, files):
    report = validate_dataset_folder(write_tree(tmp_path / "ds", files), "LIDAR_FUSION")
    assert report.errors == []


def test_the_issue_repro(tmp_path: Path):
    """The sample with lidar_point_cloud_0/ -> lidar_point_cloud/ and camera_image_1/ -> camera_images_1/."""
    folder = make_sample_dataset(tmp_path / "X", "LIDAR_FUSION", items=4, scenes=1)
    (folder / "lidar_point_cloud_0").rename(folder / "lidar_point_cloud")
    (folder / "camera_image_1").rename(folder / "camera_images_1")
    report = validate_dataset_folder(folder, "LIDAR_FUSION", with_results=True)
    text = "\n".join(report.errors)
    assert "X/lidar_point_cloud/: the server does not read the 4 file(s) here" in text
    assert "did you mean `lidar_point_cloud_0/`?" in text
    assert "X/camera_images_1/: the server does not read the 4 file(s) here" in text
    assert "did you mean `camera_image_1/`?" in text
    for kept in ("camera_image_0", "camera_config", "result"):
        assert f"X/{kept}/: the server does not read the 4 file(s) here" in text
    with pytest.raises(Exception, match="did you mean `lidar_point_cloud_0/`"):
        pack_dataset(folder, "LIDAR_FUSION", tmp_path / "x.zip", with_results=True)
    assert not (tmp_path / "x.zip").exists()

    packed = pack_dataset(folder, "LIDAR_FUSION", tmp_path / "x.zip", allow_unread_files=True)
    assert (packed.items, packed.scenes) == (4, 1)  # what the server imports: the scene's 4 frames
    assert any("did you mean `lidar_point_cloud_0/`?" in w for w in packed.warnings)
    with pytest.raises(Exception, match="camera_images_1/"):
        check_archive(packed.path, "LIDAR_FUSION").raise_for_errors()
    check_archive(packed.path, "LIDAR_FUSION", allow_unread_files=True).raise_for_errors()


def test_archive_near_misses_and_macosx(tmp_path: Path):
    path = tmp_path / "set.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("set/lidar_point_cloud_0/0001.pcd", PCD)
        zf.writestr("set/lidar_point_cloud/0001.pcd", PCD)  # next to lidar_point_cloud_0/: read
        zf.writestr("set/pointclouds/0003.pcd", PCD)
        zf.writestr("set/__MACOSX_copy/._0001.pcd", b"x")  # the server skips any path with __MACOSX
        zf.writestr("set/.DS_Store", b"x")
    report = check_archive(path, "LIDAR_BASIC")
    assert report.errors == [
        "set/pointclouds/: the server does not read the 1 file(s) here (0003.pcd); "
        "did you mean `lidar_point_cloud_0/`?"
    ]
    assert any(".DS_Store" in w for w in report.warnings)
    assert check_archive(path, "LIDAR_BASIC", allow_unread_files=True).errors == []


def test_results_the_import_ignores(tmp_path: Path):
    folder = write_tree(tmp_path / "ds", {**LIDAR, "result/0001.json": '{"objects": []}'})
    assert validate_dataset_folder(folder, "LIDAR_BASIC").errors == []  # resultType not known: warnings
    errors = validate_dataset_folder(folder, "LIDAR_BASIC", results_ignored=True).errors
    assert errors == [
        "ds/result/: the server does not read the 1 file(s) here (0001.json); result/ is only read when "
        "the import sets result_type (GROUND_TRUTH or MODEL_RUN)"
    ]


def test_os_files_in_an_archive(tmp_path: Path):
    path = tmp_path / "mac.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("set/lidar_point_cloud_0/0001.pcd", PCD)
        zf.writestr("set/lidar_point_cloud_0/.DS_Store", b"x")  # not a .pcd: the server passes it by
        zf.writestr("set/lidar_point_cloud_0/._0001.pcd", b"x")  # a .pcd: the server makes it an item
    report = check_archive(path, "LIDAR_BASIC")
    assert report.errors == [
        "set/lidar_point_cloud_0/._0001.pcd: a macOS resource-fork file; the server would import it as "
        "data item '._0001'; delete the ._* files before archiving"
    ]
    assert any("set/lidar_point_cloud_0/.DS_Store" in w for w in report.warnings)


def test_plan_zip_takes_the_opt_in(tmp_path: Path):
    folder = write_tree(tmp_path / "ds", {**LIDAR, "notes.txt": "x"})
    with pytest.raises(Exception, match=r"ds/: the server does not read the 1 file\(s\) here \(notes\.txt\)"):
        plan_zip(folder, "LIDAR_BASIC")
    plan = plan_zip(folder, "LIDAR_BASIC", allow_unread_files=True)
    assert plan.files == 3 and any("notes.txt" in w for w in plan.report.warnings)


@pytest.mark.parametrize(
    ("name", "dtype", "expected"),
    [
        ("lidar_point_cloud", "LIDAR_FUSION", "lidar_point_cloud_0"),
        ("Lidar-Point-Cloud-2", "LIDAR_FUSION", "lidar_point_cloud_2"),
        ("pointclouds", "LIDAR_BASIC", "lidar_point_cloud_0"),
        ("lidar_point_clouds_0", "LIDAR_FUSION", "lidar_point_cloud_0"),
        ("camera_images_1", "LIDAR_FUSION", "camera_image_1"),
        ("camera_imgae_3", "LIDAR_FUSION", "camera_image_3"),
        ("cam2", "LIDAR_FUSION", "camera_image_2"),
        ("images", "LIDAR_FUSION", "camera_image_0"),
        ("images", "IMAGE", "image_0"),
        ("Image-1", "IMAGE", "image_1"),
        ("calib", "LIDAR_FUSION", "camera_config"),
        ("results", "IMAGE", "result"),
        ("dialogues", "TEXT", "text"),
        ("drive-0412", "LIDAR_FUSION", None),
        ("camera_image_0", "LIDAR_BASIC", None),  # LIDAR_BASIC has no cameras
    ],
)
def test_suggestions(name, dtype, expected):
    assert suggest_folder(name, dtype) == expected
