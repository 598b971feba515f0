"""
### Train on an Xtreme1 export (started by an asset event)

Scheduled on the asset `xtreme1_data_engine_export`, which `xtreme1_data_engine` emits after exporting
the TRAINING / VALIDATION / TEST splits. **train** stands in for a training job: it reads the manifest
of the triggering event, counts the items and labelled objects of each split and prints them.

Run by hand, it takes the manifest path from the `manifest` parameter.

Event-driven scheduling straight from annotation progress (no upstream DAG) uses an `AssetWatcher`
with `Xtreme1AnnotationEventTrigger`: see `xtreme1_on_annotation_progress` below (enabled when the
environment variable `XTREME1_WATCHED_DATASET_ID` names a dataset).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, task

from airflow_provider_xtreme1.triggers.annotation import Xtreme1AnnotationEventTrigger

EXPORT_ASSET = Asset(name="xtreme1_data_engine_export", uri="xtreme1://data-engine/exports")


def count_split(folder: str) -> dict[str, int]:
    """Items and objects of one unpacked Xtreme1 export (``data/*.json`` and ``result/*.json``)."""
    root = Path(folder)
    results = [p for p in root.rglob("*.json") if p.parent.name == "result"]
    objects = 0
    for path in results:
        body = json.loads(path.read_text())
        for source in body if isinstance(body, list) else [body]:
            objects += len(source.get("objects") or [])
    items = sum(1 for p in root.rglob("*") if p.is_file() and p.parent.name == "data")
    return {"items": items, "result_files": len(results), "objects": objects}


with DAG(
    dag_id="xtreme1_train_on_export",
    description="Placeholder training job started by the data engine's export asset",
    schedule=[EXPORT_ASSET],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    params={"manifest": Param("", type="string", description="manifest path (manual runs only)")},
):

    @task
    def train(params: dict, triggering_asset_events=None) -> dict[str, dict[str, int]]:
        """Read the exported splits and print their counts (a real DAG would start training here)."""
        events = (triggering_asset_events or {}).get(EXPORT_ASSET) or []
        manifest_path = events[-1].extra["manifest"] if events else params["manifest"]
        if not manifest_path:
            raise ValueError("no asset event and no 'manifest' parameter: nothing to train on")
        manifest = json.loads(Path(manifest_path).read_text())
        counts = {split: count_split(info["unpacked_to"]) for split, info in manifest["splits"].items()}
        for split, numbers in counts.items():
            print(f"{split}: {numbers['items']} items, {numbers['objects']} objects")
        return counts

    train()


WATCHED = os.environ.get("XTREME1_WATCHED_DATASET_ID")
if WATCHED:
    annotated = Asset(
        name=f"xtreme1_dataset_{WATCHED}_annotated",
        uri=f"xtreme1://xtreme1_default/datasets/{WATCHED}",
        watchers=[
            AssetWatcher(
                name=f"xtreme1_dataset_{WATCHED}_progress",
                trigger=Xtreme1AnnotationEventTrigger(
                    "xtreme1_default", int(WATCHED), threshold_ratio=0.95, poll_interval=60
                ),
            )
        ],
    )
    with DAG(
        dag_id="xtreme1_on_annotation_progress",
        schedule=[annotated],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["xtreme1", "example"],
    ):

        @task
        def report(triggering_asset_events=None) -> dict:
            """Print what the watcher saw when the dataset crossed 95 %."""
            event = triggering_asset_events[annotated][-1]
            print(event.extra)
            return dict(event.extra)

        report()
