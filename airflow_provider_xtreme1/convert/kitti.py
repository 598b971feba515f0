"""KITTI 3D object labels and calibration, one pair of files per LiDAR frame.

Output: ``label_2/<frame>.txt``, ``calib/<frame>.txt``, ``ImageSets/all.txt`` (the frame stems),
``classes.json``. ``<frame>`` is the data name, prefixed by ``<scene>_`` for frames of a scene.

Transforms (see :mod:`.geometry` for the axes). With ``T`` the chosen camera's LiDAR→camera 4x4
(``cameraExternal``; camera ``camera_index`` of the frame's ``camera_config``) and ``K`` its intrinsics:

* ``calib``: ``P0`` to ``P3`` are all ``[K | 0]`` of that camera (the reference camera *is* KITTI's rectified
  camera, so ``R0_rect`` is the identity), ``Tr_velo_to_cam = T[:3]``, ``Tr_imu_to_velo = [I | 0]``
  (Xtreme1 has no IMU).
* ``location`` = ``T · (cx, cy, cz - h/2)``: the box's *bottom* centre in camera coordinates (KITTI's
  convention), with ``(cx, cy, cz)`` = ``center3D``; ``h w l`` = ``size3D`` ``z y x``.
* ``rotation_y``: the heading ``d = (cos yaw, sin yaw, 0)`` turned into the camera, ``d_c = R · d``; KITTI's
  box of angle ``ry`` points along ``(cos ry, 0, -sin ry)``, so ``rotation_y = atan2(-d_c.z, d_c.x)``. With
  KITTI's own axes (``R`` maps lidar x→cam z, y→-cam x) this is the familiar ``rotation_y = -yaw - pi/2``.
  A camera that is pitched or rolled loses its vertical component: KITTI boxes turn about camera y only.
* ``alpha = rotation_y - atan2(x, z)`` with ``(x, z)`` from ``location`` (the observation angle: equal to
  ``rotation_y`` for an object straight ahead), wrapped into ``[-pi, pi)``.
* 2D ``bbox``: the 8 corners through ``K · T``, corners behind the camera left out, clipped to the image;
  ``truncated = 1 - clipped area / unclipped area``. ``occluded`` is 0: Xtreme1 does not record it.

Not representable (counted by type and reason, never dropped silently): 2D shapes, polylines, segments,
boxes with roll or pitch, boxes without geometry, and — when the frame has a camera — boxes that do not
reach into its image. A frame without a camera config (``LIDAR_BASIC``) gets KITTI's velodyne axes as
``Tr_velo_to_cam`` (``camera x = -lidar y, y = -lidar z, z = lidar x``), ``P = [I | 0]`` and a zero 2D box.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_xtreme1.convert.geometry import (
    AXES_LIDAR_TO_CAMERA,
    IDENTITY4,
    Camera,
    Matrix,
    apply,
    box_corners,
    flat,
    image_box,
    invert_rigid,
    normalize_angle,
    rotate,
)
from airflow_provider_xtreme1.convert.output import fmt_number, object_type
from airflow_provider_xtreme1.convert.reader import ExportItem, class_of, objects_of
from airflow_provider_xtreme1.convert.shapes import BOX_3D_TYPES, Box3D, box3d

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_NO_CAMERA = Camera(1.0, 1.0, 0.0, 0.0, AXES_LIDAR_TO_CAMERA)


def frame_stem(item: ExportItem) -> str:
    stem = f"{item.scene}_{item.name}" if item.scene else item.name
    return _UNSAFE.sub("_", stem)


@dataclass(frozen=True)
class KittiBox:
    """One ``label_2`` line's 3D part, in camera coordinates."""

    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: tuple[float, float, float, float]
    h: float
    w: float
    l: float  # noqa: E741 - KITTI's name
    location: tuple[float, float, float]
    rotation_y: float


def to_kitti(box: Box3D, camera: Camera, *, clip: bool = True) -> KittiBox | None:
    """The KITTI label of an upright LiDAR box seen by ``camera`` (``None``: not in its image)."""
    t = camera.lidar_to_camera
    (cx, cy, cz), (sx, sy, sz) = box.center, box.size
    location = apply(t, (cx, cy, cz - sz / 2))
    dx, _, dz = rotate(t, (math.cos(box.yaw), math.sin(box.yaw), 0.0))
    rotation_y = normalize_angle(math.atan2(-dz, dx))
    alpha = normalize_angle(rotation_y - math.atan2(location[0], location[2]))
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    truncated = 0.0
    if clip:
        corners = [apply(t, p) for p in box_corners(box.center, box.size, box.yaw)]
        projected = image_box(camera, corners) if location[2] > 0 else None
        if projected is None:
            return None
        *xyxy, truncated = projected
        bbox = (xyxy[0], xyxy[1], xyxy[2], xyxy[3])
    return KittiBox("", truncated, 0, alpha, bbox, sz, sy, sx, location, rotation_y)


