"""A dataset's ontology: ``/datasetClassification/*`` and copying classes and classifications between
the ontology center and a dataset (``copyFromOntologyCenter``, ``saveToOntologyCenter``, ``deleteByIds``).

Modelled on adapter/api/controller/DatasetClassificationController.java, DatasetClassController.java and
usecase/DatasetClassUseCase.java, DatasetClassificationUseCase.java; the batch upserts are the
``saveOrUpdateBatch`` statements of mybatis/mapper/*Mapper.xml (``INSERT ... ON DUPLICATE KEY UPDATE``:
a row whose (dataset or ontology, name[, tool type]) already exists under ``utf8mb4_general_ci`` keeps
its id and name and takes the new colour, options and attributes). The ontology JSON file lives in
routes_ontology_file.py.
"""

from __future__ import annotations

import time
from typing import Any

from ..collation import same_name
from .api import ApiError, Request, bad_sql, java_error, java_string, param_error
from .routes_dataset import page_of
from .routes_ontology import (
    DUPLICATED,
    INPUT_TYPES,
    LENGTH_MESSAGE,
    NAME_CHARS,
    enum_field,
    json_kind,
    long_field,
    no_default,
    public,
    query_filter,
    sort_rows,
)
from .state import iso

UPSERT_SQL = "ON DUPLICATE KEY UPDATE"


# ------------------------------------------------------------------------------- dataset classification


def _dataset_classification_dto(req: Request) -> dict[str, Any]:
    body = req.json_object()
    fields = {
        "datasetId": long_field(body, "datasetId"),
        "name": java_string(body, "name"),
        "inputType": enum_field(body, "inputType", "InputTypeEnum", INPUT_TYPES),
        "isRequired": body.get("isRequired"),
        "attribute": json_kind(body, "attribute", dict),
    }
    errors = []
    if fields["datasetId"] is None:
        errors.append("datasetId must not be null")
    if fields["name"] is None:
        errors.append("name must not be null")
    elif len(fields["name"]) > NAME_CHARS:
        errors.append(f"name {LENGTH_MESSAGE}")
    if errors:
        raise param_error(*errors)
    return fields


def _save_dataset_classification(emu, fields: dict[str, Any], row_id: int | None) -> None:
    """DatasetClassificationUseCase.save: ``saveOrUpdate``; the dataset is not looked up."""
    store = emu._store
    with store.lock:
        if any(
            c["datasetId"] == fields["datasetId"]
            and same_name(c["name"], fields["name"])
            and c["id"] != row_id
            for c in store.dataset_classifications.values()
        ):
            raise ApiError(*DUPLICATED)
        row = store.dataset_classifications.get(row_id) if row_id is not None else None
        if row is not None:
            row.update({k: v for k, v in fields.items() if v is not None})
            return
        if fields["inputType"] is None:
            raise no_default("input_type")
        new_id = store.next_id("dsclassification")
        store.dataset_classifications[new_id] = {
            "id": new_id,
            **fields,
            "isRequired": bool(fields["isRequired"]),
            "createdAt": iso(),
            "created": time.time(),
        }


def dsc_create(emu, req: Request) -> None:
    _save_dataset_classification(emu, _dataset_classification_dto(req), None)


def dsc_update(emu, req: Request) -> None:
    row_id = req.path_long("id")
    _save_dataset_classification(emu, _dataset_classification_dto(req), row_id)


def dsc_delete(emu, req: Request) -> None:
    with emu._store.lock:
        emu._store.dataset_classifications.pop(req.path_long("id"), None)


def _id_list(req: Request) -> list[int]:
    body = req.json()
    if not isinstance(body, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in body):
        raise java_error(
            "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: Cannot "
            "deserialize value of type `java.util.ArrayList<java.lang.Long>`"
        )
    if not body:
        raise ApiError("UNKNOWN", "ID list can not be empty!")
    return body


def dsc_delete_by_ids(emu, req: Request) -> None:
    ids = _id_list(req)
    with emu._store.lock:
        for i in ids:
            emu._store.dataset_classifications.pop(i, None)


def dsc_info(emu, req: Request) -> dict[str, Any] | None:
    row = emu._store.dataset_classifications.get(req.path_long("id"))
    return public(row) if row else None


