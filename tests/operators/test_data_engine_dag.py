"""The data-engine example DAG end to end with ``dag.test()``: simulated annotators finish while the
sensor is deferred, a reviewer answers the approval form, and the export asset queues the training DAG."""

from __future__ import annotations

import threading
import time

import pytest
from annotation_kit import Annotators, answer_hitl
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.sample_data import make_sample_dataset

FAST = {"poll_interval": 0.2}
APPROVE, MARK_INVALID, RERUN = "Approve", "Reject: mark items invalid", "Reject: re-run the model"


@pytest.fixture
def engine(dagbag):
    return dagbag.get_dag("xtreme1_data_engine")


def overrides(**extra: dict) -> dict:
    fast = {
        t: FAST
        for t in ("upload", "prelabel", "rerun_model", "export_training", "export_validation", "export_test")
    }
    return {**fast, "wait_for_annotators": {"poke_interval": 0.2, "deferrable": True}, **extra}


class Labelling(threading.Thread):
    """Once the sensor first looks at the dataset: give the model run metrics, then annotate every item
    (``invalid`` of them marked invalid) at annotator pace."""

    def __init__(self, emu, name: str, precision: str = "0.9", invalid: int = 0):
        super().__init__(daemon=True)
        self.emu, self.name, self.precision, self.invalid = emu, name, precision, invalid
        self.errors: list[BaseException] = []
        self.data_ids: list[int] = []

    def run(self) -> None:
        from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

        try:
            hook = Xtreme1Hook()
            deadline = time.monotonic() + 120
            dataset = None
            while time.monotonic() < deadline:
                dataset = hook.find_dataset_by_name(self.name)
                path = None if dataset is None else f"/api/dataset/{dataset['id']}/statistics/dataStatus"
                if path and any(r["path"] == path for r in list(self.emu.request_log)):
                    break
                time.sleep(0.1)
            assert dataset is not None
            run = hook.get_model_runs_of_dataset(dataset["id"])[0]
            self.emu.set_run_metrics(
                int(run["id"]), [{"name": "precision", "value": self.precision, "description": "mAP@0.5"}]
            )
            self.emu.add_class(dataset["id"], "Car", "BOUNDING_BOX")
            self.data_ids = sorted(int(d["id"]) for d in hook.find_data(dataset["id"], page_size=100)["list"])
            annotators = Annotators(
                self.emu, self.data_ids, delay=0.5, pace=0.1, invalid=tuple(self.data_ids[: self.invalid])
            )
            annotators.run()
            self.errors += annotators.errors
        except BaseException as err:
            self.errors.append(err)


def start_engine(emu, engine, tmp_path, name: str, option: str, params_input: dict | None = None, **kw):
    emu.step_delay = 0.02
    source = make_sample_dataset(tmp_path / "batch", "IMAGE", items=6, with_results=False)
    labelling = Labelling(emu, name, **kw)
    labelling.start()
    answer = (lambda: params_input(labelling)) if callable(params_input) else params_input
    reviewer = answer_hitl("xtreme1_data_engine", "review", option, answer)
    run, tis = run_dag(
        engine,
        conf={"source_folder": str(source), "dataset_name": name, "output_dir": str(tmp_path / "out")},
        **overrides(),
    )
    labelling.join(30)
    assert not labelling.errors, labelling.errors
    return run, tis, labelling, reviewer


def test_approved_batch_is_split_exported_and_starts_training(emu, engine, dagbag, tmp_path, capfd):
    run, tis, _, reviewer = start_engine(emu, engine, tmp_path, "engine-approve", APPROVE, invalid=1)
    states = {t: ti.state for t, ti in tis.items()}
    assert run.state == "success", states
    assert reviewer.answered
    assert (states["mark_invalid"], states["rerun_model"], states["metrics_below_threshold"]) == (
        "skipped",
    ) * 3
    progress = xcom(run, "wait_for_annotators")
    assert (progress["annotated"], progress["invalid"], progress["total"]) == (5, 1, 5)
    polls = [r for r in emu.request_log if r["path"].endswith("/statistics/dataStatus")]
    assert len(polls) >= 3, "the deferred sensor's trigger polled while annotators worked"
    # the reviewer saw counts, class statistics and the metrics
    body = reviewer.body
    assert "Annotated **5 / 5** items (1 marked invalid, 0 locked)" in body
    assert "**precision** 0.9" in body and "| Car | BOUNDING_BOX |" in body
    split = xcom(run, "split")
    assert split["counts"] == {"TRAINING": 4, "VALIDATION": 1, "TEST": 1, "NOT_SPLIT": 0}
    exported = {s: xcom(run, f"export_{s}") for s in ("training", "validation", "test")}
    assert all(e["bytes"] > 0 for e in exported.values())
    manifest = xcom(run, "publish")

    # the asset event carries the manifest and queues the training DAG
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = session.query(AssetModel).filter_by(name="xtreme1_data_engine_export").one()
        events = session.query(AssetEvent).filter_by(asset_id=asset.id, source_run_id=run.run_id).all()
        assert [e.extra["manifest"] for e in events] == [manifest]
        queued = session.query(AssetDagRunQueue).filter_by(asset_id=asset.id).all()
        assert "xtreme1_train_on_export" in {q.target_dag_id for q in queued}

    train, _ = run_dag(dagbag.get_dag("xtreme1_train_on_export"), conf={"manifest": manifest})
    assert train.state == "success"
    counts = xcom(train, "train")
    # 5 annotated items: 4 in training (one of which was marked invalid, so not exported) ...
    assert {s: c["result_files"] for s, c in counts.items()} == {"TRAINING": 3, "VALIDATION": 1, "TEST": 1}
    assert all(c["objects"] >= c["result_files"] for c in counts.values())
    assert "TRAINING: 3 items" in capfd.readouterr().out


def test_reject_without_ids_fails_naming_what_is_missing(emu, engine, tmp_path, capfd):
    answer = {"invalid_ids": []}
    run, tis, _, _ = start_engine(emu, engine, tmp_path, "engine-reject", MARK_INVALID, answer)
    assert run.state == "failed"
    assert tis["mark_invalid"].state == "failed" and tis["split"].state == "skipped"
    assert "data_ids must name at least one data id" in capfd.readouterr().out


def test_reject_marks_the_named_items_invalid(emu, engine, tmp_path):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    def answer(labelling):
        return {"invalid_ids": labelling.data_ids[:2]}

    run, tis, labelling, _ = start_engine(emu, engine, tmp_path, "engine-mark", MARK_INVALID, answer)
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    marked = xcom(run, "mark_invalid")
    assert marked["data_ids"] == labelling.data_ids[:2]
    assert tis["split"].state == "skipped" and tis["rerun_model"].state == "skipped"
    status = Xtreme1Hook().get_data_status(marked["data_ids"])
    assert {d["annotationStatus"] for d in status} == {"INVALID"}


def test_low_metrics_rerun_the_model(emu, engine, tmp_path):
    run, tis, _, reviewer = start_engine(emu, engine, tmp_path, "engine-low", APPROVE, precision="0.2")
    states = {t: ti.state for t, ti in tis.items()}
    assert run.state == "success", states
    assert not reviewer.answered and states["review"] == "skipped"
    assert (states["metrics_below_threshold"], states["rerun_model"], states["split"]) == (
        "success",
        "success",
        "skipped",
    )
