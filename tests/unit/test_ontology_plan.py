"""The ontology plan (pure): matching under the server's collation, what counts as a change, builders."""

from __future__ import annotations

import pytest

from airflow_provider_xtreme1._api import ontology as _api_ontology
from airflow_provider_xtreme1.ontology import check_ontology, drift, plan_changes


def row(id_: int, name: str, tool: str = "CUBOID", color: str = "#fff", **extra) -> dict:
    return {"id": id_, "name": name, "toolType": tool, "color": color, "datasetId": 1, **extra}


def onto(*classes: dict, classifications: tuple = ()) -> object:
    return check_ontology({"classes": list(classes), "classifications": list(classifications)})


def test_matching_is_by_collated_name_and_tool_type_then_by_name():
    wanted = onto(
        {"name": "Café", "color": "#fff", "toolType": "CUBOID"},
        {"name": "Truck", "color": "#fff", "toolType": "POLYGON"},  # stored as a CUBOID: tool type changes
        {"name": "Bus", "color": "#fff", "toolType": "CUBOID"},
    )
    stored = [row(1, "CAFE"), row(2, "Truck"), row(3, "Tram")]
    lines = [c.line for c in plan_changes(wanted, stored, [])]
    assert lines == [
        "~ Café name",
        "~ Truck tool type",
        "+ Bus (CUBOID)",
        "= Tram (CUBOID) — not in the file, kept",
    ]
    deleting = [c.line for c in plan_changes(wanted, stored, [], allow_delete=True)]
    assert deleting[-1] == "- Tram (CUBOID)" and len(drift(plan_changes(wanted, stored, []))) == 3


def test_empty_values_and_ids_inside_attributes_are_no_change():
    attrs = [{"name": "occluded", "options": [{"name": "yes"}]}]
    wanted = onto({"name": "Car", "color": "#fff", "toolType": "CUBOID", "attributes": attrs})
    stored_attrs = [{"id": "a", "name": "occluded", "options": [{"id": "o", "name": "yes"}]}]
    assert plan_changes(wanted, [row(1, "Car", attributes=stored_attrs, toolTypeOptions={})], []) == []
    assert (
        plan_changes(onto({"name": "Car", "color": "#fff", "toolType": "CUBOID"}), [row(1, "Car")], []) == []
    )


def test_classifications_compare_required_input_type_and_attribute():
    item = {"name": "Weather", "inputType": "RADIO", "isRequired": True, "attribute": {"name": "w"}}
    stored = [
        {"id": 5, "name": "weather", "inputType": "DROPDOWN", "isRequired": 1, "attribute": {"name": "w"}}
    ]
    (change,) = plan_changes(onto(classifications=(item,)), [], stored)
    assert change.line == "~ classification Weather name, input type" and change.server_id == 5


@pytest.mark.parametrize(
    ("call", "method", "path", "body", "idempotent"),
    [
        (
            _api_ontology.create_dataset_class(3, {"name": "Car", "color": "#f00", "toolType": "CUBOID"}),
            "POST",
            "/datasetClass/create",
            {
                "name": "Car",
                "color": "#f00",
                "toolType": "CUBOID",
                "toolTypeOptions": {},  # empty, not null: the server's update skips null fields
                "attributes": [],
                "datasetId": 3,
            },
            False,
        ),
        (
            _api_ontology.update_dataset_classification("3", 9, {"name": "W", "inputType": "TEXT"}),
            "POST",
            "/datasetClassification/update/9",
            {"name": "W", "inputType": "TEXT", "isRequired": False, "attribute": {}, "datasetId": 3},
            True,
        ),
        (
            _api_ontology.create_ontology(" Road", "LIDAR_BASIC"),
            "POST",
            "/ontology/create",
            {"name": " Road", "type": "LIDAR_BASIC"},
            False,
        ),
        (_api_ontology.delete_ontology("5"), "POST", "/ontology/delete/5", None, False),
        (
            _api_ontology.update_ontology_class(5, 6, {"name": "Car", "toolType": "CUBOID"}),
            "POST",
            "/class/update/6",
            {
                "name": "Car",
                "color": None,
                "toolType": "CUBOID",
                "toolTypeOptions": {},
                "attributes": [],
                "ontologyId": 5,
            },
            True,
        ),
        (
            _api_ontology.copy_between("classification", "to_center", 3, 5, ["9", 8, 9]),
            "POST",
            "/datasetClassification/saveToOntologyCenter",
            {"datasetId": 3, "ontologyId": 5, "classificationIds": [8, 9]},
            True,
        ),
        (_api_ontology.delete_dataset_class(4), "POST", "/datasetClass/delete/4", None, False),
        (_api_ontology.get_dataset_classifications(3), "GET", "/datasetClassification/findAll/3", None, True),
        (_api_ontology.get_class_statistics(3), "GET", "/dataset/3/statistics/classObject", None, True),
        (
            _api_ontology.delete_data(3, ["7", 8]),
            "POST",
            "/data/deleteBatch",
            {"datasetId": 3, "ids": [7, 8]},
            False,
        ),
    ],
)
def test_builders(call, method, path, body, idempotent):
    assert (call.method, call.path, call.json, call.idempotent) == (method, path, body, idempotent)