def dsc_find_all(emu, req: Request) -> list[dict[str, Any]]:
    dataset_id = req.path_long("datasetId")
    rows = sorted(emu._store.dataset_classifications.values(), key=lambda c: c["id"])
    return [public(c) for c in rows if c["datasetId"] == dataset_id]


def dsc_find_by_page(emu, req: Request) -> dict[str, Any]:
    dataset_id = req.opt_long("datasetId")
    if dataset_id is None:  # org.springframework.util.Assert in the controller
        raise java_error("java.lang.IllegalArgumentException: datasetId can not be null")
    input_type = req.param("inputType")
    rows = [c for c in emu._store.dataset_classifications.values() if c["datasetId"] == dataset_id]
    rows = query_filter(rows, req, time_names=("startTime", "endTime"))
    rows = sort_rows([c for c in rows if not input_type or c["inputType"] == input_type], req)
    page = page_of(rows, req)
    page["list"] = [public(c) for c in page["list"]]
    return page


# ------------------------------------------------------------------------------------ class copying


def _copy_dto(req: Request, ids_name: str) -> tuple[int, int, list[int]]:
    body = req.json_object()
    dataset_id, ontology_id = long_field(body, "datasetId"), long_field(body, "ontologyId")
    ids = body.get(ids_name)
    errors = []
    if dataset_id is None:
        errors.append("datasetId must not be null")
    if ontology_id is None:
        errors.append("ontologyId must not be null")
    if not ids:
        errors.append(f"{ids_name} must not be empty")
    if errors:
        raise param_error(*errors)
    return dataset_id, ontology_id, [int(i) for i in ids]


def upsert_dataset_class(emu, dataset_id: int, src: dict[str, Any]) -> dict[str, Any]:
    """One row of ``DatasetClassMapper.saveOrUpdateBatch``."""
    store = emu._store
    for row in store.dataset_classes(dataset_id):
        if row["toolType"] == src["toolType"] and same_name(row["name"], src["name"]):
            row.update(
                color=src.get("color"),
                toolTypeOptions=src.get("toolTypeOptions"),
                attributes=src.get("attributes"),
            )
            return row
    fields = {k: src.get(k) for k in ("name", "color", "toolType", "toolTypeOptions", "attributes")}
    return store.save_class(dataset_id, fields)


def copy_from_ontology(emu, req: Request) -> None:
    """DatasetClassUseCase.copyFromOntologyCenter: ``classIds`` are read by id alone (``ontologyId`` is not
    checked, nor is the dataset); each copy is linked to its class only where name and tool type are equal
    in Java (case-sensitive), so a dataset class ``car`` updated from ``Car`` stays unlinked."""
    dataset_id, _ontology_id, class_ids = _copy_dto(req, "classIds")
    store = emu._store
    with store.lock:
        sources = [store.ontology_classes[i] for i in sorted(set(class_ids)) if i in store.ontology_classes]
        if not sources:
            raise bad_sql(f"{UPSERT_SQL} color=VALUES(color),")
        for src in sources:
            row = upsert_dataset_class(emu, dataset_id, src)
            if row["name"] == src["name"]:
                store.class_links[row["id"]] = (src["ontologyId"], src["id"])


def save_to_ontology(emu, req: Request) -> None:
    """DatasetClassUseCase.saveToOntologyCenter: dataset classes upserted into the ontology, then linked."""
    _dataset_id, ontology_id, ids = _copy_dto(req, "classIds")
    store = emu._store
    with store.lock:
        sources = [store.classes[i] for i in sorted(set(ids)) if i in store.classes]
        if not sources:
            raise bad_sql(f"{UPSERT_SQL} color=VALUES(color),")
        for src in sources:
            target = upsert_ontology_class(emu, ontology_id, src)
            if target["name"] == src["name"]:
                store.class_links[src["id"]] = (ontology_id, target["id"])


def dataset_class_delete_by_ids(emu, req: Request) -> None:
    ids = _id_list(req)
    with emu._store.lock:
        for i in ids:
            emu._store.class_links.pop(i, None)
            emu._store.classes.pop(i, None)


def copy_classifications_from_ontology(emu, req: Request) -> None:
    dataset_id, _ontology_id, ids = _copy_dto(req, "classificationIds")
    store = emu._store
    with store.lock:
        sources = [store.classifications[i] for i in sorted(set(ids)) if i in store.classifications]
        if not sources:
            raise bad_sql(f"{UPSERT_SQL} is_required=VALUES(is_required),")
        for src in sources:
            upsert_dataset_classification(emu, dataset_id, src)


