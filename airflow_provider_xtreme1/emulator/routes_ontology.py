"""The ontology center: ``/ontology/*``, ``/class/*`` and ``/classification/*``.

Modelled on adapter/api/controller/OntologyController.java, ClassController.java,
ClassificationController.java, the DTOs ``OntologyDTO`` / ``ClassDTO`` / ``ClassificationDTO`` and
usecase/OntologyUseCase.java, ClassUseCase.java, ClassificationUseCase.java. Unique keys from
deploy/mysql V1__Create_tables.sql, compared under ``utf8mb4_general_ci``:

* ``ontology``: ``uk_name_type (name, type)``; its ``type`` column lists LIDAR_FUSION, LIDAR_BASIC and
  IMAGE only (``TEXT`` passes the DTO and fails in MySQL);
* ``class``: ``uk_ontology_id_name_tool_type (ontology_id, name, tool_type)``;
* ``classification``: ``uk_ontology_id_name (ontology_id, name)``.

None of these tables has a soft delete: deleting an ontology removes its classes, classifications and
the links of dataset classes copied from it (the dataset classes stay). Deleting a class removes its
links only. The import/export of a whole ontology (the JSON file) lives in routes_ontology_file.py.
"""

from __future__ import annotations

import time
from typing import Any

from ..collation import collation_key, like_matches, same_name
from .api import ApiError, Request, java_error, java_string, param_error
from .routes_dataset import TOOL_TYPES, TYPES, page_of
from .state import iso, parse_time

ONTOLOGY_DB_TYPES = ("LIDAR_FUSION", "LIDAR_BASIC", "IMAGE")
INPUT_TYPES = ("RADIO", "MULTI_SELECTION", "DROPDOWN", "TEXT", "LONG_TEXT")
NAME_CHARS = 256  # varchar(256) and @Length(max = 256) on every ontology DTO
LENGTH_MESSAGE = "The length of name should be less than 256."
SORT_BY = ("NAME", "CREATE_TIME")  # entity/enums/SortByEnum.java
DUPLICATED = ("NAME_DUPLICATED", "name already exists")


def not_readable(detail: str) -> ApiError:
    return java_error(
        f"org.springframework.http.converter.HttpMessageNotReadableException: JSON parse error: {detail}"
    )


def enum_field(body: dict[str, Any], name: str, java_enum: str, allowed: tuple[str, ...]) -> str | None:
    """Jackson reading an enum field: a value that is no constant is HTTP 500 (no 400 in Xtreme1)."""
    value = body.get(name)
    if value is None or (isinstance(value, str) and value in allowed):
        return value
    raise not_readable(
        f"Cannot deserialize value of type `ai.basic.x1.entity.enums.{java_enum}` from String "
        f'"{value}": not one of the values accepted for Enum class: [{", ".join(allowed)}]'
    )


