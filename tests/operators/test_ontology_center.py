"""The ontology center in DAGs, against the emulator: a center ontology kept equal to a file, copies between
the center and a dataset (collisions refused unless overwrite), guarded deletion, early errors."""

from __future__ import annotations

import json
import uuid

import pytest
from operator_helpers import run_task
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1DestinationExistsError,
    Xtreme1OntologyDriftError,
)
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.ontology import (
    Xtreme1ExportOntologyOperator,
    Xtreme1SyncOntologyOperator,
)
from airflow_provider_xtreme1.operators.ontology_center import (
    Xtreme1CopyOntologyOperator,
    Xtreme1DeleteOntologyOperator,
)

ONTOLOGY = {
    "classes": [
        {"name": "Car", "color": "#ff0000", "toolType": "BOUNDING_BOX"},
        {
            "name": "Person",
            "color": "#00ff00",
            "toolType": "POLYGON",
            "toolTypeOptions": {"isStandard": True},
        },
    ],
    "classifications": [
        {
            "name": "Weather",
            "isRequired": True,
            "inputType": "RADIO",
            "attribute": {"name": "Weather", "options": [{"name": "sunny"}, {"name": "rain"}]},
        }
    ],
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def write(tmp_path, doc, name="ontology.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def writes(emu) -> list[str]:
    return [r["path"] for r in emu.request_log if r["method"] == "POST"]


def sync(path: str, **kwargs) -> Xtreme1SyncOntologyOperator:
    return Xtreme1SyncOntologyOperator(task_id="sync", ontology_file=path, **kwargs)


def copy(dataset_id: int, **kwargs) -> Xtreme1CopyOntologyOperator:
    return Xtreme1CopyOntologyOperator(task_id="copy", dataset_id=dataset_id, **kwargs)


@pytest.fixture
def hook(emu):
    with Xtreme1Hook() as hook:
        yield hook


def test_the_dag_syncs_a_center_ontology_copies_it_and_deletes_only_when_confirmed(
    emu, dagbag, tmp_path, hook
):
    name = unique("road")
    conf = {
        "ontology_name": name,
        "dataset_name": unique("road-data"),
        "ontology_file": write(tmp_path, ONTOLOGY),
    }
    dag = dagbag.get_dag("xtreme1_test_ontology_center")
    run, _ = run_dag(dag, conf=conf)
    assert run.state == "success"
    synced = xcom(run, "sync_center")
    assert synced["plan"][0] == f"+ ontology {name} (IMAGE)" and synced["created"] == 3
    ontology = hook.find_ontology_by_name(name, "IMAGE")
    assert synced["ontology_id"] == ontology["id"]
    copied = xcom(run, "copy_to_dataset")
    dataset_id = xcom(run, "ensure_dataset")
    assert copied["copied"] == 3 and copied["dataset_id"] == dataset_id
    stored = {c["name"]: c for c in hook.get_dataset_classes(dataset_id)}
    assert copied["classes"] == {n: c["id"] for n, c in stored.items()}
    assert stored["Person"]["toolTypeOptions"] == {"isStandard": True}
    assert hook.get_dataset_classifications(dataset_id)[0]["name"] == "Weather"
    report = xcom(run, "delete_center")
    assert report["dry_run"] is True and report["deleted"] is False
    assert (report["classes"], report["classifications"]) == (2, 1)
    assert hook.get_ontology(ontology["id"]) is not None

    before = len(writes(emu))
    again, _ = run_dag(dag, conf={**conf, "confirm_delete": True})
    assert again.state == "success"
    assert xcom(again, "sync_center")["plan"] == [] and xcom(again, "copy_to_dataset")["unchanged"] == 3
    assert writes(emu)[before:] == [f"/api/ontology/delete/{ontology['id']}"]  # no other POST
    assert xcom(again, "delete_center")["deleted"] is True
    assert hook.get_ontology(ontology["id"]) is None
    assert len(hook.get_dataset_classes(dataset_id)) == 2  # dataset classes stay


def test_a_center_sync_detects_drift_and_a_second_run_sends_nothing(emu, tmp_path, hook):
    ontology_id = hook.create_ontology(unique("lanes"), "LIDAR_FUSION")
    path = write(tmp_path, ONTOLOGY)
    with pytest.raises(Xtreme1OntologyDriftError, match=r"\+ Car \(BOUNDING_BOX\)"):
        run_task(sync(path, ontology_id=ontology_id, mode="check"))
    first, _ = run_task(sync(path, ontology_id=ontology_id, ontology_type="LIDAR_FUSION"))
    assert (first["created"], first["dataset_id"], first["ontology_id"]) == (3, None, ontology_id)
    assert first["classes"] == {c["name"]: c["id"] for c in hook.get_ontology_classes(ontology_id)}

    before = len(writes(emu))
    again, _ = run_task(sync(path, ontology_id=ontology_id))
    assert again["plan"] == [] and writes(emu)[before:] == []

    hook.update_ontology_class(
        ontology_id, first["classes"]["Car"], {**ONTOLOGY["classes"][0], "color": "#000"}
    )
    changed = {**ONTOLOGY, "classes": ONTOLOGY["classes"][1:]}
    with pytest.raises(Xtreme1OntologyDriftError, match="~ Car colour"):
        run_task(sync(path, ontology_id=ontology_id, mode="check"))
    fixed, _ = run_task(
        sync(write(tmp_path, changed, "less.json"), ontology_id=ontology_id, allow_delete=True)
    )
    assert fixed["plan"] == ["- Car (BOUNDING_BOX)"]
    # Options left out of the file are cleared, although the server's update skips null fields.
    no_options = {"classes": [{**ONTOLOGY["classes"][1], "toolTypeOptions": None}]}
    cleared, _ = run_task(sync(write(tmp_path, no_options, "plain.json"), ontology_id=ontology_id))
    assert cleared["plan"][0] == "~ Person tool type options" and cleared["updated"] == 1
    assert hook.get_ontology_classes(ontology_id)[0]["toolTypeOptions"] == {}


def test_a_missing_center_ontology_is_drift_in_check_mode_and_created_once(emu, tmp_path, hook):
    name = unique("rail")
    path = write(tmp_path, ONTOLOGY)
    before = len(writes(emu))
    with pytest.raises(Xtreme1OntologyDriftError, match=f"ontology {name} \\(LIDAR_BASIC\\)"):
        run_task(sync(path, ontology_name=name, ontology_type="LIDAR_BASIC", mode="check"))
    assert writes(emu)[before:] == []
    run_task(sync(path, ontology_name=name, ontology_type="LIDAR_BASIC"))
    again, _ = run_task(sync(path, ontology_name=name.upper(), ontology_type="LIDAR_BASIC"))
    assert again["plan"] == []
    assert [o["name"] for o in hook.list_ontologies("LIDAR_BASIC")].count(name) == 1


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"dataset_id": 1, "ontology_id": 1}, ValueError, "exactly one target"),
        ({}, ValueError, "exactly one target"),
        ({"ontology_name": "x"}, ValueError, "ontology_name needs ontology_type"),
        ({"ontology_name": "x", "ontology_type": "TEXT"}, ValueError, "holds no TEXT ontologies"),
        ({"ontology_id": 1, "ontology_name": "x"}, ValueError, "not both"),
        ({"ontology_id": 987654}, Xtreme1ConfigError, "no ontology with id 987654"),
    ],
    ids=["both", "neither", "name-without-type", "text", "id-and-name", "unknown-id"],
)
def test_bad_sync_targets_fail_before_any_change(emu, tmp_path, arguments, error, message):
    before = len(writes(emu))
    with pytest.raises(error, match=message):
        run_task(sync(write(tmp_path, ONTOLOGY), **arguments))
    assert writes(emu)[before:] == []


