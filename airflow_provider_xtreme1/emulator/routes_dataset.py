"""``/dataset/*`` and ``/datasetClass/*``."""

from __future__ import annotations

import time
from typing import Any

from ..collation import same_name
from .api import ApiError, Request, java_error, param_error
from .state import parse_time
from .views import data_dto, dataset_dto

TYPES = ("LIDAR_FUSION", "LIDAR_BASIC", "IMAGE", "TEXT")


def _name_taken(emu, name: str, exclude: int | None = None) -> bool:
    # UNIQUE (name, del_unique_key) under utf8mb4_general_ci (deploy/mysql/migration/V1__Create_tables.sql)
    return any(
        same_name(d["name"], name) and not d["deleted"] and d["id"] != exclude
        for d in emu._store.datasets.values()
    )


def create(emu, req: Request) -> dict[str, Any]:
    body = req.json_object()
    errors = []
    if not body.get("name"):
        errors.append("name must not be empty")
    if not body.get("type"):
        errors.append("type must not be empty")
    if errors:
        raise param_error(*errors)
    if body["type"] not in TYPES:
        raise java_error(
            "java.lang.IllegalArgumentException: No enum constant "
            f"ai.basic.x1.entity.enums.DatasetTypeEnum.{body['type']}"
        )
    with emu._store.lock:
        if _name_taken(emu, body["name"]):
            raise ApiError("DATASET_NAME_DUPLICATED", "Dataset duplicate name")
        ds = emu._store.create_dataset(body["name"], body["type"], body.get("description"))
    return dataset_dto(emu, ds)


def update(emu, req: Request) -> None:
    dataset_id = req.path_long("id")
    body = req.json_object()
    if not body.get("name"):
        raise param_error("name must not be empty")
    with emu._store.lock:
        ds = emu._store.live_dataset(dataset_id)
        if ds is None:
            raise ApiError("DATASET_NOT_FOUND", "Dataset not found")
        if _name_taken(emu, body["name"], exclude=dataset_id):
            raise ApiError("DATASET_NAME_DUPLICATED", "Dataset duplicate name")
        ds.update(name=body["name"], description=body.get("description"), updated=time.time())


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


def page_of(items: list, req: Request) -> dict[str, Any]:
    page_no = req.opt_long("pageNo") or 1
    page_size = req.opt_long("pageSize") or 10
    start = (page_no - 1) * page_size
    return {
        "pageNo": page_no,
        "pageSize": page_size,
        "total": len(items),
        "list": items[start : start + page_size],
    }


def find_by_page(emu, req: Request) -> dict[str, Any]:
    sort_field, order = req.param("sortField"), req.param("ascOrDesc")
    if sort_field and not order:
        raise java_error(
            "org.springframework.jdbc.BadSqlGrammarException: \n### Error querying database.  Cause: "
            "java.sql.SQLSyntaxErrorException: You have an error in your SQL syntax; check the manual that "
            "corresponds to your MySQL server version for the right syntax to use near 'null' at line 1"
        )
    name = (req.param("name") or "").lower()
    dtype = req.param("type")
    start, end = parse_time(req.param("createStartTime") or ""), parse_time(req.param("createEndTime") or "")
    with emu._store.lock:
        items = [
            d
            for d in emu._store.datasets.values()
            if not d["deleted"]
            and (not name or name in d["name"].lower())
            and (not dtype or d["type"] == dtype)
            and (start is None or end is None or start <= d["created"] <= end)
        ]
    if sort_field and order:
        key = {"NAME": "name", "CREATED_AT": "created", "UPDATED_AT": "updated"}.get(sort_field.upper())
        if key is None:
            raise java_error(
                "org.springframework.jdbc.BadSqlGrammarException: Unknown column in 'order clause'"
            )
        items.sort(key=lambda d: (d[key], d["id"]), reverse=order.upper() == "DESC")
    else:
        items.sort(key=lambda d: (d["updated"], d["id"]), reverse=True)
    page = page_of(items, req)
    host, scheme = req.host, req.scheme
    page["list"] = [
        dataset_dto(
            emu,
            d,
            counts=True,
            samples=[
                data_dto(emu, x, host, scheme)
                for x in sorted(emu._store.dataset_data(d["id"]), key=lambda x: x["id"])
                if x["type"] == "SINGLE_DATA"
            ][:6],
        )
        for d in page["list"]
    ]
    return page


def find_by_type(emu, req: Request) -> list[dict[str, Any]]:
    types = set(req.list_param("datasetTypes"))
    return [
        {"id": d["id"], "name": d["name"]}
        for d in emu._store.datasets.values()
        if not d["deleted"] and (not types or d["type"] in types)
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


ROUTES = [
    ("POST", "/dataset/create", create),
    ("POST", "/dataset/update/{id}", update),
    ("POST", "/dataset/delete/{id}", delete),
    ("GET", "/dataset/info/{id}", info),
    ("GET", "/dataset/findByPage", find_by_page),
    ("GET", "/dataset/findByType", find_by_type),
    ("GET", "/dataset/{id}/statistics/dataStatus", statistics),
    ("GET", "/datasetClass/findAll/{id}", classes),
]