def label_line(kind: str, k: KittiBox) -> str:
    values = (k.alpha, *k.bbox, k.h, k.w, k.l, *k.location, k.rotation_y)
    return f"{kind} {fmt_number(k.truncated)} {k.occluded} " + " ".join(fmt_number(v) for v in values)


def calib_text(camera: Camera | None) -> str:
    p = camera.projection if camera else ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0))
    tr = (camera.lidar_to_camera if camera else AXES_LIDAR_TO_CAMERA)[:3]
    rows = [(f"P{i}", flat(p)) for i in range(4)]
    rows += [("R0_rect", [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])]
    rows += [("Tr_velo_to_cam", flat(tr)), ("Tr_imu_to_velo", flat(IDENTITY4[:3]))]
    return "".join(f"{key}: " + " ".join(f"{v:.12e}" for v in values) + "\n" for key, values in rows)


class KittiWriter:
    fmt = "kitti"

    def __init__(self, ctx: Any, camera_index: int = 0) -> None:
        self.ctx = ctx
        self.camera_index = camera_index
        self.stems: set[str] = set()
        self.listing: list[str] = []

    def add(self, item: ExportItem) -> None:
        ctx = self.ctx
        stem = frame_stem(item)
        if stem in self.stems:
            stem = f"{stem}_{item.data.get('dataId')}"
        self.stems.add(stem)
        cameras = ctx.cameras_of(item)
        camera = None
        if cameras:
            if self.camera_index >= len(cameras):
                raise ValueError(
                    f"{item.path}: camera_index {self.camera_index} but the frame's camera config has "
                    f"{len(cameras)} camera(s)"
                )
            camera = cameras[self.camera_index]
        lines = []
        for obj in objects_of(item, ctx.sources):
            kind = object_type(obj)
            if kind not in BOX_3D_TYPES:
                ctx.tally.skip(kind, "KITTI 3D holds 3D boxes only")
                continue
            box, name = box3d(obj), class_of(obj)
            if not ctx.known_class(kind, name):
                continue
            if box is None:
                ctx.tally.skip(kind, "no geometry in the export")
                continue
            if not box.is_upright():
                ctx.tally.skip(kind, "box with roll or pitch (KITTI boxes turn about one axis)")
                continue
            label = to_kitti(box, camera or _NO_CAMERA, clip=camera is not None)
            if label is None:
                ctx.tally.skip(kind, f"outside the image of camera {self.camera_index}")
                continue
            lines.append(label_line(_UNSAFE.sub("_", name), label) + "\n")
            ctx.tally.wrote(kind)
        ctx.write(f"label_2/{stem}.txt", "".join(lines).encode())
        ctx.write(f"calib/{stem}.txt", calib_text(camera).encode())
        self.listing.append(stem)

    def finish(self) -> None:
        self.ctx.write("ImageSets/all.txt", "".join(s + "\n" for s in self.listing).encode())


# ------------------------------------------------------------------------------------------ reading back


def read_calib(text: str) -> dict[str, list[float]]:
    out = {}
    for line in text.splitlines():
        if ":" in line:
            key, values = line.split(":", 1)
            out[key.strip()] = [float(v) for v in values.split()]
    return out


def read_labels(text: str) -> list[dict[str, Any]]:
    """``label_2`` lines as dicts (KITTI devkit field names)."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        v = [float(x) for x in f[1:15]]
        out.append(
            {
                "type": f[0],
                "truncated": v[0],
                "occluded": int(v[1]),
                "alpha": v[2],
                "bbox": v[3:7],
                "dimensions": v[7:10],
                "location": v[10:13],
                "rotation_y": v[13],
            }
        )
    return out


def to_lidar(label: dict[str, Any], tr_velo_to_cam: list[float]) -> Box3D:
    """A ``label_2`` box back in LiDAR coordinates (the inverse of :func:`to_kitti`, yaw-only cameras)."""
    t: Matrix = (*(tuple(tr_velo_to_cam[r * 4 : r * 4 + 4]) for r in range(3)), (0.0, 0.0, 0.0, 1.0))
    inv = invert_rigid(t)
    h, w, length = label["dimensions"]
    bx, by, bz = apply(inv, tuple(label["location"]))  # type: ignore[arg-type]
    ry = label["rotation_y"]
    dx, dy, _ = rotate(inv, (math.cos(ry), 0.0, -math.sin(ry)))
    return Box3D((bx, by, bz + h / 2), (length, w, h), (0.0, 0.0, math.atan2(dy, dx)))
