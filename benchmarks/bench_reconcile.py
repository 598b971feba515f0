"""Benchmark 8: import reconciliation of 10,000 items — requests made and seconds.

A LIDAR_BASIC archive of 9,000 root items and 10 scenes of 100 frames (every item with a result file of
two objects) is imported into the emulator (own process). Then :func:`reconcile_import` compares the
archive with the dataset through ``Xtreme1Hook``; the reference is a bare keep-alive ``requests.Session``
sending the very same API requests (no parsing, no comparison). Reported: requests against the budget
(one per 1,000 root items, one per scene, one per 1,000 items with results), seconds, and the ratio.
Annotation batches are also cut at 7,000 URL characters (nginx and Tomcat refuse 8 KiB request lines),
which with this dataset's 5-digit ids means about 875 ids a request, so one request over the budget.
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import EMULATOR_TOKEN, bench_env, emulator, median, table, verdict

ROOT_ITEMS, SCENES, FRAMES = 9000, 10, 100
PCD = (
    "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\n"
    "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 1\nDATA ascii\n0 0 0\n"
)
RESULT = (
    '{"objects": [{"type": "3D_BOX", "contour": {"center3D": {"x": 1, "y": 2, "z": 0}}},'
    ' {"type": "3D_BOX", "contour": {"center3D": {"x": 5, "y": 2, "z": 0}}}]}'
)


def _archive(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(1, ROOT_ITEMS + 1):
            zf.writestr(f"lidar_point_cloud_0/{i:06d}.pcd", PCD)
            zf.writestr(f"result/{i:06d}.json", RESULT)
        for s in range(1, SCENES + 1):
            for f in range(1, FRAMES + 1):
                zf.writestr(f"scene_{s:02d}/lidar_point_cloud_0/{f:06d}.pcd", PCD)
                zf.writestr(f"scene_{s:02d}/result/{f:06d}.json", RESULT)
    return path


def _import(hook: Any, archive: Path, log) -> tuple[int, str, int]:
    from airflow_provider_xtreme1.reconcile import dataset_watermark
    from airflow_provider_xtreme1.transfer import upload

    dataset_id = hook.create_dataset("reconcile-10k", "LIDAR_BASIC")["id"]
    watermark = dataset_watermark(hook, dataset_id)
    urls = hook.get_presigned_upload_url(dataset_id, "set.zip")
    upload(urls["presignedUrl"], archive, progress_interval=-1)
    serial = hook.start_import(dataset_id, urls["accessUrl"], result_type="GROUND_TRUTH")
    started = time.monotonic()
    while True:
        record = hook.get_upload_records([serial])[0]
        if record["status"] in ("PARSE_COMPLETED", "FAILED"):
            break
        time.sleep(0.5)
    log(f"  imported {record.get('totalDataNum')} items in {time.monotonic() - started:.0f} s")
    if record["status"] != "PARSE_COMPLETED":
        raise RuntimeError(f"import failed: {record}")
    return dataset_id, record.get("errorMessage") or "", watermark


def _bare(url: str, dataset_id: int) -> float:
    """The same requests with a bare session: the floor set by the server's answers."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {EMULATOR_TOKEN}"

    def page(**params: Any) -> list[dict]:
        found, number = [], 1
        while True:
            query = {"datasetId": dataset_id, "pageNo": number, "pageSize": 1000, **params}
            body = session.get(f"{url}/api/data/findByPage", params=query, timeout=120).json()
            found += body["data"]["list"]
            if len(body["data"]["list"]) < 1000:
                return found
            number += 1

    started = time.perf_counter()
    roots = page()
    data_ids = [d["id"] for d in roots if d["type"] != "SCENE"]
    for scene in (d["id"] for d in roots if d["type"] == "SCENE"):
        data_ids += [d["id"] for d in page(parentId=scene)]
    for start in range(0, len(data_ids), 1000):
        ids = ",".join(map(str, data_ids[start : start + 1000]))
        session.get(f"{url}/api/annotate/data/listByDataIds", params={"dataIds": ids}, timeout=120).json()
    return time.perf_counter() - started


def run(root: Path, runs: int, log) -> tuple[str, dict[str, Any]]:
    work = root / "reconcile"
    work.mkdir()
    archive = _archive(work / "set.zip")
    os.environ.update({k: v for k, v in bench_env(root / "airflow-home").items() if k.startswith("AIRFLOW")})
    with emulator(work, step_delay=0.0) as emu:
        os.environ["AIRFLOW_CONN_XTREME1_BENCH"] = emu.connection_json()
        from airflow_provider_xtreme1.archives import read_manifest
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
        from airflow_provider_xtreme1.reconcile import reconcile_import

        with Xtreme1Hook("xtreme1_bench") as hook:
            dataset_id, message, watermark = _import(hook, archive, log)
            ours, manifest_s, bare, summary = [], [], [], {}
            for i in range(runs):
                started = time.perf_counter()
                manifest = read_manifest(archive, "LIDAR_BASIC")
                read = time.perf_counter() - started
                found = reconcile_import(
                    hook, dataset_id, manifest, message, result_type="GROUND_TRUTH", watermark=watermark
                )
                ours.append(time.perf_counter() - started)
                manifest_s.append(read)
                summary = found.summary()
                bare.append(_bare(emu.url, dataset_id))
                log(f"  reconcile run {i + 1}/{runs}: {ours[-1]:.1f} s, bare {bare[-1]:.1f} s")
    if not summary.get("ok") or summary["items_stored"] != ROOT_ITEMS + SCENES * FRAMES:
        raise RuntimeError(f"reconciliation of a clean import did not pass: {summary}")
    items = ROOT_ITEMS + SCENES * FRAMES
    # one request per 1,000 root entries (items + scenes), per scene, per 1,000 items with results
    budget = -(-(ROOT_ITEMS + SCENES) // 1000) + SCENES + -(-items // 1000)
    ratio = median(ours) / median(bare)
    text = table(
        f"8. Import reconciliation of {items:,} items ({ROOT_ITEMS:,} root + {SCENES} scenes of {FRAMES}; "
        f"median of {runs} runs)",
        ["client", "requests", "budget", "seconds", "of which reading the zip", "x bare session"],
        [
            ["requests.Session, same requests (bare)", summary["requests"], budget, median(bare), "-", 1.0],
            [
                "reconcile_import (read archive + compare)",
                summary["requests"],
                f"{budget} {verdict(summary['requests'] <= budget)}",
                median(ours),
                median(manifest_s),
                ratio,
            ],
        ],
    )
    return text, {
        "seconds": ours,
        "bare_seconds": bare,
        "manifest_seconds": manifest_s,
        "requests": summary["requests"],
        "budget": budget,
        "ratio": ratio,
    }
