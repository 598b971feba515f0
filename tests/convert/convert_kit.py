"""Hand-made exports in the server's layout, for cases the sample data does not produce."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

TOP = "hand-20260101120000"
#: KITTI's axes (camera x = -lidar y, y = -lidar z, z = lidar x), camera 0.2 m above the LiDAR origin.
FORWARD = [0, -1, 0, 0, 0, 0, -1, 0.2, 1, 0, 0, 0, 0, 0, 0, 1]
#: The same camera turned round: it looks along lidar -x.
BACKWARD = [0, 1, 0, 0, 0, 0, -1, 0.2, -1, 0, 0, 0, 0, 0, 0, 1]


def camera(external: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "cameraInternal": {"fx": 50.0, "fy": 50.0, "cx": 32.0, "cy": 24.0},
        "cameraExternal": external,
        "width": 64,
        "height": 48,
        "rowMajor": True,
        **extra,
    }


def box(cls: str | None, center, size, rotation=(0, 0, 0), **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", None),
        "type": "3D_BOX",
        "className": cls,
        "trackId": extra.pop("trackId", None),
        "trackName": extra.pop("trackName", None),
        "contour": {
            "center3D": dict(zip("xyz", center, strict=True)),
            "size3D": dict(zip("xyz", size, strict=True)),
            "rotation3D": dict(zip("xyz", rotation, strict=True)),
        },
        **extra,
    }


def shape(kind: str, cls: str | None, points, view: int | None = None, **extra: Any) -> dict[str, Any]:
    contour: dict[str, Any] = {"points": [{"x": x, "y": y} for x, y in points]}
    if view is not None:
        contour["viewIndex"] = view
    return {"id": extra.pop("id", None), "type": kind, "className": cls, "contour": contour, **extra}


def _file(name: str, zip_path: str, **extra: Any) -> dict[str, Any]:
    return {"filename": name, "url": None, "zipPath": zip_path, **extra}


def fusion_data(data_id: int, name: str, scene: str | None = None, cameras: int = 1) -> dict[str, Any]:
    base = f"pkg/{scene}/" if scene else "pkg/"
    return {
        "dataId": data_id,
        "version": "Xtreme1 v0.6",
        "name": name,
        "type": "LIDAR_FUSION",
        "lidarPointClouds": [_file(f"{name}.pcd", f"{base}lidar_point_cloud_0/{name}.pcd")],
        "cameraConfig": _file(f"{name}.json", f"{base}camera_config/{name}.json"),
        "cameraImages": [
            _file(f"{name}.jpg", f"{base}camera_image_{c}/{name}.jpg", width=64, height=48)
            for c in range(cameras)
        ],
    }


def image_data(data_id: int, name: str, width: int | None = 64, height: int | None = 48) -> dict[str, Any]:
    image = _file(f"{name}.jpg", f"pkg/image_0/{name}.jpg", width=width, height=height)
    return {"dataId": data_id, "version": "Xtreme1 v0.6", "name": name, "type": "IMAGE", "images": [image]}


def write_export(
    path: Path, items: list[tuple[str | None, dict[str, Any], list[dict[str, Any]] | None]]
) -> Path:
    """A zip like the server's: ``(scene, data document, objects or None)`` per item."""
    with zipfile.ZipFile(path, "w") as zf:
        for scene, data, objects in items:
            prefix = f"{TOP}/{scene}/" if scene else f"{TOP}/"
            zf.writestr(f"{prefix}data/{data['name']}.json", json.dumps(data))
            if objects is not None:
                result = [{"version": "Xtreme1 v0.6", "dataId": data["dataId"], "sourceName": "Ground Truth",
                           "classificationValues": [], "objects": objects}]  # fmt: skip
                zf.writestr(f"{prefix}result/{data['name']}.json", json.dumps(result))
    return path


def write_package(folder: Path, configs: dict[str, list[dict[str, Any]]]) -> Path:
    """Camera configs as an uploaded package holds them: ``{"[scene/]name": [camera, ...]}``."""
    for key, cams in configs.items():
        scene, _, name = key.rpartition("/")
        target = (
            folder / scene / "camera_config" / f"{name}.json"
            if scene
            else folder / "camera_config" / f"{name}.json"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(cams))
    return folder
