"""
### Pre-label a dataset with a model, then export ground truth and predictions

1. **run_model** — run a model over the dataset and wait for the run. The task checks first that the
   model exists, has a URL, fits the dataset type, knows the requested classes and that some data match;
   it then finds the id of the run it started (Xtreme1 does not return it). A run that ends
   `SUCCESS_WITH_ERROR` passes with warnings (set `fail_on_warnings=True` to fail instead).
2. **export** — export the ground truth (`-1`) **and** that run, download the zip and unpack it.
   In the archive, `result/<name>.json` holds one entry per source; `sourceName` is `Ground Truth` or the
   run's `runNo`.
3. **predictions** — the export loses the boxes of model predictions (Xtreme1 issue #324), so the raw
   predictions of the run are written as JSON lines, one line per data item, geometry included.

Needs an `xtreme1_default` connection (type *Xtreme1*: URL in *Host*, API token in *Password*).
Trigger it with a config such as `{"dataset_id": 12, "model": 1, "classes": ["CAR", "PEDESTRIAN"]}`;
`model` may also be the model's name or its `modelCode` (`LIDAR_DETECTION`, `IMAGE_DETECTION`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_xtreme1.operators.export import (
    Xtreme1ExportOperator,
    Xtreme1ExportPredictionsOperator,
)
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator

with DAG(
    dag_id="xtreme1_prelabel",
    description="Run a model on an Xtreme1 dataset, then export ground truth, the run and raw predictions",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default", "retries": 1},
    params={
        "dataset_id": Param(1, type="integer", description="the dataset to pre-label"),
        "model": Param(1, type=["integer", "string"], description="model id, name or modelCode"),
        "classes": Param([], type="array", description="class codes to keep; empty: all of the model's"),
        "min_confidence": Param(0.3, type="number", minimum=0, maximum=1),
        "output_dir": Param("/tmp/xtreme1-prelabel", type="string"),
    },
) as dag:
    # [START howto_xtreme1_run_model]
    run_model = Xtreme1RunModelOperator(
        task_id="run_model",
        dataset_id="{{ params.dataset_id }}",
        model="{{ params.model }}",
        classes="{{ params.classes | join(',') }}",
        min_confidence="{{ params.min_confidence }}",
        poll_interval=2,
        timeout=6 * 3600,
        stall_timeout=1800,
    )
    # [END howto_xtreme1_run_model]

    # [START howto_xtreme1_export]
    export = Xtreme1ExportOperator(
        task_id="export",
        dataset_id="{{ params.dataset_id }}",
        select_model_run_ids=[-1, run_model.output["run_id"]],  # ground truth and the new run
        # A folder: the zip keeps the server's name. run_after, not ts: manual runs have no logical date.
        destination="{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}/",
        unpack_to="{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}/unpacked",
        poll_interval=2,
        stall_timeout=1800,
    )
    # [END howto_xtreme1_export]

    # [START howto_xtreme1_export_predictions]
    predictions = Xtreme1ExportPredictionsOperator(
        task_id="predictions",
        dataset_id="{{ params.dataset_id }}",
        run_id=run_model.output["run_id"],
        destination="{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}/predictions.jsonl",
    )
    # [END howto_xtreme1_export_predictions]
