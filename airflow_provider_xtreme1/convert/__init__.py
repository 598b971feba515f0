"""Convert Xtreme1 exports into the formats training code reads: KITTI 3D, OpenLABEL, YOLO and COCO.

Pure Python, no Airflow import: usable from a script, the CLI (``python -m airflow_provider_xtreme1.convert
EXPORT --to kitti --out DIR``) or ``Xtreme1ConvertExportOperator``. Exports are read item by item, so memory
stays flat in the export's size. Objects a format cannot hold are counted per type and reason in the
returned summary, never dropped silently; class names map to ids through a sorted table written to
``classes.json``.
"""

from __future__ import annotations

from airflow_provider_xtreme1.convert.core import FORMATS, convert_export
from airflow_provider_xtreme1.convert.geometry import Camera, CameraConfigError
from airflow_provider_xtreme1.convert.output import ClassTable, LocalSink, Sink
from airflow_provider_xtreme1.convert.reader import CameraConfigs, Export, ExportFormatError, ExportItem

__all__ = [
    "FORMATS",
    "Camera",
    "CameraConfigError",
    "CameraConfigs",
    "ClassTable",
    "Export",
    "ExportFormatError",
    "ExportItem",
    "LocalSink",
    "Sink",
    "convert_export",
]
