"""The ingest example DAG, end to end against the emulator, in sync and deferrable mode."""

from __future__ import annotations

import pytest
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.sample_data import make_sample_dataset


@pytest.fixture
def ingest(dagbag):
    return dagbag.get_dag("xtreme1_ingest")


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_ingest_dag_imports_the_folder(emu, ingest, tmp_path, deferrable):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    source = make_sample_dataset(tmp_path / "drive", "LIDAR_FUSION", items=3, scenes=1, cameras=2)
    name = f"ingest-{'deferred' if deferrable else 'sync'}"
    run, tis = run_dag(
        ingest,
        conf={"source_folder": str(source), "dataset_name": name, "work_dir": str(tmp_path / "out")},
        wait_for_import={"deferrable": deferrable, "poke_interval": 0.2},
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    records = xcom(run, "wait_for_import")
    assert records[0]["status"] == "PARSE_COMPLETED"
    hook = Xtreme1Hook()
    dataset = hook.find_dataset_by_name(name)
    # 3 single frames at the root plus one scene holding 3 frames
    assert records[0]["totalDataNum"] == 6
    page = hook.find_data(dataset["id"], page_size=50)
    assert page["total"] == 4
    assert xcom(run, "ensure_dataset") == dataset["id"]
    assert xcom(run, "ensure_dataset", key="dataset_url").endswith(f"id={dataset['id']}")
