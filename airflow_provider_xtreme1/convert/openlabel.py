"""ASAM OpenLABEL 1.0.0 JSON: one file per scene (its frames in order) and one per root-level item.

Output: ``openlabel/<scene or item>.json`` and ``classes.json``. In each file:

* ``coordinate_systems``: ``lidar`` (the root; absent for IMAGE datasets, whose ``camera_0`` is the
  root) and ``camera_<n>`` with ``parent: "lidar"`` and
  ``pose_wrt_parent`` = the camera's pose in LiDAR coordinates, i.e. the camera→LiDAR transform
  ``inverse(cameraExternal)`` (OpenLABEL transforms map ``X_dst = M · X_src`` from child to parent);
* ``streams``: ``lidar`` and ``camera_<n>`` with ``intrinsics_pinhole.camera_matrix`` = ``[K | 0]``;
  taken from the group's first frame with a camera config; a later frame whose config differs carries
  its own ``frame_properties.transforms`` (``lidar_to_camera_<n>``, ``X_cam = T · X_lidar``) and stream
  intrinsics;
* ``objects``: one per track (``trackId``; an object without one is its own track), keyed by an integer
  uid, ``type`` = class name, ``name`` = ``trackName``, ``frame_intervals`` where it appears, and the
  Xtreme1 ids as ``text`` data;
* ``frames``: ``"0"``… in the group's order; ``frame_properties`` names the item (``name``,
  ``xtreme1_data_id``) and its files as stream ``uri``; object data per frame:
  ``3D_BOX`` → ``cuboid`` ``[x, y, z, qx, qy, qz, qw, sx, sy, sz]`` in ``lidar`` (quaternion of
  ``rotation3D``, three.js order XYZ); 2D boxes → ``bbox`` ``[cx, cy, w, h]``; polygons / polylines →
  closed / open ``poly2d`` (``MODE_POLY2D_ABSOLUTE``); 2D data in ``camera_<viewIndex>``.

Frames are spooled to a temporary file while a scene is read, so memory holds only the track table.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any

from airflow_provider_xtreme1.convert.geometry import Camera, euler_xyz_to_quaternion, flat, invert_rigid
from airflow_provider_xtreme1.convert.output import object_type
from airflow_provider_xtreme1.convert.reader import ExportItem, class_of, objects_of
from airflow_provider_xtreme1.convert.shapes import (
    BOX_2D_TYPES,
    BOX_3D_TYPES,
    POLYGON_TYPES,
    POLYLINE_TYPES,
    bounds,
    box3d,
    points2d,
    view_index,
)

SCHEMA_VERSION = "1.0.0"


def _json(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _intervals(frames: list[int]) -> list[dict[str, int]]:
    out: list[dict[str, int]] = []
    for f in frames:
        if out and out[-1]["frame_end"] == f - 1:
            out[-1]["frame_end"] = f
        elif not out or out[-1]["frame_end"] != f:
            out.append({"frame_start": f, "frame_end": f})
    return out


def _stream(camera: Camera) -> dict[str, Any]:
    pinhole: dict[str, Any] = {"camera_matrix": flat(camera.projection)}
    if camera.width and camera.height:
        pinhole.update(width_px=camera.width, height_px=camera.height)
    return {"type": "camera", "stream_properties": {"intrinsics_pinhole": pinhole}}


class _Group:
    """One output file being assembled."""

    def __init__(self, key: str | None, title: str) -> None:
        self.key = key
        self.title = title
        self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _flush
        self.frames = 0
        self.uids: dict[str, int] = {}
        self.objects: dict[int, dict[str, Any]] = {}
        self.seen: dict[int, list[int]] = {}
        self.cameras: list[Camera] | None = None
        self.camera_count = 0
        self.image_views: set[int] = set()
        self.has_lidar = False


class OpenLabelWriter:
    fmt = "openlabel"

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.group: _Group | None = None
        self.names: set[str] = set()

    def add(self, item: ExportItem) -> None:
        key = item.scene or f"\0{item.name}"
        if self.group is None or self.group.key != key:
            self._flush()
            self.group = _Group(key, item.scene or item.name)
        group = self.group
        index = group.frames
        group.frames += 1
        cameras = self.ctx.cameras_of(item)
        props: dict[str, Any] = {"name": item.name, "xtreme1_data_id": item.data.get("dataId")}
        streams = self._frame_streams(item)
        if cameras:
            group.camera_count = max(group.camera_count, len(cameras))
            if group.cameras is None:
                group.cameras = cameras
            elif cameras != group.cameras:
                props["transforms"] = {
                    f"lidar_to_camera_{n}": {
                        "src": "lidar",
                        "dst": f"camera_{n}",
                        "transform_src_to_dst": {"matrix4x4": flat(c.lidar_to_camera)},
                    }
                    for n, c in enumerate(cameras)
                }
                for n, c in enumerate(cameras):
                    streams.setdefault(f"camera_{n}", {}).update(_stream(c))
        if streams:
            props["streams"] = streams
        frame_objects: dict[str, Any] = {}
        for n, obj in enumerate(objects_of(item, self.ctx.sources)):
            data = self._object_data(obj, group)
            if data is None:
                continue
            uid = self._uid(group, obj, f"{item.key}#{n}")
            frame_objects.setdefault(str(uid), {"object_data": {}})
            merged = frame_objects[str(uid)]["object_data"]
            for kind, values in data.items():
                merged.setdefault(kind, []).extend(values)
            group.seen.setdefault(uid, [])
            if not group.seen[uid] or group.seen[uid][-1] != index:
                group.seen[uid].append(index)
        frame: dict[str, Any] = {"frame_properties": props}
        if frame_objects:
            frame["objects"] = frame_objects
        group.spool.write(((", " if index else "") + f'"{index}":{_json(frame)}').encode())

    def _frame_streams(self, item: ExportItem) -> dict[str, Any]:
        data = item.data
        streams: dict[str, Any] = {}
        lidar = data.get("lidarPointClouds") or []
        if "lidarPointClouds" in data and self.group is not None:
            self.group.has_lidar = True
        if lidar and isinstance(lidar[0], dict) and lidar[0].get("filename"):
            streams["lidar"] = {"uri": str(lidar[0]["filename"])}
        images = data.get("cameraImages") or data.get("images") or []
        for n, image in enumerate(images):
            if isinstance(image, dict) and image.get("filename"):
                streams[f"camera_{n}"] = {"uri": str(image["filename"])}
                if self.group is not None:
                    self.group.image_views.add(n)
        return streams

    def _object_data(self, obj: dict[str, Any], group: _Group) -> dict[str, list] | None:
        kind = object_type(obj)
        tally = self.ctx.tally
        if kind in BOX_3D_TYPES:
            if not self.ctx.known_class(kind, class_of(obj)):
                return None
            box = box3d(obj)
            if box is None:
                tally.skip(kind, "no geometry in the export")
                return None
            q = euler_xyz_to_quaternion(*box.rotation)
            val = [*box.center, *q, *box.size]
            tally.wrote(kind)
            return {"cuboid": [{"name": "box3d", "val": val, "coordinate_system": "lidar"}]}
        if kind in BOX_2D_TYPES | POLYGON_TYPES | POLYLINE_TYPES:
            if not self.ctx.known_class(kind, class_of(obj)):
                return None
            points = points2d(obj)
            if points is None or len(points) < (3 if kind in POLYGON_TYPES else 2):
                tally.skip(kind, "no geometry in the export")
                return None
            view = view_index(obj) or 0
            group.image_views.add(view)
            cs = {"coordinate_system": f"camera_{view}"}
            tally.wrote(kind)
            if kind in BOX_2D_TYPES:
                x1, y1, x2, y2 = bounds(points)
                val = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
                return {"bbox": [{"name": "box2d", "val": val, **cs}]}
            return {
                "poly2d": [
                    {
                        "name": "polygon" if kind in POLYGON_TYPES else "polyline",
                        "val": [v for p in points for v in p],
                        "mode": "MODE_POLY2D_ABSOLUTE",
                        "closed": kind in POLYGON_TYPES,
                        **cs,
                    }
                ]
            }
        tally.skip(kind, "no OpenLABEL geometry for this type")
        return None

    def _uid(self, group: _Group, obj: dict[str, Any], fallback: str) -> int:
        track = obj.get("trackId")
        key = f"t:{track}" if track not in (None, "") else f"o:{obj.get('id') or fallback}"
        uid = group.uids.get(key)
        if uid is None:
            uid = group.uids[key] = len(group.uids)
            text = [{"name": "xtreme1_track_id", "val": str(track)}] if track not in (None, "") else []
            if obj.get("id"):
                text.append({"name": "xtreme1_object_id", "val": str(obj["id"])})
            entry: dict[str, Any] = {
                "name": str(obj.get("trackName") or track or obj.get("id") or uid),
                "type": class_of(obj) or "",
            }
            if text:
                entry["object_data"] = {"text": text}
            group.objects[uid] = entry
        return uid

    def _flush(self) -> None:
        group, self.group = self.group, None
        if group is None:
            return
        name = group.title
        if name in self.names:
            name = f"{name}_{group.frames}_{len(self.names)}"
        self.names.add(name)
        self.ctx.write(f"openlabel/{name}.json", self._document(group))
        group.spool.close()

    def _document(self, group: _Group) -> Iterator[bytes]:
        for uid, frames in group.seen.items():
            group.objects[uid]["frame_intervals"] = _intervals(frames)
        systems: dict[str, Any] = {}
        streams: dict[str, Any] = {}
        if group.has_lidar:
            systems["lidar"] = {"type": "sensor_cs", "parent": "", "children": []}
            streams["lidar"] = {"type": "lidar"}
        views = set(range(group.camera_count)) | group.image_views
        for n in sorted(views):
            if group.has_lidar:
                systems["lidar"]["children"].append(f"camera_{n}")
            system: dict[str, Any] = {"type": "sensor_cs", "parent": "lidar" if group.has_lidar else ""}
            stream: dict[str, Any] = {"type": "camera"}
            if group.cameras and n < len(group.cameras):
                system["pose_wrt_parent"] = {
                    "matrix4x4": flat(invert_rigid(group.cameras[n].lidar_to_camera))
                }
                stream = _stream(group.cameras[n])
            systems[f"camera_{n}"] = system
            streams[f"camera_{n}"] = stream
        head = {
            "metadata": {
                "schema_version": SCHEMA_VERSION,
                "name": group.title,
                "annotator": "Xtreme1 export",
            },
            "coordinate_systems": systems,
            "streams": streams,
            "objects": {str(k): v for k, v in group.objects.items()},
            "frame_intervals": [{"frame_start": 0, "frame_end": group.frames - 1}],
        }
        yield ('{"openlabel":' + _json(head)[:-1] + ',"frames":{').encode()
        group.spool.seek(0)
        while chunk := group.spool.read(1024 * 1024):
            yield chunk
        yield b"}}}\n"

    def finish(self) -> None:
        self._flush()


def read_cuboids(doc: dict[str, Any]) -> dict[int, list[tuple[str, list[float]]]]:
    """``{frame: [(object type, cuboid val), ...]}`` of a parsed OpenLABEL document."""
    root = doc["openlabel"]
    objects = root.get("objects", {})
    out: dict[int, list[tuple[str, list[float]]]] = {}
    for frame, content in root.get("frames", {}).items():
        for uid, entry in (content.get("objects") or {}).items():
            for cuboid in entry.get("object_data", {}).get("cuboid", []):
                out.setdefault(int(frame), []).append((objects[uid]["type"], cuboid["val"]))
    return out