def long_field(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise not_readable("Cannot deserialize value of type `java.lang.Long`")
    try:
        return int(value)
    except ValueError:
        raise not_readable(
            f'Cannot deserialize value of type `java.lang.Long` from String "{value}"'
        ) from None


def json_kind(body: dict[str, Any], name: str, kind: type) -> Any:
    """A hutool ``JSONObject`` / ``JSONArray`` field: other JSON values fail in Jackson (HTTP 500)."""
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise not_readable(f"Cannot deserialize value of type `cn.hutool.json.{'JSON' + kind_name(kind)}`")
    return value


def kind_name(kind: type) -> str:
    return "Object" if kind is dict else "Array"


def enum_mismatch(raw: str, java_enum: str) -> ApiError:
    """A ``@RequestParam`` enum whose text is no constant: HTTP 500 ``UNKNOWN``."""
    enum_class = f"ai.basic.x1.entity.enums.{java_enum}"
    return java_error(
        "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException: Failed to "
        f"convert value of type 'java.lang.String' to required type '{enum_class}'; nested exception "
        f"is java.lang.IllegalArgumentException: No enum constant {enum_class}.{raw}"
    )


def no_default(column: str) -> ApiError:
    """MyBatis-Plus leaves a null column out of the INSERT; a NOT NULL column without default fails."""
    return java_error(
        "org.springframework.dao.DataIntegrityViolationException: \n### Error updating database.  "
        f"Cause: java.sql.SQLException: Field '{column}' doesn't have a default value"
    )


def truncated(column: str) -> ApiError:
    """MySQL strict mode refusing a value its ``enum`` column does not list."""
    return java_error(
        "org.springframework.dao.DataIntegrityViolationException: \n### Error updating database.  "
        f"Cause: com.mysql.cj.jdbc.exceptions.MysqlDataTruncation: Data truncation: Data truncated for "
        f"column '{column}' at row 1"
    )


def sort_rows(rows: list[dict[str, Any]], req: Request) -> list[dict[str, Any]]:
    """``addOrderRule`` of the class/classification use cases: ``sortBy`` NAME|CREATE_TIME, ASC by default."""
    rows = sorted(rows, key=lambda r: r["id"])
    sort_by, order = req.param("sortBy"), req.param("ascOrDesc")
    desc = bool(order) and order != "ASC"
    if sort_by == "NAME":
        rows.sort(key=lambda r: collation_key(r["name"]), reverse=desc)
    elif sort_by == "CREATE_TIME":
        rows.sort(key=lambda r: int(r["created"]), reverse=desc)
    return rows


def query_filter(
    rows: list[dict[str, Any]], req: Request, *, time_names: tuple[str, str]
) -> list[dict[str, Any]]:
    """``like(name)`` (non-blank), ``ge/le(created_at)`` on the given start/end parameters."""
    name = req.param("name") or ""
    start = parse_time(req.param(time_names[0]) or "")
    end = parse_time(req.param(time_names[1]) or "")
    return [
        r
        for r in rows
        if (not name.strip() or like_matches(r["name"], f"%{name}%"))
        and (start is None or r["created"] >= start)
        and (end is None or r["created"] <= end)
    ]


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "created"}


# -------------------------------------------------------------------------------------------- ontology


def _ontology_dto(req: Request) -> dict[str, Any]:
    body = req.json_object()
    otype = enum_field(body, "type", "DatasetTypeEnum", TYPES)
    name = java_string(body, "name")
    errors = []
    if name is None:
        errors.append("name name cannot be null")
    elif len(name) > NAME_CHARS:
        errors.append(f"name {LENGTH_MESSAGE}")
    if otype is None:
        errors.append("type type cannot be null")
    if errors:
        raise param_error(*errors)
    if otype not in ONTOLOGY_DB_TYPES:
        raise truncated("type")
    return {"name": name, "type": otype}


def _ontology_taken(emu, fields: dict[str, Any], exclude: int | None) -> bool:
    return any(
        o["type"] == fields["type"] and same_name(o["name"], fields["name"]) and o["id"] != exclude
        for o in emu._store.ontologies.values()
    )


def _save_ontology(emu, fields: dict[str, Any], ontology_id: int | None) -> int:
    """``OntologyUseCase.saveOntology``: ``saveOrUpdate``; an unknown id inserts a new row (id AUTO)."""
    store = emu._store
    with store.lock:
        if _ontology_taken(emu, fields, ontology_id):
            raise ApiError(*DUPLICATED)
        row = store.ontologies.get(ontology_id) if ontology_id is not None else None
        if row is not None:
            row.update(fields)
            return row["id"]
        new_id = store.next_id("ontology")
        store.ontologies[new_id] = {"id": new_id, **fields, "createdAt": iso(), "created": time.time()}
        return new_id


def _class_count(emu, ontology_id: int) -> int:
    return sum(1 for c in emu._store.ontology_classes.values() if c["ontologyId"] == ontology_id)


def ontology_create(emu, req: Request) -> int:
    return _save_ontology(emu, _ontology_dto(req), None)


