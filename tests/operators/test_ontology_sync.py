"""Xtreme1SyncOntologyOperator against the emulator: plan, apply, idempotence, drift, bad files."""

from __future__ import annotations

import json
import uuid

import pytest
from operator_helpers import run_task

from airflow_provider_xtreme1.exceptions import Xtreme1OntologyDriftError, Xtreme1ValidationError
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator

ATTRS = [
    {"name": "occluded", "type": "RADIO", "required": False, "options": [{"name": "yes"}, {"name": "no"}]}
]
ONTOLOGY = {
    "classes": [
        {"name": "Car", "color": "#ff0000", "toolType": "CUBOID", "attributes": ATTRS},
        {"name": "Pedestrian", "color": "#00ff00", "toolType": "CUBOID"},
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


@pytest.fixture
def dataset(emu) -> int:
    with Xtreme1Hook() as hook:
        return int(hook.create_dataset(f"onto-{uuid.uuid4().hex[:6]}", "LIDAR_FUSION")["id"])


def write(tmp_path, doc, name="ontology.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(path)


def sync(dataset_id: int, path: str, **kwargs) -> Xtreme1SyncOntologyOperator:
    return Xtreme1SyncOntologyOperator(task_id="sync", dataset_id=dataset_id, ontology_file=path, **kwargs)


def writes(emu) -> list[str]:
    return [r["path"] for r in emu.request_log if r["method"] == "POST"]


def test_sync_creates_then_a_second_run_changes_nothing(emu, dataset, tmp_path, capfd):
    path = write(tmp_path, ONTOLOGY)
    result, _ = run_task(sync(dataset, path))
    assert result["created"] == 3 and result["updated"] == 0
    assert "+ Car (CUBOID)" in result["plan"] and "+ classification Weather" in result["plan"]
    assert "\n+ Car (CUBOID)\n" in "".join(capfd.readouterr())
    with Xtreme1Hook() as hook:
        stored = {c["name"]: c for c in hook.get_dataset_classes(dataset)}
        weather = hook.get_dataset_classifications(dataset)
    assert stored["Car"]["attributes"] == ATTRS and stored["Pedestrian"]["color"] == "#00ff00"
    assert result["classes"] == {name: c["id"] for name, c in stored.items()}
    assert weather[0]["attribute"]["options"] == [{"name": "sunny"}, {"name": "rain"}]

    before = len(writes(emu))
    again, _ = run_task(sync(dataset, path))
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert writes(emu)[before:] == []  # no request that changes state
    checked, _ = run_task(sync(dataset, path, mode="check"))
    assert checked["plan"] == []


def test_updates_deletes_only_when_allowed_and_check_mode_detects_drift(emu, dataset, tmp_path):
    run_task(sync(dataset, write(tmp_path, ONTOLOGY)))
    changed = json.loads(json.dumps(ONTOLOGY))
    changed["classes"][1]["color"] = "#0000ff"
    changed["classes"][0] = {"name": "Tram", "color": "#123456", "toolType": "POLYGON"}
    path = write(tmp_path, changed, "changed.yaml")  # JSON is valid YAML
    before = len(writes(emu))
    with pytest.raises(Xtreme1OntologyDriftError) as err:
        run_task(sync(dataset, path, mode="check"))
    assert "~ Pedestrian colour" in str(err.value) and "+ Tram (POLYGON)" in str(err.value)
    assert writes(emu)[before:] == []

    result, _ = run_task(sync(dataset, path))
    assert "= Car (CUBOID) — not in the file, kept" in result["plan"]
    assert (result["created"], result["updated"], result["deleted"], result["kept"]) == (1, 1, 0, 1)
    result, _ = run_task(sync(dataset, path, allow_delete=True))
    assert result["plan"] == ["- Car (CUBOID)"] and result["deleted"] == 1
    with Xtreme1Hook() as hook:
        assert sorted(c["name"] for c in hook.get_dataset_classes(dataset)) == ["Pedestrian", "Tram"]


def test_a_case_only_rename_is_an_update_of_the_same_class(emu, dataset, tmp_path):
    run_task(sync(dataset, write(tmp_path, ONTOLOGY)))
    renamed = json.loads(json.dumps(ONTOLOGY))
    renamed["classes"][0]["name"] = "CAR"
    result, _ = run_task(sync(dataset, write(tmp_path, renamed)))
    assert result["plan"] == ["~ CAR name"]
    assert "CAR" in result["classes"] and "Car" not in result["classes"]


def test_deleting_a_class_in_use_is_refused_before_any_change(emu, dataset, tmp_path):
    run_task(sync(dataset, write(tmp_path, ONTOLOGY)))
    with Xtreme1Hook() as hook:
        car = next(c for c in hook.get_dataset_classes(dataset) if c["name"] == "Car")
    emu._store.objects.append({"datasetId": dataset, "dataId": -1, "classId": car["id"]})
    emu._store.data[-1] = {"id": -1, "datasetId": dataset, "parentId": 0}
    try:
        only_people = {"classes": [ONTOLOGY["classes"][1]], "classifications": ONTOLOGY["classifications"]}
        before = len(writes(emu))
        with pytest.raises(Xtreme1ValidationError, match=r"Car \(CUBOID\): 1 object"):
            run_task(sync(dataset, write(tmp_path, only_people), allow_delete=True))
        assert writes(emu)[before:] == []
    finally:
        emu._store.data.pop(-1, None)
        emu._store.objects = [o for o in emu._store.objects if o["dataId"] != -1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        (["Car"], "must hold an object"),
        ({"classes": [{"name": "Car", "color": "#f00", "toolType": "BOX"}]}, "toolType 'BOX' is not one of"),
        (
            {
                "classes": [
                    {"name": "Car", "color": "#f00", "toolType": "CUBOID"},
                    {"name": "cár", "color": "#0f0", "toolType": "CUBOID"},
                ]
            },
            "'Car' and 'cár' are the same name to Xtreme1",
        ),
        ({"classes": [{"color": "#f00", "toolType": "CUBOID"}]}, "'name' is missing"),
        (
            {"classifications": [{"name": "W", "inputType": "RADIO", "options": []}]},
            "never stored by Xtreme1",
        ),
        ({"classifications": [{"name": "W", "inputType": "SLIDER"}]}, "inputType 'SLIDER'"),
    ],
    ids=["malformed", "not-an-object", "tool-type", "case-duplicates", "no-name", "options", "input-type"],
)
def test_bad_files_fail_before_any_request_that_changes_state(emu, dataset, tmp_path, content, message):
    path = write(tmp_path, content)
    before = len(emu.request_log)
    with pytest.raises(Xtreme1ValidationError, match=message):
        run_task(sync(dataset, path))
    assert emu.request_log[before:] == []  # not even a read: the file is checked first


def test_missing_file_and_unknown_mode(emu, dataset, tmp_path):
    with pytest.raises(Xtreme1ValidationError, match="cannot be read"):
        run_task(sync(dataset, str(tmp_path / "absent.json")))
    with pytest.raises(ValueError, match="mode must be one of"):
        run_task(sync(dataset, write(tmp_path, ONTOLOGY), mode="plan"))


def test_an_update_keeps_the_attribute_ids_annotations_refer_to(emu, dataset, tmp_path):
    with_ids = [
        {**ATTRS[0], "id": "a1", "options": [{"id": "o1", "name": "yes"}, {"id": "o2", "name": "no"}]}
    ]
    with Xtreme1Hook() as hook:
        hook.create_dataset_class(
            dataset, {"name": "Car", "color": "#ff0000", "toolType": "CUBOID", "attributes": with_ids}
        )
    exported = {"classes": [{"name": "Car", "color": "#0000ff", "toolType": "CUBOID", "attributes": ATTRS}]}
    result, _ = run_task(sync(dataset, write(tmp_path, exported)))
    assert result["plan"] == ["~ Car colour"]  # attributes equal but for their ids
    with Xtreme1Hook() as hook:
        (car,) = hook.get_dataset_classes(dataset)
    assert car["color"] == "#0000ff" and car["attributes"] == with_ids


def test_yaml_from_a_uri_and_malformed_yaml(emu, dataset, tmp_path):
    good = write(tmp_path, "classes:\n  - {name: Car, color: '#ff0000', toolType: CUBOID}\n", "onto.yml")
    op = sync(dataset, f"file://{good}")
    result, _ = run_task(op)
    assert result["plan"] == ["+ Car (CUBOID)"]
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", good)]
    assert lineage.outputs[0].name.endswith(str(dataset))
    bad = write(tmp_path, "classes: [ {name: Car\n", "bad.yaml")
    with pytest.raises(Xtreme1ValidationError, match="is not valid YAML"):
        run_task(sync(dataset, bad))


def test_a_lost_answer_is_not_sent_twice_and_the_next_try_converges(emu, dataset, tmp_path):
    from airflow_provider_xtreme1.emulator import Fault
    from airflow_provider_xtreme1.exceptions import Xtreme1AnswerLostError

    path = write(tmp_path, ONTOLOGY)
    emu.inject(Fault(path=r"^/api/datasetClass/create$", kind="drop_answer", times=1))
    with pytest.raises(Xtreme1AnswerLostError):
        run_task(sync(dataset, path))
    assert len([p for p in writes(emu) if p == "/api/datasetClass/create"]) == 1  # not repeated
    result, _ = run_task(sync(dataset, path))  # the task's retry plans again from what the server holds
    assert result["plan"] == ["+ Pedestrian (CUBOID)", "+ classification Weather"]
    with Xtreme1Hook() as hook:
        assert sorted(c["name"] for c in hook.get_dataset_classes(dataset)) == ["Car", "Pedestrian"]


def test_options_and_attributes_the_file_drops_are_cleared(emu, dataset, tmp_path):
    run_task(sync(dataset, write(tmp_path, ONTOLOGY)))
    bare = {"classes": [{"name": "Car", "color": "#ff0000", "toolType": "CUBOID"}]}
    result, _ = run_task(sync(dataset, write(tmp_path, bare, "bare.json")))
    assert result["plan"][0] == "~ Car attributes"  # read back: the server kept the change
    with Xtreme1Hook() as hook:
        car = next(c for c in hook.get_dataset_classes(dataset) if c["name"] == "Car")
    assert car["attributes"] == []
