"""Generated LIDAR_FUSION folders: big ones for throughput, many tiny files for validation speed.

The layout is that of ``sample_data`` (``lidar_point_cloud_0/``, ``camera_image_0/``, ``camera_image_1/``,
``camera_config/``, ``result/``, ``scene_NN/``), and every file passes the content checks of
``validate_dataset_folder`` (PCD header, PNG signature, JSON), but bodies are random bytes.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

PCD_HEADER = (
    "# .PCD v0.7 - Point Cloud Data file format\nVERSION .7\nFIELDS x y z i\nSIZE 4 4 4 4\nTYPE F F F F\n"
    "COUNT 1 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary\n"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CAMERA = {
    "cameraExternal": [0.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.2, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    "cameraInternal": {"cx": 960.0, "cy": 540.0, "fx": 1000.0, "fy": 1000.0},
    "height": 1080,
    "rowMajor": True,
    "width": 1920,
}
CAMERAS = 2
FILES_PER_FRAME = 3 + CAMERAS  # pcd, images, config, result


def _result(rng: random.Random, frame: int) -> dict:
    objects = []
    for k in range(rng.randint(1, 4)):
        objects.append(
            {
                "type": "3D_BOX",
                "className": "Car",
                "trackId": f"t-{frame}-{k}",
                "contour": {
                    "center3D": {"x": rng.uniform(-20, 20), "y": rng.uniform(-20, 20), "z": 0.8},
                    "rotation3D": {"x": 0, "y": 0, "z": rng.uniform(-3, 3)},
                    "size3D": {"x": 4.4, "y": 1.9, "z": 1.6},
                },
            }
        )
    return {"objects": objects}


def make_fusion_folder(
    root: Path,
    frames: int,
    scenes: int,
    *,
    pcd_bytes: tuple[int, int] = (0, 0),
    image_bytes: tuple[int, int] = (0, 0),
    seed: int = 42,
) -> tuple[int, int]:
    """Write ``frames`` frames spread over ``scenes`` scene folders; return ``(files, bytes)``.

    Body sizes are drawn uniformly from the given ranges (0: header/signature only).
    """
    rng = random.Random(seed)
    config = json.dumps([CAMERA] * CAMERAS).encode()
    files = total = 0
    per_scene = -(-frames // scenes)
    for s in range(scenes):
        scene = root / f"scene_{s + 1:03d}"
        folders = {
            "pcd": scene / "lidar_point_cloud_0",
            "config": scene / "camera_config",
            "result": scene / "result",
            **{f"cam{c}": scene / f"camera_image_{c}" for c in range(CAMERAS)},
        }
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        for i in range(min(per_scene, frames - s * per_scene)):
            name = f"{i + 1:06d}"
            points = rng.randint(*pcd_bytes) // 16 if pcd_bytes[1] else 1
            blobs = {
                folders["pcd"] / f"{name}.pcd": PCD_HEADER.format(n=points).encode()
                + (os.urandom(points * 16) if pcd_bytes[1] else b"\0" * 16),
                folders["config"] / f"{name}.json": config,
                folders["result"] / f"{name}.json": json.dumps(_result(rng, i)).encode(),
            }
            for c in range(CAMERAS):
                size = rng.randint(*image_bytes) if image_bytes[1] else 16
                blobs[folders[f"cam{c}"] / f"{name}.png"] = PNG_SIGNATURE + os.urandom(size)
            for path, data in blobs.items():
                with open(path, "wb") as fh:
                    fh.write(data)
                files += 1
                total += len(data)
    return files, total
