"""
### Ingest a large dataset folder into Xtreme1 as shards, in parallel

A 100 GB folder as one archive is one PUT from one worker and one import that the server downloads whole
and extracts on its own disk; one failure means sending everything again. Here it is split into shards
of at most ``max_shard_bytes`` and each shard is uploaded and imported on its own, by whichever worker is
free:

1. **ensure_dataset** — find the dataset by name, or create it (safe to re-run);
2. **plan_shards** — check the folder against Xtreme1's layout rules and split it by scene and data item
   (a scene, or a frame with its camera images, camera config and result, never splits); a bad layout,
   or one scene or item larger than ``max_shard_bytes``, fails here, before anything is sent;
3. **shard** (one mapped group per shard):
   **put_shard** streams the shard straight into its presigned PUT (no temporary file), leaving out what
   the dataset already holds; **import_shard** imports it and waits (re-attaching on retry, never
   importing twice). PUTs run on every free worker; at most ``MAX_IMPORTS_IN_FLIGHT`` imports run at
   once, the server's own limit (deferred imports hold their slot);
4. **reconcile_ingest** — compare the whole dataset with the folder, with per-shard counts.

The folder must be readable at the same path by every worker (shared or network storage). A re-run sends
only what is missing: shards already in the dataset send nothing and import nothing.

Trigger it with a config such as ``{"source_folder": "/data/drive-0420", "dataset_name": "drive-0420",
"dataset_type": "LIDAR_FUSION", "max_shard_bytes": "2GiB"}``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task_group

from airflow_provider_xtreme1.operators.datasets import Xtreme1EnsureDatasetOperator
from airflow_provider_xtreme1.operators.shards import (
    Xtreme1ImportShardOperator,
    Xtreme1PlanShardsOperator,
    Xtreme1PutShardOperator,
    Xtreme1ReconcileIngestOperator,
)

#: Imports in flight at once. Xtreme1 works on two uploads at a time and keeps the rest in memory only
#: (lost on a restart), so more would only queue there. A task setting, read when the DAG is parsed.
MAX_IMPORTS_IN_FLIGHT = 2

with DAG(
    dag_id="xtreme1_sharded_ingest",
    description="Split a large dataset folder into shards, upload and import them in parallel, reconcile",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["xtreme1", "example"],
    default_args={"xtreme1_conn_id": "xtreme1_default", "retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "source_folder": Param("/data/xtreme1/sample", type="string", description="the dataset folder"),
        "dataset_name": Param("airflow-sharded-ingest-example", type="string"),
        "dataset_type": Param("LIDAR_FUSION", enum=["LIDAR_FUSION", "LIDAR_BASIC", "IMAGE", "TEXT"]),
        "max_shard_bytes": Param(
            "2GiB", type=["string", "integer"], description="largest shard archive: bytes, or '2GiB', '500MB'"
        ),
        "result_type": Param("GROUND_TRUTH", type=["string", "null"], description="import result/ as this"),
        "allow_unread_files": Param(
            False, type="boolean", description="send files the server would not read (warn, don't fail)"
        ),
    },
) as dag:
    ensure_dataset = Xtreme1EnsureDatasetOperator(
        task_id="ensure_dataset",
        name="{{ params.dataset_name }}",
        dataset_type="{{ params.dataset_type }}",
        description="Imported by Airflow DAG {{ dag.dag_id }}",
    )

    plan_shards = Xtreme1PlanShardsOperator(
        task_id="plan_shards",
        source_folder="{{ params.source_folder }}",
        dataset_id=ensure_dataset.output,
        dataset_type="{{ params.dataset_type }}",
        max_shard_bytes="{{ params.max_shard_bytes }}",
        with_results="{{ params.result_type is not none and params.result_type != '' }}",
        allow_unread_files="{{ params.allow_unread_files }}",
    )

    @task_group(group_id="shard")
    def shard(descriptor):
        put_shard = Xtreme1PutShardOperator(
            task_id="put_shard",
            dataset_id=ensure_dataset.output,
            shard=descriptor,
        )
        import_shard = Xtreme1ImportShardOperator(
            task_id="import_shard",
            dataset_id=ensure_dataset.output,
            uploaded=put_shard.output,
            result_type="{{ params.result_type or '' }}",
            max_active_tis_per_dagrun=MAX_IMPORTS_IN_FLIGHT,
        )
        return import_shard.output

    imports = shard.expand(descriptor=plan_shards.output)

    reconcile_ingest = Xtreme1ReconcileIngestOperator(
        task_id="reconcile_ingest",
        dataset_id=ensure_dataset.output,
        plan=plan_shards.output,
        imports=imports,
        result_type="{{ params.result_type or '' }}",
    )
