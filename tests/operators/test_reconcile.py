"""Import reconciliation: after PARSE_COMPLETED the import operators compare the archive with the dataset
and catch every silent drop the server makes (against the emulator, which makes them as the server does).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from operator_helpers import request_paths, run_task
from PIL import Image
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.archives import read_manifest
from airflow_provider_xtreme1.exceptions import Xtreme1ReconcileError
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1ImportDatasetOperator,
    Xtreme1UploadDatasetOperator,
)
from airflow_provider_xtreme1.sample_data import make_sample_dataset

BOX = {"center3D": {"x": 1, "y": 2, "z": 0}, "size3D": {"x": 4, "y": 2, "z": 1.5}, "rotation3D": {"z": 0}}
PCD = (
    "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\n"
    "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 1\nDATA ascii\n0 0 0\n"
)
WAIT = {"poll_interval": 0.1, "timeout": 60, "stall_timeout": 30}


@pytest.fixture
def hook(emu):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    with Xtreme1Hook() as hook:
        yield hook


def new_dataset(hook, dataset_type: str) -> int:
    return hook.create_dataset(f"rec-{uuid.uuid4().hex[:10]}", dataset_type)["id"]


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()


def write_zip(path: Path, files: dict[str, bytes | str | dict]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, json.dumps(content) if isinstance(content, dict) else content)
    return path


def lidar_files(names: list[str], results: dict[str, list[dict]] | None = None) -> dict:
    files: dict[str, bytes | str | dict] = {f"lidar_point_cloud_0/{n}.pcd": PCD for n in names}
    files.update({f"result/{n}.json": {"objects": objs} for n, objs in (results or {}).items()})
    return files


def import_archive(hook, dataset_id: int, archive: Path, **options) -> dict:
    """Upload ``archive`` as it is (no layout check) and run the import operator reconciling with it."""
    from airflow_provider_xtreme1.transfer import upload

    urls = hook.get_presigned_upload_url(dataset_id, "set.zip")
    upload(urls["presignedUrl"], archive, progress_interval=-1)
    options = {"result_type": "GROUND_TRUTH", "reconcile_source": str(archive), **WAIT, **options}
    op = Xtreme1ImportDatasetOperator(
        task_id=f"import_{uuid.uuid4().hex[:6]}", dataset_id=dataset_id, file_url=urls["accessUrl"], **options
    )
    return run_task(op)[0]


def one_task(dataset_id: int, source, **options) -> dict:
    op = Xtreme1UploadDatasetOperator(
        task_id=f"upload_{uuid.uuid4().hex[:6]}",
        dataset_id=dataset_id,
        source=source,
        result_type="GROUND_TRUTH",
        **WAIT,
        **options,
    )
    return run_task(op)[0]


# ---------------------------------------------------------------------------------------------- clean


def test_a_clean_import_passes_through_dag_test(emu, dagbag, hook, tmp_path):
    source = make_sample_dataset(tmp_path / "src", "LIDAR_FUSION", items=3, scenes=2, cameras=1)
    sent = read_manifest(source, "LIDAR_FUSION")
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_upload_one_task"),
        conf={
            "source": str(source),
            "dataset_name": f"rec-clean-{tmp_path.name[-8:]}",
            "dataset_type": "LIDAR_FUSION",
            "result_type": "GROUND_TRUTH",
        },
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    summary = xcom(run, "upload")["reconciliation"]
    objects = sum(i.objects for p in sent.parents for i in p.items)
    assert summary["checked"] and summary["ok"]
    assert summary["items_sent"] == summary["items_stored"] == 9 and summary["scenes_stored"] == 2
    assert summary["objects_sent"] == summary["objects_stored"] == objects > 0
    assert summary["items_missing"] == summary["objects_unbound"] == summary["items_skipped_duplicates"] == 0
    # one page of root items, one per scene, one annotation batch
    assert summary["requests"] == 4


def test_deferred_import_tells_duplicates_apart_after_resuming(emu, dagbag, tmp_path):
    # the watermark noted before deferring comes back from XCom in execute_complete
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=2, scenes=1)
    conf = {
        "source": str(source),
        "dataset_name": f"rec-deferred-{tmp_path.name[-8:]}",
        "dataset_type": "LIDAR_BASIC",
        "result_type": "GROUND_TRUTH",
    }
    dag = dagbag.get_dag("xtreme1_test_upload_one_task")
    first, _ = run_dag(dag, conf=conf)
    assert xcom(first, "upload")["reconciliation"]["items_stored"] == 4
    again, tis = run_dag(dag, conf=conf, upload={"deferrable": True})
    assert again.state == "success", {t: ti.state for t, ti in tis.items()}
    summary = xcom(again, "upload")["reconciliation"]
    assert summary["ok"] and summary["items_unverified"] == 0
    assert summary["items_skipped_duplicates"] == 4 and summary["scenes_skipped_duplicates"] == 1


# ------------------------------------------------------------------------------------------ drop cases


def test_null_contour_is_detected(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    objects = [{"type": "3D_BOX", "className": "Car", "contour": BOX}, {"type": "3D_BOX", "contour": None}]
    archive = write_zip(tmp_path / "a.zip", lidar_files(["a", "b"], {"a": objects, "b": objects[:1]}))
    with pytest.raises(
        Xtreme1ReconcileError, match=r"objects: 3 sent, 2 stored(.|\n)*objects_short: a \(2 sent"
    ):
        import_archive(hook, ds, archive)


def test_warn_returns_the_shortfall_instead(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    objects = [{"type": "3D_BOX", "contour": BOX}, {"type": "CUBOID", "contour": BOX}]
    archive = write_zip(tmp_path / "a.zip", lidar_files(["a"], {"a": objects}))
    summary = import_archive(hook, ds, archive, on_mismatch="warn")["reconciliation"]
    assert summary["ok"] is False and summary["objects_short"] == 1
    assert summary["examples"]["objects_short"] == ["a (2 sent, 1 stored)"]


def test_a_foreign_class_id_is_detected(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    own = emu.add_class(ds, "Car")
    objects = [
        {"type": "3D_BOX", "classId": own, "contour": BOX},
        {"type": "3D_BOX", "classId": 987654, "className": "Truck", "contour": BOX},
    ]
    archive = write_zip(tmp_path / "a.zip", lidar_files(["a"], {"a": objects}))
    summary = import_archive(hook, ds, archive, on_mismatch="warn")["reconciliation"]
    assert summary["objects_sent"] == summary["objects_stored"] == 2
    assert summary["objects_unbound"] == 1 and summary["examples"]["objects_unbound"] == ["a"]
    # in another dataset the class id of the first one is foreign too: both objects lose their class
    with pytest.raises(Xtreme1ReconcileError, match=r"2 unbound from their class"):
        import_archive(hook, new_dataset(hook, "LIDAR_BASIC"), archive)


def test_an_undecodable_image_is_detected(emu, hook, tmp_path):
    ds = new_dataset(hook, "IMAGE")
    files = {f"image_0/{i:02d}.png": png() for i in range(1, 8)}
    files["image_0/02.png"] = b"\x89PNG\r\n\x1a\nbroken"
    archive = write_zip(tmp_path / "a.zip", files)
    with pytest.raises(
        Xtreme1ReconcileError, match=r"7 sent, 2 stored(.|\n)*items_missing: 01, 02, 03, 04, 05"
    ):
        import_archive(hook, ds, archive, result_type=None)


def test_unreadable_result_file_is_detected(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    files = lidar_files(["a"])
    files["result/a.json"] = {"objects": {"type": "3D_BOX"}}
    archive = write_zip(tmp_path / "a.zip", files)
    summary = import_archive(hook, ds, archive, on_mismatch="warn")["reconciliation"]
    assert summary["result_files_unreadable"] == 1 and summary["ok"] is False


def test_duplicates_are_skipped_not_failed(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_FUSION")
    source = make_sample_dataset(tmp_path / "src", "LIDAR_FUSION", items=2, scenes=1, cameras=1)
    first = one_task(ds, source)["reconciliation"]
    assert first["ok"] and first["items_stored"] == 4
    again = one_task(ds, source)
    summary = again["reconciliation"]
    assert summary["ok"] and summary["items_stored"] == 0
    assert summary["items_skipped_duplicates"] == 4 and summary["scenes_skipped_duplicates"] == 1
    assert summary["examples"]["items_skipped_duplicates"][:2] == ["000001", "000002"]


def test_earlier_items_count_as_duplicates_new_ones_as_stored(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    import_archive(hook, ds, write_zip(tmp_path / "a.zip", lidar_files(["a", "b"])), result_type=None)
    summary = import_archive(
        hook, ds, write_zip(tmp_path / "b.zip", lidar_files(["b", "c", "d"])), result_type=None
    )["reconciliation"]
    assert summary["ok"] and summary["items_stored"] == 2 and summary["items_skipped_duplicates"] == 1


def test_a_collation_duplicate_that_loses_its_batch_fails(emu, hook, tmp_path):
    # "DUP" is "Dup" to the server's unique key: the batch of five is rolled back, "fresh" with it
    ds = new_dataset(hook, "LIDAR_BASIC")
    import_archive(hook, ds, write_zip(tmp_path / "a.zip", lidar_files(["Dup"])), result_type=None)
    archive = write_zip(tmp_path / "b.zip", lidar_files(["DUP", "fresh"]))
    with pytest.raises(
        Xtreme1ReconcileError,
        match=r"Duplicate data names;\).*1 skipped as duplicates, 1 missing(.|\n)*items_missing: fresh",
    ):
        import_archive(hook, ds, archive, result_type=None)


def test_remote_source_is_not_reconciled(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    archive = write_zip(tmp_path / "a.zip", lidar_files(["a"]))
    result = import_archive(hook, ds, archive, reconcile_source="s3://bucket/a.zip", result_type=None)
    assert result["reconciliation"] == {
        "checked": False,
        "reason": "s3://bucket/a.zip is in remote storage; reading it again would download the archive",
    }
    assert request_paths(emu, "GET", "/annotate/data/listByDataIds") == []


def test_unreadable_reconcile_source_fails_before_importing(emu, hook, tmp_path):
    from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError

    ds = new_dataset(hook, "LIDAR_BASIC")
    archive = write_zip(tmp_path / "a.zip", lidar_files(["a"]))
    (tmp_path / "notes.txt").write_text("not an archive")
    for source, problem in (
        (tmp_path / "gone.zip", "does not exist"),
        (tmp_path / "notes.txt", "not a dataset"),
    ):
        with pytest.raises(Xtreme1ConfigError, match=rf"reconcile_source: .*{problem}"):
            import_archive(hook, ds, archive, reconcile_source=str(source))
    assert request_paths(emu, "POST", "/data/upload") == []


def test_a_single_image_upload_is_reconciled(emu, hook, tmp_path):
    ds = new_dataset(hook, "IMAGE")
    image = tmp_path / "cat.png"
    image.write_bytes(png())
    from airflow_provider_xtreme1.transfer import upload

    urls = hook.get_presigned_upload_url(ds, "cat.png")
    upload(urls["presignedUrl"], image, progress_interval=-1)
    op = Xtreme1ImportDatasetOperator(
        task_id="import_image", dataset_id=ds, file_url=urls["accessUrl"], reconcile_source=str(image), **WAIT
    )
    summary = run_task(op)[0]["reconciliation"]
    assert summary["ok"] and summary["items_sent"] == summary["items_stored"] == 1


def test_bad_on_mismatch_fails_before_importing(emu, hook, tmp_path):
    ds = new_dataset(hook, "LIDAR_BASIC")
    with pytest.raises(ValueError, match=r"on_mismatch must be one of \('fail', 'warn'\)"):
        one_task(ds, tmp_path, on_mismatch="ignore")
    assert request_paths(emu, "POST", "/data/upload") == []


# ------------------------------------------------------------------------------------------- the manifest


def test_manifest_reads_folder_zip_and_tar_alike(tmp_path):
    import shutil
    import tarfile

    folder = make_sample_dataset(tmp_path / "src", "IMAGE", items=3, scenes=1)
    archive = Path(shutil.make_archive(str(tmp_path / "a"), "zip", folder))
    (folder / ".hidden" / "image_0").mkdir(parents=True)
    (folder / ".hidden" / "image_0" / "x.png").write_bytes(png())  # not packed, so not sent
    with tarfile.open(tmp_path / "a.tar", "w") as tf:
        tf.add(folder / "image_0", arcname="wrap/image_0")
        tf.add(folder / "result", arcname="wrap/result")

    def shape(manifest):
        return [
            (p.name, p.is_scene, [(i.name, i.objects, i.valid) for i in p.items]) for p in manifest.parents
        ]

    from_folder = shape(read_manifest(folder, "IMAGE"))
    assert [p[:2] for p in from_folder] == [("", False), ("scene_01", True)]
    assert [n for n, _, _ in from_folder[0][2]] == ["000001", "000002", "000003"]
    assert all(objects == valid > 0 for _, objects, valid in from_folder[0][2])
    assert shape(read_manifest(archive, "IMAGE")) == from_folder
    assert shape(read_manifest(tmp_path / "a.tar", "IMAGE")) == [("wrap", False, from_folder[0][2])]


def test_manifest_counts_text_paths_and_bad_results(tmp_path):
    texts = make_sample_dataset(tmp_path / "t", "TEXT", items=2)
    assert [i.name for i in read_manifest(texts, "TEXT").parents[0].items] == [
        "dialog_001_1",
        "dialog_001_2",
        "dialog_002_1",
        "dialog_002_2",
    ]
    files = lidar_files(["a", "b"], {"a": [{"type": "3D_BOX", "classId": 3, "contour": BOX}, {"type": "X"}]})
    files["result/b.json"] = "not json"
    items = read_manifest(write_zip(tmp_path / "a.zip", files), "LIDAR_BASIC").parents[0].items
    assert [(i.name, i.objects, i.valid, i.with_class, i.unreadable) for i in items] == [
        ("a", 2, 1, 1, False),
        ("b", 0, 0, 0, True),
    ]


def test_without_a_watermark_reported_duplicates_leave_items_unverified(emu, hook, tmp_path):
    from airflow_provider_xtreme1.reconcile import reconcile_import

    ds = new_dataset(hook, "LIDAR_BASIC")
    archive = write_zip(tmp_path / "a.zip", lidar_files(["a", "b"]))
    import_archive(hook, ds, archive, result_type=None)
    manifest = read_manifest(archive, "LIDAR_BASIC")
    found = reconcile_import(hook, ds, manifest, "Duplicate data names;", result_type=None)
    assert found.counts["items_unverified"] == 2 and found.counts["items_stored"] == 0 and found.ok
    found = reconcile_import(hook, ds, manifest, "", result_type=None)
    assert found.counts["items_stored"] == 2 and found.requests == 1