def plain(rows: list[dict]) -> list[dict]:
    """Rows without what differs between two ontologies holding the same classes."""
    return [{k: v for k, v in r.items() if k not in ("id", "ontologyId", "createdAt")} for r in rows]


def center_with_classes(hook, name: str, kind: str = "IMAGE") -> int:
    ontology_id = hook.create_ontology(name, kind)
    for row in ONTOLOGY["classes"]:
        hook.create_ontology_class(ontology_id, row)
    hook.create_ontology_classification(ontology_id, ONTOLOGY["classifications"][0])
    return ontology_id


def test_a_copy_refuses_to_overwrite_unless_told_and_picks_by_name(emu, hook):
    ontology_id = center_with_classes(hook, unique("center"))
    dataset_id = hook.create_dataset(unique("target"), "IMAGE")["id"]
    hook.create_dataset_class(dataset_id, {"name": "car", "color": "#ff0000", "toolType": "BOUNDING_BOX"})

    before = len(writes(emu))
    with pytest.raises(Xtreme1ConfigError, match=r"~ Car \(BOUNDING_BOX\) into 'car'") as err:
        run_task(copy(dataset_id, ontology_id=ontology_id))
    assert "Nothing was changed" in str(err.value) and writes(emu)[before:] == []
    only, _ = run_task(
        copy(dataset_id, ontology_id=ontology_id, class_names=["Person"], classification_names=[])
    )
    assert only["plan"] == ["+ Person (POLYGON)"]
    merged, _ = run_task(copy(dataset_id, ontology_id=ontology_id, overwrite="true"))
    assert (merged["copied"], merged["overwritten"], merged["unchanged"]) == (1, 1, 1)
    assert merged["classes"]["Car"] == next(
        c["id"] for c in hook.get_dataset_classes(dataset_id) if c["name"] == "car"
    )
    with pytest.raises(Xtreme1ConfigError, match="has no class named 'Tram'; it has: 'Car', 'Person'"):
        run_task(copy(dataset_id, ontology_id=ontology_id, class_names="Tram"))


