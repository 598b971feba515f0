"""Real Airflow, not just ``dag.test()``: the end-to-end DAG on a running Airflow 3 with the LocalExecutor.

One module-scoped stack: the ``xtreme1-emulator`` console script, then ``airflow api-server``,
``scheduler``, ``dag-processor`` and ``triggerer`` on a fresh AIRFLOW_HOME and SQLite metadata DB, the
repository's ``dags/`` as DAGs folder. The end-to-end DAG is triggered through the REST API (``/api/v2``,
token from the simple auth manager) and checked from the Airflow side: the waits ran in the triggerer,
the connection form metadata, the XComs and the task logs. The last tests drive Debian's Chromium with
Playwright against the same API server (screenshots in ``test-artifacts/``).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, CHROMIUM, require, require_module, run_dag, start_stack, stop_stack
from xtreme1_testing import TEST_TOKEN

pytestmark = pytest.mark.integration

DAG_ID = "xtreme1_end_to_end"
TASKS = ["ensure_dataset", "upload", "run_model", "export", "predictions"]
DEFERRING_TASKS = ["upload", "run_model", "export"]
XCOM_LIMIT = 4096  # bytes of JSON per XCom: references, not payloads
SIGNATURE = re.compile(r"X-Amz-Signature=([^&\s\"'\\]*)")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory):
    stack = start_stack(
        "local-executor",
        tmp_path_factory.mktemp("airflow-local"),
        executor="LocalExecutor",
        # Airflow keeps the connections' Test button disabled unless this is set.
        extra_env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"},
    )
    try:
        yield stack
    finally:
        stop_stack(stack)


@pytest.fixture(scope="module")
def e2e(local) -> dict[str, Any]:
    """One run of the end-to-end DAG, triggered through the REST API and finished."""
    conf = {
        "source_folder": str(local.sample_dataset()),
        "dataset_name": "integration-e2e",
        "output_dir": str(local.base / "output"),
    }
    run = run_dag(local, DAG_ID, conf)
    run["conf"] = conf
    run["tis"] = {ti["task_id"]: ti for ti in local.airflow.task_instances(DAG_ID, run["run_id"])}
    run["xcoms"] = {t: local.airflow.xcoms(DAG_ID, run["run_id"], t) for t in run["tis"]}
    return run


def test_end_to_end_dag_succeeds_on_real_airflow(e2e):
    assert e2e["state"] == "success"
    assert sorted(e2e["tis"]) == sorted(TASKS)
    for task_id, ti in e2e["tis"].items():
        assert ti["state"] == "success", task_id
        assert ti["try_number"] == 1, f"{task_id} needed a retry"
    assert e2e["seconds"] < 180


def test_waits_ran_in_the_triggerer(local, e2e):
    """Each waiting task deferred: its trigger ran in the triggerer process and fired a success event."""
    airflow = local.airflow
    for task_id in DEFERRING_TASKS:
        # The triggerer writes the trigger records beside the task log: attempt=1.log.trigger.<job>.log
        task_dir = next((airflow.home / "logs").glob(f"dag_id={DAG_ID}/run_id=*/task_id={task_id}"))
        trigger_logs = list(task_dir.glob("attempt=1.log.trigger.*.log"))
        assert trigger_logs, f"{task_id}: no trigger log, so it never deferred"
        trigger_text = "\n".join(p.read_text() for p in trigger_logs)
        assert "Trigger fired event" in trigger_text
        assert "'outcome': 'succeeded'" in trigger_text
        # ...and the API server serves it as part of the task's log.
        log = airflow.task_log(DAG_ID, e2e["run_id"], task_id)
        assert re.search(rf"trigger {DAG_ID}/.*/{task_id}/-1/1 \(ID \d+\) starting", log), task_id
        assert "Trigger fired event" in log
    observed = {t for t, s in e2e["seen"] if s == "deferred"}
    assert observed & set(DEFERRING_TASKS), f"no task seen in state deferred: {sorted(e2e['seen'])}"


def test_api_server_lists_the_xtreme1_connection_type(local):
    airflow = local.airflow
    providers = airflow.request("GET", "/api/v2/providers", params={"limit": 100})["providers"]
    assert "airflow-provider-xtreme1" in {p["package_name"] for p in providers}

    meta = {m["connection_type"]: m for m in airflow.request("GET", "/ui/connections/hook_meta")}
    xtreme1 = meta["xtreme1"]
    assert xtreme1["hook_name"] == "Xtreme1"
    assert xtreme1["hook_class_name"] == "airflow_provider_xtreme1.hooks.xtreme1.Xtreme1Hook"
    standard = xtreme1["standard_fields"]
    assert standard["host"]["title"] == "Xtreme1 URL"
    assert standard["password"]["title"] == "API token"
    assert standard["login"]["hidden"] is True
    extra = xtreme1["extra_fields"]
    assert {name: field["schema"]["title"] for name, field in extra.items()} == {
        "verify": "Verify TLS certificates",
        "ca_bundle": "CA bundle path",
        "request_timeout": "Request timeout (seconds)",
        "web_url": "Web UI URL",
    }
    assert extra["verify"]["schema"]["type"] == "boolean"
    assert extra["request_timeout"]["value"] == 60


def test_xcoms_hold_references_not_payloads_or_secrets(local, e2e):
    xcoms = e2e["xcoms"]
    for task_id, values in xcoms.items():
        for key, value in values.items():
            text = json.dumps(value)
            where = f"XCom {task_id}.{key}"
            assert len(text.encode()) <= XCOM_LIMIT, (
                f"{where} holds {len(text)} bytes: a payload, not a reference"
            )
            assert TEST_TOKEN not in text, f"{where} holds the API token"
            assert all(sig in ("", "***") for sig in SIGNATURE.findall(text)), f"{where}: unmasked signature"

    dataset_id = xcoms["ensure_dataset"]["return_value"]
    upload = xcoms["upload"]
    assert upload["serial_numbers"] and all(re.fullmatch(r"\d+", s) for s in upload["serial_numbers"])
    assert upload["return_value"]["status"] == "PARSE_COMPLETED"
    assert upload["return_value"]["dataset_id"] == dataset_id
    assert isinstance(xcoms["run_model"]["return_value"]["run_id"], int)
    output_dir = Path(e2e["conf"]["output_dir"])
    export = xcoms["export"]["return_value"]
    assert re.fullmatch(r"\d+", export["serial_number"])
    for path in (export["uri"], export["unpacked_to"], xcoms["predictions"]["return_value"]["uri"]):
        assert Path(path).is_relative_to(output_dir) and Path(path).exists(), path


def test_task_logs_hold_no_secrets(local, e2e):
    """Real task logs go through Airflow's masking: no token, presigned URL signatures as ``***``."""
    signatures = 0
    for task_id in TASKS:
        log = local.airflow.task_log(DAG_ID, e2e["run_id"], task_id)
        assert TEST_TOKEN not in log, f"{task_id}: API token in the task log"
        found = SIGNATURE.findall(log)
        assert all(sig == "***" for sig in found), f"{task_id}: unmasked signature in the task log"
        signatures += len(found)
    assert signatures, "no presigned URL was logged at all: the masking check saw nothing to check"


