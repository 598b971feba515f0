"""The ontology JSON file: ``/ontology/exportAsJson``, ``/ontology/importByJson`` and
``/ontology/saveClassAndClassificationBatch`` (adapter/api/controller/OntologyController.java,
usecase/OntologyUseCase.java ``importByJson``, ``filterClass``, ``filterClassification``, ``setId``,
``removeId``, ``queryClassAndClassification``).

The ontology file (what Xtreme1's "Export as JSON" writes and "Import from JSON" reads)::

    {"classes": [{"id": 7, "name": "Car", "color": "#ff0000", "toolType": "CUBOID",
                  "toolTypeOptions": {...}, "attributes": [{"name": ..., "type": ..., "options": [...]}]}],
     "classifications": [{"id": 3, "name": "Weather", "isRequired": true, "inputType": "RADIO",
                          "attribute": {"name": ..., "options": [...]}}]}

Export: UTF-8 with a BOM, hutool JSON (null fields left out), the row ``id`` kept, every ``id`` inside
``attributes``/``options`` removed. Import: ``classes``/``classifications`` may be missing or empty; rows
are silently dropped when ``name`` is missing or longer than 256, ``toolType`` (classes) is missing or no
``ToolTypeEnum``, ``toolTypeOptions`` is no object or ``attributes`` no array, the exact (case-sensitive)
(name, toolType) came before, a classification lacks ``isRequired`` or a valid ``inputType``; a
classification without ``name`` fails with HTTP 500. When any class or classification name already
exists in the destination nothing is written (``isDuplicate: true``). Only a classification's
``attribute`` is stored (``options`` is echoed in the answer, never saved). Row ids in the file are
ignored. Two classes of one file whose names differ only by case or accents both pass the in-file check
and then meet in the unique key: the later one silently overwrites the earlier one's colour, options and
attributes (a client should refuse such a file before importing).
"""

from __future__ import annotations

import json
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import quote

from ..collation import same_name
from .api import ApiError, Request, Response, java_error, npe, param_error
from .routes_dataset import TOOL_TYPES
from .routes_ontology import INPUT_TYPES, NAME_CHARS, enum_field, enum_mismatch, long_field, no_default
from .routes_ontology_io import (
    upsert_dataset_class,
    upsert_dataset_classification,
    upsert_ontology_class,
    upsert_ontology_classification,
)

SOURCES = ("ONTOLOGY", "DATASET")
MAX_ROWS = 1000
MAX_FILE_BYTES = 10 * 1024 * 1024
RESULT_KEYS = (  # adapter/dto/response/ClassAndClassificationImportRespDTO.java
    "isDuplicate",
    "desType",
    "desId",
    "classTotalSize",
    "classificationTotalSize",
    "validClassSize",
    "validClassificationSize",
    "classes",
    "classifications",
    "duplicateClassName",
    "duplicateClassificationName",
)


def bind_failure(name: str, java_type: str) -> str:
    return (
        f"{name} Failed to convert property value of type 'java.lang.String' to required type "
        f"'{java_type}' for property '{name}'"
    )


# ------------------------------------------------------------------------------------ the JSON file


def _strip_ids(value: Any) -> Any:
    """``OntologyUseCase.removeId``: drop ``id`` in every attribute/option, recursively."""
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    if isinstance(value, dict):
        return {
            k: _strip_ids(v) if k in ("attributes", "options") else v for k, v in value.items() if k != "id"
        }
    return value


def _no_nulls(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: row.get(k) for k in keys if row.get(k) is not None}


def export_document(emu, source_id: int, source_type: str) -> dict[str, Any]:
    store = emu._store
    if source_type == "ONTOLOGY":
        classes = [c for c in store.ontology_classes.values() if c["ontologyId"] == source_id]
        classifications = [c for c in store.classifications.values() if c["ontologyId"] == source_id]
    else:
        classes = store.dataset_classes(source_id)
        classifications = [c for c in store.dataset_classifications.values() if c["datasetId"] == source_id]
    return {
        "classes": [
            _no_nulls(
                {**c, "attributes": _strip_ids(c.get("attributes"))},
                ("id", "name", "color", "toolType", "toolTypeOptions", "attributes"),
            )
            for c in sorted(classes, key=lambda c: c["id"])
        ],
        "classifications": [
            _no_nulls(
                {**c, "attribute": _strip_ids(c.get("attribute"))},
                ("id", "name", "isRequired", "inputType", "attribute"),
            )
            for c in sorted(classifications, key=lambda c: c["id"])
        ],
    }


