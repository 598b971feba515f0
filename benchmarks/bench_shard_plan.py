"""Planning shards of a folder of 100,000 files: validation (the pack step's), the split, re-opening a shard.

The folder holds 20,000 root-level LIDAR_FUSION frames of 5 small files each (point cloud, two camera
images, camera config, result): 20,000 units, the planner's worst case for a given file count (scenes
would be fewer, larger units). Page cache warm (the folder was just written).

Run alone with ``python -m benchmarks.bench_shard_plan``; ``run()`` has the signature of the other
sections of ``benchmarks/run.py``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import table
from benchmarks.datasets import make_fusion_folder


def run(root: Path, quick: bool, runs: int, log) -> tuple[str, dict[str, Any]]:
    from airflow_provider_xtreme1.archives import validate_dataset_folder
    from airflow_provider_xtreme1.archives.shards import open_shard, plan_shards

    frames = 4000 if quick else 20000
    work = root / "shard-plan"
    make_fusion_folder(work / "gen", frames, 1)
    folder = work / "drive"
    (work / "gen" / "scene_001").rename(folder)
    rows, figures = [], {}
    try:
        for attempt in range(max(1, runs)):
            started = time.perf_counter()
            report = validate_dataset_folder(folder, "LIDAR_FUSION", with_results=True)
            validate = time.perf_counter() - started
            started = time.perf_counter()
            plan = plan_shards(folder, "LIDAR_FUSION", "1MiB", with_results=True)
            planned = time.perf_counter() - started
            started = time.perf_counter()
            open_shard(plan.shards[len(plan.shards) // 2].describe())
            opened = time.perf_counter() - started
            rows.append(
                [attempt + 1, report.files, len(plan.shards), validate, planned, planned - validate, opened]
            )
            log(f"shard plan: {report.files} files, {len(plan.shards)} shards, {planned:.2f} s")
        figures = {
            "files": rows[-1][1],
            "shards": rows[-1][2],
            "validate_s": round(min(r[3] for r in rows), 2),
            "plan_shards_s": round(min(r[4] for r in rows), 2),
            "split_only_s": round(min(r[5] for r in rows), 2),
            "open_shard_s": round(min(r[6] for r in rows), 2),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(
        "Planning shards of a folder (LIDAR_FUSION, root-level frames, 1 MiB shards)",
        ["run", "files", "shards", "validate s", "plan_shards s", "split only s", "open_shard s"],
        rows,
    )
    return text, figures


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="bench-shard-plan-") as tmp:
        out, found = run(Path(tmp), quick=False, runs=2, log=print)
    print(out)
    print(json.dumps(found))
