"""``/dataset/*`` and ``/datasetClass/*``.

Modelled on adapter/api/controller/DatasetController.java, DatasetClassController.java, the DTOs
``DatasetRequestDTO`` / ``DatasetQueryDTO`` / ``DatasetClassDTO`` (their validation annotations) and
usecase/DatasetUseCase.java, DatasetClassUseCase.java. Names compare as MySQL's ``utf8mb4_general_ci``
does (``uk_name`` / ``uk_dataset_id_name`` unique keys, ``LIKE`` search).
"""

from __future__ import annotations

import time
from typing import Any

from ..collation import collation_key, like_matches, same_name
from .api import (
    ApiError,
    Request,
    bad_sql,
    constraint_error,
    data_too_long,
    java_error,
    java_string,
    npe,
    param_error,
)
from .state import parse_time
from .views import data_dto, dataset_dto

TYPES = ("LIDAR_FUSION", "LIDAR_BASIC", "IMAGE", "TEXT")
TOOL_TYPES = ("POLYGON", "BOUNDING_BOX", "POLYLINE", "KEY_POINT", "SEGMENTATION", "CUBOID")
# entity/enums/DatasetSortFieldEnum.java, SortEnum.java; messages from DatasetQueryDTO.java.
QUERY_ENUMS = {
    "sortField": (
        ("NAME", "CREATED_AT", "UPDATED_AT"),
        "sort field must be one of NAME,CREATED_AT,UPDATED_AT",
    ),
    "ascOrDesc": (("ASC", "DESC"), "ascOrDesc must be one of ASC,DESC"),
    "type": (TYPES, "type must be one of LIDAR_FUSION,LIDAR_BASIC,IMAGE"),
}
TYPE_MESSAGE = "type dataset type must be one of LIDAR_FUSION, LIDAR_BASIC, IMAGE,TEXT"
NAME_COLUMN_CHARS = 255  # dataset.name varchar(255) (deploy/mysql V1__Create_tables.sql)
CLASS_NAME_CHARS = 256  # dataset_class.name varchar(256), DatasetClassDTO @Length(max = 256)


def _name_taken(emu, name: str, exclude: int | None = None) -> bool:
    # UNIQUE (name, del_unique_key) under utf8mb4_general_ci (deploy/mysql/migration/V1__Create_tables.sql)
    return any(
        same_name(d["name"], name) and not d["deleted"] and d["id"] != exclude
        for d in emu._store.datasets.values()
    )


def enum_errors(req_or_body: Any, enums: dict[str, tuple[tuple[str, ...], str]]) -> list[str]:
    """``@ValidStringEnum`` (StringEnumerationValidator.java): empty passes, otherwise an exact,
    case-sensitive enum constant name; a failure reads ``"<field> <message>"``."""
    errors = []
    for name, (allowed, message) in enums.items():
        value = req_or_body.param(name) if isinstance(req_or_body, Request) else req_or_body.get(name)
        if value not in (None, "") and value not in allowed:
            errors.append(f"{name} {message}")
    return errors


def _request_dto(req: Request, *, insert: bool) -> dict[str, Any]:
    """Bind and validate a ``DatasetRequestDTO`` (``GroupInsert`` on create, ``Default`` on update)."""
    body = req.json_object()
    fields = {k: java_string(body, k) for k in ("name", "type", "description")}
    errors = []
    if not fields["name"]:
        errors.append("name name cannot be null")
    if insert and not fields["type"]:
        errors.append("type dataset type cannot be null")
    elif fields["type"] and fields["type"] not in TYPES:
        errors.append(TYPE_MESSAGE)
    if errors:
        raise param_error(*errors)
    if len(fields["name"]) > NAME_COLUMN_CHARS:
        raise data_too_long("name", "Dataset")
    return fields