def export_as_json(emu, req: Request) -> Response:
    """``GET /ontology/exportAsJson?sourceId=&sourceType=ONTOLOGY|DATASET`` (open without a token)."""
    source_id = req.required_long("sourceId")
    source_type = req.required_param("sourceType", "ClassAndClassificationSourceEnum")
    if source_type not in SOURCES:
        raise enum_mismatch(source_type, "ClassAndClassificationSourceEnum")
    with emu._store.lock:
        if source_type == "ONTOLOGY":
            source = emu._store.ontologies.get(source_id)
        else:
            source = emu._store.live_dataset(source_id)  # a deleted or unknown source: empty name
        name = source["name"] if source else ""
        doc = export_document(emu, source_id, source_type)
    file_name = f"ontology_{name}.json" if source_type == "ONTOLOGY" else f"dataset_{name}_ontology.json"
    encoded = quote(file_name, safe="*")
    body = b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        200,
        body,
        "application/json;charset=UTF-8",
        {"Content-Disposition": f"attachment;filename={encoded};filename*=UTF-8''{encoded}"},
    )


def _form(req: Request) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    media = req.media_type() or "application/octet-stream"
    if not media.lower().startswith("multipart/form-data"):
        raise java_error(
            "org.springframework.web.HttpMediaTypeNotSupportedException: "
            f"Content type '{media}' not supported"
        )
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + media.encode() + b"\r\n\r\n" + req.body)
    fields: dict[str, str] = {}
    upload = None
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None and name == "file":
            upload = (filename, payload)
        elif name:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, upload


def _with_ids(value: Any) -> Any:
    """``OntologyUseCase.setId``: a random UUID for every row, attribute and option without ``id``."""
    if isinstance(value, list):
        return [_with_ids(v) for v in value]
    if isinstance(value, dict):
        out = {k: _with_ids(v) if k in ("attributes", "options") else v for k, v in value.items()}
        out.setdefault("id", str(uuid.uuid4()))
        return out
    return value


