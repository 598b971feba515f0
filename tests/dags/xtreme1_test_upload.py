"""Test DAGs for the upload path (collected with the example DAGs by tests/conftest.py)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.imports import Xtreme1ImportDatasetOperator
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1GetUploadUrlOperator,
    Xtreme1PutArchiveOperator,
    Xtreme1UploadDatasetOperator,
)
from airflow_provider_xtreme1.sensors.xtreme1 import Xtreme1ImportSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
PARAMS = {"source": "", "dataset_name": "test", "dataset_type": "LIDAR_FUSION", "result_type": ""}

with DAG(dag_id="xtreme1_test_upload_one_task", schedule=None, start_date=START, params=PARAMS):
    dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset", name="{{ params.dataset_name }}", dataset_type="{{ params.dataset_type }}"
    )
    Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=dataset.output,
        source="{{ params.source }}",
        dataset_type="{{ params.dataset_type }}",
        result_type="{{ params.result_type }}",
        poll_interval=0.2,
        timeout=120,
        stall_timeout=60,
    )

with DAG(dag_id="xtreme1_test_import_steps", schedule=None, start_date=START, params=PARAMS):
    dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset", name="{{ params.dataset_name }}", dataset_type="{{ params.dataset_type }}"
    )
    url = Xtreme1GetUploadUrlOperator(
        task_id="get_upload_url", dataset_id=dataset.output, file_name="set.zip"
    )
    put = Xtreme1PutArchiveOperator(
        task_id="put_archive",
        presigned_url=url.output["presigned_url"],
        access_url=url.output["access_url"],
        source="{{ params.source }}",
        dataset_id=dataset.output,
    )
    imported = Xtreme1ImportDatasetOperator(
        task_id="import_dataset",
        dataset_id=dataset.output,
        file_url=put.output["access_url"],
        result_type="{{ params.result_type }}",
        poll_interval=0.2,
        timeout=120,
        stall_timeout=60,
    )
    Xtreme1ImportSensor(
        task_id="wait_again",
        serial_numbers=imported.output["serial_number"],
        poke_interval=0.2,
        timeout=60,
    )