def ontology_update(emu, req: Request) -> None:
    ontology_id = req.path_long("id")
    _save_ontology(emu, _ontology_dto(req), ontology_id)


def ontology_delete(emu, req: Request) -> bool:
    ontology_id = req.path_long("id")
    store = emu._store
    with store.lock:
        for table in (store.ontology_classes, store.classifications):
            for key in [k for k, v in table.items() if v["ontologyId"] == ontology_id]:
                del table[key]
        for key in [k for k, (oid, _cid) in store.class_links.items() if oid == ontology_id]:
            del store.class_links[key]
        return store.ontologies.pop(ontology_id, None) is not None


def ontology_info(emu, req: Request) -> dict[str, Any] | None:
    row = emu._store.ontologies.get(req.path_long("id"))
    return {**public(row), "classNum": None} if row else None


def _query_type(req: Request, *, required: bool) -> str | None:
    raw = req.required_param("type", "DatasetTypeEnum") if required else req.param("type")
    if raw in (None, "") and not required:
        return None
    if raw not in TYPES:
        if not required:
            raise param_error(
                "type Failed to convert property value of type 'java.lang.String' to required type "
                f"'ai.basic.x1.entity.enums.DatasetTypeEnum' for property 'type'; nested exception is "
                "org.springframework.core.convert.ConversionFailedException: Failed to convert from type "
                "[java.lang.String] to type [ai.basic.x1.entity.enums.DatasetTypeEnum] for value "
                f"'{raw}'; nested exception is java.lang.IllegalArgumentException: No enum constant "
                f"ai.basic.x1.entity.enums.DatasetTypeEnum.{raw}"
            )
        raise enum_mismatch(raw, "DatasetTypeEnum")
    return raw


def ontology_find_all(emu, req: Request) -> list[dict[str, Any]]:
    otype = _query_type(req, required=True)
    rows = sorted(emu._store.ontologies.values(), key=lambda o: o["id"])
    return [{**public(o), "classNum": None} for o in rows if o["type"] == otype]


def ontology_find_by_page(emu, req: Request) -> dict[str, Any]:
    otype = _query_type(req, required=False)
    rows = query_filter(list(emu._store.ontologies.values()), req, time_names=("", ""))
    rows = [o for o in rows if otype is None or o["type"] == otype]
    rows.sort(key=lambda o: (int(o["created"]), o["id"]))  # orderBy created_at ASC
    page = page_of(rows, req)
    page["list"] = [{**public(o), "classNum": _class_count(emu, o["id"])} for o in page["list"]]
    return page


def ontology_validate_name(emu, req: Request) -> bool:
    name = req.required_param("name")
    otype = _query_type(req, required=True)
    exclude = req.opt_long_param("id")
    if not name:
        return False
    return _ontology_taken(emu, {"name": name, "type": otype}, exclude)


# ----------------------------------------------------------------------------------------------- class


def _related(emu, class_id: int) -> int:
    return sum(1 for _oid, cid in emu._store.class_links.values() if cid == class_id)


def _class_dto(req: Request) -> dict[str, Any]:
    body = req.json_object()
    tool = enum_field(body, "toolType", "ToolTypeEnum", TOOL_TYPES)
    fields = {
        "ontologyId": long_field(body, "ontologyId"),
        "name": java_string(body, "name"),
        "color": java_string(body, "color"),
        "toolType": tool,
        "toolTypeOptions": json_kind(body, "toolTypeOptions", dict),
        "attributes": json_kind(body, "attributes", list),
        "isResetRelations": body.get("isResetRelations"),
    }
    errors = []
    if fields["ontologyId"] is None:
        errors.append("ontologyId ontology id cannot be null")
    if fields["name"] is not None and len(fields["name"]) > NAME_CHARS:
        errors.append(f"name {LENGTH_MESSAGE}")
    if tool is None:
        errors.append("toolType toolType cannot be null")
    if errors:
        raise param_error(*errors)
    return fields


