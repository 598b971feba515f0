"""Small, valid Xtreme1 dataset folders for tests, demos and smoke runs (standard library only).

Everything the real server checks is genuine: PNG images decode (the server silently drops images it
cannot decode), PCD files carry a complete ASCII header, camera configs are JSON arrays, ground truth uses
object types the importer keeps, and TEXT dialogues are arrays of ``{id, parentId, text, role}``.

Command line::

    python -m airflow_provider_xtreme1.sample_data OUT_DIR --type LIDAR_FUSION --items 4 --scenes 1
"""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path

from airflow_provider_xtreme1.archives import DATASET_TYPES, normalize_dataset_type

IMAGE_WIDTH, IMAGE_HEIGHT = 64, 48
_DEFAULT_CLASSES = {"IMAGE": ("Car", "Person"), "LIDAR": ("Car", "Pedestrian")}
_BOX_SIZES = {"Pedestrian": (0.7, 0.7, 1.75), "Person": (0.7, 0.7, 1.75)}
_CAR_SIZE = (4.4, 1.9, 1.6)


def make_sample_dataset(
    folder: str | Path,
    dataset_type: str,
    *,
    items: int = 4,
    scenes: int = 0,
    cameras: int = 2,
    with_results: bool = True,
    class_ids: Mapping[str, int] | None = None,
    seed: int = 0,
) -> Path:
    """Write a small dataset folder that Xtreme1 imports cleanly.

    Layout (zero-padded names; each ``scene_NN/`` repeats the structure with ``items`` frames whose
    objects keep their ``trackId`` from frame to frame)::

        LIDAR_FUSION  lidar_point_cloud_0/000001.pcd  camera_image_<n>/000001.png  camera_config/000001.json
                      result/000001.json  scene_01/...
        LIDAR_BASIC   lidar_point_cloud_0/  result/  scene_01/...
        IMAGE         image_0/000001.png  result/000001.json  scene_01/...
        TEXT          text/dialog_001.json  (``items`` files, two dialogue paths each)

    :param folder: where to write; created if missing, must be empty if it exists.
    :param dataset_type: ``IMAGE``, ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``TEXT``.
    :param items: Optional. Root-level data items (TEXT: dialogue files), and frames per scene.
    :param scenes: Optional. Number of ``scene_NN`` folders (not for TEXT).
    :param cameras: Optional. Camera folders per frame for LIDAR_FUSION (ignored for other types).
    :param with_results: Optional. Write ``result/<name>.json`` ground truth (not for TEXT).
    :param class_ids: Optional. Class name → class id of the target dataset; objects then carry
        ``classId`` and are bound to those classes on import. Without it objects carry ``className``
        only (the server keeps that as ``modelClass``).
    :param seed: Optional. The same seed writes the same bytes.
    :return: the folder.
    """
    dtype = normalize_dataset_type(dataset_type)
    if items < 0 or scenes < 0 or cameras < 0:
        raise ValueError("items, scenes and cameras must not be negative")
    if dtype == "TEXT" and scenes:
        raise ValueError("TEXT datasets have no scenes")
    if items == 0 and scenes == 0:
        raise ValueError("nothing to write: items and scenes are both 0")
    root = Path(folder)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} exists and is not an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    if dtype == "TEXT":
        for i in range(1, items + 1):
            _write_json(root / "text" / f"dialog_{i:03d}.json", _dialogue(i, rng))
        return root
    writer = _FrameWriter(dtype, cameras if dtype == "LIDAR_FUSION" else 0, with_results, class_ids, rng)
    writer.write_group(root, items, track_prefix="r")
    for s in range(1, scenes + 1):
        writer.write_group(root / f"scene_{s:02d}", items, track_prefix=f"s{s}")
    return root


