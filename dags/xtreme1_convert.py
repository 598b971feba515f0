"""
### Export an Xtreme1 LiDAR dataset and convert it to KITTI 3D and OpenLABEL

Export the dataset's ground truth, then convert the downloaded zip twice, in parallel: to KITTI 3D
(`label_2/`, `calib/`) and to ASAM OpenLABEL 1.0 (one JSON per scene). The conversions read the zip item
by item and make no API call; each frame's camera config is downloaded from the presigned URL the export
carries (`fetch_camera_configs=True`), or read from the uploaded package with `camera_configs=`. Objects a
format cannot hold are counted by type in each task's result (`unrepresentable`), never dropped silently.

Needs an `xtreme1_default` connection. Params: `dataset_id` (a LIDAR_FUSION or LIDAR_BASIC dataset),
`exports` (a folder for the zip), `output` (a folder: `kitti/` and `openlabel/` go below it); both may be
local paths or URIs of any storage Airflow knows (`s3://aws_default@bucket/prefix`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_xtreme1.operators.convert import Xtreme1ConvertExportOperator
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator

with DAG(
    dag_id="xtreme1_convert",
    description="Export an Xtreme1 LiDAR dataset and convert it to KITTI 3D and OpenLABEL",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default"},
    params={
        "dataset_id": Param(1, type="integer", description="the LiDAR dataset to export"),
        "exports": Param("/tmp/xtreme1-exports/", type="string", description="folder for the export zip"),
        "output": Param("/tmp/xtreme1-training", type="string", description="folder for the conversions"),
    },
) as dag:
    export = Xtreme1ExportOperator(
        task_id="export",
        dataset_id="{{ params.dataset_id }}",
        select_model_run_ids=[-1],
        destination="{{ params.exports }}",
        poll_interval=5,
    )
    # [START howto_xtreme1_convert_export]
    to_kitti = Xtreme1ConvertExportOperator(
        task_id="to_kitti",
        export=export.output["uri"],
        to="kitti",
        destination="{{ params.output }}/{{ params.dataset_id }}/kitti",
        fetch_camera_configs=True,
        overwrite=True,
    )
    # [END howto_xtreme1_convert_export]
    to_openlabel = Xtreme1ConvertExportOperator(
        task_id="to_openlabel",
        export=export.output["uri"],
        to="openlabel",
        destination="{{ params.output }}/{{ params.dataset_id }}/openlabel",
        fetch_camera_configs=True,
        overwrite=True,
    )