def _require_ontology(emu, fields: dict[str, Any]) -> None:
    """``Assert.notNull`` (hutool) in ClassUseCase/ClassificationUseCase.save*: UNKNOWN, then HTTP 500."""
    if fields["name"] is None:
        raise ApiError("UNKNOWN", "name can not be null")
    if fields["ontologyId"] not in emu._store.ontologies:
        raise java_error(
            f"java.lang.IllegalArgumentException: cannot find ontology by ontologyId {fields['ontologyId']}"
        )


def _save_class(emu, fields: dict[str, Any], class_id: int | None) -> None:
    store = emu._store
    with store.lock:
        _require_ontology(emu, fields)
        if any(
            c["ontologyId"] == fields["ontologyId"]
            and c["toolType"] == fields["toolType"]
            and same_name(c["name"], fields["name"])
            and c["id"] != class_id
            for c in store.ontology_classes.values()
        ):
            raise ApiError(*DUPLICATED)
        columns = {
            k: fields[k] for k in ("ontologyId", "name", "color", "toolType", "toolTypeOptions", "attributes")
        }
        row = store.ontology_classes.get(class_id) if class_id is not None else None
        if row is not None:
            # updateById skips null fields
            row.update({k: v for k, v in columns.items() if v is not None})
            if fields["isResetRelations"] is True:
                for key in [k for k, (_o, cid) in store.class_links.items() if cid == class_id]:
                    del store.class_links[key]
            return
        new_id = store.next_id("oclass")
        store.ontology_classes[new_id] = {"id": new_id, **columns, "createdAt": iso(), "created": time.time()}


def class_dto(emu, row: dict[str, Any], related: bool) -> dict[str, Any]:
    return {**public(row), "datasetClassNum": _related(emu, row["id"]) if related else None}


def class_create(emu, req: Request) -> None:
    _save_class(emu, _class_dto(req), None)


def class_update(emu, req: Request) -> None:
    class_id = req.path_long("id")
    _save_class(emu, _class_dto(req), class_id)


def class_delete(emu, req: Request) -> bool:
    class_id = req.path_long("id")
    store = emu._store
    with store.lock:
        for key in [k for k, (_o, cid) in store.class_links.items() if cid == class_id]:
            del store.class_links[key]
        return store.ontology_classes.pop(class_id, None) is not None


def class_info(emu, req: Request) -> dict[str, Any] | None:
    row = emu._store.ontology_classes.get(req.path_long("id"))
    return class_dto(emu, row, related=True) if row else None


def _tool_param(req: Request) -> str | None:
    raw = req.param("toolType")
    if raw in (None, ""):
        return None
    if raw not in TOOL_TYPES:
        raise enum_mismatch(raw, "ToolTypeEnum")
    return raw


def class_find_all(emu, req: Request) -> list[dict[str, Any]]:
    ontology_id = req.path_long("ontologyId")
    tool = _tool_param(req)
    rows = sorted(emu._store.ontology_classes.values(), key=lambda c: c["id"])
    return [
        class_dto(emu, c, related=False)
        for c in rows
        if c["ontologyId"] == ontology_id and (tool is None or c["toolType"] == tool)
    ]


def class_find_by_page(emu, req: Request) -> dict[str, Any]:
    ontology_id, tool = req.opt_long("ontologyId"), _tool_param(req)
    rows = [c for c in emu._store.ontology_classes.values() if c["ontologyId"] == ontology_id]
    rows = query_filter(rows, req, time_names=("startTime", "endTime"))
    rows = sort_rows([c for c in rows if tool is None or c["toolType"] == tool], req)
    page = page_of(rows, req)
    page["list"] = [class_dto(emu, c, related=True) for c in page["list"]]
    return page


# -------------------------------------------------------------------------------------- classification


