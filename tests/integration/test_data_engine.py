"""The data-engine DAG on a running Airflow 3: annotators finish while the sensor is deferred, the
approval is answered through the REST API (its form screenshotted in Chromium), and the export asset
starts the training DAG.

Its own module-scoped stack (LocalExecutor); run it alone with ``-k data_engine``.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
import requests
from airflow_stack import wait_until
from conftest import ARTIFACTS, CHROMIUM, require, require_module, start_stack, stop_stack
from xtreme1_testing import TEST_TOKEN

from airflow_provider_xtreme1.sample_data import make_sample_dataset

pytestmark = pytest.mark.integration

DAG_ID, TRAIN_DAG_ID = "xtreme1_data_engine", "xtreme1_train_on_export"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    stack = start_stack("data-engine", tmp_path_factory.mktemp("airflow-engine"), executor="LocalExecutor")
    try:
        yield stack
    finally:
        stop_stack(stack)


def emulator(stack, method: str, path: str, **kwargs: Any) -> Any:
    """The emulator's API (``/api/...``, with the token) or its simulation API (``/_emulator/...``)."""
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"} if path.startswith("/api/") else {}
    response = requests.request(method, f"{stack.emulator_url}{path}", headers=headers, timeout=30, **kwargs)
    response.raise_for_status()
    body = response.json()
    if path.startswith("/api/"):
        assert body["code"] == "OK", body
        return body["data"]
    return body


def ti_states(stack, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in stack.airflow.task_instances(DAG_ID, run_id)}


def wait_for_state(stack, run_id: str, task_id: str, states: set[str], timeout: float = 240) -> None:
    def reached() -> bool:
        stack.procs.check_alive()
        current = ti_states(stack, run_id)
        failed = [t for t, s in current.items() if s in ("failed", "upstream_failed")]
        assert not failed, stack.airflow.describe_run(DAG_ID, run_id)
        return current.get(task_id) in states

    wait_until(f"{task_id} in {states}", reached, timeout=timeout, interval=1, on_timeout=stack.procs.tails)


def screenshot_approval_form(stack, run_id: str) -> None:
    """The review task's *Required Action* form in Debian's Chromium (Playwright)."""
    require_module("playwright")
    require(CHROMIUM.exists(), f"Debian's chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    run = urllib.parse.quote(run_id, safe="")
    url = f"{stack.airflow.url}/dags/{DAG_ID}/runs/{run}/tasks/review/required_actions"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.get_by_text("Approve the annotations of integration-engine?").first.wait_for()
            page.get_by_role("button", name="Approve").first.wait_for()
            page.get_by_text("precision").first.wait_for()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "ui-data-engine-approval-form.png"), full_page=True)
        finally:
            browser.close()


def test_data_engine_runs_on_real_airflow_and_starts_training(stack):
    airflow = stack.airflow
    for dag_id in (DAG_ID, TRAIN_DAG_ID):
        airflow.wait_for_dag(dag_id)
        airflow.unpause(dag_id)
    source = make_sample_dataset(stack.base / "batch", "IMAGE", items=6, with_results=False)
    conf = {
        "source_folder": str(source),
        "dataset_name": "integration-engine",
        "output_dir": str(stack.base / "out"),
    }
    run_id = airflow.trigger(DAG_ID, conf)

    # 1. the annotation sensor defers; annotators work while it waits in the triggerer
    wait_for_state(stack, run_id, "wait_for_annotators", {"deferred"})
    dataset_id = int(airflow.xcoms(DAG_ID, run_id, "ensure_dataset")["return_value"])
    data_ids = sorted(
        d["id"]
        for d in emulator(
            stack, "GET", "/api/data/findByPage", params={"datasetId": dataset_id, "pageSize": 100}
        )["list"]
    )
    run = emulator(stack, "GET", f"/api/modelRun/findModelRunRecordByDatasetId/{dataset_id}")[0]
    emulator(
        stack,
        "POST",
        "/_emulator/run-metrics",
        json={"runId": run["id"], "metrics": [{"name": "precision", "value": "0.93", "description": "mAP"}]},
    )
    emulator(
        stack,
        "POST",
        "/api/datasetClass/create",
        json={"datasetId": dataset_id, "name": "Car", "color": "#7dfaf2", "toolType": "BOUNDING_BOX"},
    )
    for data_id in data_ids:
        emulator(
            stack,
            "POST",
            "/_emulator/annotate",
            json={"dataIds": [data_id], "objects": [{"className": "Car"}], "user": "alice"},
        )
        time.sleep(0.2)
    assert ti_states(stack, run_id)["wait_for_annotators"] == "deferred", "annotators finished while deferred"

    # 2. the approval form waits for a human: screenshot it, answer it through the REST API
    wait_for_state(stack, run_id, "review", {"awaiting_input", "deferred"})
    screenshot_approval_form(stack, run_id)
    answer = {"chosen_options": ["Approve"], "params_input": {"invalid_ids": []}}
    airflow.request(
        "PATCH", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/review/-1/hitlDetails", json=answer
    )
    state = airflow.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", airflow.describe_run(DAG_ID, run_id)
    states = ti_states(stack, run_id)
    assert states["split"] == states["publish"] == "success"
    assert states["mark_invalid"] == states["rerun_model"] == "skipped"
    trigger_log = airflow.task_log(DAG_ID, run_id, "wait_for_annotators")
    assert "Trigger fired event" in trigger_log and "annotated 6 / 6" in trigger_log

    # 3. the export asset started the training DAG
    def training_run() -> dict | None:
        runs = airflow.request("GET", f"/api/v2/dags/{TRAIN_DAG_ID}/dagRuns")["dag_runs"]
        done = [r for r in runs if r["run_type"] == "asset_triggered" and r["state"] in ("success", "failed")]
        return done[0] if done else None

    train = wait_until(
        "the training DAG run", training_run, timeout=180, interval=1, on_timeout=stack.procs.tails
    )
    assert train["state"] == "success", airflow.describe_run(TRAIN_DAG_ID, train["dag_run_id"])
    counts = airflow.xcoms(TRAIN_DAG_ID, train["dag_run_id"], "train")["return_value"]
    assert set(counts) == {"TRAINING", "VALIDATION", "TEST"}
    # 70/20/10 of 6 items as the server rounds it; one ground-truth result file per exported item
    assert {split: c["result_files"] for split, c in counts.items()} == {
        "TRAINING": 4,
        "VALIDATION": 1,
        "TEST": 1,
    }
    assert "TRAINING: " in airflow.task_log(TRAIN_DAG_ID, train["dag_run_id"], "train")
