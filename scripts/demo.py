"""``make demo``: run the end-to-end example DAG against the bundled Xtreme1 emulator and report.

Everything happens in a fresh temporary folder: an Airflow home with a SQLite metadata database, the
emulator's object storage, a generated LiDAR-fusion sample dataset and the exported annotations.
The DAG runs for real (``dag.test()``: every task executes, waits defer to an in-process triggerer) and
the report below is read back from what the tasks returned and what the emulator holds.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "xtreme1_end_to_end"


def prepare_airflow(work: Path) -> None:
    home = work / "airflow"
    home.mkdir()
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )


def task_results(run) -> dict[str, object]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id, key="return_value").all()
        )
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="xtreme1-demo-"))
    prepare_airflow(work)

    from airflow_provider_xtreme1.emulator import Xtreme1Emulator
    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    token = secrets.token_urlsafe(24)
    with Xtreme1Emulator(token=token, data_dir=str(work / "emulator"), step_delay=0.3) as emu:
        os.environ["AIRFLOW_CONN_XTREME1_DEFAULT"] = json.dumps(
            {"conn_type": "xtreme1", "host": emu.url, "password": token}
        )
        source = make_sample_dataset(work / "drive-0001", "LIDAR_FUSION", items=6, scenes=1, cameras=2)
        print(f"Xtreme1 emulator at {emu.url}; sample dataset in {source}")

        from airflow.dag_processing.dagbag import DagBag
        from airflow.utils import db

        db.resetdb()
        bag = DagBag(dag_folder=str(REPO / "dags"))
        if bag.import_errors:
            print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
            return 1
        dag = bag.get_dag(DAG_ID)
        started = time.monotonic()
        run = dag.test(
            run_conf={
                "source_folder": str(source),
                "dataset_name": "demo-drive-0001",
                "dataset_type": "LIDAR_FUSION",
                "output_dir": str(work / "exports"),
            }
        )
        elapsed = time.monotonic() - started
        results = task_results(run)
        tis = sorted(run.get_task_instances(), key=lambda ti: ti.start_date or ti.end_date)
        storage_auth = sum("authorization" in {k.lower() for k in r["headers"]} for r in emu.storage_log)

    print("\n" + "=" * 78)
    print(f"DAG {DAG_ID}: {run.state} in {elapsed:.1f} s")
    for ti in tis:
        print(f"  {ti.task_id:<28} {ti.state!s:<10} tries={ti.try_number}")
    print()
    upload, model, export, predictions = (
        results.get(t) or {} for t in ("upload", "run_model", "export", "predictions")
    )
    if upload:
        print(
            f"  imported: {upload.get('parsed_data_num')} of {upload.get('total_data_num')} data items into "
            f"dataset {upload.get('dataset_id')}, import {upload.get('serial_number')} {upload.get('status')}"
        )
        check = upload.get("reconciliation") or {}
        if check.get("checked"):
            print(
                f"  reconciled: {check.get('items_stored')} of {check.get('items_sent')} items and "
                f"{check.get('objects_stored')} of {check.get('objects_sent')} objects stored, "
                f"{check.get('items_skipped_duplicates')} skipped as duplicates "
                f"({check.get('requests')} requests)"
            )
    if model:
        print(
            f"  model run {model.get('run_id')} ({model.get('run_no')}): {model.get('status')} over "
            f"{model.get('data_count')} items, "
            f"metrics {model.get('metrics') or 'none (no evaluation service)'}"
        )
    if predictions:
        print(
            f"  predictions: {predictions.get('objects')} objects on {predictions.get('items')} items "
            f"-> {predictions.get('uri')}"
        )
    if export:
        path = Path(str(export.get("uri", "")).removeprefix("file://"))
        if path.is_file():
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            print(
                f"  export {export.get('serial_number')}: {path} "
                f"({path.stat().st_size} bytes, {len(names)} entries)"
            )
    print("\n  task results (XCom):")
    for task_id, value in results.items():
        print(f"    {task_id}: {json.dumps(value, default=str)[:200]}")
    print(f"\n  object-storage requests carrying an Authorization header: {storage_auth}")
    print(f"  everything is in {work}")
    print("=" * 78)
    return 0 if str(run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
