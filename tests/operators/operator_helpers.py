"""Helpers of the operator tests: ingesting a folder through the hook, running a task without a DAG run."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any


class StubTaskInstance:
    """The part of a TaskInstance the Xtreme1 operators use, for running ``execute`` without a DAG run."""

    try_number = 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str | None = None) -> Any:
        return self.xcom.get(key)


def run_task(operator: Any) -> tuple[Any, StubTaskInstance]:
    """``operator.execute`` with a minimal context; returns its result and the stub TI (pushed XComs)."""
    ti = StubTaskInstance()
    return operator.execute({"ti": ti}), ti


def ingest(folder: Path, dataset_type: str, name: str | None = None) -> dict[str, Any]:
    """Create a dataset and import ``folder`` into it (with ground truth) through the hook, then wait."""
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
    from airflow_provider_xtreme1.packing import plan_zip
    from airflow_provider_xtreme1.transfer import upload

    hook = Xtreme1Hook()
    dataset = hook.create_dataset(name or f"ops-{uuid.uuid4().hex[:10]}", dataset_type)
    urls = hook.get_presigned_upload_url(dataset["id"], "sample.zip")
    upload(urls["presignedUrl"], plan_zip(folder, dataset_type), progress_interval=-1)
    serial = hook.start_import(dataset["id"], urls["accessUrl"], result_type="GROUND_TRUTH")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record = hook.get_upload_records([serial])[0]
        if record["status"] in ("PARSE_COMPLETED", "FAILED"):
            assert record["status"] == "PARSE_COMPLETED", record
            return {**dataset, "folder": folder}
        time.sleep(0.05)
    raise AssertionError(f"import {serial} did not finish: {record}")


def request_paths(emu: Any, method: str, path: str) -> list[dict[str, Any]]:
    """The API requests the emulator received for ``method path`` (path below ``/api``)."""
    return [r for r in emu.request_log if r["method"] == method and r["path"] == "/api" + path]