def _filter_classes(rows: list[Any]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if not isinstance(row, dict):
            raise java_error("java.lang.ClassCastException")
        name, tool = row.get("name"), row.get("toolType")
        if (seen and tool is None) or (seen and name is None and any(t == str(tool) for t, _n in seen)):
            raise npe()  # the duplicate check calls toString() on a missing toolType / name
        drop = (
            name is None
            or len(str(name)) > NAME_CHARS
            or tool not in TOOL_TYPES
            or (str(tool), str(name)) in seen
            or (row.get("toolTypeOptions") is not None and not isinstance(row["toolTypeOptions"], dict))
            or (row.get("attributes") is not None and not isinstance(row["attributes"], list))
        )
        if not drop:
            seen.add((str(tool), str(name)))
            kept.append(row)
    return kept


def _filter_classifications(rows: list[Any]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, dict):
            raise java_error("java.lang.ClassCastException")
        name = row.get("name")
        # Iterator.remove() runs once per failed check: a second one throws IllegalStateException.
        removals = [
            name is None or len(str(name)) > NAME_CHARS or str(name) in seen,
            row.get("isRequired") is None,
            row.get("inputType") is None or str(row.get("inputType")) not in INPUT_TYPES,
            row.get("options") is not None and not isinstance(row["options"], list),
        ]
        if sum(removals) > 1:
            raise java_error("java.lang.IllegalStateException")
        if name is None:
            raise npe()
        seen.add(str(name))
        if not any(removals):
            kept.append(row)
    return kept


def _existing_classes(
    emu, dest_id: int, dest_type: str, classes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    store = emu._store
    pool = (
        [c for c in store.ontology_classes.values() if c["ontologyId"] == dest_id]
        if dest_type == "ONTOLOGY"
        else store.dataset_classes(dest_id)
    )
    return [
        {"name": c["name"], "toolType": c["toolType"]}
        for c in sorted(pool, key=lambda c: c["id"])
        if any(c["toolType"] == n["toolType"] and same_name(c["name"], str(n["name"])) for n in classes)
    ]


def _existing_classifications(emu, dest_id: int, dest_type: str, rows: list[dict[str, Any]]) -> list[str]:
    store = emu._store
    key = "ontologyId" if dest_type == "ONTOLOGY" else "datasetId"
    table = store.classifications if dest_type == "ONTOLOGY" else store.dataset_classifications
    return [
        c["name"]
        for c in sorted(table.values(), key=lambda c: c["id"])
        if c[key] == dest_id and any(same_name(c["name"], str(r["name"])) for r in rows)
    ]


def save_batch(
    emu, dest_id: int, dest_type: str, classes: list[dict[str, Any]], classifications: list[dict[str, Any]]
) -> None:
    """``OntologyUseCase.saveOrUpdateBatch``: upsert classes and classifications into the destination."""
    for c in classes:
        if dest_type == "ONTOLOGY":
            upsert_ontology_class(emu, dest_id, c)
        else:
            upsert_dataset_class(emu, dest_id, c)
    for c in classifications:
        if dest_type == "ONTOLOGY":
            upsert_ontology_classification(emu, dest_id, c)
        else:
            upsert_dataset_classification(emu, dest_id, c)


def _answer_class(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c.get(k) for k in ("name", "color", "toolType", "toolTypeOptions", "attributes")}


def _answer_classification(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c.get(k) for k in ("name", "isRequired", "inputType", "options")}


def import_by_json(emu, req: Request) -> dict[str, Any]:
    """``POST /ontology/importByJson`` (multipart: ``desId``, ``desType``, ``file``)."""
    fields, upload = _form(req)
    dest_type = fields.get("desType") or None
    if dest_type is not None and dest_type not in SOURCES:
        raise param_error(
            bind_failure("desType", "ai.basic.x1.entity.enums.ClassAndClassificationSourceEnum")
        )
    try:
        dest_id = int(fields["desId"]) if fields.get("desId") else None
    except ValueError:
        raise param_error(bind_failure("desId", "java.lang.Long")) from None
    if upload is None:
        raise npe()
    filename, payload = upload
    if not filename.lower().endswith(".json"):  # FileTypeUtil: no magic number for text, so the extension
        raise ApiError("FILE_TYPE_NOT_SUPPORT", "File type not support")
    if len(payload) > MAX_FILE_BYTES:
        raise ApiError("UNKNOWN", "The file exceeds the size. Default is 10MB")
    try:
        doc = json.loads(payload.decode("utf-8-sig"))
    except ValueError as exc:
        raise java_error(f"cn.hutool.json.JSONException: {exc}") from None
    if not isinstance(doc, dict):
        raise java_error(
            "cn.hutool.json.JSONException: A JSONObject text must begin with '{' at 1 [character 2 line 1]"
        )
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(desType=dest_type, desId=dest_id)
    classes: list[dict[str, Any]] = []
    classifications: list[dict[str, Any]] = []
    can_insert = True
    with emu._store.lock:
        if doc.get("classes"):
            if len(doc["classes"]) > MAX_ROWS:
                raise ApiError("UNKNOWN", "A maximum of 1000 classes can be import")
            result["classTotalSize"] = len(doc["classes"])
            classes = _with_ids(_filter_classes(doc["classes"]))
            result.update(validClassSize=len(classes), classes=[_answer_class(c) for c in classes])
            if classes and dest_type is not None:
                dup = _existing_classes(emu, dest_id, dest_type, classes)
                if dup:
                    result["duplicateClassName"], can_insert = dup, False
        else:
            # OntologyUseCase.importByJson sets validClassificationSize here, not validClassSize.
            result.update(classTotalSize=0, validClassificationSize=0)
        if doc.get("classifications"):
            if len(doc["classifications"]) > MAX_ROWS:
                raise ApiError("UNKNOWN", "A maximum of 1000 classifications can be import")
            result["classificationTotalSize"] = len(doc["classifications"])
            classifications = _with_ids(_filter_classifications(doc["classifications"]))
            result.update(
                validClassificationSize=len(classifications),
                classifications=[_answer_classification(c) for c in classifications],
            )
            if classifications and dest_type is not None:
                dup_names = _existing_classifications(emu, dest_id, dest_type, classifications)
                if dup_names:
                    result["duplicateClassificationName"], can_insert = dup_names, False
        else:
            result.update(classificationTotalSize=0, validClassificationSize=0)
        result["isDuplicate"] = not can_insert
        if can_insert and dest_type is not None:
            save_batch(emu, dest_id, dest_type, classes, classifications)
    return result


def save_class_and_classification_batch(emu, req: Request) -> dict[str, Any]:
    """The second step after an import reported duplicates: upsert the rows sent back, unfiltered."""
    body = req.json_object()
    dest_type = enum_field(body, "desType", "ClassAndClassificationSourceEnum", SOURCES)
    dest_id = long_field(body, "desId")
    classes = body.get("classes") or []
    classifications = body.get("classifications") or []
    body["validClassSize"], body["validClassificationSize"] = len(classes), len(classifications)
    with emu._store.lock:
        for c in classes:
            if c.get("toolType") not in TOOL_TYPES or c.get("name") is None:
                raise no_default("tool_type" if c.get("name") is not None else "name")
        for c in classifications:
            if c.get("inputType") not in INPUT_TYPES or c.get("name") is None:
                raise no_default("input_type" if c.get("name") is not None else "name")
        save_batch(
            emu, dest_id, "ONTOLOGY" if dest_type == "ONTOLOGY" else "DATASET", classes, classifications
        )
    return body


ROUTES = [
    ("GET", "/ontology/exportAsJson", export_as_json),
    ("POST", "/ontology/importByJson", import_by_json),
    ("POST", "/ontology/saveClassAndClassificationBatch", save_class_and_classification_batch),
]
