"""Xtreme1RunModelOperator and Xtreme1ExportPredictionsOperator against the emulator, and the example
DAGs that use them (pre-label, end to end) in sync and deferrable mode."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from operator_helpers import request_paths, run_task
from xtreme1_testing import TEST_TOKEN, all_xcoms, connection_uri, numeric_serials, run_dag, xcom

from airflow_provider_xtreme1.emulator.faults import Fault
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1JobFailedError,
    Xtreme1JobStalledError,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.operators.export import Xtreme1ExportPredictionsOperator
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
from airflow_provider_xtreme1.sample_data import make_sample_dataset

LIDAR_MODEL, IMAGE_MODEL = 1, 2


def run_model(dataset_id: int, model=LIDAR_MODEL, **kwargs) -> Xtreme1RunModelOperator:
    kwargs.setdefault("poll_interval", 0.1)
    return Xtreme1RunModelOperator(
        task_id="run_model", dataset_id=dataset_id, model=model, deferrable=False, **kwargs
    )


@pytest.fixture
def hook(emu):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    return Xtreme1Hook()


@pytest.fixture
def model_failures(emu):
    """Make model 1 fail on some or all items for one test."""
    yield lambda mode: emu.set_model_failures(LIDAR_MODEL, mode)
    emu.set_model_failures(LIDAR_MODEL, None)


def read_lines(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def source_names(zip_path: str | Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return {
            source["sourceName"]
            for name in zf.namelist()
            if "/result/" in name
            for source in json.loads(zf.read(name))
        }


# -------------------------------------------------------------------------------------------- the DAGs


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_prelabel_dag(emu, dagbag, lidar_dataset, tmp_path, deferrable):
    wait = {"deferrable": deferrable, "poll_interval": 0.2}
    dag = dagbag.get_dag("xtreme1_prelabel")
    run, tis = run_dag(
        dag,
        conf={"dataset_id": lidar_dataset["id"], "classes": ["truck", "Bus"], "output_dir": str(tmp_path)},
        run_model=wait,
        export=wait,
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    model_run = xcom(run, "run_model")
    # no evaluation service answered, so the server's metrics are null
    assert model_run["status"] == "SUCCESS" and model_run["data_count"] == 4 and model_run["metrics"] is None
    assert xcom(run, "run_model", key="run_ids") == [str(model_run["run_id"])]
    start = request_paths(emu, "POST", "/model/modelRun")
    assert len(start) == 1
    # the model's Runs tab (the web app has no page of one run), also after a deferral
    runs_page = f"{emu.url}/#/models/detail?id={model_run['model_id']}&tabId=RUNS"
    assert xcom(run, "run_model", key="_link_Xtreme1ModelRunsLink") == runs_page

    export = xcom(run, "export")
    assert source_names(export["uri"]) == {"Ground Truth", model_run["run_no"]}
    assert Path(export["unpacked_to"], "scene_01", "data").is_dir()

    predictions = xcom(run, "predictions")
    lines = read_lines(predictions["uri"])
    assert predictions["items"] == len(lines) == 4
    classes = {o["classAttributes"]["modelClass"] for line in lines for o in line["objects"]}
    # the model predicts more classes; the run kept these, named as the seed names them (" Bus")
    assert classes == {"Truck", " Bus"}


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_end_to_end_dag(emu, dagbag, tmp_path, deferrable):
    source = make_sample_dataset(tmp_path / "drive", "LIDAR_FUSION", items=2, scenes=1, cameras=1)
    name = f"e2e-{'deferred' if deferrable else 'sync'}-{tmp_path.name[-12:]}"
    wait = {"deferrable": deferrable, "poll_interval": 0.2}
    dag = dagbag.get_dag("xtreme1_end_to_end")
    run, tis = run_dag(
        dag,
        conf={"source_folder": str(source), "dataset_name": name, "output_dir": str(tmp_path / "out")},
        upload=wait,
        run_model=wait,
        export=wait,
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert xcom(run, "upload")["status"] == "PARSE_COMPLETED"
    model_run = xcom(run, "run_model")
    assert model_run["status"] == "SUCCESS" and model_run["dataset_id"] == xcom(run, "ensure_dataset")
    export = xcom(run, "export")
    assert Path(export["uri"]).parent.parent == tmp_path / "out"
    assert source_names(export["uri"]) == {"Ground Truth", model_run["run_no"]}
    assert xcom(run, "predictions")["objects"] > 0
    # Serial numbers are 19-digit: in XCom they must be text (the UI shows numbers as JS doubles)
    xcoms = all_xcoms(run)
    assert isinstance(xcoms[("upload", "serial_numbers")][0], str)
    assert isinstance(xcoms[("export", "serial_numbers")][0], str)
    assert [f"{task}/{key}{path}" for (task, key), v in xcoms.items() for path in numeric_serials(v)] == []


# ---------------------------------------------------------------------------------- finding the run id


def test_new_run_is_found_next_to_an_earlier_one(emu, hook, lidar_dataset):
    first, _ = run_task(run_model(lidar_dataset["id"]))
    second, ti = run_task(run_model(lidar_dataset["id"], classes="CAR,BUS", min_confidence=0.5))
    assert second["run_id"] > first["run_id"]
    assert ti.xcom["run_ids"] == [str(second["run_id"])]
    newest = hook.find_model_runs(LIDAR_MODEL, dataset_ids=[lidar_dataset["id"]], page_size=1)["list"][0]
    assert newest["id"] == second["run_id"]
    assert newest["resultFilterParam"]["classes"] == ["CAR", "BUS"]
    assert newest["resultFilterParam"]["minConfidence"] == 0.5


def test_start_answered_too_late_still_finds_the_run(emu, lidar_dataset, monkeypatch):
    # The server got the request, but the answer came after the client gave up (read timeout 1 s).
    monkeypatch.setenv("AIRFLOW_CONN_XTREME1_SLOW", connection_uri(emu.url, TEST_TOKEN, timeout=1))
    emu.inject(Fault(path=r"^/api/model/modelRun$", method="POST", kind="delay", delay=1.5))
    result, _ = run_task(run_model(lidar_dataset["id"], xtreme1_conn_id="xtreme1_slow"))
    assert result["status"] == "SUCCESS"
    assert len(request_paths(emu, "POST", "/model/modelRun")) == 1  # not sent twice


def test_start_lost_fails_after_looking_for_a_run(emu, lidar_dataset):
    emu.inject(Fault(path=r"^/api/model/modelRun$", method="POST", kind="drop"))
    op = run_model(lidar_dataset["id"])
    op.discovery_timeout = 0.3
    with pytest.raises(Xtreme1TransportError, match=r"may have processed it"):
        run_task(op)
    assert len(request_paths(emu, "GET", "/modelRun/findModelRunRecordByPage")) >= 2


# ------------------------------------------------------------------------------------ before starting


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model": 99}, "no model with id 99.*Basic Lidar Object Detection11"),
        ({"model": "No Such Model"}, "no model named 'No Such Model'"),
        ({"model": IMAGE_MODEL}, "cannot run on a LIDAR_FUSION dataset"),
        ({"classes": ["car", "UFO", "dragon"]}, "no class 'UFO', 'dragon' .*codes: 'CAR', 'TRUCK'"),
        ({"split_type": "TEST"}, "No data .* match the model-run filters"),
    ],
    ids=["unknown-id", "unknown-name", "image-model", "unknown-classes", "no-matching-data"],
)
def test_checks_fail_before_starting(emu, lidar_dataset, arguments, message):
    with pytest.raises(Xtreme1ConfigError, match=message):
        run_task(run_model(lidar_dataset["id"], **arguments))
    assert request_paths(emu, "POST", "/model/modelRun") == []


def test_model_without_url_fails_before_starting(emu, lidar_dataset):
    # The emulator has no /model/add; a model whose URL was never configured is put in its store.
    unconfigured = {**emu._store.models[LIDAR_MODEL], "id": 77, "name": "Unconfigured", "url": " "}
    emu._store.models[77] = unconfigured
    try:
        with pytest.raises(Xtreme1ConfigError, match=r"has no URL configured"):
            run_task(run_model(lidar_dataset["id"], model="unconfigured"))
    finally:
        del emu._store.models[77]
    assert request_paths(emu, "POST", "/model/modelRun") == []


def test_model_is_found_by_name_or_code(emu, lidar_dataset):
    for given in ("basic lidar object detection11", "LIDAR_DETECTION", " 1 "):
        op = run_model(lidar_dataset["id"], model=given)
        assert op.resolve_model("LIDAR_FUSION")["id"] == LIDAR_MODEL
    model = run_model(1).resolve_model("LIDAR_BASIC")
    assert run_model(1, classes="pedestrian,Car").resolve_classes(model) == ["PEDESTRIAN", "CAR"]
    assert run_model(1, classes="['Traffic Cone']").resolve_classes(model) == ["TRAFFIC_CONE"]  # by name


# --------------------------------------------------------------------------------------- how runs end


@pytest.mark.parametrize("stall_at", ["STARTED", "RUNNING"])
def test_run_without_progress_fails_on_stall_timeout(emu, lidar_dataset, stall_at):
    # The run stops where a backend restart or a failing result handler leaves it.
    emu.inject(Fault(path=r"^/api/model/modelRun$", kind="stall", stall_at=stall_at))
    op = run_model(lidar_dataset["id"], stall_timeout=0.6, poll_interval=0.1)
    with pytest.raises(Xtreme1JobStalledError, match=rf"stalled at {stall_at}"):
        run_task(op)


def test_partial_success_warns(emu, lidar_dataset, model_failures):
    model_failures("partial")
    result, _ = run_task(run_model(lidar_dataset["id"]))
    assert result["status"] == "SUCCESS_WITH_ERROR"
    assert "Model service connection timed out" in result["error_reason"]
    assert result["warnings"] and result["metrics"] is None


def test_partial_success_fails_with_fail_on_warnings(emu, lidar_dataset, model_failures):
    model_failures("partial")
    with pytest.raises(Xtreme1JobFailedError, match=r"SUCCESS_WITH_ERROR.*fail_on_warnings"):
        run_task(run_model(lidar_dataset["id"], fail_on_warnings=True))


def test_failure_reports_the_error_reason(emu, lidar_dataset, model_failures):
    model_failures("all")
    with pytest.raises(Xtreme1JobFailedError, match=r"ended FAILURE: .*Model service connection timed out"):
        run_task(run_model(lidar_dataset["id"]))


# ------------------------------------------------------------------------------------------ predictions


def test_predictions_keep_geometry_of_that_run_only(emu, hook, lidar_dataset, tmp_path):
    earlier, _ = run_task(run_model(lidar_dataset["id"], classes=["TRUCK"]))
    result, _ = run_task(run_model(lidar_dataset["id"]))
    op = Xtreme1ExportPredictionsOperator(
        task_id="p",
        dataset_id=lidar_dataset["id"],
        run_id=result["run_id"],
        destination=f"file://{tmp_path}/",
    )
    out, _ = run_task(op)
    path = tmp_path / f"predictions-run-{result['run_id']}.jsonl"
    assert out["uri"] == str(path)
    lines = read_lines(path)
    assert out["items"] == len(lines) == 4
    assert [line["scene"] for line in lines].count("scene_01") == 2

    raw = hook.get_raw_annotations([line["dataId"] for line in lines])
    sources = {o["sourceId"] for entry in raw for o in entry["objects"]}
    assert {-1, earlier["run_id"], result["run_id"]} <= sources  # ground truth and two runs are stored
    objects = [o for line in lines for o in line["objects"]]
    assert out["objects"] == len(objects) > 0
    assert {o["sourceId"] for o in objects} == {result["run_id"]}
    assert all(
        {"center3D", "size3D", "rotation3D", "confidence"} <= set(o["classAttributes"]) for o in objects
    )

    with pytest.raises(Xtreme1ConfigError, match=r"already exists"):
        run_task(op)


def test_predictions_of_a_run_of_another_dataset_are_refused(emu, lidar_dataset, tmp_path):
    op = Xtreme1ExportPredictionsOperator(
        task_id="p", dataset_id=lidar_dataset["id"], run_id=987654, destination=tmp_path / "p.jsonl"
    )
    with pytest.raises(Xtreme1ConfigError, match=r"not a run of dataset"):
        run_task(op)
    assert not (tmp_path / "p.jsonl").exists()


def test_openlineage_facets_of_a_model_run(emu, lidar_dataset):
    pytest.importorskip("airflow.providers.openlineage")
    lineage = run_model(lidar_dataset["id"]).get_openlineage_facets_on_complete(None)
    host = emu.url.split("://", 1)[1]
    expected = [(f"xtreme1://{host}", f"datasets/{lidar_dataset['id']}")]
    assert [(d.namespace, d.name) for d in lineage.inputs] == expected
    assert [(d.namespace, d.name) for d in lineage.outputs] == expected


def test_seed_typos_in_class_codes_and_names_are_matched(emu, hook, lidar_dataset):
    # the seed has the code "CONSTRUCTION_VEHICLE " and the name " Bus"; both are found ignoring case and
    # surrounding spaces, and codes go to the server trimmed (the model services' labels have no spaces)
    op = run_model(lidar_dataset["id"], classes=["construction_vehicle", "bus ", " Construction Vehicle"])
    assert op.resolve_classes(hook.get_model(LIDAR_MODEL)) == ["CONSTRUCTION_VEHICLE", "BUS"]
    result, _ = run_task(run_model(lidar_dataset["id"], classes=["Construction_Vehicle", "car"]))
    assert result["status"] == "SUCCESS"
    assert emu._store.runs[int(result["run_id"])]["resultFilterParam"]["classes"] == [
        "CONSTRUCTION_VEHICLE",
        "CAR",
    ]