def create(emu, req: Request) -> dict[str, Any]:
    fields = _request_dto(req, insert=True)
    with emu._store.lock:
        if _name_taken(emu, fields["name"]):
            raise ApiError("DATASET_NAME_DUPLICATED", "Dataset duplicate name")
        ds = emu._store.create_dataset(fields["name"], fields["type"], fields["description"])
    return dataset_dto(emu, ds)


def update(emu, req: Request) -> None:
    dataset_id = req.path_long("id")
    fields = _request_dto(req, insert=False)
    with emu._store.lock:
        ds = emu._store.live_dataset(dataset_id)
        if ds is None:
            # DatasetUseCase.update: findById → null, then setName on it.
            raise npe()
        if _name_taken(emu, fields["name"], exclude=dataset_id):
            raise ApiError("DATASET_NAME_DUPLICATED", "Dataset duplicate name")
        ds.update(name=fields["name"], description=fields["description"], updated=time.time())


def delete(emu, req: Request) -> None:
    dataset_id = req.path_long("id")
    with emu._store.lock:
        ds = emu._store.live_dataset(dataset_id)
        if ds is None:
            raise ApiError("DATASET_NOT_FOUND", "Dataset not found")
        ds["deleted"] = True
        for did in [d["id"] for d in emu._store.dataset_data(dataset_id)]:
            emu._store.data.pop(did, None)
        emu._store.objects = [o for o in emu._store.objects if o["datasetId"] != dataset_id]


def info(emu, req: Request) -> dict[str, Any]:
    ds = emu._store.live_dataset(req.path_long("id"))
    if ds is None:
        raise ApiError("NOT_FOUND", "Resource not found")
    return dataset_dto(emu, ds)


def page_slice(items: list, page_no: int, page_size: int) -> list:
    """MyBatis-Plus pagination: a page number below 1 reads the first page, a negative size all rows."""
    if page_size < 0:
        return list(items)
    start = (page_no - 1) * page_size if page_no > 1 else 0
    return items[start : start + page_size]


def page_of(items: list, req: Request) -> dict[str, Any]:
    page_no = req.int_param("pageNo", 1)
    page_size = req.int_param("pageSize", 10)
    return {
        "pageNo": page_no,
        "pageSize": page_size,
        "total": len(items),
        "list": page_slice(items, page_no, page_size),
    }


def find_by_page(emu, req: Request) -> dict[str, Any]:
    page_no, page_size = req.int_param("pageNo", 1), req.int_param("pageSize", 10)
    errors = enum_errors(req, QUERY_ENUMS)
    if errors:
        raise param_error(*errors)
    sort_field, order = req.param("sortField"), req.param("ascOrDesc")
    if sort_field and not order:
        # " order by <field> " + null is appended raw (DatasetUseCase.findByPage).
        raise bad_sql("null")
    raw_name = req.param("name") or ""
    # MyBatis-Plus like(): '%' + name + '%' with the user's own % and _ left as wildcards.
    pattern = f"%{raw_name}%" if raw_name.strip() else None
    dtype = req.param("type")
    start, end = parse_time(req.param("createStartTime") or ""), parse_time(req.param("createEndTime") or "")
    with emu._store.lock:
        items = [
            d
            for d in emu._store.datasets.values()
            if not d["deleted"]
            and (pattern is None or like_matches(d["name"], pattern))
            and (not dtype or d["type"] == dtype)
            and (start is None or end is None or start <= d["created"] <= end)
        ]
    items.sort(key=lambda d: d["id"])  # no ORDER BY: InnoDB returns primary-key order
    if sort_field:
        if sort_field == "NAME":
            items.sort(key=lambda d: collation_key(d["name"]), reverse=order == "DESC")
        else:
            key = "created" if sort_field == "CREATED_AT" else "updated"
            items.sort(key=lambda d: int(d[key]), reverse=order == "DESC")  # datetime: whole seconds
    total = len(items)
    chosen = page_slice(items, page_no, page_size)
    host, scheme = req.host, req.scheme
    listed = []
    for d in chosen:
        singles = [x for x in emu._store.dataset_data(d["id"]) if x["type"] == "SINGLE_DATA"]
        # DataInfoUseCase.setDatasetSixData: six SINGLE_DATA ids per dataset (selectSixDataIdByDatasetIds),
        # all six for IMAGE datasets, only the first for the others.
        samples = sorted(singles, key=lambda x: x["id"])[: 6 if d["type"] == "IMAGE" else 1]
        listed.append(
            dataset_dto(
                emu,
                d,
                counts=bool(singles),
                samples=[data_dto(emu, x, host, scheme) for x in samples],
            )
        )
    return {"pageNo": page_no, "pageSize": page_size, "total": total, "list": listed}