def test_a_dataset_is_saved_to_a_new_center_ontology_and_back(emu, hook):
    dataset_id = hook.create_dataset(unique("source"), "LIDAR_FUSION")["id"]
    hook.create_dataset_class(dataset_id, {"name": "Truck", "color": "#123456", "toolType": "CUBOID"})
    hook.create_dataset_classification(dataset_id, ONTOLOGY["classifications"][0])
    name = unique("saved")
    with pytest.raises(Xtreme1ConfigError, match="has no class named 'Car'; it has: 'Truck'"):
        run_task(copy(dataset_id, ontology_name=name, direction="to_center", class_names="Car"))
    assert hook.find_ontology_by_name(name, "LIDAR_FUSION") is None  # checked before creating
    saved, _ = run_task(copy(dataset_id, ontology_name=name, direction="to_center"))
    center = hook.find_ontology_by_name(name, "LIDAR_FUSION")  # the dataset's type
    assert saved["ontology_id"] == center["id"] and saved["copied"] == 2
    assert [c["name"] for c in hook.get_ontology_classes(center["id"])] == ["Truck"]
    assert hook.get_ontology_classifications(center["id"])[0]["attribute"]["options"][1] == {"name": "rain"}
    before = len(writes(emu))
    again, _ = run_task(copy(dataset_id, ontology_name=name, direction="to_center"))
    assert again["unchanged"] == 2 and writes(emu)[before:] == []


@pytest.mark.parametrize(
    ("kind", "arguments", "message"),
    [
        ("IMAGE", {"ontology_type": "LIDAR_FUSION"}, "has type IMAGE; .* not LIDAR_FUSION"),
        ("IMAGE", {"by_id_of": "LIDAR_BASIC"}, "has type LIDAR_BASIC, not IMAGE"),
        ("TEXT", {}, "ontology center has no TEXT ontologies"),
        ("IMAGE", {"ontology_name": "no-such-ontology"}, "no IMAGE ontology named 'no-such-ontology'"),
        ("IMAGE", {"direction": "both"}, "direction must be one of"),
    ],
    ids=["type-by-name", "type-by-id", "text", "unknown-name", "direction"],
)
def test_bad_copies_fail_before_any_change(emu, hook, kind, arguments, message):
    dataset_id = hook.create_dataset(unique("bad"), kind)["id"]
    other = arguments.pop("by_id_of", None)
    if other:
        arguments["ontology_id"] = hook.create_ontology(unique("other"), other)
    if "ontology_id" not in arguments:
        arguments.setdefault("ontology_name", "x")
    before = len(writes(emu))
    with pytest.raises((Xtreme1ConfigError, ValueError), match=message):
        run_task(copy(dataset_id, **arguments))
    assert writes(emu)[before:] == []


