"""The shard operators run one by one against the emulator: a cleared import that finds its items already
imported, a folder changed between plan and PUT, a dataset of the wrong type."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from operator_helpers import StubTaskInstance

from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1ValidationError
from airflow_provider_xtreme1.operators.shards import (
    Xtreme1ImportShardOperator,
    Xtreme1PlanShardsOperator,
    Xtreme1PutShardOperator,
    Xtreme1ReconcileIngestOperator,
)
from airflow_provider_xtreme1.sample_data import make_sample_dataset


class StateStore(dict):
    """The task state store's ``get``/``set``/``delete`` (what survives between tries of one task)."""

    def set(self, key: str, value: Any, **_: Any) -> None:
        self[key] = value

    def delete(self, key: str) -> None:
        self.pop(key, None)


def context(store: StateStore | None = None) -> dict[str, Any]:
    return {"ti": StubTaskInstance(), "task_state_store": StateStore() if store is None else store}


def imports(emu) -> list[dict]:
    return [r for r in emu.request_log if r["method"] == "POST" and r["path"] == "/api/data/upload"]


def puts(emu) -> list[dict]:
    return [r for r in emu.storage_log if r["method"] == "PUT"]


@pytest.fixture
def hook(emu):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    return Xtreme1Hook()


@pytest.fixture
def planned(emu, hook, tmp_path):
    folder = make_sample_dataset(tmp_path / "drive", "IMAGE", items=6, scenes=1)
    dataset = hook.create_dataset(f"shard-operators-{uuid.uuid4().hex[:8]}", "IMAGE")
    plan = Xtreme1PlanShardsOperator(
        task_id="plan_shards",
        source_folder=str(folder),
        dataset_id=dataset["id"],
        max_shard_bytes=60_000,
        with_results=True,
    ).execute(context())
    assert len(plan) >= 2
    return folder, dataset["id"], plan


def test_a_cleared_import_of_an_imported_shard_starts_nothing(emu, planned):
    _, dataset_id, plan = planned
    put = Xtreme1PutShardOperator(task_id="put_shard", dataset_id=dataset_id, shard=plan[0])
    uploaded = put.execute(context())
    assert uploaded["sent"] is True and uploaded["items"] == plan[0]["items"] and len(puts(emu)) == 1
    importer = Xtreme1ImportShardOperator(
        task_id="import_shard", dataset_id=dataset_id, uploaded=uploaded, result_type="GROUND_TRUTH",
        poll_interval=0.1, deferrable=False,
    )  # fmt: skip
    done = importer.execute(context())
    assert done["status"] == "PARSE_COMPLETED" and done["reconciliation"]["ok"] is True
    assert done["reconciliation"]["items_stored"] == plan[0]["items"]
    assert len(imports(emu)) == 1
    # Cleared: a new task run with nothing remembered. Everything the PUT sent is in the dataset.
    again = importer.execute(context())
    assert again["status"] == "SKIPPED" and "imported earlier" in again["reason"]
    assert len(imports(emu)) == 1
    # And the PUT run again sends nothing: its items are all there.
    resent = put.execute(context())
    assert resent["sent"] is False and resent["skipped_items"] == plan[0]["items"] and len(puts(emu)) == 1
    assert (
        importer.__class__(task_id="import_shard_2", dataset_id=dataset_id, uploaded=resent).execute(
            context()
        )["status"]
        == "SKIPPED"
    )


def test_a_folder_changed_after_planning_is_not_sent(emu, planned):
    folder, dataset_id, plan = planned
    (folder / "image_0" / "000002.png").write_bytes((folder / "image_0" / "000001.png").read_bytes())
    put = Xtreme1PutShardOperator(task_id="put_shard", dataset_id=dataset_id, shard=plan[0])
    with pytest.raises(Xtreme1ValidationError, match=r"changed after it was planned into shards: shard 1"):
        put.execute(context())
    assert not puts(emu)
    assert not [r for r in emu.request_log if r["path"] == "/api/data/generatePresignedUrl"]
    with pytest.raises(Xtreme1ValidationError, match="changed after it was planned"):
        Xtreme1ReconcileIngestOperator(task_id="reconcile_ingest", dataset_id=dataset_id, plan=plan).execute(
            context()
        )


def test_a_dataset_of_another_type_is_refused_before_sending(emu, hook, planned):
    _, _, plan = planned
    other = hook.create_dataset(f"shard-operators-{uuid.uuid4().hex[:8]}", "LIDAR_FUSION")
    with pytest.raises(Xtreme1ConfigError, match="IMAGE"):
        Xtreme1PutShardOperator(task_id="put_shard", dataset_id=other["id"], shard=plan[0]).execute(context())
    assert not puts(emu)
    with pytest.raises(Xtreme1ConfigError, match="shard descriptor"):
        Xtreme1PutShardOperator(task_id="put_shard", dataset_id=other["id"], shard="[]").execute(context())
