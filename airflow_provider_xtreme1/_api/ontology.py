"""Builders of ontology requests (a dataset's and the ontology center's) and of data clean-up.

The per-item endpoints of adapter/api/controller/DatasetClassController.java,
DatasetClassificationController.java and DataInfoController.java (``deleteBatch``), and the class
statistics of DatasetController.java; the ontology center's OntologyController.java, ClassController.java
and ClassificationController.java; copying between the two (``copyFromOntologyCenter``,
``saveToOntologyCenter``). The ontology sync uses these, never the bulk ``/ontology/importByJson``, which
drops invalid rows and repeats silently and never stores a classification's ``options``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from typing import Any

from airflow_provider_xtreme1._api.parsers import (
    _count,
    _flag,
    _nothing,
    _optional_record,
    _page,
    _record,
    _records,
)
from airflow_provider_xtreme1._arguments import _choice, _page_number, _page_size, _params, parse_id
from airflow_provider_xtreme1._calls import ApiCall
from airflow_provider_xtreme1.collation import same_name
from airflow_provider_xtreme1.vocabulary import INPUT_TYPES, ONTOLOGY_TYPES, TOOL_TYPES

#: ``@Length(max = 256)`` on the class and classification DTOs (``varchar(256)`` columns).
NAME_CHARS = 256

_CLASS_FIELDS = ("name", "color", "toolType", "toolTypeOptions", "attributes")
_CLASSIFICATION_FIELDS = ("name", "inputType", "isRequired", "attribute")


def _class_body(owner: str, owner_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A class of a dataset (``owner="dataset"``) or of a center ontology (``owner="ontology"``)."""
    body = {k: fields.get(k) for k in _CLASS_FIELDS}
    body["toolType"] = _choice(body["toolType"], TOOL_TYPES, "toolType")
    body["toolTypeOptions"] = body["toolTypeOptions"] or {}  # null would keep the stored value
    body["attributes"] = body["attributes"] or []
    body[f"{owner}Id"] = parse_id(owner_id, f"{owner}_id")
    return body


