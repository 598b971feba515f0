"""Test DAG for ontology as code: ensure a dataset → sync its ontology → upload bound by class name → list."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_xtreme1.operators.data import Xtreme1QueryDataOperator
from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1UploadDatasetOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
PARAMS = {"source": "", "dataset_name": "test", "ontology_file": ""}

with DAG(dag_id="xtreme1_test_ontology", schedule=None, start_date=START, params=PARAMS):
    dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset", name="{{ params.dataset_name }}", dataset_type="IMAGE"
    )
    sync = Xtreme1SyncOntologyOperator(
        task_id="sync_ontology", dataset_id=dataset.output, ontology_file="{{ params.ontology_file }}"
    )
    upload = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=dataset.output,
        source="{{ params.source }}",
        result_type="GROUND_TRUTH",
        bind_classes=True,
        poll_interval=0.2,
        timeout=120,
        stall_timeout=60,
    )
    listed = Xtreme1QueryDataOperator(task_id="list_data", dataset_id=dataset.output)
    sync >> upload >> listed