def find_by_type(emu, req: Request) -> list[dict[str, Any]]:
    # @NotEmpty @RequestParam(required = false) List<DatasetTypeEnum> datasetTypes
    types = req.list_param("datasetTypes")
    if not types:
        raise constraint_error("findByType", "datasetTypes", "datasetTypes cannot be null")
    for raw in types:
        if raw not in TYPES:
            raise java_error(
                "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
                "convert value of type 'java.lang.String' to required type 'java.util.List'; nested "
                "exception is org.springframework.core.convert.ConversionFailedException: Failed to convert "
                "from type [java.lang.String] to type [ai.basic.x1.entity.enums.DatasetTypeEnum] for value "
                f"'{raw}'; nested exception is java.lang.IllegalArgumentException: No enum constant "
                f"ai.basic.x1.entity.enums.DatasetTypeEnum.{raw}"
            )
    return [
        {**dataset_dto(emu, d), "type": None, "description": None}  # select(id, name) only
        for d in sorted(emu._store.datasets.values(), key=lambda d: d["id"])
        if not d["deleted"] and d["type"] in set(types)
    ]


def statistics(emu, req: Request) -> dict[str, Any]:
    dataset_id = req.path_long("id")
    items = [d for d in emu._store.dataset_data(dataset_id) if d["type"] == "SINGLE_DATA"]
    return {
        "datasetId": dataset_id,
        "annotatedCount": sum(d["annotationStatus"] == "ANNOTATED" for d in items),
        "notAnnotatedCount": sum(d["annotationStatus"] == "NOT_ANNOTATED" for d in items),
        "invalidCount": sum(d["annotationStatus"] == "INVALID" for d in items),
        "objectCount": sum(1 for o in emu._store.objects if o["datasetId"] == dataset_id),
        "itemCount": len(items),
    }


def classes(emu, req: Request) -> list[dict[str, Any]]:
    return [dict(c) for c in emu._store.dataset_classes(req.path_long("id"))]


def _class_dto(req: Request) -> dict[str, Any]:
    """Bind and validate a ``DatasetClassDTO`` (@NotNull datasetId, @NotEmpty name and color)."""
    body = req.json_object()
    tool = body.get("toolType")
    if tool is not None and tool not in TOOL_TYPES:
        raise java_error(
            "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: Cannot "
            f'deserialize value of type `ai.basic.x1.entity.enums.ToolTypeEnum` from String "{tool}": not '
            f"one of the values accepted for Enum class: [{', '.join(TOOL_TYPES)}]"
        )
    fields: dict[str, Any] = {k: java_string(body, k) for k in ("name", "color")}
    fields.update(toolType=tool, toolTypeOptions=body.get("toolTypeOptions"))
    fields["attributes"] = body.get("attributes")
    errors = []
    if body.get("datasetId") is None:
        errors.append("datasetId not allowed null!")
    if not fields["name"]:
        errors.append("name not allowed null!")
    elif len(fields["name"]) > CLASS_NAME_CHARS:
        errors.append("name The length of name should be less than 256.")
    if not fields["color"]:
        errors.append("color not allowed null!")
    if errors:
        raise param_error(*errors)
    try:
        fields["datasetId"] = int(body["datasetId"])
    except (TypeError, ValueError):
        raise java_error(
            "org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: "
            "Cannot deserialize value of type `java.lang.Long`"
        ) from None
    if tool is None:
        # MyBatis-Plus leaves null columns out of the INSERT; tool_type is NOT NULL without default.
        raise java_error(
            "org.springframework.dao.DataIntegrityViolationException: \n### Error updating database.  "
            "Cause: java.sql.SQLException: Field 'tool_type' doesn't have a default value"
        )
    return fields


