"""The export job: selection by filters, the §4d zip layout, and the model-run job."""

from __future__ import annotations

import json
import math
import os
import uuid
import zipfile
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..collation import collation_key, like_matches
from .jobs import JobAborted
from .models import filter_predictions, model_fits, predict
from .state import USER_ID, iso, parse_time
from .views import signed_get

if TYPE_CHECKING:
    from .emulator import Xtreme1Emulator

EXPORT_VERSION = "Xtreme1 v0.6"
OBJECT_FIELDS = (
    "id",
    "type",
    "classId",
    "className",
    "trackId",
    "trackName",
    "classValues",
    "contour",
    "modelConfidence",
    "modelClass",
)


def select_data(
    emu: Xtreme1Emulator, dataset_id: int, params: dict[str, Any], *, expand_scenes: bool = True
) -> list[dict[str, Any]]:
    """Data matching the ``DataInfoQueryDTO`` filters, in the server's order.

    DataInfoUseCase.commonDataQueryWrapper: ``parent_id`` = ``parentId`` (0 when absent) always, also
    with ``ids``; ``name`` is a ``LIKE '%name%'`` under ``utf8mb4_general_ci``; start and end times apply
    one by one. DataInfoMapper.xml ``selectDataByPageOrder``: scenes first (``type`` enum DESC), then
    ``sortField``/``ascOrDesc`` when both are given, else name ASC, then id ASC.
    """
    store = emu._store
    ids = set(params.get("ids") or [])
    parent_id = params.get("parentId") or 0
    start, end = (
        parse_time(params.get("createStartTime") or ""),
        parse_time(params.get("createEndTime") or ""),
    )
    name = params.get("name") or ""
    out = []
    for d in sorted(store.dataset_data(dataset_id), key=lambda d: d["id"]):
        if (ids and d["id"] not in ids) or d["parentId"] != parent_id:
            continue
        if name and not like_matches(d["name"], f"%{name}%"):
            continue
        if params.get("annotationStatus") and d["annotationStatus"] != params["annotationStatus"]:
            continue
        if params.get("splitType") and d["splitType"] != params["splitType"]:
            continue
        if start is not None and d["created"] < start:
            continue
        if end is not None and d["created"] > end:
            continue
        out.append(d)
    field, order = params.get("sortField"), params.get("ascOrDesc")
    if field == "CREATED_AT" and order:
        out.sort(key=lambda d: int(d["created"]), reverse=order == "DESC")  # datetime: whole seconds
    else:
        desc = field == "NAME" and order == "DESC"
        out.sort(key=lambda d: collation_key(d["name"]), reverse=desc)
    out.sort(key=lambda d: d["type"] == "SCENE", reverse=True)
    if not expand_scenes:
        return out
    expanded = []
    for d in out:
        if d["type"] == "SCENE":
            expanded += sorted(store.frames_of(d["id"]), key=lambda f: f["id"])
        else:
            expanded.append(d)
    return expanded


def _file_entry(emu, f, host, scheme, image=False):
    entry = {"filename": f["name"], "url": signed_get(emu, f["key"], host, scheme), "zipPath": f["zipPath"]}
    if image:
        entry.update(width=f["width"], height=f["height"])
    return entry


def data_json(emu: Xtreme1Emulator, item: dict[str, Any], dtype: str, host: str, scheme: str) -> dict:
    out: dict[str, Any] = {
        "dataId": item["id"],
        "version": EXPORT_VERSION,
        "name": item["name"],
        "type": dtype,
    }
    files = item["files"]
    if dtype == "IMAGE":
        out["images"] = [_file_entry(emu, f, host, scheme, True) for f in files]
    elif dtype == "TEXT":
        out["texts"] = [_file_entry(emu, f, host, scheme) for f in files]
    else:
        lidar = [f for f in files if (f["folder"] or "").lower().startswith("lidar_point_cloud")]
        out["lidarPointClouds"] = [_file_entry(emu, f, host, scheme) for f in lidar]
        if dtype == "LIDAR_FUSION":
            config = [f for f in files if (f["folder"] or "").lower() == "camera_config"]
            out["cameraConfig"] = _file_entry(emu, config[0], host, scheme) if config else None
            out["cameraImages"] = [
                _file_entry(emu, f, host, scheme, True)
                for f in files
                if (f["folder"] or "").lower().startswith("camera_image")
            ]
    return out


