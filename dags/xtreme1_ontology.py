"""
### Ontology as code, bound pre-annotations and clean-up

1. **ensure_dataset** — find the dataset by name, or create it;
2. **sync_ontology** — make its classes and classifications match the ontology file kept in git (JSON in
   the shape of Xtreme1's own export, or YAML); the plan is in the log (``+ Car (CUBOID)``, ``~ Pedestrian
   colour``); a second run changes nothing;
3. **upload** — upload the folder with its ``result/`` files as ground truth, each object bound to the
   dataset's class of its ``className`` (an unknown class fails the task before the upload);
4. **list_invalid** — the data items annotators marked invalid;
5. **clean_invalid** — delete them: a dry run unless the ``confirm_delete`` param is true; items someone is
   annotating are reported, not deleted.

Trigger it with a config such as ``{"source_folder": "/data/drive-0420", "dataset_name": "drive-0420",
"ontology_file": "/repo/ontology/lidar.yaml"}``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_xtreme1.operators.data import Xtreme1DeleteDataOperator, Xtreme1QueryDataOperator
from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1UploadDatasetOperator

with DAG(
    dag_id="xtreme1_ontology",
    description="Sync a dataset's ontology from a file, upload bound pre-annotations, clean up invalid data",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "source_folder": Param("/data/xtreme1/sample", type="string", description="the dataset folder"),
        "dataset_name": Param("airflow-ontology-example", type="string"),
        "dataset_type": Param("LIDAR_FUSION", enum=["LIDAR_FUSION", "LIDAR_BASIC", "IMAGE"]),
        "ontology_file": Param("/data/xtreme1/ontology.yaml", type="string", description="path or URI"),
        "allow_delete": Param(False, type="boolean", description="delete classes the file does not name"),
        "confirm_delete": Param(False, type="boolean", description="really delete the invalid items"),
    },
) as dag:
    dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset", name="{{ params.dataset_name }}", dataset_type="{{ params.dataset_type }}"
    )
    sync = Xtreme1SyncOntologyOperator(
        task_id="sync_ontology",
        dataset_id=dataset.output,
        ontology_file="{{ params.ontology_file }}",
        allow_delete="{{ params.allow_delete }}",
    )
    upload = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=dataset.output,
        source="{{ params.source_folder }}",
        dataset_type="{{ params.dataset_type }}",
        result_type="GROUND_TRUTH",
        bind_classes=True,
    )
    invalid = Xtreme1QueryDataOperator(
        task_id="list_invalid", dataset_id=dataset.output, annotation_status="INVALID"
    )
    clean = Xtreme1DeleteDataOperator(
        task_id="clean_invalid",
        dataset_id=dataset.output,
        annotation_status="INVALID",
        confirm_delete="{{ params.confirm_delete }}",
    )
    sync >> upload >> invalid >> clean
