"""Binding result objects to a dataset's classes by name while packing / in the one-task upload; refusing
objects whose class is not a class of the dataset before anything is uploaded."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile

import pytest
from operator_helpers import request_paths, run_task

from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.datasets import Xtreme1PackDatasetOperator
from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1ImportDatasetOperator,
    Xtreme1UploadDatasetOperator,
)
from airflow_provider_xtreme1.sample_data import make_sample_dataset

WAIT = {"poll_interval": 0.1, "timeout": 60, "stall_timeout": 30}
ONTOLOGY = {
    "classes": [
        {"name": "car", "color": "#ff0000", "toolType": "BOUNDING_BOX"},  # the files say "Car"
        {"name": "Person", "color": "#00ff00", "toolType": "BOUNDING_BOX"},
    ]
}


@pytest.fixture
def synced(emu, tmp_path) -> int:
    """An IMAGE dataset whose classes were set by an ontology sync."""
    with Xtreme1Hook() as hook:
        dataset_id = int(hook.create_dataset(f"bind-{uuid.uuid4().hex[:6]}", "IMAGE")["id"])
    path = tmp_path / "ontology.json"
    path.write_text(json.dumps(ONTOLOGY))
    run_task(Xtreme1SyncOntologyOperator(task_id="sync", dataset_id=dataset_id, ontology_file=str(path)))
    return dataset_id


def digest(folder) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def pack(folder, out, dataset_id: int) -> Xtreme1PackDatasetOperator:
    return Xtreme1PackDatasetOperator(
        task_id="pack",
        source_folder=str(folder),
        dataset_type="IMAGE",
        output_path=str(out),
        with_results=True,
        dataset_id=dataset_id,
        bind_classes=True,
    )


def stored_objects(dataset_id: int) -> list[dict]:
    with Xtreme1Hook() as hook:
        ids = [d["id"] for d in hook.find_data(dataset_id, page_size=100)["list"]]
        return [o for a in hook.get_raw_annotations(ids) for o in a.get("objects") or []]


def test_objects_named_by_class_are_bound_and_reconciled(emu, synced, tmp_path):
    folder = make_sample_dataset(tmp_path / "set", "IMAGE", items=2)
    before = digest(folder)
    result, _ = run_task(pack(folder, tmp_path / "bound.zip", synced))
    assert digest(folder) == before  # the source folder is not changed
    with zipfile.ZipFile(result["path"]) as zf:
        objects = [
            o
            for n in zf.namelist()
            if "/result/" in n and n.endswith(".json")
            for o in json.loads(zf.read(n))["objects"]
        ]
        assert zf.testzip() is None
    with Xtreme1Hook() as hook:
        ids = {c["name"]: c["id"] for c in hook.get_dataset_classes(synced)}
        urls = hook.get_presigned_upload_url(synced, "bound.zip")
    assert objects and {o["classId"] for o in objects} <= set(ids.values())

    from airflow_provider_xtreme1.transfer import upload

    upload(urls["presignedUrl"], result["path"], progress_interval=-1)
    imported, _ = run_task(
        Xtreme1ImportDatasetOperator(
            task_id="import",
            dataset_id=synced,
            file_url=urls["accessUrl"],
            result_type="GROUND_TRUTH",
            reconcile_source=result["path"],  # reconciliation counts the bound objects
            **WAIT,
        )
    )
    assert imported["status"] == "PARSE_COMPLETED"
    stored = stored_objects(synced)
    assert len(stored) == len(objects) and all(o.get("classId") in ids.values() for o in stored)


def test_the_one_task_upload_binds_too(emu, synced, tmp_path):
    folder = make_sample_dataset(tmp_path / "set", "IMAGE", items=2)
    op = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=synced,
        source=str(folder),
        result_type="GROUND_TRUTH",
        bind_classes=True,
        **WAIT,
    )
    result, _ = run_task(op)
    assert result["status"] == "PARSE_COMPLETED"
    stored = stored_objects(synced)
    assert stored and all(o.get("classId") is not None for o in stored)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"classId": 999999, "className": "Car"}, r"result/\w+\.json: object #0 \(Car\) has classId 999999"),
        ({"className": "Bus"}, r"className 'Bus' is not a class of dataset \d+ \(its classes: Person, car\)"),
    ],
    ids=["foreign-class-id", "unknown-name"],
)
def test_a_class_that_is_not_the_datasets_is_refused_before_upload(emu, synced, tmp_path, obj, message):
    folder = make_sample_dataset(tmp_path / "set", "IMAGE", items=2)
    result_file = sorted((folder / "result").glob("*.json"))[0]
    doc = json.loads(result_file.read_text())
    doc["objects"][0] = {**{k: v for k, v in doc["objects"][0].items() if k != "className"}, **obj}
    result_file.write_text(json.dumps(doc))
    with pytest.raises(Xtreme1ValidationError, match=message):
        run_task(pack(folder, tmp_path / "out.zip", synced))
    assert not (tmp_path / "out.zip").exists()
    emu.reset()
    op = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=synced,
        source=str(folder),
        result_type="GROUND_TRUTH",
        bind_classes=True,
        **WAIT,
    )
    with pytest.raises(Xtreme1ValidationError, match=message):
        run_task(op)
    assert emu.storage_log == [] and request_paths(emu, "POST", "/data/upload") == []


def test_bind_classes_needs_a_dataset(tmp_path):
    with pytest.raises(ValueError, match="bind_classes=True needs dataset_id"):
        Xtreme1PackDatasetOperator(
            task_id="pack",
            source_folder=str(tmp_path),
            dataset_type="IMAGE",
            output_path="x.zip",
            bind_classes=True,
        )


def test_sync_bind_upload_and_list_through_dag_test(emu, dagbag, tmp_path):
    """Twice through dag.test(): the second sync writes nothing, the upload's objects are all bound."""
    from xtreme1_testing import run_dag, xcom

    path = tmp_path / "ontology.yaml"
    path.write_text(
        "classes:\n  - {name: Car, color: '#ff0000', toolType: BOUNDING_BOX}\n"
        "  - {name: person, color: '#00ff00', toolType: BOUNDING_BOX}\n"
    )
    conf = {"dataset_name": f"dag-{uuid.uuid4().hex[:6]}", "ontology_file": str(path)}
    dag = dagbag.get_dag("xtreme1_test_ontology")
    for turn in range(2):
        source = make_sample_dataset(tmp_path / f"set{turn}", "IMAGE", items=2, seed=turn)
        emu.reset()
        run, tis = run_dag(dag, conf={**conf, "source": str(source)})
        assert run.state == "success", {t: ti.state for t, ti in tis.items()}
        synced = xcom(run, "sync_ontology")
        writes = [r["path"] for r in emu.request_log if r["method"] == "POST" and "/dataset" in r["path"]]
        if turn == 0:
            assert synced["created"] == 2
        else:
            assert synced["plan"] == [] and writes == []  # no class or classification request
        assert xcom(run, "upload")["reconciliation"]["ok"]
        assert xcom(run, "list_data")["count"] == 2  # the second upload's items are duplicates, skipped
    stored = stored_objects(synced["dataset_id"])
    assert stored and {o.get("classId") for o in stored} <= set(synced["classes"].values())