def result_json(emu: Xtreme1Emulator, item: dict[str, Any], sources: list[int]) -> list[dict[str, Any]]:
    out = []
    for source in sources:
        objects = emu._store.objects_of(item["id"], {source})
        if not objects:
            continue
        run = emu._store.runs.get(source)
        out.append(
            {
                "version": EXPORT_VERSION,
                "dataId": item["id"],
                "sourceName": "Ground Truth" if source == -1 else (run["runNo"] if run else str(source)),
                "classificationValues": [] if source == -1 else None,
                # copied by field name, so model-run shapes lose their geometry (issue #324)
                "objects": [{k: o["classAttributes"].get(k) for k in OBJECT_FIELDS} for o in objects],
            }
        )
    return out


def run_export(emu: Xtreme1Emulator, generation: int, serial: str) -> None:
    store = emu._store
    rec = store.exports[serial]
    if rec.get("stall"):
        return
    emu._step(generation)
    ds = store.datasets[rec["datasetId"]]
    items = select_data(emu, ds["id"], rec["params"])
    if not items:
        return  # the real worker returns without writing FAILED: GENERATING forever
    rec.update(totalNum=len(items), generatedNum=0, updatedAt=iso())
    emu._step(generation)
    top = rec["fileName"][: -len(".zip")]
    temp = os.path.join(emu._scratch, f"{uuid.uuid4().hex}.zip")
    sources = rec["params"].get("selectModelRunIds") or []
    host, scheme = rec["host"], rec["scheme"]
    scenes = {d["id"]: d["name"] for d in store.dataset_data(ds["id"]) if d["type"] == "SCENE"}
    coco: dict[str, list] = {"images": [], "annotations": [], "categories": []}
    try:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as zf:
            for n, item in enumerate(items, 1):
                emu._alive(generation)
                prefix = f"{top}/{scenes[item['parentId']]}/" if item["parentId"] in scenes else f"{top}/"
                zf.writestr(
                    f"{prefix}data/{item['name']}.json",
                    json.dumps(data_json(emu, item, ds["type"], host, scheme), ensure_ascii=False),
                )
                results = result_json(emu, item, sources)
                if results:
                    zf.writestr(
                        f"{prefix}result/{item['name']}.json", json.dumps(results, ensure_ascii=False)
                    )
                if rec["dataFormat"] == "COCO":
                    _coco_add(coco, item, results)
                rec["generatedNum"] = n
            if rec["dataFormat"] == "COCO":
                if not _coco_converted(emu, rec):
                    return
                zf.writestr(f"{top}/result/coco.json", json.dumps(coco))
        emu._step(generation)
        key = f"{USER_ID}/{rec['timestamp']}/{rec['fileName']}"
        emu._objects.put_file(key, temp)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    rec.update(key=key, fileId=store.next_id("file"), status="COMPLETED", updatedAt=iso())


def _coco_converted(emu: Xtreme1Emulator, rec: dict[str, Any]) -> bool:
    """What becomes of a COCO export after the JSON files are written (J:usecase/ExportUseCase.java).

    ``emu.coco_export`` picks the server build: ``"v0.9.1"`` (default; the image docker-compose pulls)
    crashes moving the missing ``image`` folder (issue #295) and the record stays GENERATING;
    ``"HEAD-failing"`` runs the SDK converter, which answers an error, and writes FAILED;
    ``"HEAD"`` converts (``result/coco.json``) and completes.
    """
    mode = emu.coco_export
    if mode == "HEAD":
        return True
    if mode == "HEAD-failing":
        rec.update(status="FAILED", updatedAt=iso())
    return False


def _coco_add(coco: dict[str, list], item: dict[str, Any], results: list[dict[str, Any]]) -> None:
    image = next(iter(item["files"]), None)
    coco["images"].append(
        {
            "id": item["id"],
            "file_name": image["name"] if image else item["name"],
            "width": image and image["width"],
            "height": image and image["height"],
        }
    )
    names = [c["name"] for c in coco["categories"]]
    for source in results:
        for obj in source["objects"]:
            points = ((obj.get("contour") or {}).get("points")) or []
            name = obj.get("className") or obj.get("modelClass")
            if len(points) < 2 or not name:
                continue
            if name not in names:
                names.append(name)
                coco["categories"].append({"id": len(names), "name": name})
            xs, ys = [p["x"] for p in points], [p["y"] for p in points]
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": item["id"],
                    "category_id": names.index(name) + 1,
                    "iscrowd": 0,
                    "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                    "area": (max(xs) - min(xs)) * (max(ys) - min(ys)),
                }
            )


