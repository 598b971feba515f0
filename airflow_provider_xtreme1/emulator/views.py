"""Rendering stored records as the real server's DTOs (field names and types as Jackson writes them)."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any

from .annotation import locked_by
from .state import iso

if TYPE_CHECKING:
    from .emulator import Xtreme1Emulator

UPLOAD_FIELDS = (
    "id",
    "serialNumber",
    "errorMessage",
    "totalFileSize",
    "downloadedFileSize",
    "totalDataNum",
    "parsedDataNum",
    "status",
)
RUN_FIELDS = (
    "id",
    "modelId",
    "modelVersion",
    "runNo",
    "datasetId",
    "status",
    "runRecordType",
    "dataCount",
    "metrics",
    "errorReason",
    "resultFilterParam",
    "dataFilterParam",
    "modelSerialNo",
    "isDeleted",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
)


def signed_get(
    emu: Xtreme1Emulator, key: str, host: str, scheme: str = "http", extra: dict[str, str] | None = None
) -> str:
    """A presigned GET on ``<scheme>://<host>/minio/...`` (what the server hands to clients)."""
    return emu._signer.presign("GET", key, host, emu.presign_expiry, scheme=scheme, extra=extra)


def dataset_dto(
    emu: Xtreme1Emulator,
    ds: dict[str, Any],
    *,
    counts: bool = False,
    samples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "id": ds["id"],
        "name": ds["name"],
        "type": ds["type"],
        "description": ds["description"],
        "annotatedCount": None,
        "notAnnotatedCount": None,
        "invalidCount": None,
        "itemCount": None,
        "datas": None,
    }
    if counts:
        # DatasetController.findByPage fills counts only for datasets with SINGLE_DATA rows
        # (DataInfoMapper.xml getDatasetStatisticsByDatasetIds groups existing rows); itemCount is
        # their sum (entity/DatasetStatisticsBO.java). Empty datasets keep nulls.
        items = [d for d in emu._store.dataset_data(ds["id"]) if d["type"] == "SINGLE_DATA"]
        dto["annotatedCount"] = sum(1 for d in items if d["annotationStatus"] == "ANNOTATED")
        dto["notAnnotatedCount"] = sum(1 for d in items if d["annotationStatus"] == "NOT_ANNOTATED")
        dto["invalidCount"] = sum(1 for d in items if d["annotationStatus"] == "INVALID")
        dto["itemCount"] = len(items)
    if samples:
        dto["datas"] = samples
    return dto


def file_at_type(name: str) -> str:
    low = name.lower()
    if low.endswith(".pcd"):
        return "pcdFile"
    if (mimetypes.guess_type(low)[0] or "").startswith("image/"):
        return "imageFile"
    return "file"


def file_dto(emu: Xtreme1Emulator, f: dict[str, Any], host: str, scheme: str) -> dict[str, Any]:
    extra = {"width": f["width"], "height": f["height"]} if f.get("width") else None
    return {
        "id": f["fileId"],
        "name": f["name"],
        "originalName": f["name"],
        "path": f["key"],
        "bucketName": "xtreme1",
        "size": f["size"],
        "type": mimetypes.guess_type(f["name"])[0],
        "url": signed_get(emu, f["key"], host, scheme),
        "internalUrl": None,
        "zipPath": f.get("zipPath"),
        "extraInfo": extra,
        "@type": file_at_type(f["name"]),
    }


def content_tree(emu: Xtreme1Emulator, item: dict[str, Any], host: str, scheme: str) -> list[dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    loose = []
    for f in item["files"]:
        leaf = {
            "name": f["name"],
            "fileId": f["fileId"],
            "type": "file",
            "file": file_dto(emu, f, host, scheme),
            "files": None,
            "directoryType": None,
        }
        folder = f.get("folder")
        if not folder:
            loose.append(leaf)
            continue
        node = nodes.setdefault(
            folder,
            {
                "name": folder,
                "fileId": None,
                "type": "directory",
                "file": None,
                "files": [],
                "directoryType": None,
            },
        )
        node["files"].append(leaf)
    return loose + [nodes[k] for k in sorted(nodes)]


def data_dto(
    emu: Xtreme1Emulator, item: dict[str, Any], host: str, scheme: str = "http", *, dataset_name: bool = False
) -> dict[str, Any]:
    """A ``DataInfoDTO``; ``datasetName`` and ``lockedBy`` (nickname of the lock holder) are filled only
    where the use case sets them (data/findByPage, usecase/DataInfoUseCase.java), ``null`` from
    info/listByIds and dataset samples."""
    ds = emu._store.datasets.get(item["datasetId"]) if dataset_name else None
    first = None
    if item["type"] == "SCENE":
        frames = sorted(emu._store.frames_of(item["id"]), key=lambda d: d["id"])
        first = frames[0]["id"] if frames else None
    return {
        "id": item["id"],
        "datasetId": item["datasetId"],
        "datasetName": ds["name"] if ds else None,
        "name": item["name"],
        "orderName": item["name"],
        "content": content_tree(emu, item, host, scheme) if item["type"] == "SINGLE_DATA" else None,
        "type": item["type"],
        "parentId": item["parentId"],
        "status": item["status"],
        "annotationStatus": item["annotationStatus"],
        "splitType": item["splitType"],
        "lockedBy": locked_by(emu._store, item["id"]) if dataset_name else None,
        "firstDataId": first,
        "createdAt": iso(item["created"]),
        "updatedAt": iso(item["updated"]),
    }


def upload_dto(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: rec.get(k) for k in UPLOAD_FIELDS}


def export_dto(emu: Xtreme1Emulator, rec: dict[str, Any], host: str, scheme: str) -> dict[str, Any]:
    path = None
    if rec["status"] == "COMPLETED" and rec.get("key"):
        path = signed_get(
            emu, rec["key"], host, scheme, {"response-content-type": "application/octet-stream"}
        )
    return {
        "id": rec["id"],
        "serialNumber": rec["serialNumber"],
        "fileId": rec.get("fileId"),
        "fileName": rec["fileName"],
        "status": rec["status"],
        "generatedNum": rec.get("generatedNum"),
        "totalNum": rec.get("totalNum"),
        "filePath": path,
        "createdAt": rec.get("createdAt"),
        "createdBy": 1,
        "updatedAt": rec.get("updatedAt"),
    }


def run_dto(emu: Xtreme1Emulator, run: dict[str, Any], *, dataset_name: bool = False) -> dict[str, Any]:
    dto = {k: run.get(k) for k in RUN_FIELDS}
    status = run["status"]
    if status == "STARTED":
        dto["completionRate"] = 0
    elif status in ("SUCCESS", "SUCCESS_WITH_ERROR"):
        dto["completionRate"] = 1
    elif status == "RUNNING":
        total = max(run.get("dataCount") or 0, 1)
        dto["completionRate"] = round(run.get("progress", 0) / total, 2)
    else:
        dto["completionRate"] = None
    if dataset_name:
        ds = emu._store.datasets.get(run["datasetId"])
        dto["datasetName"] = ds["name"] if ds else None
    return dto