def _class_taken(emu, fields: dict[str, Any], exclude: int | None = None) -> bool:
    # UNIQUE KEY uk_dataset_id_name (dataset_id, name, tool_type): the same name may exist per tool.
    return any(
        c["datasetId"] == fields["datasetId"]
        and c["toolType"] == fields["toolType"]
        and same_name(c["name"], fields["name"])
        and c["id"] != exclude
        for c in emu._store.classes.values()
    )


def class_create(emu, req: Request) -> None:
    fields = _class_dto(req)
    with emu._store.lock:
        if _class_taken(emu, fields):
            raise ApiError("NAME_DUPLICATED", "name already exists")
        row = emu._store.save_class(fields["datasetId"], fields)
        _link(emu, row["id"], req)


def _link(emu, class_id: int, req: Request) -> None:
    """DatasetClassUseCase.saveDatasetClass: ``ontologyId`` + ``classId`` set the ontology link, both
    absent remove it, one alone leaves it."""
    body = req.json_object()
    ontology_id, source_id = body.get("ontologyId"), body.get("classId")
    if ontology_id is not None and source_id is not None:
        emu._store.class_links[class_id] = (int(ontology_id), int(source_id))
    elif ontology_id is None and source_id is None:
        emu._store.class_links.pop(class_id, None)


def class_update(emu, req: Request) -> None:
    class_id = req.path_long("id")
    fields = _class_dto(req)
    with emu._store.lock:
        if _class_taken(emu, fields, exclude=class_id):
            raise ApiError("NAME_DUPLICATED", "name already exists")
        current = emu._store.classes.get(class_id)
        if current is None:  # saveOrUpdate: an unknown id is inserted
            current = emu._store.save_class(fields["datasetId"], fields)
        else:  # usecase/DatasetClassUseCase.java saveOrUpdate: updateById leaves out null fields
            keys = ("datasetId", "name", "color", "toolType", "toolTypeOptions", "attributes")
            current.update({k: fields[k] for k in keys if fields[k] is not None})
        _link(emu, current["id"], req)


def class_delete(emu, req: Request) -> None:
    # DatasetClassUseCase.deleteClass: the row and its ontology link go; objects keep the class id.
    with emu._store.lock:
        emu._store.class_links.pop(req.path_long("id"), None)
        emu._store.classes.pop(req.path_long("id"), None)


def class_info(emu, req: Request) -> dict[str, Any] | None:
    found = emu._store.classes.get(req.path_long("id"))
    if not found:
        return None
    link = emu._store.class_links.get(found["id"])  # DatasetClassUseCase.findById adds the link
    return {**found, "ontologyId": link[0], "classId": link[1]} if link else dict(found)


ROUTES = [
    ("POST", "/dataset/create", create),
    ("POST", "/dataset/update/{id}", update),
    ("POST", "/dataset/delete/{id}", delete),
    ("GET", "/dataset/info/{id}", info),
    ("GET", "/dataset/findByPage", find_by_page),
    ("GET", "/dataset/findByType", find_by_type),
    ("GET", "/dataset/{id}/statistics/dataStatus", statistics),
    ("GET", "/datasetClass/findAll/{id}", classes),
    ("POST", "/datasetClass/create", class_create),
    ("POST", "/datasetClass/update/{id}", class_update),
    ("POST", "/datasetClass/delete/{id}", class_delete),
    ("GET", "/datasetClass/info/{id}", class_info),
]
