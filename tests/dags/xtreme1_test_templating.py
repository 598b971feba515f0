"""Test DAG: the connection id comes from a param (collected with the example DAGs by tests/conftest.py)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator

with DAG(
    dag_id="xtreme1_test_templated_connection",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={"conn": "x1_no_such_connection", "name": "templated-connection"},
):
    Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset",
        name="{{ params.name }}",
        dataset_type="IMAGE",
        xtreme1_conn_id="{{ params.conn }}",
    )