def create_export(
    emu: Xtreme1Emulator,
    ds: dict[str, Any],
    params: dict[str, Any],
    data_format: str,
    host: str,
    scheme: str,
    stall: bool,
) -> str:
    store = emu._store
    ts = datetime.now().strftime("%Y%m%d%H%M%S")
    with store.lock:
        rec = {
            "id": store.next_id("export"),
            "serialNumber": store.serial(),
            "fileId": None,
            "fileName": f"{ds['name']}-{ts}.zip",
            "status": "GENERATING",
            "generatedNum": 0,
            "totalNum": 0,
            "datasetId": ds["id"],
            "params": params,
            "dataFormat": data_format,
            "host": host,
            "scheme": scheme,
            "timestamp": ts,
            "stall": stall,
            "createdAt": iso(),
            "updatedAt": iso(),
        }
        store.exports[rec["serialNumber"]] = rec
    emu._submit("export", run_export, rec["serialNumber"])
    return rec["serialNumber"]


# ------------------------------------------------------------------------------------------ model run


def run_model(
    emu: Xtreme1Emulator, generation: int, run_id: int, data_ids: list[int], stall_at: str | None = None
) -> None:
    store = emu._store
    run = store.runs[run_id]
    model = store.models[run["modelId"]]
    emu._step(generation)
    if stall_at == "STARTED":
        raise JobAborted()  # e.g. the backend restarted: the run never leaves STARTED
    run.update(status="RUNNING", progress=0, updatedAt=iso())
    emu._step(generation)
    params = run.get("resultFilterParam")
    if not params or stall_at == "RUNNING":
        raise JobAborted()  # the converter throws on the empty filter: never acked, RUNNING forever
    mode = store.model_failures.get(model["id"])
    failures: list[str] = []
    per_step = max(1, math.ceil(len(data_ids) / 4))
    for i, data_id in enumerate(data_ids):
        emu._alive(generation)
        item = store.data.get(data_id)
        if mode == "all" or (mode == "partial" and i % 2 == 1) or item is None:
            failures.append(f"{data_id}:Model service connection timed out")
        else:
            image = next((f for f in item["files"] if f.get("width")), None)
            found = predict(model, item["name"], image and image["width"], image and image["height"])
            objects = filter_predictions(model, found, params)
            with store.lock:
                for obj in objects:
                    store.add_object(item, obj, "MODEL", run_id)
        run["progress"] = i + 1
        if (i + 1) % per_step == 0:
            emu._step(generation)
    done = {"updatedAt": iso()}
    reason = json.dumps(failures) if failures else None
    reason = reason if reason is None or len(reason) <= 200 else None
    if failures and len(failures) == len(data_ids):
        run.update(status="FAILURE", errorReason=json.dumps(failures[:1]), **done)
    elif failures:
        run.update(status="SUCCESS_WITH_ERROR", errorReason=reason, **done)
    else:
        # Metrics come from the evaluation service, only on SUCCESS and only when it answered;
        # otherwise null (J:adapter/api/job/AbstractModelMessageHandler.java calculateMetrics).
        run.update(status="SUCCESS", metrics=emu._run_metrics.get(run_id), **done)


def matching_run_data(
    emu: Xtreme1Emulator, ds: dict[str, Any], model_id: int, data_filter: dict[str, Any]
) -> list[int]:
    """SINGLE_DATA items (frames included) selected by a ``ModelRunFilterDataDTO``."""
    store = emu._store
    items = sorted(store.single_data(ds["id"]), key=lambda d: d["id"])
    if data_filter.get("splitType"):
        items = [d for d in items if d["splitType"] == data_filter["splitType"]]
    if data_filter.get("annotationStatus"):
        items = [d for d in items if d["annotationStatus"] == data_filter["annotationStatus"]]
    if data_filter.get("isExcludeModelData"):
        runs = {r["id"] for r in store.runs.values() if r["modelId"] == model_id}
        items = [d for d in items if not any(o["sourceId"] in runs for o in store.objects_of(d["id"]))]
    ratio = data_filter.get("dataCountRatio")
    ratio = 100 if ratio is None else int(ratio)
    count = math.ceil(len(items) * ratio / 100)
    return [d["id"] for d in items[:count]]


__all__ = ["create_export", "matching_run_data", "model_fits", "run_model", "select_data"]
