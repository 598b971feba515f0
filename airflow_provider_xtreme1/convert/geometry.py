"""Camera configs, rigid transforms and box geometry, in plain Python (no NumPy).

Coordinate systems (Xtreme1's, as its point-cloud tool and ``sample_data`` use them):

* **LiDAR**: x forward, y left, z up. A ``3D_BOX`` has ``contour.center3D`` (box centre),
  ``contour.size3D`` (x = length along the heading, y = width, z = height) and ``contour.rotation3D``
  (Euler angles in radians, three.js order ``XYZ``: ``R = Rx(rx) · Ry(ry) · Rz(rz)``); ``rz`` is the yaw,
  0 along +x, counter-clockwise seen from above.
* **Camera** (OpenCV, as KITTI and OpenLABEL's pinhole model): x right, y down, z forward. A camera
  config's ``cameraExternal`` is the 4x4 LiDAR→camera transform ``T`` (``X_cam = T · X_lidar``), row-major
  unless ``rowMajor`` is false or the matrix looks column-major (right column zero, bottom row not), the
  same test Xtreme1's front end applies (``pc-editor/utils/common.ts``). ``cameraInternal`` gives
  ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``; a point projects to ``u = fx·x/z + cx``, ``v = fy·y/z + cy``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Matrix = tuple[tuple[float, ...], ...]
Vec3 = tuple[float, float, float]

IDENTITY4: Matrix = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
#: KITTI's velodyne→camera axes without an offset: camera x = -lidar y, y = -lidar z, z = lidar x.
AXES_LIDAR_TO_CAMERA: Matrix = (
    (0.0, -1.0, 0.0, 0.0),
    (0.0, 0.0, -1.0, 0.0),
    (1.0, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 1.0),
)


class CameraConfigError(ValueError):
    """A camera config that cannot be used (names the file and what was wrong)."""


@dataclass(frozen=True)
class Camera:
    """One pinhole camera of a frame: intrinsics, LiDAR→camera transform, image size (may be unknown)."""

    fx: float
    fy: float
    cx: float
    cy: float
    lidar_to_camera: Matrix
    width: int | None = None
    height: int | None = None

    @property
    def projection(self) -> Matrix:
        """The 3x4 ``[K | 0]`` that projects camera coordinates (KITTI's ``P``, OpenLABEL's camera_matrix)."""
        return ((self.fx, 0.0, self.cx, 0.0), (0.0, self.fy, self.cy, 0.0), (0.0, 0.0, 1.0, 0.0))

    def project(self, point: Vec3) -> tuple[float, float]:
        x, y, z = point
        return self.fx * x / z + self.cx, self.fy * y / z + self.cy


def _number(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CameraConfigError(f"{where}: {field} must be a finite number, got {value!r}")
    return float(value)


def is_column_major(values: Sequence[float]) -> bool:
    """Xtreme1's front-end test: right column zero and something in the bottom row."""
    return values[3] == 0 and values[7] == 0 and values[11] == 0 and any(values[12:15])


def parse_camera(entry: Any, where: str) -> Camera:
    """One element of a ``camera_config`` array (``cameraInternal``/``camera_internal`` spellings both)."""
    if not isinstance(entry, dict):
        raise CameraConfigError(f"{where}: each camera must be an object, got {type(entry).__name__}")
    internal = entry.get("cameraInternal", entry.get("camera_internal"))
    external = entry.get("cameraExternal", entry.get("camera_external"))
    if not isinstance(internal, dict):
        raise CameraConfigError(f"{where}: cameraInternal {{fx, fy, cx, cy}} is missing")
    if not isinstance(external, list) or len(external) != 16:
        raise CameraConfigError(f"{where}: cameraExternal must be 16 numbers (a 4x4 matrix)")
    values = [_number(v, where, "cameraExternal") for v in external]
    if entry.get("rowMajor") is False or is_column_major(values):
        values = [values[c * 4 + r] for r in range(4) for c in range(4)]
    matrix = tuple(tuple(values[r * 4 : r * 4 + 4]) for r in range(4))
    fx, fy, cx, cy = (
        _number(internal.get(k), where, f"cameraInternal.{k}") for k in ("fx", "fy", "cx", "cy")
    )
    width, height = entry.get("width"), entry.get("height")
    return Camera(
        fx,
        fy,
        cx,
        cy,
        matrix,
        int(width) if isinstance(width, (int, float)) and width > 0 else None,
        int(height) if isinstance(height, (int, float)) and height > 0 else None,
    )


def parse_camera_config(doc: Any, where: str) -> list[Camera]:
    """A ``camera_config/<frame>.json`` document: an array in ``camera_image_<n>`` order (or one object)."""
    entries = doc if isinstance(doc, list) else [doc]
    return [parse_camera(e, f"{where} camera {i}") for i, e in enumerate(entries)]


# ------------------------------------------------------------------------------------------ transforms


