"""Helpers shared by the tests: the test token, connections, and running DAGs with ``dag.test()``."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

TEST_TOKEN = "test-token-3f9a8c1d2e"


def connection_uri(url: str, token: str = TEST_TOKEN, **extra: object) -> str:
    """The JSON form of an Xtreme1 connection, as users put it in ``AIRFLOW_CONN_*``."""
    return json.dumps({"conn_type": "xtreme1", "host": url, "password": token, "extra": extra})


def run_dag(dag, *, conf: dict | None = None, retries: int = 0, **task_overrides: dict):
    """``dag.test()`` with per-task attribute overrides (e.g. ``wait_for_import={"deferrable": True}``).

    Tasks get ``retries`` (default 0, so a failing test fails fast) unless an override says otherwise.
    Returns the finished DagRun and a ``{task_id: TaskInstance}`` map.
    """
    saved = {}
    task_overrides = {t: {"retries": retries, **task_overrides.get(t, {})} for t in dag.task_ids} | {
        t: v for t, v in task_overrides.items() if t not in dag.task_ids
    }
    for task_id, attrs in task_overrides.items():
        task = dag.get_task(task_id)
        for name, value in attrs.items():
            saved[(task_id, name)] = getattr(task, name)
            setattr(task, name, value)
    try:
        run = dag.test(run_conf=conf)
    finally:
        for (task_id, name), value in saved.items():
            setattr(dag.get_task(task_id), name, value)
    return run, {ti.task_id: ti for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value"):
    """An XCom value of a finished ``dag.test()`` run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def create_classes(emu: Any, dataset_id: int, *names: str, tool: str = "CUBOID") -> dict[str, int]:
    """Create dataset classes over ``POST /datasetClass/create`` (a new Xtreme1 dataset has none);
    returns class name → id as ``/datasetClass/findAll`` lists them."""
    import requests

    base_url = emu.url
    headers = {"Authorization": f"Bearer {emu.token}"}
    for name in names:
        body = {"datasetId": dataset_id, "name": name, "color": "#7dfaf2", "toolType": tool}
        answer = requests.post(f"{base_url}/api/datasetClass/create", json=body, headers=headers, timeout=10)
        assert answer.json()["code"] == "OK", answer.text
    found = requests.get(f"{base_url}/api/datasetClass/findAll/{dataset_id}", headers=headers, timeout=10)
    return {c["name"]: c["id"] for c in found.json()["data"]}


def all_xcoms(run) -> dict[tuple[str, str], Any]:
    """Every XCom of a finished ``dag.test()`` run, by ``(task_id, key)``, as stored.

    Read as the JSON column holds it (what workers pull and the REST API serves), not through
    ``XComModel.deserialize_value``: that decodes JSON a second time and so turns the text
    ``"2127064340229001216"`` into a number.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id).all()
        return {(row.task_id, row.key): row.value for row in rows}


def numeric_serials(value: Any, where: str = "") -> list[str]:
    """Where ``value`` holds a serial number that is not a string: any integer a JavaScript double cannot
    hold exactly (the Airflow UI would show it wrong), or a ``*serial*`` key holding anything but text."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}"
            if "serial" in str(key).lower() and item is not None:
                items = item if isinstance(item, list) else [item]
                found += [path for i in items if not isinstance(i, str)]
            found += numeric_serials(item, path)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += numeric_serials(item, f"{where}[{index}]")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        found.append(where)
    return found


def start_import(
    folder: Path, dataset_type: str, *, name: str | None = None, result_type: str | None = "GROUND_TRUTH"
) -> tuple[dict[str, Any], str]:
    """A new dataset with ``folder`` uploaded (as a streamed zip) and its import started, through the hook.

    Returns the dataset record and the import's serial number.
    """
    from airflow_provider_xtreme1.archives import plan_zip
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
    from airflow_provider_xtreme1.transfer import upload

    with Xtreme1Hook() as hook:
        dataset = hook.create_dataset(name or f"test-{uuid.uuid4().hex[:10]}", dataset_type)
        urls = hook.get_presigned_upload_url(dataset["id"], "sample.zip")
        upload(urls["presignedUrl"], plan_zip(folder, dataset_type), progress_interval=-1)
        return dataset, hook.start_import(dataset["id"], urls["accessUrl"], result_type=result_type)


def ingest(folder: Path, dataset_type: str, name: str | None = None) -> dict[str, Any]:
    """:func:`start_import`, then wait until the import is parsed; returns the dataset plus ``serial``."""
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    dataset, serial = start_import(folder, dataset_type, name=name)
    with Xtreme1Hook() as hook:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            record = hook.get_upload_records([serial])[0]
            if record["status"] in ("PARSE_COMPLETED", "FAILED"):
                assert record["status"] == "PARSE_COMPLETED", record
                return {**dataset, "serial": serial, "folder": folder}
            time.sleep(0.05)
    raise AssertionError(f"import {serial} did not finish: {record}")