def _classification_body(owner: str, owner_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A classification of a dataset or of a center ontology (as :func:`_class_body`)."""
    body = {k: fields.get(k) for k in _CLASSIFICATION_FIELDS}
    body["inputType"] = _choice(body["inputType"], INPUT_TYPES, "inputType")
    body["isRequired"] = bool(body["isRequired"])
    body["attribute"] = body["attribute"] or {}
    body[f"{owner}Id"] = parse_id(owner_id, f"{owner}_id")
    return body


def create_dataset_class(dataset_id: int | str, fields: Mapping[str, Any]) -> ApiCall[None]:
    """``POST /datasetClass/create``; the answer carries no id (read the classes again)."""
    return ApiCall(
        "POST",
        "/datasetClass/create",
        json=_class_body("dataset", dataset_id, fields),
        idempotent=False,
        parse=_nothing,
    )


def update_dataset_class(
    dataset_id: int | str, class_id: int | str, fields: Mapping[str, Any]
) -> ApiCall[None]:
    """``POST /datasetClass/update/{id}`` (a full replacement of name, colour, tool type and options)."""
    path = f"/datasetClass/update/{parse_id(class_id, 'class_id')}"
    return ApiCall("POST", path, json=_class_body("dataset", dataset_id, fields), parse=_nothing)


def delete_dataset_class(class_id: int | str) -> ApiCall[None]:
    path = f"/datasetClass/delete/{parse_id(class_id, 'class_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def get_dataset_classifications(dataset_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    path = f"/datasetClassification/findAll/{parse_id(dataset_id, 'dataset_id')}"
    return ApiCall("GET", path, parse=_records)


def create_dataset_classification(dataset_id: int | str, fields: Mapping[str, Any]) -> ApiCall[None]:
    body = _classification_body("dataset", dataset_id, fields)
    return ApiCall("POST", "/datasetClassification/create", json=body, idempotent=False, parse=_nothing)


def update_dataset_classification(
    dataset_id: int | str, classification_id: int | str, fields: Mapping[str, Any]
) -> ApiCall[None]:
    path = f"/datasetClassification/update/{parse_id(classification_id, 'classification_id')}"
    return ApiCall("POST", path, json=_classification_body("dataset", dataset_id, fields), parse=_nothing)


def delete_dataset_classification(classification_id: int | str) -> ApiCall[None]:
    path = f"/datasetClassification/delete/{parse_id(classification_id, 'classification_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def get_class_statistics(dataset_id: int | str) -> ApiCall[dict[str, Any]]:
    """``GET /dataset/{id}/statistics/classObject``: objects per class (``classUnits``: name, tool type,
    colour, ``objectAmount``) and per tool type."""
    path = f"/dataset/{parse_id(dataset_id, 'dataset_id')}/statistics/classObject"
    return ApiCall("GET", path, parse=_record)


def delete_data(dataset_id: int | str, data_ids: Iterable[int | str]) -> ApiCall[None]:
    """``POST /data/deleteBatch``: all or nothing — one locked item refuses the whole batch."""
    ids = [parse_id(i, "data_ids") for i in data_ids]
    if not ids:
        raise ValueError("data_ids must not be empty")
    body = {"datasetId": parse_id(dataset_id, "dataset_id"), "ids": ids}
    return ApiCall("POST", "/data/deleteBatch", json=body, idempotent=False, parse=_nothing)


# ------------------------------------------------------------------------------ the ontology center
#
# ``ontology`` rows are unique by (name, type) and ``class`` rows by (ontology, name, tool type), both
# under utf8mb4_general_ci. Saving is MyBatis-Plus ``saveOrUpdate`` (dataset rows too): an update of an
# id that does not exist inserts a new row, and ``updateById`` leaves out null fields, so a JSON field
# is cleared by sending it empty, never null.


def check_ontology_name(name: Any, argument: str = "ontology_name") -> str:
    """An ontology name the server stores as given: 1 to 256 characters (``varchar(256)``)."""
    text = "" if name is None else str(name)
    if not text.strip():
        raise ValueError(f"{argument} must not be empty.")
    if len(text) > NAME_CHARS:
        raise ValueError(f"{argument} is {len(text)} characters long; Xtreme1 stores at most {NAME_CHARS}.")
    return text


def check_ontology_type(value: Any, argument: str = "ontology_type") -> str:
    """``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``IMAGE``: the center has no TEXT ontologies (its ``type``
    column does not list TEXT, so the server fails with an SQL error)."""
    text = str(getattr(value, "value", value))
    if text == "TEXT":
        raise ValueError(
            f"{argument} TEXT: Xtreme1's ontology center holds no TEXT ontologies (only "
            f"{', '.join(ONTOLOGY_TYPES)}); keep a TEXT dataset's classes with dataset_id instead."
        )
    return _choice(text, frozenset(ONTOLOGY_TYPES), argument)


def _ontology_body(name: Any, ontology_type: Any) -> dict[str, Any]:
    return {"name": check_ontology_name(name), "type": check_ontology_type(ontology_type)}


def create_ontology(name: str, ontology_type: str) -> ApiCall[int]:
    """``POST /ontology/create``: the new ontology's id; a taken (name, type) is ``NAME_DUPLICATED``."""
    body = _ontology_body(name, ontology_type)
    return ApiCall("POST", "/ontology/create", json=body, idempotent=False, parse=_count)


def update_ontology(ontology_id: int | str, name: str, ontology_type: str) -> ApiCall[None]:
    """``POST /ontology/update/{id}``. The server inserts a new ontology for an unknown id: look first."""
    path = f"/ontology/update/{parse_id(ontology_id, 'ontology_id')}"
    return ApiCall("POST", path, json=_ontology_body(name, ontology_type), parse=_nothing)


def delete_ontology(ontology_id: int | str) -> ApiCall[bool]:
    """``POST /ontology/delete/{id}``: the ontology with its classes and classifications (dataset classes
    copied from it stay, unlinked); ``False`` when there was none."""
    path = f"/ontology/delete/{parse_id(ontology_id, 'ontology_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_flag)


def get_ontology(ontology_id: int | str) -> ApiCall[dict[str, Any] | None]:
    """``GET /ontology/info/{id}``: ``None`` for an unknown id (the server answers ``data: null``)."""
    path = f"/ontology/info/{parse_id(ontology_id, 'ontology_id')}"
    return ApiCall("GET", path, parse=_optional_record)


def find_ontologies(
    name: str | None = None, ontology_type: str | None = None, page_no: int = 1, page_size: int = 10
) -> ApiCall[dict[str, Any]]:
    """``GET /ontology/findByPage``: ``name`` is a ``LIKE`` substring; rows carry ``classNum``."""
    kind = None if ontology_type is None else check_ontology_type(ontology_type)
    params = _params(
        pageNo=_page_number(page_no), pageSize=_page_size(page_size), name=name or None, type=kind
    )
    return ApiCall("GET", "/ontology/findByPage", params=params, parse=_page)


def list_ontologies(ontology_type: str) -> ApiCall[list[dict[str, Any]]]:
    """``GET /ontology/findAll?type=``: every ontology of one type (no ``classNum``)."""
    params = {"type": check_ontology_type(ontology_type)}
    return ApiCall("GET", "/ontology/findAll", params=params, parse=_records)


def find_ontology_by_name(
    name: str, ontology_type: str
) -> Generator[ApiCall[Any], Any, dict[str, Any] | None]:
    """A request flow: the ontology of that type whose name is ``name`` to the server's database (case,
    accents and trailing spaces ignored), or ``None``.

    Reads every ontology of the type (``findAll``) rather than the ``LIKE`` search of ``findByPage``, in
    which ``%``, ``_`` and ``\\`` in a name are wildcards and escapes."""
    name = check_ontology_name(name)
    rows = yield list_ontologies(ontology_type)
    return next((row for row in rows if same_name(str(row.get("name") or ""), name)), None)


def get_ontology_classes(ontology_id: int | str) -> ApiCall[list[dict[str, Any]]]:
    """``GET /class/findAll/{ontologyId}``: every class of a center ontology."""
    return ApiCall("GET", f"/class/findAll/{parse_id(ontology_id, 'ontology_id')}", parse=_records)


def get_ontology_classifications(
    ontology_id: int | str, *, page_size: int = 100, max_pages: int = 1000
) -> Generator[ApiCall[Any], Any, list[dict[str, Any]]]:
    """A request flow: every classification of a center ontology (the server lists them by page only)."""
    oid = parse_id(ontology_id, "ontology_id")
    rows: list[dict[str, Any]] = []
    for page_no in range(1, max_pages + 1):
        params = _params(ontologyId=oid, pageNo=page_no, pageSize=page_size)
        page = yield ApiCall("GET", "/classification/findByPage", params=params, parse=_page)
        items = page.get("list") or []
        rows += items
        if not items or page_no * page_size >= int(page.get("total") or 0):
            break
    return rows


def create_ontology_class(ontology_id: int | str, fields: Mapping[str, Any]) -> ApiCall[None]:
    body = _class_body("ontology", ontology_id, fields)
    return ApiCall("POST", "/class/create", json=body, idempotent=False, parse=_nothing)


def update_ontology_class(
    ontology_id: int | str, class_id: int | str, fields: Mapping[str, Any]
) -> ApiCall[None]:
    path = f"/class/update/{parse_id(class_id, 'class_id')}"
    return ApiCall("POST", path, json=_class_body("ontology", ontology_id, fields), parse=_nothing)


def delete_ontology_class(class_id: int | str) -> ApiCall[None]:
    path = f"/class/delete/{parse_id(class_id, 'class_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


def create_ontology_classification(ontology_id: int | str, fields: Mapping[str, Any]) -> ApiCall[None]:
    body = _classification_body("ontology", ontology_id, fields)
    return ApiCall("POST", "/classification/create", json=body, idempotent=False, parse=_nothing)


def update_ontology_classification(
    ontology_id: int | str, classification_id: int | str, fields: Mapping[str, Any]
) -> ApiCall[None]:
    path = f"/classification/update/{parse_id(classification_id, 'classification_id')}"
    return ApiCall("POST", path, json=_classification_body("ontology", ontology_id, fields), parse=_nothing)


def delete_ontology_classification(classification_id: int | str) -> ApiCall[None]:
    path = f"/classification/delete/{parse_id(classification_id, 'classification_id')}"
    return ApiCall("POST", path, idempotent=False, parse=_nothing)


#: (what, endpoint, list field) of the four copies between the ontology center and a dataset.
_COPIES = {
    ("class", "to_dataset"): ("/datasetClass/copyFromOntologyCenter", "classIds"),
    ("class", "to_center"): ("/datasetClass/saveToOntologyCenter", "classIds"),
    ("classification", "to_dataset"): ("/datasetClassification/copyFromOntologyCenter", "classificationIds"),
    ("classification", "to_center"): ("/datasetClassification/saveToOntologyCenter", "classificationIds"),
}


def copy_between(
    kind: str, direction: str, dataset_id: int | str, ontology_id: int | str, ids: Iterable[int | str]
) -> ApiCall[None]:
    """Copy classes or classifications (``kind``) from the center into a dataset (``to_dataset``, ids of
    the center's rows) or from a dataset into the center (``to_center``, ids of the dataset's rows).

    The server upserts by (name[, tool type]) under its collation: a row that exists keeps its id and
    spelling and takes the copy's colour, options and attributes; ids it cannot find are skipped, and
    none found is an SQL error. Copied classes are linked to their source where the names are equal."""
    path, field = _COPIES[(kind, direction)]
    row_ids = sorted({parse_id(i, field) for i in ids})
    if not row_ids:
        raise ValueError(f"{field} must not be empty")
    body = {
        "datasetId": parse_id(dataset_id, "dataset_id"),
        "ontologyId": parse_id(ontology_id, "ontology_id"),
        field: row_ids,
    }
    return ApiCall("POST", path, json=body, parse=_nothing)
