"""
### Ingest a dataset folder into Xtreme1

The six steps of an Xtreme1 upload, one task each:

1. **ensure_dataset** — find the dataset by name, or create it (safe to re-run);
2. **pack** — check the folder against Xtreme1's layout rules and pack it into a stored zip
   (a bad layout fails here, before anything is uploaded);
3. **get_upload_url** — ask Xtreme1 for a presigned upload URL;
4. **put_archive** — stream the zip straight to object storage (the API token is never sent there);
5. **import_dataset** — check that the uploaded object is still the one put_archive wrote (size, ETag),
   then register the upload; the server downloads and parses it in the background;
6. **wait_for_import** — wait until the import is parsed (a sensor; it waits in the triggerer
   when ``[operators] default_deferrable`` is on, holding no worker slot).

Trigger it with a config such as
``{"source_folder": "/data/drive-0420", "dataset_name": "drive-0420", "dataset_type": "LIDAR_FUSION"}``.
Steps 2 and 4 share a local file, so run them on one machine — or use
``Xtreme1UploadDatasetOperator``, which does steps 2 to 6 in one task.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_xtreme1.operators.datasets import (
    Xtreme1EnsureDatasetOperator,
    Xtreme1PackDatasetOperator,
)
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1GetUploadUrlOperator,
    Xtreme1ImportDatasetOperator,
    Xtreme1PutArchiveOperator,
)
from airflow_provider_xtreme1.sensors.xtreme1 import Xtreme1ImportSensor

with DAG(
    dag_id="xtreme1_ingest",
    description="Pack a dataset folder, upload it to Xtreme1 and wait until it is imported",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "source_folder": Param("/data/xtreme1/sample", type="string", description="the dataset folder"),
        "dataset_name": Param("airflow-ingest-example", type="string"),
        "dataset_type": Param("LIDAR_FUSION", enum=["LIDAR_FUSION", "LIDAR_BASIC", "IMAGE", "TEXT"]),
        "work_dir": Param("/tmp/xtreme1-ingest", type="string", description="where the zip is written"),
        "result_type": Param("GROUND_TRUTH", type=["string", "null"], description="import result/ as this"),
        "allow_unread_files": Param(
            False, type="boolean", description="pack files the server would not read (warn, don't fail)"
        ),
    },
) as dag:
    ensure_dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset",
        name="{{ params.dataset_name }}",
        dataset_type="{{ params.dataset_type }}",
        description="Imported by Airflow DAG {{ dag.dag_id }}",
    )

    pack = Xtreme1PackDatasetOperator(
        task_id="pack",
        source_folder="{{ params.source_folder }}",
        dataset_type="{{ params.dataset_type }}",
        output_path="{{ params.work_dir }}/{{ params.dataset_name }}-{{ dag_run.run_after | ts_nodash }}.zip",
        with_results=True,
        allow_unread_files="{{ params.allow_unread_files }}",
    )

    get_upload_url = Xtreme1GetUploadUrlOperator(
        task_id="get_upload_url",
        dataset_id=ensure_dataset.output,
        file_name="{{ params.dataset_name }}.zip",
    )

    put_archive = Xtreme1PutArchiveOperator(
        task_id="put_archive",
        presigned_url=get_upload_url.output["presigned_url"],
        access_url=get_upload_url.output["access_url"],
        source=pack.output["path"],
        dataset_id=ensure_dataset.output,
        allow_unread_files="{{ params.allow_unread_files }}",
    )

    import_dataset = Xtreme1ImportDatasetOperator(
        task_id="import_dataset",
        dataset_id=ensure_dataset.output,
        file_url=put_archive.output["access_url"],
        # The URLs sit in XCom: import only if the object is still the one put_archive wrote.
        expected_object=put_archive.output,
        result_type="{{ params.result_type or '' }}",
        wait_for_completion=False,
    )

    wait_for_import = Xtreme1ImportSensor(
        task_id="wait_for_import",
        serial_numbers=import_dataset.output["serial_numbers"],
        poke_interval=2,
        timeout=3600,
        stall_timeout=900,
    )

    pack >> put_archive
    import_dataset >> wait_for_import
