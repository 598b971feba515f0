"""
### Daily ground-truth export of an Xtreme1 dataset

Every day, export the dataset's ground truth and store the zip in any storage Airflow knows — a local
folder (`file:///…`), S3 (`s3://bucket/prefix`), GCS, Azure … (an Airflow `ObjectStoragePath`; the
storage connection comes from the URI, e.g. `s3://aws_default@bucket/prefix`). The download streams from
Xtreme1's object store to the destination without the API token, through a temporary file that is moved
into place only when complete. Re-running a day replaces that day's file.

The task declares the Asset **`xtreme1_ground_truth_exports`**, so a training DAG can run on every fresh
export:

```python
from airflow.sdk import DAG, Asset

with DAG("train", schedule=[Asset(name="xtreme1_ground_truth_exports",
                                  uri="file:///tmp/xtreme1-exports/ground-truth")]):
    ...
```

The destination is templated (it holds the date), so the Asset is declared explicitly with `outlets=`;
an operator with a fixed URI destination declares its Asset by itself.

Needs an `xtreme1_default` connection. Params: `dataset_id`, `destination` (a folder URI).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, Param

from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator

EXPORT_FOLDER = "file:///tmp/xtreme1-exports/ground-truth"
GROUND_TRUTH_EXPORTS = Asset(name="xtreme1_ground_truth_exports", uri=EXPORT_FOLDER)

with DAG(
    dag_id="xtreme1_export",
    description="Export an Xtreme1 dataset's ground truth every day to object storage",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default", "retries": 2},
    params={
        "dataset_id": Param(1, type="integer", description="the dataset to export"),
        "destination": Param(EXPORT_FOLDER, type="string", description="folder URI for the zips"),
    },
) as dag:
    # [START howto_xtreme1_scheduled_export]
    export_ground_truth = Xtreme1ExportOperator(
        task_id="export_ground_truth",
        dataset_id="{{ params.dataset_id }}",
        select_model_run_ids=[-1],
        # run_after, not ds: a run triggered by hand has no logical date in Airflow 3
        destination="{{ params.destination }}/dataset-{{ params.dataset_id }}"
        "-{{ dag_run.run_after | ds_nodash }}.zip",
        overwrite=True,
        outlets=[GROUND_TRUTH_EXPORTS],
        poll_interval=5,
        timeout=3 * 3600,
        stall_timeout=1800,
    )
    # [END howto_xtreme1_scheduled_export]
