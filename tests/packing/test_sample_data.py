"""make_sample_dataset writes layouts the validator (and an independent parser) accept, with real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packing_helpers import tree_hash
from PIL import Image

from airflow_provider_xtreme1.archives import (
    RESULT_OBJECT_TYPES,
    pack_dataset,
    safe_extract,
    validate_dataset_folder,
)
from airflow_provider_xtreme1.emulator import archive
from airflow_provider_xtreme1.sample_data import make_sample_dataset


@pytest.mark.parametrize(
    ("dtype", "items", "scenes", "expected_items", "expected_files"),
    [
        ("IMAGE", 3, 2, 9, 18),  # image + result per frame
        ("LIDAR_FUSION", 4, 1, 8, 40),  # 8 frames x (pcd + 2 cameras + config + result)
        ("LIDAR_BASIC", 2, 0, 2, 4),
        ("TEXT", 5, 0, 5, 5),
    ],
)
def test_every_type_validates_cleanly(tmp_path: Path, dtype, items, scenes, expected_items, expected_files):
    folder = make_sample_dataset(tmp_path / "ds", dtype, items=items, scenes=scenes)
    report = validate_dataset_folder(folder, dtype, with_results=True)
    assert (report.errors, report.warnings) == ([], [])
    assert (report.items, report.scenes, report.files) == (expected_items, scenes, expected_files)


def test_images_decode_and_pcd_headers_parse(tmp_path: Path):
    folder = make_sample_dataset(tmp_path / "ds", "LIDAR_FUSION", items=2, scenes=1, cameras=3)
    pngs = sorted(folder.rglob("*.png"))
    assert len(pngs) == 12
    for png in pngs:
        with Image.open(png) as img:
            img.load()  # decodes every pixel, checks the zlib stream and CRCs
            assert (img.format, img.size, img.mode) == ("PNG", (64, 48), "RGB")
    for pcd in folder.rglob("*.pcd"):
        text = pcd.read_text("ascii")
        header, _, body = text.partition("DATA ascii\n")
        fields = dict(line.split(" ", 1) for line in header.splitlines() if not line.startswith("#"))
        assert fields["VERSION"] == ".7" and fields["FIELDS"] == "x y z i"
        assert fields["SIZE"] == "4 4 4 4" and fields["TYPE"] == "F F F F" and fields["COUNT"] == "1 1 1 1"
        rows = body.splitlines()
        assert int(fields["POINTS"]) == int(fields["WIDTH"]) == len(rows) >= 240
        assert fields["HEIGHT"] == "1" and len(fields["VIEWPOINT"].split()) == 7
        assert all(len(r.split()) == 4 for r in rows)
    for cfg in folder.rglob("camera_config/*.json"):
        cams = json.loads(cfg.read_text())
        assert len(cams) == 3
        assert all(len(c["cameraExternal"]) == 16 and c["rowMajor"] is True for c in cams)
        assert all({"fx", "fy", "cx", "cy"} <= c["cameraInternal"].keys() for c in cams)


def test_results_use_kept_types_and_class_ids(tmp_path: Path):
    lidar = make_sample_dataset(
        tmp_path / "l", "LIDAR_BASIC", items=3, scenes=1, class_ids={"Car": 12, "Bus": 13}
    )
    image = make_sample_dataset(tmp_path / "i", "IMAGE", items=3)
    for path in lidar.rglob("result/*.json"):
        for obj in json.loads(path.read_text())["objects"]:
            assert obj["type"] == "3D_BOX" and obj["classId"] == {"Car": 12, "Bus": 13}[obj["className"]]
            assert {"center3D", "size3D", "rotation3D"} <= obj["contour"].keys()
    for path in image.rglob("result/*.json"):
        for obj in json.loads(path.read_text())["objects"]:
            assert obj["type"] in RESULT_OBJECT_TYPES and "classId" not in obj
            assert all(0 <= p["x"] < 64 and 0 <= p["y"] < 48 for p in obj["contour"]["points"])
    # frames of a scene keep their objects' track ids
    scene = sorted((lidar / "scene_01" / "result").glob("*.json"))
    tracks = [sorted(o["trackId"] for o in json.loads(p.read_text())["objects"]) for p in scene]
    assert tracks[0] == tracks[1] == tracks[2]


def test_deterministic_for_a_seed(tmp_path: Path):
    a = make_sample_dataset(tmp_path / "a" / "ds", "LIDAR_FUSION", items=2, scenes=1, seed=7)
    b = make_sample_dataset(tmp_path / "b" / "ds", "LIDAR_FUSION", items=2, scenes=1, seed=7)
    c = make_sample_dataset(tmp_path / "c" / "ds", "LIDAR_FUSION", items=2, scenes=1, seed=8)
    contents = [{p.relative_to(r): p.read_bytes() for p in r.rglob("*") if p.is_file()} for r in (a, b, c)]
    assert contents[0] == contents[1]
    assert contents[0] != contents[2]


def test_refuses_non_empty_folder_and_bad_arguments(tmp_path: Path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        make_sample_dataset(tmp_path / "ds", "IMAGE")
    with pytest.raises(ValueError, match="no scenes"):
        make_sample_dataset(tmp_path / "t", "TEXT", scenes=1)
    with pytest.raises(ValueError, match="unknown dataset type"):
        make_sample_dataset(tmp_path / "v", "VIDEO")


def test_cli(tmp_path: Path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_xtreme1.sample_data",
            str(out),
            "--type",
            "LIDAR_FUSION",
            "--items",
            "4",
            "--scenes",
            "1",
            "--class-ids",
            "Car=3,Pedestrian=4",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "wrote LIDAR_FUSION sample" in proc.stdout
    report = validate_dataset_folder(out, "LIDAR_FUSION", with_results=True)
    assert (report.items, report.scenes, report.errors) == (8, 1, [])
    bad = subprocess.run(
        [sys.executable, "-m", "airflow_provider_xtreme1.sample_data", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "not an empty folder" in bad.stderr


@pytest.mark.parametrize("dtype", ["IMAGE", "LIDAR_FUSION"])
def test_packed_sample_matches_emulator_parser(tmp_path: Path, dtype):
    """Cross-check item counts with the emulator's own reading of the server rules (an independent oracle)."""
    folder = make_sample_dataset(tmp_path / "ds", dtype, items=3, scenes=2)
    before = tree_hash(folder)
    result = pack_dataset(folder, dtype, tmp_path / "out" / "ds.zip")
    assert tree_hash(folder) == before
    dest = tmp_path / "x"
    archive.extract(str(result.path), str(dest))
    parents = archive.find_data_parents(str(dest), dtype)
    frames = sum(len(archive.data_names(p.path, dtype)) for p in parents)
    assert (frames, sum(p.is_scene for p in parents)) == (result.items, result.scenes) == (9, 2)
    assert len(safe_extract(result.path, tmp_path / "y")) == result.files
