"""The hook twins' dataset-ontology and data clean-up calls against the emulator (sync and async alike)."""

from __future__ import annotations

import pytest
from test_xtreme1_hook import make_twin, unique, x1  # noqa: F401  (fixtures)

from airflow_provider_xtreme1.exceptions import Xtreme1ApiError

ATTRIBUTE = {"name": "Weather", "options": [{"name": "sunny"}]}


def test_classes_and_classifications(x1):  # noqa: F811
    dataset_id = x1.create_dataset(unique("onto"), "IMAGE")["id"]
    fields = {"name": "Car", "color": "#ff0000", "toolType": "BOUNDING_BOX", "attributes": []}
    assert x1.create_dataset_class(dataset_id, fields) is None
    (car,) = x1.get_dataset_classes(dataset_id)
    x1.update_dataset_class(dataset_id, car["id"], {**fields, "color": "#00ff00"})
    assert x1.get_dataset_classes(dataset_id)[0]["color"] == "#00ff00"
    with pytest.raises(Xtreme1ApiError) as taken:
        x1.create_dataset_class(dataset_id, {**fields, "name": "CAR"})  # the same name to the server
    assert taken.value.code == "NAME_DUPLICATED"

    weather = {"name": "Weather", "inputType": "RADIO", "isRequired": True, "attribute": ATTRIBUTE}
    x1.create_dataset_classification(dataset_id, weather)
    (stored,) = x1.get_dataset_classifications(dataset_id)
    assert stored["attribute"] == ATTRIBUTE and stored["isRequired"] is True
    x1.update_dataset_classification(dataset_id, stored["id"], {**weather, "isRequired": False})
    assert x1.get_dataset_classifications(dataset_id)[0]["isRequired"] is False
    assert x1.get_class_statistics(dataset_id)["classUnits"] == []
    x1.delete_dataset_classification(stored["id"])
    x1.delete_dataset_class(car["id"])
    assert x1.get_dataset_classes(dataset_id) == [] and x1.get_dataset_classifications(dataset_id) == []


def test_delete_data_of_nothing_is_data_not_found(x1):  # noqa: F811
    dataset_id = x1.create_dataset(unique("empty"), "IMAGE")["id"]
    with pytest.raises(Xtreme1ApiError) as err:
        x1.delete_data(dataset_id, [123456])
    assert err.value.code == "DATA_NOT_FOUND"
    with pytest.raises(ValueError, match="toolType must be one of"):
        x1.create_dataset_class(dataset_id, {"name": "Car", "color": "#fff", "toolType": "BOX"})
    with pytest.raises(ValueError, match="data_ids must not be empty"):
        x1.delete_data(dataset_id, [])
