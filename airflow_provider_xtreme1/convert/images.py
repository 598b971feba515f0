"""The images of an item and the 2D objects drawn on each, shared by the YOLO and COCO writers.

An ``IMAGE`` item has one image (``images[0]``); a ``LIDAR_FUSION`` item one per camera
(``cameraImages``, in ``camera_image_<n>`` order), and its 2D objects name their camera in
``contour.viewIndex``. Each image gets a relative path ``[<scene>/]<folder>/<file name>`` where
``<folder>`` is the sensor folder of the uploaded package (from ``zipPath``: ``image_0``,
``camera_image_1``…), which is where YOLO's ``labels/`` and COCO's ``file_name`` point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from airflow_provider_xtreme1.convert.output import object_type
from airflow_provider_xtreme1.convert.reader import ExportItem, class_of, objects_of
from airflow_provider_xtreme1.convert.shapes import (
    BOX_2D_TYPES,
    POLYGON_TYPES,
    POLYLINE_TYPES,
    points2d,
    view_index,
)

SHAPES_2D = BOX_2D_TYPES | POLYGON_TYPES | POLYLINE_TYPES


@dataclass
class View:
    index: int
    path: str
    width: int | None
    height: int | None
    data_id: Any
    objects: list[tuple[str, str, list[tuple[float, float]], dict[str, Any]]] = field(default_factory=list)


def _size(value: Any) -> int | None:
    return (
        int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None
    )


def views_of(item: ExportItem, ctx: Any, *, holds: frozenset[str]) -> list[View]:
    """The item's images with their 2D objects; anything else is counted as unrepresentable."""
    data = item.data
    fusion = "cameraImages" in data
    images = data.get("cameraImages") if fusion else data.get("images")
    views = []
    for n, image in enumerate(images or []):
        if not isinstance(image, dict):
            continue
        filename = str(image.get("filename") or f"{item.name}.jpg")
        parent = PurePosixPath(str(image.get("zipPath") or "").replace("\\", "/")).parent.name
        folder = parent or (f"camera_image_{n}" if fusion else "image_0")
        rel = f"{folder}/{PurePosixPath(filename).name}"
        views.append(
            View(n, f"{item.scene}/{rel}" if item.scene else rel, _size(image.get("width")),
                 _size(image.get("height")), data.get("dataId"))
        )  # fmt: skip
    for obj in objects_of(item, ctx.sources):
        kind = object_type(obj)
        if kind not in SHAPES_2D:
            ctx.tally.skip(kind, "not a 2D shape")
            continue
        if kind not in holds:
            ctx.tally.skip(kind, f"{ctx.fmt_name} holds {'boxes' if holds == BOX_2D_TYPES else 'no lines'}")
            continue
        name = class_of(obj)
        if not ctx.known_class(kind, name):
            continue
        points = points2d(obj)
        if points is None or len(points) < (2 if kind in BOX_2D_TYPES else 3):
            ctx.tally.skip(kind, "no geometry in the export")
            continue
        view = view_index(obj) if fusion else 0
        target = next((v for v in views if v.index == view), None)
        if target is None:
            ctx.tally.skip(kind, "its image (viewIndex) is not in the export")
            continue
        if target.width is None or target.height is None:
            ctx.tally.skip(kind, "image size unknown")
            continue
        target.objects.append((kind, name, points, obj))  # type: ignore[arg-type]
    return views


def clip_box(points: list[tuple[float, float]], view: View) -> tuple[float, float, float, float] | None:
    """The points' bounding box clipped to the image, ``None`` when nothing of it is inside."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x1, y1 = max(min(xs), 0.0), max(min(ys), 0.0)
    x2, y2 = min(max(xs), float(view.width)), min(max(ys), float(view.height))  # type: ignore[arg-type]
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2
