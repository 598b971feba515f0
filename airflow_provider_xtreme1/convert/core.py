"""``convert_export``: stream an Xtreme1 export into KITTI, OpenLABEL, YOLO or COCO."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_xtreme1.convert.geometry import Camera, CameraConfigError
from airflow_provider_xtreme1.convert.output import ClassTable, LocalSink, Sink, Tally

FORMATS = ("kitti", "openlabel", "yolo", "coco")
#: Dataset types each format can take (``TEXT`` has no geometry).
ACCEPTS = {
    "kitti": frozenset({"LIDAR_FUSION", "LIDAR_BASIC"}),
    "openlabel": frozenset({"LIDAR_FUSION", "LIDAR_BASIC", "IMAGE"}),
    "yolo": frozenset({"IMAGE", "LIDAR_FUSION"}),
    "coco": frozenset({"IMAGE", "LIDAR_FUSION"}),
}
FORMAT_NAMES = {"kitti": "KITTI 3D", "openlabel": "OpenLABEL", "yolo": "YOLO", "coco": "COCO"}


class Context:
    """What every writer shares: the sink, the class table, the tally, sources and camera lookup."""

    def __init__(
        self,
        fmt: str,
        sink: Sink,
        classes: ClassTable,
        sources: Iterable[str] | None,
        cameras: Callable[[Any], list[Camera] | None] | None,
        require_cameras: bool,
    ) -> None:
        self.fmt_name = FORMAT_NAMES[fmt]
        self.sink = sink
        self.classes = classes
        self.sources = list(sources) if sources is not None else None
        self.tally = Tally()
        self._cameras = cameras
        self.require_cameras = require_cameras
        self.frames_without_camera = 0

    def write(self, rel: str, content: bytes | Iterable[bytes]) -> None:
        self.sink.write(rel, [content] if isinstance(content, bytes) else content)
        self.tally.files += 1

    def known_class(self, kind: str, name: str | None) -> bool:
        """True when the object's class is in the table; otherwise counts it and returns False."""
        if name is None:
            self.tally.skip(kind, "no class name")
            return False
        if self.classes.id_of(name) is None:
            self.tally.skip(kind, f"class {name!r} not in the class list")
            return False
        return True

    def cameras_of(self, item: Any) -> list[Camera] | None:
        ref = item.data.get("cameraConfig")
        if not isinstance(ref, dict) or not (ref.get("zipPath") or ref.get("url")):
            if item.data.get("type") == "LIDAR_FUSION" or "lidarPointClouds" in item.data:
                self.frames_without_camera += 1
            return None
        found = self._cameras(item) if self._cameras is not None else None
        if found is None:
            if self.require_cameras:
                raise CameraConfigError(
                    f"{item.path}: frame {item.key!r} has a camera config ({ref.get('zipPath')!r}) that was "
                    "not found; pass camera_configs= (the uploaded package, folder or zip) or allow "
                    "frames without cameras (require_cameras=False / --no-cameras)"
                )
            self.frames_without_camera += 1
        return found


def _writer(fmt: str, ctx: Context, camera_index: int) -> Any:
    if fmt == "kitti":
        from airflow_provider_xtreme1.convert.kitti import KittiWriter

        return KittiWriter(ctx, camera_index)
    if fmt == "openlabel":
        from airflow_provider_xtreme1.convert.openlabel import OpenLabelWriter

        return OpenLabelWriter(ctx)
    if fmt == "yolo":
        from airflow_provider_xtreme1.convert.yolo import YoloWriter

        return YoloWriter(ctx)
    from airflow_provider_xtreme1.convert.coco import CocoWriter

    return CocoWriter(ctx)


def check_format(fmt: Any) -> str:
    value = str(fmt or "").strip().lower()
    if value not in FORMATS:
        raise ValueError(f"to must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return value


def convert_export(
    export: str | os.PathLike[str],
    to: str,
    out: str | os.PathLike[str] | Sink,
    *,
    camera_configs: str | os.PathLike[str] | Callable[[Any], list[Camera] | None] | None = None,
    classes: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
    camera_index: int = 0,
    require_cameras: bool = True,
    overwrite: bool = False,
    output_location: str | None = None,
) -> dict[str, Any]:
    """Convert an export zip (or its unpacked folder) item by item; return a small summary.

    :param export: The zip the export operator downloads, or the folder it was unpacked into.
    :param to: ``kitti``, ``openlabel``, ``yolo`` or ``coco``.
    :param out: Output folder (must not exist unless ``overwrite``; written to a ``.partial-*`` sibling and
        renamed when complete), or a :class:`~.output.Sink` that receives each file.
    :param camera_configs: For LiDAR-fusion frames: the uploaded package (folder or zip) holding
        ``camera_config/<frame>.json``, or a callable ``item -> [Camera] | None``.
    :param classes: Fix the class table (sorted); objects of other classes are counted as unrepresentable.
        Default: every class name in the selected sources (a first pass reads ``result/`` only).
    :param sources: Result sources to take (``sourceName``: ``Ground Truth`` or a run number); default all.
    :param camera_index: KITTI: which camera of each frame is KITTI's reference camera.
    :param require_cameras: A frame whose camera config is referenced but not found is an error (default)
        instead of a frame converted without cameras.
    :return: ``{format, output, frames, files, objects, written, unrepresentable, unrepresentable_reasons,
        classes, frames_without_camera}`` — counts by Xtreme1 object type.
    """
    from airflow_provider_xtreme1.convert.reader import CameraConfigs, Export

    fmt = check_format(to)
    if camera_index < 0:
        raise ValueError(f"camera_index must be 0 or more, got {camera_index}")
    owned_configs = None
    lookup: Callable[[Any], list[Camera] | None] | None
    if camera_configs is None or callable(camera_configs):
        lookup = camera_configs  # type: ignore[assignment]
    else:
        lookup = owned_configs = CameraConfigs(camera_configs)
    sink: Any = out
    local = None
    try:
        with Export(export) as exp:
            table = ClassTable(classes if classes is not None else exp.class_names(sources))
            if not hasattr(out, "write"):
                sink = local = LocalSink(out, overwrite=overwrite)  # type: ignore[arg-type]
            ctx = Context(fmt, sink, table, sources, lookup, require_cameras)
            writer = _writer(fmt, ctx, camera_index)
            for item in exp.items():
                dtype = str(item.data.get("type") or "")
                if dtype not in ACCEPTS[fmt]:
                    raise ValueError(
                        f"{item.path}: a {dtype or 'untyped'} item cannot become {FORMAT_NAMES[fmt]} "
                        f"(it takes {', '.join(sorted(ACCEPTS[fmt]))})"
                    )
                writer.add(item)
                ctx.tally.frames += 1
            writer.finish()
            ctx.write("classes.json", table.to_json())
        if local is not None:
            local.commit()
    except BaseException:
        if local is not None:
            local.abort()
        raise
    finally:
        if owned_configs is not None:
            owned_configs.close()
    location = output_location or (str(local.out) if local is not None else str(out))
    summary = ctx.tally.summary(fmt, location, table)
    summary["frames_without_camera"] = ctx.frames_without_camera
    return summary
