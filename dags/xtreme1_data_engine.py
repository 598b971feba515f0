"""
### Xtreme1 data engine: ingest → pre-label → annotators → quality gate → approval → split → export

1. **ensure_dataset**, **upload** — find or create the dataset and import the folder (no labels yet);
2. **prelabel** — run a model over it, so annotators correct predictions instead of drawing from scratch;
3. **wait_for_annotators** — *deferrable*: wait in the triggerer until `threshold_ratio` of the items are
   annotated and nobody has an item open in the editor (items marked invalid leave the total);
4. **quality_gate** — the model run's metrics against `min_precision` (branch: good enough → review,
   else → **metrics_below_threshold** → re-run the model), with the dataset's class statistics;
5. **review** — a human-in-the-loop form showing the counts, class statistics and model metrics:
   *Approve* → split and export; *Reject: mark items invalid* → the ids typed into the form are marked
   invalid; *Reject: re-run the model* → pre-label again;
6. **split** — TRAINING / VALIDATION / TEST by ratio; **export_training** … **export_test** — one export
   per split, one after another (see below); **publish** — writes a manifest and emits the asset event
   that starts `xtreme1_train_on_export`.

Xtreme1 names an export after the dataset and the second it starts, and builds it in a server folder of
that name: two exports of one dataset started within the same second mix their files. The per-split
exports therefore run one after another.

The model's `metrics` are `null` unless Xtreme1's evaluation service answered; this DAG lets such runs
through the gate (`on_missing="pass"`) and leaves the judgement to the reviewer.

Needs an `xtreme1_default` connection. Trigger with e.g. `{"source_folder": "/data/batch-07",
"dataset_name": "batch-07"}`; `python -m airflow_provider_xtreme1.sample_data /tmp/s --type IMAGE
--no-results` writes a folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import DAG, Asset, Param, task

from airflow_provider_xtreme1.operators.annotation import (
    Xtreme1MarkDataOperator,
    Xtreme1ModelRunGateOperator,
    Xtreme1SplitOperator,
)
from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1UploadDatasetOperator
from airflow_provider_xtreme1.sensors.annotation import Xtreme1AnnotationSensor

#: The exported splits; ``xtreme1_train_on_export`` is scheduled on it (same name and URI there).
EXPORT_ASSET = Asset(name="xtreme1_data_engine_export", uri="xtreme1://data-engine/exports")
SPLITS = ("TRAINING", "VALIDATION", "TEST")
APPROVE, MARK_INVALID, RERUN = "Approve", "Reject: mark items invalid", "Reject: re-run the model"
OUT = "{{ params.output_dir }}/{{ dag_run.run_after | ts_nodash }}"

REVIEW_BODY = """
{% set p = ti.xcom_pull(task_ids='wait_for_annotators') %}
{% set g = ti.xcom_pull(task_ids='quality_gate', key='gate') %}
#### Dataset **{{ params.dataset_name }}** (id {{ ti.xcom_pull(task_ids='ensure_dataset') }})

Annotated **{{ p.done }} / {{ p.total }}** items ({{ p.invalid }} marked invalid, {{ p.locked }} locked).

Model run {{ g.run_id }} ({{ g.status }}): {% if g.metrics %}{% for name, value in g.metrics.items() %}
**{{ name }}** {{ value }}{% if not loop.last %}, {% endif %}{% endfor %}{% else %}
no metrics (the evaluation service did not answer){% endif %}.

