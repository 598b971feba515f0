"""The hook twins' ontology center calls against the emulator (sync and async alike): ontologies, their
classes and classifications, and copies between the center and a dataset."""

from __future__ import annotations

import pytest
from test_xtreme1_hook import make_twin, requests_to, unique, x1  # noqa: F401  (fixtures)

from airflow_provider_xtreme1.exceptions import Xtreme1ApiError, Xtreme1ConfigError

CAR = {"name": "Car", "color": "#ff0000", "toolType": "CUBOID", "attributes": []}
WEATHER = {
    "name": "Weather",
    "inputType": "RADIO",
    "isRequired": True,
    "attribute": {"name": "Weather", "options": [{"name": "sunny"}]},
}


def test_ontologies_are_created_found_renamed_and_deleted(x1):  # noqa: F811
    name = unique("Road")
    ontology_id = x1.create_ontology(name, "LIDAR_FUSION")
    assert isinstance(ontology_id, int)
    assert x1.get_ontology(ontology_id)["name"] == name
    # Names compare as the server's database does; the type is part of the key.
    assert x1.find_ontology_by_name(name.upper() + " ", "LIDAR_FUSION")["id"] == ontology_id
    assert x1.find_ontology_by_name(name, "IMAGE") is None
    assert ontology_id in [o["id"] for o in x1.list_ontologies("LIDAR_FUSION")]
    page = x1.find_ontologies(name=name)
    assert page["total"] == 1 and page["list"][0]["classNum"] == 0
    with pytest.raises(Xtreme1ApiError) as taken:
        x1.create_ontology(name.lower(), "LIDAR_FUSION")
    assert taken.value.code == "NAME_DUPLICATED"
    assert x1.create_ontology(name, "IMAGE") != ontology_id  # another type, another ontology

    x1.update_ontology(ontology_id, name + "-v2", "LIDAR_FUSION")
    assert x1.get_ontology(ontology_id)["name"] == name + "-v2"
    assert x1.delete_ontology(ontology_id) is True
    assert x1.get_ontology(ontology_id) is None
    assert x1.delete_ontology(ontology_id) is False
    # The server would insert a new ontology for the unknown id; the hook refuses before sending.
    with pytest.raises(Xtreme1ConfigError, match=f"no ontology with id {ontology_id}"):
        x1.update_ontology(ontology_id, name, "LIDAR_FUSION")


def test_names_with_like_wildcards_and_escapes_are_found_exactly(x1):  # noqa: F811
    tag = unique("w")
    wild = x1.create_ontology(f"{tag}_a%b", "LIDAR_BASIC")
    escaped = x1.create_ontology(f"{tag}\\x", "LIDAR_BASIC")
    x1.create_ontology(f"{tag}Za%b", "LIDAR_BASIC")  # matches the first name as a LIKE pattern
    assert x1.find_ontology_by_name(f"{tag}_a%b", "LIDAR_BASIC")["id"] == wild
    assert x1.find_ontology_by_name(f"{tag}\\x", "LIDAR_BASIC")["id"] == escaped
    assert x1.find_ontology_by_name(f"{tag}_a", "LIDAR_BASIC") is None


def test_center_classes_and_classifications(x1, emu):  # noqa: F811
    ontology_id = x1.create_ontology(unique("Lanes"), "IMAGE")
    x1.create_ontology_class(ontology_id, {**CAR, "toolTypeOptions": {"isStandard": True}})
    (car,) = x1.get_ontology_classes(ontology_id)
    assert car["toolTypeOptions"] == {"isStandard": True}
    # Without options in the body the server (updateById skips nulls) would keep the old ones.
    x1.update_ontology_class(ontology_id, car["id"], {**CAR, "color": "#00ff00"})
    (car,) = x1.get_ontology_classes(ontology_id)
    assert car["color"] == "#00ff00" and car["toolTypeOptions"] == {}

    for i in range(103):  # more than one page of the paged-only classification list
        x1.create_ontology_classification(ontology_id, {**WEATHER, "name": f"q{i:03d}"})
    rows = x1.get_ontology_classifications(ontology_id)
    assert [r["name"] for r in rows] == [f"q{i:03d}" for i in range(103)]
    assert len(requests_to(emu, "/api/classification/findByPage", "GET")) == 2
    x1.update_ontology_classification(ontology_id, rows[0]["id"], {**WEATHER, "isRequired": False})
    assert x1.get_ontology_classifications(ontology_id)[0]["name"] == "Weather"
    x1.delete_ontology_classification(rows[0]["id"])
    x1.delete_ontology_class(car["id"])
    assert x1.get_ontology_classes(ontology_id) == []
    assert len(x1.get_ontology_classifications(ontology_id)) == 102


def test_copy_into_a_dataset_and_back(x1, emu):  # noqa: F811
    ontology_id = x1.create_ontology(unique("Copy"), "IMAGE")
    x1.create_ontology_class(ontology_id, {**CAR, "toolType": "BOUNDING_BOX"})
    x1.create_ontology_classification(ontology_id, WEATHER)
    (car,) = x1.get_ontology_classes(ontology_id)
    (weather,) = x1.get_ontology_classifications(ontology_id)
    dataset_id = x1.create_dataset(unique("copy"), "IMAGE")["id"]

    x1.copy_from_ontology_center(dataset_id, ontology_id, [car["id"]], [weather["id"]])
    (copied,) = x1.get_dataset_classes(dataset_id)
    assert (copied["name"], copied["color"], copied["toolType"]) == ("Car", "#ff0000", "BOUNDING_BOX")
    assert x1.get_dataset_classifications(dataset_id)[0]["attribute"] == WEATHER["attribute"]

    x1.update_dataset_class(dataset_id, copied["id"], {**CAR, "toolType": "BOUNDING_BOX", "color": "#0000ff"})
    x1.create_dataset_classification(dataset_id, {**WEATHER, "name": "Light"})
    light = next(c for c in x1.get_dataset_classifications(dataset_id) if c["name"] == "Light")
    x1.save_to_ontology_center(dataset_id, ontology_id, [copied["id"]], [light["id"]])
    (back,) = x1.get_ontology_classes(ontology_id)
    assert back["id"] == car["id"] and back["color"] == "#0000ff"  # upserted in place
    assert sorted(c["name"] for c in x1.get_ontology_classifications(ontology_id)) == ["Light", "Weather"]
    before = len(emu.request_log)
    x1.copy_from_ontology_center(dataset_id, ontology_id)  # nothing to copy: no request
    assert emu.request_log[before:] == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: h.create_ontology("Words", "TEXT"), "holds no TEXT ontologies"),
        (lambda h: h.create_ontology("  ", "IMAGE"), "ontology_name must not be empty"),
        (lambda h: h.create_ontology("n" * 257, "IMAGE"), "at most 256"),
        (lambda h: h.list_ontologies("VIDEO"), "ontology_type must be one of"),
        (lambda h: h.create_ontology_class(1, {**CAR, "toolType": "BOX"}), "toolType must be one of"),
        (lambda h: h.get_ontology("abc"), "ontology_id must be an integer id"),
    ],
    ids=["text", "empty-name", "long-name", "type", "tool-type", "id"],
)
def test_bad_input_fails_before_any_request(x1, emu, call, message):  # noqa: F811
    before = len(emu.request_log)
    with pytest.raises(ValueError, match=message):
        call(x1)
    assert emu.request_log[before:] == []
