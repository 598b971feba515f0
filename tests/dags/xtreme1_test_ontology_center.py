"""Test DAG for the ontology center: sync a center ontology from a file → copy it into a dataset → report
what deleting the center ontology would remove (a dry run)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator
from airflow_provider_xtreme1.operators.ontology_center import (
    Xtreme1CopyOntologyOperator,
    Xtreme1DeleteOntologyOperator,
)

START = pendulum.datetime(2026, 1, 1, tz="UTC")
PARAMS = {"ontology_name": "road", "dataset_name": "road-data", "ontology_file": "", "confirm_delete": False}

with DAG(dag_id="xtreme1_test_ontology_center", schedule=None, start_date=START, params=PARAMS):
    sync = Xtreme1SyncOntologyOperator(
        task_id="sync_center",
        ontology_name="{{ params.ontology_name }}",
        ontology_type="IMAGE",
        ontology_file="{{ params.ontology_file }}",
    )
    dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset", name="{{ params.dataset_name }}", dataset_type="IMAGE"
    )
    copy = Xtreme1CopyOntologyOperator(
        task_id="copy_to_dataset", dataset_id=dataset.output, ontology_id=sync.output["ontology_id"]
    )
    delete = Xtreme1DeleteOntologyOperator(
        task_id="delete_center",
        ontology_name="{{ params.ontology_name }}",
        ontology_type="IMAGE",
        confirm_delete="{{ params.confirm_delete }}",
    )
    copy >> delete