def test_deleting_an_unknown_ontology_names_the_known_ones(emu, hook):
    name = unique("keep")
    hook.create_ontology(name, "LIDAR_BASIC")
    with pytest.raises(Xtreme1ConfigError, match=f"no LIDAR_BASIC ontology named 'gone'.*'{name}'"):
        run_task(
            Xtreme1DeleteOntologyOperator(task_id="d", ontology_name="gone", ontology_type="LIDAR_BASIC")
        )
    with pytest.raises(ValueError, match="ontology_id, or ontology_name"):
        run_task(Xtreme1DeleteOntologyOperator(task_id="d"))


def test_lost_answers_create_and_delete_a_center_ontology_once(emu, tmp_path, hook):
    from airflow_provider_xtreme1.emulator import Fault

    name = unique("lost")
    emu.inject(Fault(path=r"^/api/ontology/create$", kind="drop_answer", times=1))
    result, _ = run_task(sync(write(tmp_path, ONTOLOGY), ontology_name=name, ontology_type="IMAGE"))
    assert writes(emu).count("/api/ontology/create") == 1  # looked up, not sent again
    assert [o["name"] for o in hook.list_ontologies("IMAGE")].count(name) == 1
    emu.inject(Fault(path=r"^/api/ontology/delete/", kind="drop_answer", times=1))
    delete = Xtreme1DeleteOntologyOperator(
        task_id="d", ontology_id=result["ontology_id"], confirm_delete=True
    )
    deleted, _ = run_task(delete)
    assert deleted["deleted"] is True and hook.get_ontology(result["ontology_id"]) is None


def test_an_exported_ontology_syncs_another_one_equal_center_to_center(emu, tmp_path, hook):
    source = center_with_classes(hook, unique("source"))
    target = tmp_path / "exported.yaml"
    op = Xtreme1ExportOntologyOperator(task_id="export", ontology_id=source, destination=str(target))
    exported, _ = run_task(op)
    assert (exported["classes"], exported["classifications"], exported["uri"]) == (2, 1, str(target))
    assert "id:" not in target.read_text().replace("ontologyId", "")  # no row ids
    assert op.get_openlineage_facets_on_complete(None).outputs[0].name == str(target)
    with pytest.raises(Xtreme1DestinationExistsError, match="pass overwrite=True"):
        run_task(Xtreme1ExportOntologyOperator(task_id="export", ontology_id=source, destination=str(target)))

    name = unique("copy")
    run_task(sync(str(target), ontology_name=name, ontology_type="IMAGE"))
    copied = hook.find_ontology_by_name(name, "IMAGE")["id"]
    assert plain(hook.get_ontology_classes(copied)) == plain(hook.get_ontology_classes(source))
    assert plain(hook.get_ontology_classifications(copied)) == plain(
        hook.get_ontology_classifications(source)
    )
    checked, _ = run_task(sync(str(target), ontology_id=copied, mode="check"))
    assert checked["plan"] == []

    dataset_id = hook.create_dataset(unique("exp"), "IMAGE")["id"]
    run_task(sync(str(target), dataset_id=dataset_id))
    again, _ = run_task(
        Xtreme1ExportOntologyOperator(
            task_id="export", dataset_id=dataset_id, destination=str(target), overwrite=True
        )
    )
    assert (again["dataset_id"], again["classes"]) == (dataset_id, 2)


def test_a_delete_the_proxy_failed_is_sent_again_once(emu, hook):
    from airflow_provider_xtreme1.emulator import Fault

    ontology_id = center_with_classes(hook, unique("proxy"))
    emu.inject(Fault(path=r"^/api/ontology/delete/", kind="status", status=502, times=1))
    delete = Xtreme1DeleteOntologyOperator(task_id="d", ontology_id=str(ontology_id), confirm_delete="true")
    result, _ = run_task(delete)
    assert result["deleted"] is True and hook.get_ontology(ontology_id) is None
    assert writes(emu).count(f"/api/ontology/delete/{ontology_id}") == 2