def apply(matrix: Matrix, point: Vec3) -> Vec3:
    """``matrix · [x, y, z, 1]`` (the first three rows of a 4x4 or a 3x4)."""
    x, y, z = point
    r0, r1, r2 = matrix[0], matrix[1], matrix[2]
    return (
        r0[0] * x + r0[1] * y + r0[2] * z + r0[3],
        r1[0] * x + r1[1] * y + r1[2] * z + r1[3],
        r2[0] * x + r2[1] * y + r2[2] * z + r2[3],
    )


def rotate(matrix: Matrix, vector: Vec3) -> Vec3:
    """The rotation part of ``matrix`` applied to a direction."""
    x, y, z = vector
    return tuple(row[0] * x + row[1] * y + row[2] * z for row in matrix[:3])  # type: ignore[return-value]


def invert_rigid(matrix: Matrix) -> Matrix:
    """Inverse of a rotation + translation 4x4: ``[Rᵀ | -Rᵀ t]``."""
    r = [row[:3] for row in matrix[:3]]
    t = [row[3] for row in matrix[:3]]
    rt = [[r[c][i] for c in range(3)] for i in range(3)]
    shift = [-sum(rt[i][k] * t[k] for k in range(3)) for i in range(3)]
    return (*((*rt[i], shift[i]) for i in range(3)), (0.0, 0.0, 0.0, 1.0))


def flat(matrix: Matrix) -> list[float]:
    return [float(v) for row in matrix for v in row]


def normalize_angle(angle: float) -> float:
    """Into ``[-pi, pi)``."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def euler_xyz_to_quaternion(rx: float, ry: float, rz: float) -> tuple[float, float, float, float]:
    """Quaternion ``(x, y, z, w)`` of ``R = Rx(rx) · Ry(ry) · Rz(rz)`` (three.js Euler order ``XYZ``)."""
    c1, c2, c3 = math.cos(rx / 2), math.cos(ry / 2), math.cos(rz / 2)
    s1, s2, s3 = math.sin(rx / 2), math.sin(ry / 2), math.sin(rz / 2)
    return (
        s1 * c2 * c3 + c1 * s2 * s3,
        c1 * s2 * c3 - s1 * c2 * s3,
        c1 * c2 * s3 + s1 * s2 * c3,
        c1 * c2 * c3 - s1 * s2 * s3,
    )


def quaternion_to_euler_xyz(qx: float, qy: float, qz: float, qw: float) -> Vec3:
    """Inverse of :func:`euler_xyz_to_quaternion` (three.js ``setFromRotationMatrix``, order ``XYZ``)."""
    m11 = 1 - 2 * (qy * qy + qz * qz)
    m12 = 2 * (qx * qy - qz * qw)
    m13 = 2 * (qx * qz + qy * qw)
    m23 = 2 * (qy * qz - qx * qw)
    m33 = 1 - 2 * (qx * qx + qy * qy)
    m22 = 1 - 2 * (qx * qx + qz * qz)
    m32 = 2 * (qy * qz + qx * qw)
    ry = math.asin(max(-1.0, min(1.0, m13)))
    if abs(m13) < 0.9999999:
        return math.atan2(-m23, m33), ry, math.atan2(-m12, m11)
    return math.atan2(m32, m22), ry, 0.0


def box_corners(center: Vec3, size: Vec3, yaw: float) -> list[Vec3]:
    """The 8 corners of a yaw-only box in its own (LiDAR) coordinates."""
    cx, cy, cz = center
    hl, hw, hh = size[0] / 2, size[1] / 2, size[2] / 2
    c, s = math.cos(yaw), math.sin(yaw)
    out = []
    for dx, dy in ((hl, hw), (hl, -hw), (-hl, -hw), (-hl, hw)):
        x, y = cx + dx * c - dy * s, cy + dx * s + dy * c
        out.append((x, y, cz - hh))
        out.append((x, y, cz + hh))
    return out


def image_box(camera: Camera, corners_cam: Sequence[Vec3]) -> tuple[float, float, float, float, float] | None:
    """Projected 2D box of camera-frame corners, clipped to the image: ``(x1, y1, x2, y2, truncation)``.

    Corners behind the camera (z ≤ 0.1 m) are left out; ``None`` when nothing is in front or the box
    lies outside the image. Truncation is ``1 - clipped area / unclipped area`` (0 when the size is unknown).
    """
    points = [camera.project(p) for p in corners_cam if p[2] > 0.1]
    if not points:
        return None
    us, vs = [p[0] for p in points], [p[1] for p in points]
    x1, y1, x2, y2 = min(us), min(vs), max(us), max(vs)
    if camera.width is None or camera.height is None:
        return x1, y1, x2, y2, 0.0
    cx1, cy1 = max(x1, 0.0), max(y1, 0.0)
    cx2, cy2 = min(x2, camera.width - 1.0), min(y2, camera.height - 1.0)
    if cx2 <= cx1 or cy2 <= cy1:
        return None
    full = (x2 - x1) * (y2 - y1)
    truncation = 1.0 - (cx2 - cx1) * (cy2 - cy1) / full if full > 0 else 0.0
    return cx1, cy1, cx2, cy2, min(max(truncation, 0.0), 1.0)
