"""YOLO detection labels: ``labels/<image path without extension>.txt`` per image, ``classes.txt``.

Each line is ``<class id> <cx> <cy> <w> <h>``, the box centre and size divided by the image's width and
height (from the export's ``width``/``height``), clipped to the image. Class ids come from the sorted
class table (``classes.txt`` lists the names in id order; ``classes.json`` has the same table). Every
image gets a file, an empty one when it has no boxes (YOLO's background images).

YOLO detection holds boxes only: polygons, polylines, 3D shapes and boxes outside their image are counted
as unrepresentable (by type and reason).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from airflow_provider_xtreme1.convert.images import clip_box, views_of
from airflow_provider_xtreme1.convert.reader import ExportItem
from airflow_provider_xtreme1.convert.shapes import BOX_2D_TYPES


def label_path(image_path: str) -> str:
    return f"labels/{PurePosixPath(image_path).with_suffix('.txt')}"


class YoloWriter:
    fmt = "yolo"

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def add(self, item: ExportItem) -> None:
        ctx = self.ctx
        for view in views_of(item, ctx, holds=BOX_2D_TYPES):
            lines = []
            for kind, name, points, _obj in view.objects:
                box = clip_box(points, view)
                if box is None:
                    ctx.tally.skip(kind, "outside its image")
                    continue
                x1, y1, x2, y2 = box
                w, h = float(view.width), float(view.height)  # type: ignore[arg-type]
                values = ((x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h)
                lines.append(f"{ctx.classes.id_of(name)} " + " ".join(f"{v:.6f}" for v in values) + "\n")
                ctx.tally.wrote(kind)
            ctx.write(label_path(view.path), "".join(lines).encode())

    def finish(self) -> None:
        self.ctx.write("classes.txt", "".join(n + "\n" for n in self.ctx.classes.names).encode())
