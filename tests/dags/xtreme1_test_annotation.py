"""Test DAGs for the annotation tasks (collected with the example DAGs by tests/conftest.py)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_provider_xtreme1.operators.annotation import (
    Xtreme1MarkDataOperator,
    Xtreme1ModelRunGateOperator,
    Xtreme1SplitOperator,
)
from airflow_provider_xtreme1.sensors.annotation import Xtreme1AnnotationSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
PARAMS = {"dataset_id": 0, "data_ids": [], "run_id": 0}

with DAG(dag_id="xtreme1_test_annotation_wait", schedule=None, start_date=START, params=PARAMS):
    Xtreme1AnnotationSensor(
        task_id="wait_for_annotators",
        dataset_id="{{ params.dataset_id }}",
        threshold_ratio=1,
        poke_interval=0.2,
        timeout=60,
    )

with DAG(dag_id="xtreme1_test_annotation_split", schedule=None, start_date=START, params=PARAMS):
    Xtreme1SplitOperator(
        task_id="split", dataset_id="{{ params.dataset_id }}", training=60, validation=20, test=20
    )

with DAG(dag_id="xtreme1_test_annotation_mark", schedule=None, start_date=START, params=PARAMS):
    Xtreme1MarkDataOperator(
        task_id="mark", dataset_id="{{ params.dataset_id }}", data_ids="{{ params.data_ids }}"
    )

with DAG(dag_id="xtreme1_test_annotation_gate", schedule=None, start_date=START, params=PARAMS):
    gate = Xtreme1ModelRunGateOperator(
        task_id="gate",
        dataset_id="{{ params.dataset_id }}",
        run_id="{{ params.run_id }}",
        thresholds={"precision": 0.8},
    )

with DAG(dag_id="xtreme1_test_annotation_gate_branch", schedule=None, start_date=START, params=PARAMS):
    gate = Xtreme1ModelRunGateOperator(
        task_id="gate",
        dataset_id="{{ params.dataset_id }}",
        run_id="{{ params.run_id }}",
        thresholds={"precision": 0.8, "recall": 0.5},
        pass_branch="accept",
        fail_branch="reject",
    )
    gate >> [EmptyOperator(task_id="accept"), EmptyOperator(task_id="reject")]
