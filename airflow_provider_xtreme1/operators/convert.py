"""Convert a downloaded Xtreme1 export into KITTI 3D, OpenLABEL, YOLO or COCO (no Xtreme1 API call)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_xtreme1._arguments import as_list, render_flags
from airflow_provider_xtreme1.convert.core import check_format, convert_export
from airflow_provider_xtreme1.convert.reader import CameraConfigs
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.locations import (
    location_of,
    refuse_existing,
    resolve_destination,
    write_atomically,
)
from airflow_provider_xtreme1.operators.export import destination_asset

if TYPE_CHECKING:
    from airflow.sdk import Context


class _StorageSink:
    """Each output file written to ``root / rel`` through the export operator's atomic write."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def write(self, rel: str, chunks: Iterable[bytes]) -> None:
        write_atomically(self.root / rel, iter(chunks))


def _local_copy(source: Any, folder: Path, what: str) -> Path:
    """A local path for ``source``: itself when local, else a copy of the object in ``folder``."""
    resolved = resolve_destination(source)
    if isinstance(resolved, Path):
        if not resolved.exists():
            raise Xtreme1ConfigError(f"{what} {resolved} does not exist.")
        return resolved
    if not resolved.exists():
        raise Xtreme1ConfigError(f"{what} {location_of(resolved)} does not exist.")
    if resolved.is_dir():
        raise Xtreme1ConfigError(
            f"{what} {location_of(resolved)} is a folder in object storage: give its zip."
        )
    target = folder / (resolved.name or "export.zip")
    with resolved.open("rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target


class Xtreme1ConvertExportOperator(BaseOperator):
    """Convert an Xtreme1 export archive into a training format, item by item.

    Reads the zip ``Xtreme1ExportOperator`` downloads (pass its ``uri`` output) or the folder it unpacked,
    and writes KITTI 3D (LiDAR), ASAM OpenLABEL 1.0 (LiDAR, scenes, images), YOLO or COCO (2D boxes and
    polygons of images and camera views) into ``destination``. Objects the format cannot hold are counted
    by type and reason in the result, never dropped silently; class ids come from a sorted table written to
    ``classes.json``. A remote export is copied to a temporary file first (zip needs random access). A
    local destination is written to a ``.partial-*`` sibling and renamed when complete; an object-storage
    destination receives each file atomically (with ``overwrite``, files already there and not rewritten
    stay). Makes no Xtreme1 API call, except that
    ``fetch_camera_configs`` downloads each frame's camera config from its presigned URL (no token sent).

    :param export: the export zip or its unpacked folder: a local path, URI or ObjectStoragePath. (templated)
    :param to: ``kitti``, ``openlabel``, ``yolo`` or ``coco``. (templated)
    :param destination: output folder: local path, URI or ``ObjectStoragePath``. (templated)
    :param camera_configs: LiDAR fusion: the package the data was uploaded from (folder or zip, local or
        remote zip), where ``camera_config/<frame>.json`` are found by their ``zipPath``. (templated)
    :param fetch_camera_configs: download camera configs the package lacks (or all, without a package)
        from the presigned URLs in the export; they expire 7 days after the export.
    :param classes: fix the class table: names as a list or ``"Car,Truck"``; default: every class in the
        export. (templated)
    :param sources: result sources to take (``Ground Truth``, run numbers), as a list or comma-separated;
        default all. (templated)
    :param camera_index: KITTI: which camera of each frame is the reference camera.
    :param require_cameras: a frame whose camera config cannot be found fails the task (default);
        ``False`` converts it without cameras.
    :param overwrite: replace an existing destination (default: fail before converting).
    :return: ``{format, output, frames, files, objects, written, unrepresentable, unrepresentable_reasons,
        classes, frames_without_camera}``, counts by Xtreme1 object type.
    """

    template_fields: Sequence[str] = (
        "export",
        "to",
        "destination",
        "camera_configs",
        "classes",
        "sources",
        "fetch_camera_configs",
        "require_cameras",
        "overwrite",
    )

    def __init__(
        self,
        *,
        export: Any,
        to: str,
        destination: Any,
        camera_configs: Any = None,
        fetch_camera_configs: bool = False,
        classes: Sequence[str] | str | None = None,
        sources: Sequence[str] | str | None = None,
        camera_index: int = 0,
        require_cameras: bool = True,
        overwrite: bool = False,
        **kwargs: Any,
    ):
        asset = destination_asset(destination)
        if asset is not None and not any(
            getattr(o, "uri", None) == asset.uri for o in kwargs.get("outlets") or []
        ):
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), asset]
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        if not (isinstance(to, str) and "{{" in to):
            check_format(to)
        if camera_index < 0:
            raise ValueError(f"camera_index must be 0 or more, got {camera_index!r}.")
        self.export = export
        self.to = to
        self.destination = destination
        self.camera_configs = camera_configs
        self.fetch_camera_configs = fetch_camera_configs
        self.classes = classes
        self.sources = sources
        self.camera_index = camera_index
        self.require_cameras = require_cameras
        self.overwrite = overwrite

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        render_flags(self)

    def execute(self, context: Context) -> dict[str, Any]:
        fmt = check_format(self.to)
        target = resolve_destination(self.destination)
        local = isinstance(target, Path)
        if not self.overwrite:
            refuse_existing(target, "Conversion destination")
        with tempfile.TemporaryDirectory(prefix="xtreme1-convert-") as scratch:
            export = _local_copy(self.export, Path(scratch), "Export")
            package = (
                _local_copy(self.camera_configs, Path(scratch), "camera_configs")
                if self.camera_configs
                else None
            )
            fetch = self._fetch(Path(scratch)) if self.fetch_camera_configs else None
            lookup = CameraConfigs(package, fetch) if package is not None or fetch else None
            try:
                summary = convert_export(
                    export,
                    fmt,
                    target if local else _StorageSink(target),
                    camera_configs=lookup,
                    classes=[str(c) for c in as_list(self.classes)] if self.classes is not None else None,
                    sources=[str(c) for c in as_list(self.sources)] if self.sources is not None else None,
                    camera_index=self.camera_index,
                    require_cameras=self.require_cameras,
                    overwrite=self.overwrite,
                    output_location=location_of(target),
                )
            finally:
                if lookup is not None:
                    lookup.close()
        skipped = sum(summary["unrepresentable"].values())
        self.log.info(
            "Converted %d frames to %s at %s: %d objects written, %d not representable %s.",
            summary["frames"],
            fmt,
            summary["output"],
            summary["objects"],
            skipped,
            summary["unrepresentable_reasons"] or "",
        )
        if skipped:
            self.log.warning("Objects %s cannot hold, by type: %s", fmt, summary["unrepresentable"])
        return summary

    def _fetch(self, scratch: Path) -> Any:
        from airflow_provider_xtreme1.transfer import download

        class _Quiet:  # one config per frame: log only retries and failures
            info = staticmethod(lambda *args: None)
            warning = self.log.warning

        def fetch(url: str) -> bytes:
            path = scratch / "camera-config.json"
            download(url, path, overwrite=True, progress_interval=-1, logger=_Quiet())
            return path.read_bytes()

        return fetch
