"""Every user-facing argument of every operator and sensor is templated, and templated flags are bools."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_xtreme1._arguments import render_flags
from airflow_provider_xtreme1.operators.annotation import (
    Xtreme1MarkDataOperator,
    Xtreme1ModelRunGateOperator,
    Xtreme1SplitOperator,
)
from airflow_provider_xtreme1.operators.convert import Xtreme1ConvertExportOperator
from airflow_provider_xtreme1.operators.data import (
    Xtreme1DeleteDataOperator,
    Xtreme1DeleteDatasetOperator,
    Xtreme1QueryDataOperator,
)
from airflow_provider_xtreme1.operators.datasets import (
    Xtreme1EnsureDatasetOperator,
    Xtreme1PackDatasetOperator,
)
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
from airflow_provider_xtreme1.operators.imports import Xtreme1ImportDatasetOperator
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator
from airflow_provider_xtreme1.operators.predictions import Xtreme1ExportPredictionsOperator
from airflow_provider_xtreme1.operators.shards import (
    Xtreme1ImportShardOperator,
    Xtreme1PlanShardsOperator,
    Xtreme1PutShardOperator,
    Xtreme1ReconcileIngestOperator,
)
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1GetUploadUrlOperator,
    Xtreme1PutArchiveOperator,
    Xtreme1UploadDatasetOperator,
)
from airflow_provider_xtreme1.sensors.annotation import Xtreme1AnnotationSensor
from airflow_provider_xtreme1.sensors.xtreme1 import (
    Xtreme1ExportSensor,
    Xtreme1ImportSensor,
    Xtreme1ModelRunSensor,
)

TASKS = [
    Xtreme1PlanShardsOperator,
    Xtreme1PutShardOperator,
    Xtreme1ImportShardOperator,
    Xtreme1ReconcileIngestOperator,
    Xtreme1ConvertExportOperator,
    Xtreme1EnsureDatasetOperator,
    Xtreme1PackDatasetOperator,
    Xtreme1ExportOperator,
    Xtreme1ExportPredictionsOperator,
    Xtreme1RunModelOperator,
    Xtreme1GetUploadUrlOperator,
    Xtreme1PutArchiveOperator,
    Xtreme1ImportDatasetOperator,
    Xtreme1UploadDatasetOperator,
    Xtreme1ImportSensor,
    Xtreme1ExportSensor,
    Xtreme1ModelRunSensor,
    Xtreme1AnnotationSensor,
    Xtreme1SplitOperator,
    Xtreme1MarkDataOperator,
    Xtreme1ModelRunGateOperator,
    Xtreme1SyncOntologyOperator,
    Xtreme1QueryDataOperator,
    Xtreme1DeleteDataOperator,
    Xtreme1DeleteDatasetOperator,
]

#: Tuning knobs of how a task runs, given as numbers or settings in the DAG file (the README lists them).
NOT_TEMPLATED = {
    "deferrable",
    "reattach",
    "poll_interval",
    "timeout",
    "stall_timeout",
    "max_retries",
    "progress_interval",
    "reconcile_examples",
    "max_unpacked_bytes",
    "max_unpacked_entries",
    "max_compression_ratio",
    "batch_size",
    "camera_index",
    "xcom_limit",
}
#: Arguments stored under another attribute name.
ATTRIBUTE = {"serial_numbers": "ids", "run_ids": "ids"}
UPLOAD_ATTRIBUTE = {"source": "upload_source"}


def user_arguments(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("airflow_provider_xtreme1") and "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters)
    return names - {"self", "kwargs"}


@pytest.mark.parametrize("cls", TASKS, ids=[c.__name__ for c in TASKS])
def test_every_user_argument_is_templated(cls):
    arguments = user_arguments(cls) - NOT_TEMPLATED
    aliases = {**ATTRIBUTE, **(UPLOAD_ATTRIBUTE if cls is Xtreme1UploadDatasetOperator else {})}
    expected = {aliases.get(name, name) for name in arguments}
    assert expected - set(cls.template_fields) == set()
    if cls not in (Xtreme1ConvertExportOperator,):
        assert "xtreme1_conn_id" in cls.template_fields


def test_base_arguments_are_not_counted():
    # The walk above reads only this package's classes: Airflow's own arguments are not ours to template.
    assert "retries" not in user_arguments(Xtreme1ExportOperator)
    assert "poke_interval" not in user_arguments(Xtreme1ImportSensor)
    assert {"xtreme1_conn_id", "dataset_id", "verify"} <= user_arguments(Xtreme1ExportOperator)


@pytest.mark.parametrize(("rendered", "flag"), [("false", False), ("True", True), ("", False), (True, True)])
def test_rendered_flags_become_bools(rendered, flag):
    task = Xtreme1PackDatasetOperator(
        task_id="pack", source_folder="/d", dataset_type="IMAGE", output_path="/o.zip", overwrite=rendered
    )
    render_flags(task)
    assert task.overwrite is flag


def test_a_bad_rendered_flag_fails_naming_it():
    task = Xtreme1ExportOperator(task_id="e", dataset_id=1, destination="/tmp/x.zip", overwrite="perhaps")
    with pytest.raises(ValueError, match="overwrite must be true or false"):
        render_flags(task)


def test_deferrable_without_effect_warns():
    with pytest.warns(UserWarning, match="no effect with wait_for_completion=False"):
        Xtreme1ExportOperator(
            task_id="e", dataset_id=1, destination="/tmp/x.zip", deferrable=True, wait_for_completion=False
        )
    with pytest.warns(UserWarning, match="replaces mode='reschedule'"):
        Xtreme1ImportSensor(task_id="s", serial_numbers="1", deferrable=True, mode="reschedule")