def save_classifications_to_ontology(emu, req: Request) -> None:
    """DatasetClassificationUseCase.saveToOntologyCenter: dataset classifications upserted into the
    ontology (``ClassificationMapper.saveOrUpdateBatch``); neither the ontology nor the dataset is
    looked up, and no link is kept."""
    _dataset_id, ontology_id, ids = _copy_dto(req, "classificationIds")
    store = emu._store
    with store.lock:
        sources = [
            store.dataset_classifications[i] for i in sorted(set(ids)) if i in store.dataset_classifications
        ]
        if not sources:
            raise bad_sql(f"{UPSERT_SQL} is_required=VALUES(is_required),")
        for src in sources:
            upsert_ontology_classification(emu, ontology_id, src)


def upsert_dataset_classification(emu, dataset_id: int, src: dict[str, Any]) -> None:
    store = emu._store
    for row in store.dataset_classifications.values():
        if row["datasetId"] == dataset_id and same_name(row["name"], src["name"]):
            row.update(
                isRequired=bool(src.get("isRequired")),
                inputType=src["inputType"],
                attribute=src.get("attribute"),
            )
            return
    new_id = store.next_id("dsclassification")
    store.dataset_classifications[new_id] = {
        "id": new_id,
        "datasetId": dataset_id,
        "name": src["name"],
        "inputType": src["inputType"],
        "isRequired": bool(src.get("isRequired")),
        "attribute": src.get("attribute"),
        "createdAt": iso(),
        "created": time.time(),
    }


def upsert_ontology_class(emu, ontology_id: int, src: dict[str, Any]) -> dict[str, Any]:
    """One row of ``ClassMapper.saveOrUpdateBatch`` (key: ontology, name, tool type)."""
    store = emu._store
    for row in store.ontology_classes.values():
        if (
            row["ontologyId"] == ontology_id
            and row["toolType"] == src["toolType"]
            and same_name(row["name"], src["name"])
        ):
            break
    else:
        new_id = store.next_id("oclass")
        row = store.ontology_classes[new_id] = {
            "id": new_id,
            "ontologyId": ontology_id,
            "name": src["name"],
            "toolType": src["toolType"],
            "createdAt": iso(),
            "created": time.time(),
        }
    row.update(
        color=src.get("color"), toolTypeOptions=src.get("toolTypeOptions"), attributes=src.get("attributes")
    )
    return row


def upsert_ontology_classification(emu, ontology_id: int, src: dict[str, Any]) -> None:
    """One row of ``ClassificationMapper.saveOrUpdateBatch`` (key: ontology, name)."""
    store = emu._store
    for row in store.classifications.values():
        if row["ontologyId"] == ontology_id and same_name(row["name"], src["name"]):
            break
    else:
        new_id = store.next_id("classification")
        row = store.classifications[new_id] = {
            "id": new_id,
            "ontologyId": ontology_id,
            "name": src["name"],
            "createdAt": iso(),
            "created": time.time(),
        }
    row.update(
        isRequired=bool(src.get("isRequired")), inputType=src["inputType"], attribute=src.get("attribute")
    )


ROUTES = [
    ("POST", "/datasetClassification/create", dsc_create),
    ("POST", "/datasetClassification/update/{id}", dsc_update),
    ("POST", "/datasetClassification/delete/{id}", dsc_delete),
    ("POST", "/datasetClassification/deleteByIds", dsc_delete_by_ids),
    ("GET", "/datasetClassification/info/{id}", dsc_info),
    ("GET", "/datasetClassification/findAll/{datasetId}", dsc_find_all),
    ("GET", "/datasetClassification/findByPage", dsc_find_by_page),
    ("POST", "/datasetClassification/copyFromOntologyCenter", copy_classifications_from_ontology),
    ("POST", "/datasetClassification/saveToOntologyCenter", save_classifications_to_ontology),
    ("POST", "/datasetClass/copyFromOntologyCenter", copy_from_ontology),
    ("POST", "/datasetClass/saveToOntologyCenter", save_to_ontology),
    ("POST", "/datasetClass/deleteByIds", dataset_class_delete_by_ids),
]