class _FrameWriter:
    def __init__(
        self,
        dtype: str,
        cameras: int,
        with_results: bool,
        class_ids: Mapping[str, int] | None,
        rng: random.Random,
    ):
        self.dtype = dtype
        self.cameras = cameras
        self.with_results = with_results
        self.class_ids = dict(class_ids) if class_ids else None
        default = _DEFAULT_CLASSES["IMAGE" if dtype == "IMAGE" else "LIDAR"]
        self.classes = list(self.class_ids) if self.class_ids else list(default)
        self.rng = rng

    def write_group(self, parent: Path, frames: int, *, track_prefix: str) -> None:
        """Root items or one scene: in a scene, objects move a little from frame to frame."""
        if frames == 0:
            return
        moving = track_prefix.startswith("s")
        tracks = self._objects(count=self.rng.randint(1, 3))
        for i in range(1, frames + 1):
            name = f"{i:06d}"
            if not moving and i > 1:
                tracks = self._objects(count=self.rng.randint(1, 3))
            objs = [
                dict(o, trackId=f"{track_prefix}-{i if not moving else 0}-{k}", trackName=str(k + 1))
                for k, o in enumerate(tracks)
            ]
            if self.dtype == "IMAGE":
                boxes = [self._image_box(o, i if moving else 0) for o in objs]
                _write(parent / "image_0" / f"{name}.png", _png(_image_rows(boxes, tint=i)))
                objects = [self._result_2d(o, b) for o, b in zip(objs, boxes, strict=True)]
            else:
                boxes3d = [self._box3d(o, i if moving else 0) for o in objs]
                _write(parent / "lidar_point_cloud_0" / f"{name}.pcd", _pcd(boxes3d, self.rng))
                for c in range(self.cameras):
                    _write(
                        parent / f"camera_image_{c}" / f"{name}.png", _png(_image_rows([], tint=i + 7 * c))
                    )
                if self.cameras:
                    _write_json(parent / "camera_config" / f"{name}.json", _camera_config(self.cameras))
                objects = [self._result_3d(o, b) for o, b in zip(objs, boxes3d, strict=True)]
            if self.with_results:
                _write_json(parent / "result" / f"{name}.json", {"objects": objects})

    def _objects(self, count: int) -> list[dict]:
        out = []
        for _ in range(count):
            cls = self.rng.choice(self.classes)
            out.append(
                {
                    "className": cls,
                    "seed": (
                        self.rng.uniform(0, 1),
                        self.rng.uniform(0, 1),
                        self.rng.uniform(-math.pi, math.pi),
                    ),
                }
            )
        return out

    def _class_fields(self, obj: dict) -> dict:
        fields = {"className": obj["className"]}
        if self.class_ids:
            fields = {"classId": self.class_ids[obj["className"]], **fields}
        return fields

    @staticmethod
    def _box3d(obj: dict, step: int) -> tuple[tuple[float, float, float], tuple[float, float, float], float]:
        u, v, yaw = obj["seed"]
        size = _BOX_SIZES.get(obj["className"], _CAR_SIZE)
        center = (round(6 + 14 * u + 0.5 * step, 3), round(-6 + 12 * v, 3), round(size[2] / 2, 3))
        return center, size, round(yaw, 4)

    def _result_3d(self, obj: dict, box: tuple) -> dict:
        (cx, cy, cz), (sx, sy, sz), yaw = box
        return {
            "type": "3D_BOX",
            **self._class_fields(obj),
            "trackId": obj["trackId"],
            "trackName": obj["trackName"],
            "contour": {
                "center3D": {"x": cx, "y": cy, "z": cz},
                "size3D": {"x": sx, "y": sy, "z": sz},
                "rotation3D": {"x": 0, "y": 0, "z": yaw},
            },
        }

    @staticmethod
    def _image_box(obj: dict, step: int) -> tuple[int, int, int, int]:
        u, v, _ = obj["seed"]
        w, h = (10, 18) if obj["className"] in _BOX_SIZES else (20, 12)
        x1 = min(int(2 + u * (IMAGE_WIDTH - w - 4)) + step, IMAGE_WIDTH - w - 1)
        y1 = int(2 + v * (IMAGE_HEIGHT - h - 4))
        return x1, y1, x1 + w, y1 + h

    def _result_2d(self, obj: dict, box: tuple[int, int, int, int]) -> dict:
        x1, y1, x2, y2 = box
        points = [{"x": x1, "y": y1}, {"x": x2, "y": y1}, {"x": x2, "y": y2}, {"x": x1, "y": y2}]
        return {
            "type": "2D_BOX",
            **self._class_fields(obj),
            "trackId": obj["trackId"],
            "trackName": obj["trackName"],
            "contour": {"points": points},
        }


# ------------------------------------------------------------------------------------------- file formats


