"""COCO instances JSON: ``annotations.json`` with ``images``, ``annotations`` and ``categories``.

``images[].file_name`` is the image's path ``[<scene>/]<sensor folder>/<file>`` (see :mod:`.images`),
with ``width``/``height`` from the export and ``xtreme1_data_id``. Boxes become ``bbox`` ``[x, y, w, h]``
(clipped to the image) with a four-corner ``segmentation``; polygons keep their points as
``segmentation`` and their bounding box as ``bbox``; ``area`` is the box's or the polygon's area.
``category_id`` = class-table id + 1 (``classes.json``). Model-run objects keep ``modelConfidence`` as
``score``. Polylines, 3D shapes and shapes outside their image are counted as unrepresentable.

Images and annotations are spooled to temporary files as items stream by, then joined into one file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any

from airflow_provider_xtreme1.convert.images import clip_box, views_of
from airflow_provider_xtreme1.convert.reader import ExportItem
from airflow_provider_xtreme1.convert.shapes import BOX_2D_TYPES, POLYGON_TYPES


def polygon_area(points: list[tuple[float, float]]) -> float:
    """Shoelace formula."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


class CocoWriter:
    fmt = "coco"

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.images = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _drain
        self.annotations = tempfile.TemporaryFile()  # noqa: SIM115
        self.image_count = 0
        self.annotation_count = 0

    def add(self, item: ExportItem) -> None:
        ctx = self.ctx
        for view in views_of(item, ctx, holds=BOX_2D_TYPES | POLYGON_TYPES):
            self.image_count += 1
            image_id = self.image_count
            entry = {"id": image_id, "file_name": view.path, "width": view.width, "height": view.height}
            entry["xtreme1_data_id"] = view.data_id
            self.images.write((b"," if image_id > 1 else b"") + _json(entry))
            for kind, name, points, obj in view.objects:
                box = clip_box(points, view)
                if box is None:
                    ctx.tally.skip(kind, "outside its image")
                    continue
                x1, y1, x2, y2 = box
                if kind in POLYGON_TYPES:
                    segmentation = [v for p in points for v in p]
                    area = polygon_area(points)
                else:
                    segmentation = [x1, y1, x2, y1, x2, y2, x1, y2]
                    area = (x2 - x1) * (y2 - y1)
                self.annotation_count += 1
                ann = {
                    "id": self.annotation_count,
                    "image_id": image_id,
                    "category_id": ctx.classes.id_of(name) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": area,
                    "segmentation": [segmentation],
                    "iscrowd": 0,
                }
                if obj.get("modelConfidence") is not None:
                    ann["score"] = float(obj["modelConfidence"])
                self.annotations.write((b"," if self.annotation_count > 1 else b"") + _json(ann))
                ctx.tally.wrote(kind)

    def _document(self) -> Iterator[bytes]:
        info = {"description": "Converted from an Xtreme1 export", "version": "1.0"}
        yield b'{"info":' + _json(info) + b',"licenses":[],"images":['
        yield from self._drain(self.images)
        yield b'],"annotations":['
        yield from self._drain(self.annotations)
        categories = [
            {"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(self.ctx.classes.names)
        ]
        yield b'],"categories":' + _json(categories) + b"}\n"

    @staticmethod
    def _drain(spool: Any) -> Iterator[bytes]:
        spool.seek(0)
        while chunk := spool.read(1024 * 1024):
            yield chunk
        spool.close()

    def finish(self) -> None:
        self.ctx.write("annotations.json", self._document())
