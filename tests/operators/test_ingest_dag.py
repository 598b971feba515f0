"""The ingest example DAG, end to end against the emulator, in sync and deferrable mode."""

from __future__ import annotations

import pytest
from xtreme1_testing import all_xcoms, numeric_serials, run_dag, xcom

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
    assert records[0]["total_data_num"] == 6
    page = hook.find_data(dataset["id"], page_size=50)
    assert page["total"] == 4
    assert xcom(run, "ensure_dataset") == dataset["id"]
    assert xcom(run, "ensure_dataset", key="dataset_url").endswith(f"id={dataset['id']}")
    xcoms = all_xcoms(run)
    assert [f"{task}/{key}{path}" for (task, key), v in xcoms.items() for path in numeric_serials(v)] == []
    assert isinstance(xcoms[("import_dataset", "serial_numbers")][0], str)
    # import_dataset looked at the object put_archive wrote (first byte, through /minio/) before importing
    written = xcoms[("put_archive", "return_value")]
    assert written["bytes"] > 0 and written["etag"] and written["warnings"] == []
    looks = [r for r in emu.storage_log if r["method"] == "GET" and r["headers"].get("Range") == "bytes=0-0"]
    assert looks and looks[-1]["status"] == 206
    assert rendered(run, "import_dataset")["expected_object"] == {
        k: written[k] for k in ("bytes", "etag", "md5")
    }


def rendered(run, task_id: str) -> dict:
    """The rendered template fields of a task (stored in the DB, shown in the UI)."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(RenderedTaskInstanceFields).filter_by(run_id=run.run_id, task_id=task_id).one()
        return dict(row.rendered_fields)
