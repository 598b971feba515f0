"""Test DAG for the conversion path: export from Xtreme1, then convert the downloaded zip."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_xtreme1.operators.convert import Xtreme1ConvertExportOperator
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator

PARAMS = {"dataset_id": 0, "exports": "", "out": "", "to": "kitti"}

with DAG(
    dag_id="xtreme1_test_export_convert",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params=PARAMS,
):
    export = Xtreme1ExportOperator(
        task_id="export",
        dataset_id="{{ params.dataset_id }}",
        destination="{{ params.exports }}",
        poll_interval=0.1,
        progress_interval=-1,
    )
    Xtreme1ConvertExportOperator(
        task_id="convert",
        export=export.output["uri"],
        to="{{ params.to }}",
        destination="{{ params.out }}",
        fetch_camera_configs=True,
    )