| class | tool | objects |
|---|---|---|
{% for u in g.class_statistics.classUnits %}| {{ u.name }} | {{ u.toolType or '-' }} | {{ u.objectAmount }} |
{% endfor %}
To reject items, enter their ids below and choose *{{ "Reject: mark items invalid" }}*.
"""

with DAG(
    dag_id="xtreme1_data_engine",
    description="Ingest, pre-label, wait for annotators, review, split and export for training",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default"},
    params={
        "source_folder": Param("/tmp/xtreme1-sample", type="string"),
        "dataset_name": Param("airflow-data-engine", type="string"),
        "dataset_type": Param("IMAGE", enum=["IMAGE", "LIDAR_FUSION", "LIDAR_BASIC"]),
        "model": Param("IMAGE_DETECTION", type=["integer", "string"], description="model id, name or code"),
        "threshold_ratio": Param(1.0, type="number", exclusiveMinimum=0, maximum=1),
        "min_precision": Param(0.5, type="number", minimum=0, maximum=1),
        "training": Param(70, type="integer", minimum=1, maximum=98),
        "validation": Param(20, type="integer", minimum=1, maximum=98),
        "test": Param(10, type="integer", minimum=1, maximum=98),
        "output_dir": Param("/tmp/xtreme1-data-engine", type="string"),
    },
) as dag:
    ensure_dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset", name="{{ params.dataset_name }}", dataset_type="{{ params.dataset_type }}"
    )
    upload = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=ensure_dataset.output,
        source="{{ params.source_folder }}",
        dataset_type="{{ params.dataset_type }}",
        deferrable=True,
        poll_interval=2,
        stall_timeout=1800,
    )
    prelabel = Xtreme1RunModelOperator(
        task_id="prelabel",
        dataset_id=ensure_dataset.output,
        model="{{ params.model }}",
        deferrable=True,
        poll_interval=2,
        stall_timeout=1800,
    )
    wait_for_annotators = Xtreme1AnnotationSensor(
        task_id="wait_for_annotators",
        dataset_id=ensure_dataset.output,
        threshold_ratio="{{ params.threshold_ratio }}",
        require_unlocked=True,
        deferrable=True,
        poke_interval=15,  # three small requests per look
        timeout=14 * 24 * 3600,
        stall_timeout=3 * 24 * 3600,
    )
    quality_gate = Xtreme1ModelRunGateOperator(
        task_id="quality_gate",
        dataset_id=ensure_dataset.output,
        run_id=prelabel.output["run_id"],
        thresholds={"precision": "{{ params.min_precision }}"},
        on_missing="pass",
        pass_branch="review",
        fail_branch="metrics_below_threshold",
    )
    metrics_below_threshold = EmptyOperator(task_id="metrics_below_threshold")
    review = HITLOperator(
        task_id="review",
        subject="Approve the annotations of {{ params.dataset_name }}?",
        body=REVIEW_BODY,
        options=[APPROVE, MARK_INVALID, RERUN],
        params={
            "invalid_ids": Param(
                [], type="array", items={"type": "integer"}, description="data ids to mark invalid"
            )
        },
    )

    @task.branch
    def decide(choice: dict) -> str:
        """Route the reviewer's answer."""
        return {APPROVE: "split", MARK_INVALID: "mark_invalid", RERUN: "rerun_model"}[
            choice["chosen_options"][0]
        ]

    mark_invalid = Xtreme1MarkDataOperator(
        task_id="mark_invalid",
        dataset_id=ensure_dataset.output,
        data_ids="{{ ti.xcom_pull(task_ids='review')['params_input']['invalid_ids'] }}",
    )
    rerun_model = Xtreme1RunModelOperator(
        task_id="rerun_model",
        dataset_id=ensure_dataset.output,
        model="{{ params.model }}",
        deferrable=True,
        poll_interval=2,
        stall_timeout=1800,
        trigger_rule="none_failed_min_one_success",
    )
    split = Xtreme1SplitOperator(
        task_id="split",
        dataset_id=ensure_dataset.output,
        training="{{ params.training }}",
        validation="{{ params.validation }}",
        test="{{ params.test }}",
    )
    exports = [
        Xtreme1ExportOperator(
            task_id=f"export_{name.lower()}",
            dataset_id=ensure_dataset.output,
            split_type=name,
            annotation_status="ANNOTATED",
            destination=f"{OUT}/{name.lower()}/",
            unpack_to=f"{OUT}/{name.lower()}/unpacked",
            deferrable=True,
            poll_interval=2,
            stall_timeout=1800,
        )
        for name in SPLITS
    ]

    @task(outlets=[EXPORT_ASSET])
    def publish(dataset_id: int, training: dict, validation: dict, test: dict, **context) -> str:
        """Write a manifest of the exported splits and attach it to the asset event."""
        splits = dict(zip(SPLITS, (training, validation, test), strict=True))
        manifest = {
            "dataset_id": dataset_id,
            "splits": {k: {"uri": v["uri"], "unpacked_to": v["unpacked_to"]} for k, v in splits.items()},
        }
        path = Path(str(training["unpacked_to"])).parents[2] / "manifest.json"  # OUT/<split>/unpacked/<top>
        path.write_text(json.dumps(manifest, indent=2))
        context["outlet_events"][EXPORT_ASSET].extra = {"manifest": str(path), "dataset_id": dataset_id}
        return str(path)

    (
        ensure_dataset
        >> upload
        >> prelabel
        >> wait_for_annotators
        >> quality_gate
        >> [review, metrics_below_threshold]
    )
    metrics_below_threshold >> rerun_model
    choice = decide(review.output)
    choice >> [split, mark_invalid, rerun_model]
    # One after another: Xtreme1 names an export after the dataset and the second it starts and builds
    # it in a folder of that name, so two exports of one dataset started in the same second mix files.
    split >> exports[0] >> exports[1] >> exports[2]
    publish(ensure_dataset.output, *(e.output for e in exports))
