"""``python -m airflow_provider_xtreme1.convert EXPORT --to kitti|openlabel|yolo|coco --out DIR``."""

from __future__ import annotations

import argparse
import json
import sys

from airflow_provider_xtreme1.convert.core import FORMATS, convert_export
from airflow_provider_xtreme1.convert.geometry import CameraConfigError
from airflow_provider_xtreme1.convert.reader import ExportFormatError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_xtreme1.convert",
        description="Convert an Xtreme1 export (zip or unpacked folder) to KITTI 3D, OpenLABEL, YOLO, COCO.",
    )
    parser.add_argument("export", help="the export zip, or the folder it was unpacked into")
    parser.add_argument("--to", required=True, choices=FORMATS)
    parser.add_argument("--out", required=True, help="output folder (must not exist, see --overwrite)")
    parser.add_argument(
        "--camera-configs",
        help="the uploaded package (folder or zip) with camera_config/<frame>.json (LiDAR fusion)",
    )
    parser.add_argument(
        "--no-cameras",
        action="store_true",
        help="convert frames whose camera config is not found without cameras instead of failing",
    )
    parser.add_argument("--camera-index", type=int, default=0, help="KITTI: the reference camera (default 0)")
    parser.add_argument("--source", action="append", help="result source to take (repeatable; default all)")
    parser.add_argument("--classes", help="comma-separated class names fixing the class table")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    try:
        summary = convert_export(
            args.export,
            args.to,
            args.out,
            camera_configs=args.camera_configs,
            classes=classes,
            sources=args.source,
            camera_index=args.camera_index,
            require_cameras=not args.no_cameras,
            overwrite=args.overwrite,
        )
    except (ExportFormatError, CameraConfigError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
