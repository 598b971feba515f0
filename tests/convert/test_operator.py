"""Xtreme1ConvertExportOperator run by real Airflow after a real export from the emulator."""

from __future__ import annotations

import json

import pytest
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.convert import convert_export
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.operators.convert import Xtreme1ConvertExportOperator


def test_example_dag_exports_then_converts_with_camera_configs_fetched(emu, dagbag, fusion_export, tmp_path):
    dag = dagbag.get_dag("xtreme1_convert")
    dataset_id = fusion_export["dataset"]["id"]
    conf = {"dataset_id": dataset_id, "exports": f"{tmp_path}/exports/", "output": f"{tmp_path}/training"}
    run, tis = run_dag(dag, conf=conf, export={"poll_interval": 0.1})
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    kitti, openlabel = xcom(run, "to_kitti"), xcom(run, "to_openlabel")
    out = tmp_path / "training" / str(dataset_id)
    assert (kitti["output"], openlabel["output"]) == (str(out / "kitti"), str(out / "openlabel"))
    assert kitti["frames"] == openlabel["frames"] == 9
    assert kitti["frames_without_camera"] == openlabel["frames_without_camera"] == 0
    assert xcom(run, "to_kitti", key="objects") == kitti["objects"]  # multiple outputs

    # the presigned camera configs gave the same calibration as the uploaded package
    reference = convert_export(
        fusion_export["zip"], "kitti", tmp_path / "ref", camera_configs=fusion_export["package"]
    )
    assert {k: v for k, v in kitti.items() if k != "output"} == {
        k: v for k, v in reference.items() if k != "output"
    }
    for folder in ("calib", "label_2"):
        for path in (tmp_path / "ref" / folder).iterdir():
            assert (out / "kitti" / folder / path.name).read_text() == path.read_text()
    fetched = [r for r in emu.storage_log if "camera_config" in r["path"]]
    assert len(fetched) == 2 * 9 and all(
        "authorization" not in {k.lower() for k in r["headers"]} for r in fetched
    )


def test_object_storage_export_and_destination(image_export, tmp_path):
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())  # an object store without a server: fsspec's in-memory one

    source = ObjectStoragePath("memory://convert-test/in/export.zip")
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(image_export["zip"].read_bytes())
    operator = Xtreme1ConvertExportOperator(
        task_id="convert",
        export=source,
        to="coco",
        destination="memory://convert-test/out/coco",
        classes="Truck, Person,Car",  # a rendered template gives text
    )
    summary = operator.execute({})
    assert summary["output"] == "memory://convert-test/out/coco"
    target = ObjectStoragePath("memory://convert-test/out/coco")
    doc = json.loads((target / "annotations.json").read_text())
    assert [c["name"] for c in doc["categories"]] == ["Car", "Person", "Truck"]
    assert len(doc["annotations"]) == summary["objects"] == image_export["objects"]
    assert sorted(p.name for p in target.iterdir()) == ["annotations.json", "classes.json"]
    with pytest.raises(Xtreme1ConfigError, match="already exists; pass overwrite=True"):
        Xtreme1ConvertExportOperator(task_id="again", export=source, to="coco", destination=target).execute(
            {}
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"to": "pascal"}, ValueError, "to must be one of kitti, openlabel, yolo, coco, got 'pascal'"),
        ({"to": "kitti", "camera_index": -1}, ValueError, "camera_index must be 0 or more"),
    ],
    ids=["format", "camera-index"],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs, error, message):
    with pytest.raises(error, match=message):
        Xtreme1ConvertExportOperator(task_id="c", export="/x.zip", destination="/out", **kwargs)


def test_a_storage_destination_is_declared_as_an_asset():
    from airflow.sdk import Asset

    operator = Xtreme1ConvertExportOperator(
        task_id="c", export="/x.zip", to="kitti", destination="s3://aws_default@ml-data/kitti/"
    )
    assert operator.outlets == [Asset("s3://ml-data/kitti/")]


def test_missing_export_is_named(tmp_path):
    operator = Xtreme1ConvertExportOperator(
        task_id="c", export=str(tmp_path / "none.zip"), to="yolo", destination=str(tmp_path / "out")
    )
    with pytest.raises(Xtreme1ConfigError, match=f"Export {tmp_path / 'none.zip'} does not exist"):
        operator.execute({})
