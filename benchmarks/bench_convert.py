"""Benchmark 8: converting an export to KITTI, OpenLABEL, YOLO and COCO — frames per second and memory.

The export is written in the server's layout (``ExportUseCase.writeFile``): LIDAR_FUSION scenes of 250
frames, each frame with presigned-URL-sized file entries, 2 cameras, 4 ground-truth 3D boxes and 3 2D boxes
on the camera views, plus the uploaded package's ``camera_config/`` files. Each conversion runs in a fresh
process through ``convert_export`` (the CLI's function), timed inside the process; peak RSS comes from
``/usr/bin/time -v``. The reference, measured in the same run on the same zip, is the least any converter
must do: open the zip and ``json.loads`` every data and result file. Two sizes show whether memory stays
flat as the export grows. Goal: 10,000 frames a minute (167 frames/s) on one core.
"""

from __future__ import annotations

import json
import math
import random
import zipfile
from pathlib import Path
from typing import Any

from benchmarks.common import PYTHON, bench_env, measure, median, table, verdict

FRAMES_PER_SCENE = 250
GOAL_FPS = 10_000 / 60
URL = "http://xtreme1.example.com:8190/minio/xtreme1/1/7/0f1e2d3c4b5a69788796a5b4c3d2e1f0/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minioadmin%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T120000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=9c1b0b3f1e0a7d4c2b8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
CLASSES = ["Car", "Pedestrian", "Cyclist", "Truck", "Bus", "Van"]

CONVERT = """
import json, sys, time
from airflow_provider_xtreme1.convert import convert_export
t0 = time.perf_counter()
s = convert_export(sys.argv[1], sys.argv[2], sys.argv[3], camera_configs=sys.argv[4])
s["seconds"] = time.perf_counter() - t0
print(json.dumps(s))
"""
READ_ONLY = """
import json, sys, time, zipfile
t0 = time.perf_counter()
n = 0
with zipfile.ZipFile(sys.argv[1]) as zf:
    for name in zf.namelist():
        if name.endswith(".json"):
            json.loads(zf.read(name))
            n += "/data/" in name
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t0}))
"""


def _camera(c: int) -> dict[str, Any]:
    yaw = math.pi * c
    cos, sin = round(math.cos(yaw), 6), round(math.sin(yaw), 6)
    return {
        "cameraInternal": {"fx": 1200.0, "fy": 1200.0, "cx": 960.0, "cy": 540.0},
        "cameraExternal": [sin, -cos, 0, 0, 0, 0, -1, 0.2, cos, sin, 0, 0, 0, 0, 0, 1],
        "width": 1920,
        "height": 1080,
        "rowMajor": True,
    }


def _entry(path: str, **extra: Any) -> dict[str, Any]:
    return {"filename": path.rsplit("/", 1)[1], "url": URL.format(path), "zipPath": path, **extra}


def write_export(folder: Path, frames: int, seed: int = 1) -> tuple[Path, Path]:
    """An export zip of ``frames`` LIDAR_FUSION frames and the package holding their camera configs."""
    rng = random.Random(seed)
    top = f"bench-{frames}-20261129120000"
    export, package = folder / f"export-{frames}.zip", folder / f"package-{frames}"
    cameras = json.dumps([_camera(0), _camera(1)])
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for n in range(frames):
            scene, name = f"scene_{n // FRAMES_PER_SCENE + 1:03d}", f"{n % FRAMES_PER_SCENE + 1:06d}"
            base = f"pkg/{scene}"
            data = {
                "dataId": n + 1,
                "version": "Xtreme1 v0.6",
                "name": name,
                "type": "LIDAR_FUSION",
                "lidarPointClouds": [_entry(f"{base}/lidar_point_cloud_0/{name}.pcd")],
                "cameraConfig": _entry(f"{base}/camera_config/{name}.json"),
                "cameraImages": [
                    _entry(f"{base}/camera_image_{c}/{name}.jpg", width=1920, height=1080) for c in range(2)
                ],
            }
            objects = []
            for k in range(7):
                cls = rng.choice(CLASSES)
                obj: dict[str, Any] = {
                    "id": f"{n:08x}{k:024x}",
                    "classId": 10 + CLASSES.index(cls),
                    "className": cls,
                    "trackId": f"{scene}-{k}",
                    "trackName": str(k + 1),
                    "classValues": [],
                    "modelConfidence": None,
                    "modelClass": None,
                }
                if k < 4:
                    obj["type"] = "3D_BOX"
                    obj["contour"] = {
                        "center3D": {"x": rng.uniform(-40, 40), "y": rng.uniform(-20, 20), "z": 0.8},
                        "size3D": {"x": 4.2, "y": 1.8, "z": 1.6},
                        "rotation3D": {"x": 0, "y": 0, "z": rng.uniform(-3.1, 3.1)},
                    }
                else:
                    x, y = rng.uniform(0, 1800), rng.uniform(0, 1000)
                    corners = [(x, y), (x + 100, y), (x + 100, y + 60), (x, y + 60)]
                    obj["type"] = "2D_BOX"
                    obj["contour"] = {"points": [{"x": a, "y": b} for a, b in corners], "viewIndex": k % 2}
                objects.append(obj)
            result = [{"version": "Xtreme1 v0.6", "dataId": n + 1, "sourceName": "Ground Truth",
                       "classificationValues": [], "objects": objects}]  # fmt: skip
            zf.writestr(f"{top}/{scene}/data/{name}.json", json.dumps(data))
            zf.writestr(f"{top}/{scene}/result/{name}.json", json.dumps(result))
            config = package / scene / "camera_config" / f"{name}.json"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(cameras)
    return export, package