def _png(rows: list[bytes], width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> bytes:
    """An 8-bit RGB PNG (no filter) built from raw rows of ``width * 3`` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _image_rows(boxes: list[tuple[int, int, int, int]], *, tint: int) -> list[bytes]:
    """A diagonal colour gradient with each box outlined in red."""
    pixels = [
        [
            ((x * 4 + tint * 13) % 256, (y * 5) % 256, ((x + y) * 2 + tint * 29) % 256)
            for x in range(IMAGE_WIDTH)
        ]
        for y in range(IMAGE_HEIGHT)
    ]
    for x1, y1, x2, y2 in boxes:
        for x in range(x1, x2 + 1):
            pixels[y1][x] = pixels[y2][x] = (255, 0, 0)
        for y in range(y1, y2 + 1):
            pixels[y][x1] = pixels[y][x2] = (255, 0, 0)
    return [bytes(c for px in row for c in px) for row in pixels]


def _pcd(boxes: list[tuple], rng: random.Random) -> bytes:
    """An ASCII PCD: a ring of ground points plus points on the surface of every box."""
    points: list[tuple[float, float, float, float]] = []
    for k in range(240):
        angle = 2 * math.pi * k / 240
        r = 4 + 26 * rng.random()
        points.append(
            (r * math.cos(angle), r * math.sin(angle), rng.uniform(-0.05, 0.05), rng.uniform(0, 0.3))
        )
    for (cx, cy, cz), (sx, sy, sz), yaw in boxes:
        cos, sin = math.cos(yaw), math.sin(yaw)
        for _ in range(60):
            lx, ly, lz = (
                rng.uniform(-0.5, 0.5) * sx,
                rng.uniform(-0.5, 0.5) * sy,
                rng.uniform(-0.5, 0.5) * sz,
            )
            axis = rng.randrange(3)  # push the point onto a face of the box
            if axis == 0:
                lx = math.copysign(sx / 2, lx)
            elif axis == 1:
                ly = math.copysign(sy / 2, ly)
            else:
                lz = sz / 2
            points.append(
                (cx + lx * cos - ly * sin, cy + lx * sin + ly * cos, cz + lz, rng.uniform(0.5, 1.0))
            )
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\n"
        "VERSION .7\nFIELDS x y z i\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
        f"WIDTH {len(points)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(points)}\nDATA ascii\n"
    )
    body = "".join(f"{x:.3f} {y:.3f} {z:.3f} {i:.3f}\n" for x, y, z, i in points)
    return (header + body).encode("ascii")


def _camera_config(cameras: int) -> list[dict]:
    """One pinhole camera per ``camera_image_<n>``, turned by 360/n degrees around the LiDAR's z axis.

    ``cameraExternal`` is the row-major 4x4 LiDAR-to-camera transform (camera looks along its +z).
    """
    out = []
    for c in range(cameras):
        yaw = 2 * math.pi * c / cameras
        cos, sin = round(math.cos(yaw), 6), round(math.sin(yaw), 6)
        # camera x = -lidar y', camera y = -lidar z, camera z = lidar x', with x', y' the yawed axes
        external = [sin, -cos, 0, 0, 0, 0, -1, 0.2, cos, sin, 0, 0, 0, 0, 0, 1]
        out.append(
            {
                "cameraInternal": {"fx": 50.0, "fy": 50.0, "cx": IMAGE_WIDTH / 2, "cy": IMAGE_HEIGHT / 2},
                "cameraExternal": [float(v) + 0.0 for v in external],
                "width": IMAGE_WIDTH,
                "height": IMAGE_HEIGHT,
                "rowMajor": True,
            }
        )
    return out


def _dialogue(index: int, rng: random.Random) -> list[dict]:
    """A tiny dialogue tree with two root-to-leaf paths (the server makes one item per path)."""
    topic = rng.choice(["LiDAR calibration", "camera exposure", "label taxonomy", "frame sync"])
    return [
        {
            "id": "1",
            "parentId": None,
            "text": f"Question {index}: how should I handle {topic}?",
            "role": "prompter",
        },
        {"id": "2", "parentId": "1", "text": f"Start by checking the {topic} settings.", "role": "assistant"},
        {
            "id": "3",
            "parentId": "1",
            "text": f"Compare {topic} against a reference frame.",
            "role": "assistant",
        },
        {"id": "4", "parentId": "2", "text": "Thanks, that worked.", "role": "prompter"},
    ]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_json(path: Path, doc: object) -> None:
    _write(path, json.dumps(doc, indent=1, sort_keys=True).encode("utf-8"))


# -------------------------------------------------------------------------------------------------- CLI


def _parse_class_ids(text: str) -> dict[str, int]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"expected NAME=ID pairs like Car=12,Pedestrian=13, got {part!r}"
            )
        out[name.strip()] = int(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_xtreme1.sample_data",
        description="Write a small dataset folder that Xtreme1 imports cleanly.",
    )
    parser.add_argument("out_dir", help="folder to create (must not exist or be empty)")
    parser.add_argument(
        "--type", dest="dataset_type", default="LIDAR_FUSION", type=str.upper, choices=DATASET_TYPES
    )
    parser.add_argument("--items", type=int, default=4, help="root-level items, and frames per scene")
    parser.add_argument("--scenes", type=int, default=0)
    parser.add_argument("--cameras", type=int, default=2, help="camera folders (LIDAR_FUSION)")
    parser.add_argument(
        "--no-results", dest="with_results", action="store_false", help="do not write result/ ground truth"
    )
    parser.add_argument(
        "--class-ids",
        type=_parse_class_ids,
        default=None,
        help="bind objects to dataset classes, e.g. Car=12,Pedestrian=13",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        out = make_sample_dataset(
            args.out_dir,
            args.dataset_type,
            items=args.items,
            scenes=args.scenes,
            cameras=args.cameras,
            with_results=args.with_results,
            class_ids=args.class_ids,
            seed=args.seed,
        )
    except (ValueError, FileExistsError) as exc:
        parser.error(str(exc))
    files = [p for p in out.rglob("*") if p.is_file()]
    print(
        f"wrote {args.dataset_type} sample to {out}: {len(files)} files, "
        f"{sum(p.stat().st_size for p in files)} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