def _classification_dto(req: Request) -> dict[str, Any]:
    body = req.json_object()
    fields = {
        "ontologyId": long_field(body, "ontologyId"),
        "name": java_string(body, "name"),
        "inputType": enum_field(body, "inputType", "InputTypeEnum", INPUT_TYPES),
        "isRequired": body.get("isRequired"),
        "attribute": json_kind(body, "attribute", dict),
    }
    json_kind(body, "options", list)  # bound by the DTO, not stored (ClassificationBO has no options)
    if fields["ontologyId"] is None:
        raise param_error("ontologyId ontology id cannot be null")
    return fields


def _save_classification(emu, fields: dict[str, Any], classification_id: int | None) -> None:
    store = emu._store
    with store.lock:
        _require_ontology(emu, fields)
        if any(
            c["ontologyId"] == fields["ontologyId"]
            and same_name(c["name"], fields["name"])
            and c["id"] != classification_id
            for c in store.classifications.values()
        ):
            raise ApiError(*DUPLICATED)
        row = store.classifications.get(classification_id) if classification_id is not None else None
        if row is not None:
            row.update({k: v for k, v in fields.items() if v is not None})
            return
        if fields["inputType"] is None:
            raise no_default("input_type")
        new_id = store.next_id("classification")
        store.classifications[new_id] = {
            "id": new_id,
            **fields,
            "isRequired": bool(fields["isRequired"]),
            "createdAt": iso(),
            "created": time.time(),
        }


def classification_create(emu, req: Request) -> None:
    _save_classification(emu, _classification_dto(req), None)


def classification_update(emu, req: Request) -> None:
    classification_id = req.path_long("id")
    _save_classification(emu, _classification_dto(req), classification_id)


def classification_delete(emu, req: Request) -> bool:
    with emu._store.lock:
        return emu._store.classifications.pop(req.path_long("id"), None) is not None


def classification_info(emu, req: Request) -> dict[str, Any] | None:
    row = emu._store.classifications.get(req.path_long("id"))
    return public(row) if row else None


def classification_find_by_page(emu, req: Request) -> dict[str, Any]:
    ontology_id = req.opt_long("ontologyId")
    if ontology_id is None:  # @Validated ClassificationDTO: @NotNull ontologyId
        raise param_error("ontologyId ontology id cannot be null")
    input_type = req.param("inputType")
    rows = [c for c in emu._store.classifications.values() if c["ontologyId"] == ontology_id]
    rows = query_filter(rows, req, time_names=("startTime", "endTime"))
    rows = sort_rows([c for c in rows if not input_type or c["inputType"] == input_type], req)
    page = page_of(rows, req)
    page["list"] = [public(c) for c in page["list"]]
    return page


def classification_validate_name(emu, req: Request) -> bool:
    ontology_id, name = req.required_long("ontologyId"), req.required_param("name")
    exclude = req.opt_long_param("id")
    return any(
        c["ontologyId"] == ontology_id and same_name(c["name"], name) and c["id"] != exclude
        for c in emu._store.classifications.values()
    )


ROUTES = [
    ("POST", "/ontology/create", ontology_create),
    ("POST", "/ontology/update/{id}", ontology_update),
    ("POST", "/ontology/delete/{id}", ontology_delete),
    ("GET", "/ontology/info/{id}", ontology_info),
    ("GET", "/ontology/findAll", ontology_find_all),
    ("GET", "/ontology/findByPage", ontology_find_by_page),
    ("GET", "/ontology/validateName", ontology_validate_name),
    ("POST", "/class/create", class_create),
    ("POST", "/class/update/{id}", class_update),
    ("POST", "/class/delete/{id}", class_delete),
    ("GET", "/class/info/{id}", class_info),
    ("GET", "/class/findAll/{ontologyId}", class_find_all),
    ("GET", "/class/findByPage", class_find_by_page),
    ("POST", "/classification/create", classification_create),
    ("POST", "/classification/update/{id}", classification_update),
    ("POST", "/classification/delete/{id}", classification_delete),
    ("GET", "/classification/info/{id}", classification_info),
    ("GET", "/classification/findByPage", classification_find_by_page),
    ("GET", "/classification/validateName", classification_validate_name),
]