def run(root: Path, quick: bool, runs: int, log) -> tuple[str, dict[str, Any]]:
    sizes = [1_000, 4_000] if quick else [2_500, 10_000]
    env = bench_env(root / "airflow-home")
    (root / "airflow-home").mkdir(exist_ok=True)
    figures: dict[str, Any] = {"sizes": sizes}
    rows = []
    for frames in sizes:
        log(f"  writing a {frames:,}-frame export")
        export, package = write_export(root, frames)
        reference = [measure([PYTHON, "-c", READ_ONLY, str(export)], env=env) for _ in range(runs)]
        ref_s = median([r.out["seconds"] for r in reference])
        ref_rss = median([r.rss_mib for r in reference])
        figures[frames] = {
            "reference_s": ref_s,
            "reference_rss_mib": ref_rss,
            "zip_mib": export.stat().st_size / 2**20,
        }
        rows.append([f"{frames:,}", "reference: read + json.loads", ref_s, frames / ref_s, 1.0, ref_rss, "-"])
        for fmt in ("kitti", "openlabel", "yolo", "coco"):
            samples = []
            for i in range(runs):
                out = root / f"out-{fmt}-{frames}-{i}"
                samples.append(
                    measure([PYTHON, "-c", CONVERT, str(export), fmt, str(out), str(package)], env=env)
                )
                assert samples[-1].out["frames"] == frames, samples[-1].out
            seconds = median([s.out["seconds"] for s in samples])
            rss = median([s.rss_mib for s in samples])
            fps = frames / seconds
            figures[frames][fmt] = {"seconds": seconds, "fps": fps, "rss_mib": rss, "summary": samples[0].out}
            rows.append([f"{frames:,}", fmt, seconds, fps, seconds / ref_s, rss, verdict(fps >= GOAL_FPS)])
            log(f"  {fmt} {frames:,} frames: {seconds:.2f} s, {fps:,.0f} frames/s, {rss:.0f} MiB")
    small, large = sizes
    per_k = 1000 / (large - small)
    ref_growth = (figures[large]["reference_rss_mib"] - figures[small]["reference_rss_mib"]) * per_k
    growth_rows = []
    for fmt in ("kitti", "openlabel", "yolo", "coco"):
        ours = (figures[large][fmt]["rss_mib"] - figures[small][fmt]["rss_mib"]) * per_k
        extra = ours - ref_growth
        figures[f"{fmt}_rss_growth_per_1000_frames_mib"] = ours
        growth_rows.append(
            [fmt, figures[small][fmt]["rss_mib"], figures[large][fmt]["rss_mib"], ours, ref_growth, extra,
             verdict(extra <= 0.5)]
        )  # fmt: skip
    figures["reference_rss_growth_per_1000_frames_mib"] = ref_growth
    text = table(
        f"8. Converting a LIDAR_FUSION export (scenes of {FRAMES_PER_SCENE} frames, 4 3D + 3 2D boxes each; "
        f"median of {runs})",
        [
            "frames",
            "format",
            "seconds",
            "frames/s",
            "time / reference",
            "peak RSS MiB",
            "goal ≥ 167 frames/s",
        ],
        rows,
    )
    text += "\n" + table(
        f"8b. Peak RSS from {small:,} to {large:,} frames: growth per 1,000 frames, against the reference's "
        "(zipfile keeps the archive's index: about 2 entries a frame)",
        [
            "format",
            f"RSS at {small:,} MiB",
            f"RSS at {large:,} MiB",
            "growth MiB / 1,000 frames",
            "reference growth",
            "ours beyond the reference",
            "goal ≤ 0.5 MiB / 1,000 frames",
        ],
        growth_rows,
    )
    return text, figures
