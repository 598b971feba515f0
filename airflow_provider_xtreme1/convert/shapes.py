"""Geometry of one exported object (``DataResultObjectExportBO.contour``), checked and typed.

3D types carry ``center3D``/``size3D``/``rotation3D``; 2D types carry ``points`` ``[{x, y}]`` in pixels
from the image's top-left, plus ``viewIndex`` (the camera) on LiDAR-fusion items. Model-run objects come out
of exports without geometry (Xtreme1 issue #324): they return ``None`` here and are counted, not dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from airflow_provider_xtreme1.convert.geometry import Vec3

BOX_3D_TYPES = frozenset({"3D_BOX"})
BOX_2D_TYPES = frozenset({"2D_BOX", "2D_RECT", "BOUNDING_BOX"})
POLYGON_TYPES = frozenset({"POLYGON"})
POLYLINE_TYPES = frozenset({"POLYLINE"})


@dataclass(frozen=True)
class Box3D:
    center: Vec3
    size: Vec3
    rotation: Vec3

    @property
    def yaw(self) -> float:
        return self.rotation[2]

    def is_upright(self, tolerance: float = 1e-3) -> bool:
        """Only yaw (no roll or pitch): what KITTI can hold."""
        return abs(self.rotation[0]) <= tolerance and abs(self.rotation[1]) <= tolerance


def _vec(value: Any, default: float | None = None) -> Vec3 | None:
    if not isinstance(value, dict):
        return None
    out = []
    for axis in "xyz":
        v = value.get(axis, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out[0], out[1], out[2]


def box3d(obj: dict[str, Any]) -> Box3D | None:
    contour = obj.get("contour")
    if not isinstance(contour, dict):
        return None
    center, size = _vec(contour.get("center3D")), _vec(contour.get("size3D"))
    rotation = _vec(contour.get("rotation3D") or {}, 0.0)
    if center is None or size is None or rotation is None or min(size) <= 0:
        return None
    return Box3D(center, size, rotation)


def points2d(obj: dict[str, Any]) -> list[tuple[float, float]] | None:
    contour = obj.get("contour")
    if not isinstance(contour, dict) or not isinstance(contour.get("points"), list):
        return None
    out = []
    for p in contour["points"]:
        if not isinstance(p, dict):
            return None
        x, y = p.get("x"), p.get("y")
        if any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (x, y)
        ):
            return None
        out.append((float(x), float(y)))
    return out or None


def view_index(obj: dict[str, Any]) -> int | None:
    contour = obj.get("contour")
    value = contour.get("viewIndex") if isinstance(contour, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def bounds(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)