def dataset_page(local, e2e) -> str:
    return f"{local.emulator_url}/#/datasets/data?id={e2e['xcoms']['ensure_dataset']['return_value']}"


def test_extra_link_through_the_api(local, e2e):
    for task_id in TASKS:
        if task_id == "ensure_dataset" or not e2e["xcoms"][task_id].get("dataset_url"):
            continue
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{e2e['run_id']}/taskInstances/{task_id}/links"
        expected = {"Xtreme1 dataset": dataset_page(local, e2e)}
        model_id = e2e["xcoms"][task_id].get("model_id")
        if task_id == "run_model" and model_id is not None:
            web = dataset_page(local, e2e).split("/#/", 1)[0]
            expected["Xtreme1 model runs"] = f"{web}/#/models/detail?id={model_id}&tabId=RUNS"
        assert local.airflow.request("GET", path)["extra_links"] == expected


# -- the Airflow web UI, in a real browser ------------------------------------------------------------------

BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    require_module("playwright")
    require(CHROMIUM.exists(), f"Debian's chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=BROWSER_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"ui-{request.node.name}-failed.png"), full_page=True)
    context.close()


def test_add_connection_form_offers_xtreme1(local, page):
    """Admin → Connections → Add Connection: the Xtreme1 type with its relabelled and declared fields."""
    page.goto(f"{local.airflow.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    connection_type = dialog.get_by_role("combobox", name="Connection Type")
    connection_type.click()
    connection_type.fill("Xtreme")
    page.get_by_role("option", name="Xtreme1", exact=True).click()

    for label in ("Xtreme1 URL", "API token", "Port", "Schema"):
        assert dialog.get_by_text(label, exact=True).is_visible(), label
    assert dialog.get_by_text("Login", exact=True).count() == 0, "login is declared hidden"
    assert dialog.get_by_placeholder(
        "http://xtreme1.example.com (scheme and host; the port goes below)"
    ).is_visible()
    dialog.get_by_text("Extra Fields", exact=True).click()
    for label in ("Verify TLS certificates", "CA bundle path", "Request timeout (seconds)", "Web UI URL"):
        field_label = dialog.locator("label").filter(has_text=label)
        field_label.first.wait_for()
        assert field_label.count() == 1, label
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-add-connection-xtreme1.png"), full_page=True)


def test_task_page_shows_the_dataset_link(local, e2e, page):
    """A task of the finished run offers the "Xtreme1 dataset" extra link to the dataset's page."""
    run_id = urllib.parse.quote(e2e["run_id"], safe="")
    page.goto(f"{local.airflow.url}/dags/{DAG_ID}/runs/{run_id}/tasks/upload")
    page.get_by_role("tab", name="Details").or_(page.get_by_role("link", name="Details")).first.click()
    link = page.get_by_role("link", name="Xtreme1 dataset")
    link.wait_for()
    assert link.get_attribute("href") == dataset_page(local, e2e)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-task-xtreme1-dataset-link.png"), full_page=True)


def test_connection_test_button_works_on_the_first_try(local, page):
    """The README's connection shape — scheme and host in *Xtreme1 URL*, the port in *Port* — passes
    Admin → Connections → *Test Connection* at once. (With the port inside the URL, Airflow 3.3's button
    sends port 0 and its API refuses the test: "Bad Request".)"""
    url = urllib.parse.urlsplit(local.emulator_url)
    local.airflow.request(
        "POST",
        "/api/v2/connections",
        expect=(201,),
        json={
            "connection_id": "xtreme1_ui_test",
            "conn_type": "xtreme1",
            "host": f"http://{url.hostname}",
            "port": url.port,
            "password": TEST_TOKEN,
        },
    )
    page.goto(f"{local.airflow.url}/connections")
    row = page.get_by_role("row").filter(has_text="xtreme1_ui_test")
    row.get_by_role("button", name="Test Connection").click()
    page.get_by_text("Test Connection Successful").wait_for()
    assert page.get_by_text(f"Connected to Xtreme1 at {local.emulator_url}/api").first.is_visible()
    assert page.get_by_text("Test Connection Failed").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-connection-test-button.png"), full_page=True)

    # What the README warns about: the port inside the URL (and none in Port) is refused by Airflow itself.
    local.airflow.request(
        "POST",
        "/api/v2/connections",
        expect=(201,),
        json={
            "connection_id": "xtreme1_ui_url_port",
            "conn_type": "xtreme1",
            "host": local.emulator_url,
            "password": TEST_TOKEN,
        },
    )
    page.reload()
    row = page.get_by_role("row").filter(has_text="xtreme1_ui_url_port")
    row.get_by_role("button", name="Test Connection").click()
    page.get_by_text("Test Connection Failed").wait_for()
    # the UI shows the status text; the API's reason is "the host or port to test differs from the stored
    # connection" (the button sent port 0 for the empty Port field)
    assert page.get_by_text("Bad Request", exact=True).first.is_visible()
