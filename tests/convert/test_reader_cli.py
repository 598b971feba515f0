"""Reading exports (zip or unpacked, bad input) and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest
from convert_kit import TOP, box, fusion_data, image_data, write_export

from airflow_provider_xtreme1.convert import Export, ExportFormatError, convert_export


def test_zip_and_unpacked_folder_give_the_same_items_grouped_by_scene(fusion_export, tmp_path):
    with zipfile.ZipFile(fusion_export["zip"]) as zf:
        zf.extractall(tmp_path / "unpacked")
    with Export(fusion_export["zip"]) as zipped:
        from_zip = [(i.key, i.data, i.results) for i in zipped.items()]
    for folder in (tmp_path / "unpacked", next((tmp_path / "unpacked").iterdir())):
        with Export(folder) as unpacked:
            assert [(i.key, i.data, i.results) for i in unpacked.items()] == from_zip
    assert [key for key, _, _ in from_zip] == [
        "000001", "000002", "000003",
        "scene_01/000001", "scene_01/000002", "scene_01/000003",
        "scene_02/000001", "scene_02/000002", "scene_02/000003",
    ]  # fmt: skip


def test_names_sort_naturally_and_coco_json_is_not_an_item(tmp_path):
    items = [(None, image_data(i, name), None) for i, name in enumerate(["img10", "img9", "img100"])]
    path = write_export(tmp_path / "e.zip", items)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(f"{TOP}/result/coco.json", "{}")
    with Export(path) as export:
        assert [i.name for i in export.items()] == ["img9", "img10", "img100"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"a/data/x.json": "{", "b/data/y.json": "{}"}, "expected one top folder"),
        ({f"{TOP}/data/x.json": "{not json"}, r"data/x.json is not valid JSON"),
        ({f"{TOP}/data/x.json": "[1]"}, r"data/x.json must be an object"),
        (
            {f"{TOP}/data/x.json": "{}", f"{TOP}/result/x.json": '"text"'},
            r"result/x.json must be a list of sources",
        ),
    ],
    ids=["two-tops", "bad-json", "data-not-object", "result-not-list"],
)
def test_malformed_exports_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in content.items():
            zf.writestr(name, text)
    with pytest.raises(ExportFormatError, match=message):
        convert_export(path, "coco", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_wrong_dataset_type_for_the_format_is_refused(tmp_path):
    path = write_export(tmp_path / "e.zip", [(None, image_data(1, "a"), None)])
    with pytest.raises(ValueError, match=r"data/a\.json: a IMAGE item cannot become KITTI 3D"):
        convert_export(path, "kitti", tmp_path / "out")


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    path = write_export(tmp_path / "e.zip", [(None, image_data(1, "a"), None)])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="already exists"):
        convert_export(path, "yolo", tmp_path / "out")
    assert (tmp_path / "out" / "mine.txt").exists()
    convert_export(path, "yolo", tmp_path / "out", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["classes.json", "classes.txt", "labels"]


def test_sources_select_result_entries(tmp_path):
    path = write_export(
        tmp_path / "e.zip", [(None, fusion_data(1, "f"), [box("Car", (10, 0, 1), (4, 2, 1.6))])]
    )
    summary = convert_export(path, "openlabel", tmp_path / "a", sources=["run-7"], require_cameras=False)
    assert summary["objects"] == 0 and summary["classes"] == 0


CLI = "airflow_provider_xtreme1.convert.__main__"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_xtreme1.convert", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_converts_and_prints_the_summary(fusion_export, tmp_path):
    done = run_cli(str(fusion_export["zip"]), "--to", "kitti", "--out", str(tmp_path / "k"),
                   "--camera-configs", str(fusion_export["package"]))  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["format"] == "kitti" and summary["frames"] == 9
    assert summary["output"] == str(tmp_path / "k")
    assert len(list((tmp_path / "k" / "label_2").iterdir())) == 9


def test_cli_explains_bad_input_and_does_not_import_airflow(tmp_path):
    done = run_cli(str(tmp_path / "missing.zip"), "--to", "coco", "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    missing = tmp_path / "missing.zip"
    assert (
        done.stderr == f"error: {missing}: no such export (expected the export zip or its unpacked folder)\n"
    )
    probe = subprocess.run(
        [sys.executable, "-c", f"import sys, {CLI}; print('airflow' in sys.modules)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.stdout.strip() == "False"
