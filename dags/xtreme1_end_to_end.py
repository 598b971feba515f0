"""
### Xtreme1 end to end: ingest → pre-label with a model → export → raw predictions

1. **ensure_dataset** — find the dataset by name or create it;
2. **upload** — check the folder's layout, stream it as a zip to Xtreme1's object store and import it
   (its `result/` files become ground truth), waiting until the server has parsed it;
3. **run_model** — run a model over the dataset (checked first: URL, type, classes, matching data);
4. **export** — export ground truth **and** the model run, download the zip and unpack it;
5. **predictions** — the run's predictions with their boxes, as JSON lines (the export drops them).

All waits are **deferrable**: while Xtreme1 works, the tasks wait in the triggerer and hold no worker
slot. Each waiting task pushes its job id (`serial_numbers`, `run_ids`) before waiting, and a retry
re-attaches to the job instead of starting it again.

Needs an `xtreme1_default` connection (type *Xtreme1*: URL in *Host*, API token in *Password*).
Trigger with e.g. `{"source_folder": "/data/drive-0420", "dataset_name": "drive-0420"}`; the folder
follows Xtreme1's layout (`lidar_point_cloud_0/`, `camera_image_0/`, `camera_config/`, `result/`).
`python -m airflow_provider_xtreme1.sample_data /tmp/sample --type LIDAR_FUSION` writes one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
from airflow_provider_xtreme1.operators.predictions import Xtreme1ExportPredictionsOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1UploadDatasetOperator

with DAG(
    dag_id="xtreme1_end_to_end",
    description="Ingest a folder into Xtreme1, pre-label it with a model, export results and predictions",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default", "retries": 1},
    params={
        "source_folder": Param("/tmp/xtreme1-sample", type="string", description="the dataset folder"),
        "dataset_name": Param("airflow-end-to-end", type="string"),
        "dataset_type": Param("LIDAR_FUSION", enum=["LIDAR_FUSION", "LIDAR_BASIC", "IMAGE"]),
        "model": Param(1, type=["integer", "string"], description="model id, name or modelCode"),
        "output_dir": Param("/tmp/xtreme1-end-to-end", type="string"),
    },
) as dag:
    ensure_dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset",
        name="{{ params.dataset_name }}",
        dataset_type="{{ params.dataset_type }}",
        description="Created by Airflow DAG {{ dag.dag_id }}",
    )

    upload = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=ensure_dataset.output,
        source="{{ params.source_folder }}",
        dataset_type="{{ params.dataset_type }}",
        result_type="GROUND_TRUTH",
        deferrable=True,
        poll_interval=2,
        stall_timeout=1800,
    )

    run_model = Xtreme1RunModelOperator(
        task_id="run_model",
        dataset_id=ensure_dataset.output,
        model="{{ params.model }}",
        deferrable=True,
        poll_interval=2,
        stall_timeout=1800,
    )

    export = Xtreme1ExportOperator(
        task_id="export",
        dataset_id=ensure_dataset.output,
        select_model_run_ids=[-1, run_model.output["run_id"]],
        destination="{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}/",
        unpack_to="{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}/unpacked",
        deferrable=True,
        poll_interval=2,
        stall_timeout=1800,
    )

    predictions = Xtreme1ExportPredictionsOperator(
        task_id="predictions",
        dataset_id=ensure_dataset.output,
        run_id=run_model.output["run_id"],
        destination="{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}/predictions.jsonl",
    )

    upload >> run_model
