"""Recovery at the operator level: starts that may or may not have reached the server, refused presigned
URLs, jobs that stop progressing, and deferrable waits that survive poll errors, triggerer restarts and
task retries. Operators run for real (``execute`` with a minimal context) against the emulator.

Extends tests/operators (model-run start answered too late or lost, export URL renewed once, sync
stall of a model run, re-attach of an import) and tests/triggers (transient errors and restart of an
import trigger) to the other job kinds and the remaining faults.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from reliability_kit import FAST

from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import (
    Xtreme1AnswerLostError,
    Xtreme1ApiError,
    Xtreme1JobStalledError,
    Xtreme1TransportError,
    Xtreme1UrlExpiredError,
)
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1ImportDatasetOperator, Xtreme1PutArchiveOperator
from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger

LIDAR_MODEL = 1


class StateStore(dict):
    """The task state store's ``get``/``set`` (what survives between tries of a task)."""

    def set(self, key: str, value: Any, **_: Any) -> None:
        self[key] = value

    def delete(self, key: str) -> None:
        self.pop(key, None)


class TryOf:
    """The part of a TaskInstance the operators use, for one try of a task."""

    def __init__(self, try_number: int = 1, xcom: dict[str, Any] | None = None):
        self.try_number = try_number
        self.xcom: dict[str, Any] = dict(xcom or {})

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str | None = None) -> Any:
        return self.xcom.get(key)


def context(try_number: int = 1, store: StateStore | None = None, xcom: dict | None = None) -> dict[str, Any]:
    return {"ti": TryOf(try_number, xcom), "task_state_store": store if store is not None else StateStore()}


def fast(operator: Any, timeout: float | None = None) -> Any:
    """The operator, with a hook that retries like ``FAST`` (the operator's own code does the rest)."""
    operator.hook = Xtreme1Hook(operator.xtreme1_conn_id, retry_policy=FAST, request_timeout=timeout)
    return operator


def requests_to(emu, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in emu.request_log if r["method"] == method and r["path"] == "/api" + path]


def run_model(dataset_id: int, **kwargs: Any) -> Xtreme1RunModelOperator:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    op = Xtreme1RunModelOperator(
        task_id="run_model", dataset_id=dataset_id, model=LIDAR_MODEL, classes="CAR", **kwargs
    )
    op.discovery_timeout = 0.5
    op.discovery_interval = 0.05
    return op


def export_op(dataset_id: int, destination: Any, **kwargs: Any) -> Xtreme1ExportOperator:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    return Xtreme1ExportOperator(
        task_id="export", dataset_id=dataset_id, destination=destination, progress_interval=-1, **kwargs
    )


async def collect(trigger: Any) -> list[Any]:
    return [event async for event in trigger.run()]


def resume(op: Any, ctx: dict[str, Any], deferred: Any, *, restart_after: float | None = None) -> Any:
    """Run the trigger the task deferred to, as the triggerer would, and resume the task with its event.

    With ``restart_after``, the triggerer "restarts" after that many seconds: the running trigger is
    cancelled and a new one is built from its serialised kwargs (what the metadata DB holds).
    """
    trigger = deferred.trigger
    if restart_after is not None:

        async def run_then_cancel() -> None:
            task = asyncio.ensure_future(trigger.run().__anext__())
            await asyncio.sleep(restart_after)
            assert not task.done(), "the job should still be running when the triggerer restarts"
            task.cancel()

        asyncio.run(run_then_cancel())
        path, kwargs = trigger.serialize()
        assert path.endswith("Xtreme1JobTrigger")
        trigger = Xtreme1JobTrigger(**kwargs)
    (event,) = asyncio.run(collect(trigger))
    return getattr(op, deferred.method_name)(ctx, event.payload)


# ------------------------------------------------------------------------------- starts of model runs


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        (Fault(path=r"^/api/model/modelRun$", kind="status", status=503), "retried"),
        (Fault(path=r"^/api/model/modelRun$", kind="status", status=502), "looked, none, failed"),
        (Fault(path=r"^/api/model/modelRun$", kind="status", status=504), "looked, none, failed"),
        (Fault(path=r"^/api/model/modelRun$", kind="drop"), "looked, none, failed"),
        (Fault(path=r"^/api/model/modelRun$", kind="delay", delay=0.5), "looked, found, carried on"),
        (Fault(path=r"^/api/model/modelRun$", kind="status", status=429, retry_after="0.1"), "retried"),
    ],
    ids=["503", "502", "504", "drop", "read_timeout", "429"],
)
def test_model_run_start_fault(emu, lidar, fault, outcome):
    """Not repeated once it may have arrived; the operator then looks for the run the start may have made."""
    emu.inject(fault)
    op = fast(run_model(lidar["id"]), timeout=0.25 if fault.kind == "delay" else None)
    if outcome.endswith("failed"):
        with pytest.raises(Xtreme1TransportError, match=r"POST /model/modelRun.*may have processed it"):
            op.execute(context())
        assert len(requests_to(emu, "GET", "/modelRun/findModelRunRecordByPage")) >= 3  # before + looking
        assert len(requests_to(emu, "POST", "/model/modelRun")) == 1
        return
    result = op.execute(context())
    assert result["status"] == "SUCCESS"
    emu.wait_idle()  # the late answer is logged when it is sent
    posts = requests_to(emu, "POST", "/model/modelRun")
    assert len(posts) == (1 if fault.kind == "delay" else 2)
    assert [p["status"] for p in posts][-1] == 200


@pytest.mark.parametrize("status", [502, 504])
def test_import_and_export_starts_fail_fast(emu, lidar, tmp_path, status):
    """No serial number came back, so nothing can be looked up: fail naming the endpoint, start once."""
    emu.inject(Fault(path=r"^/api/data/(upload|export)$", kind="status", status=status, times=None))
    importer = fast(
        Xtreme1ImportDatasetOperator(
            task_id="import", dataset_id=lidar["id"], file_url="http://minio:9000/xtreme1/none/a.zip"
        )
    )
    with pytest.raises(Xtreme1TransportError, match=r"POST /data/upload: HTTP \d+.*may have processed it"):
        importer.execute(context())
    with pytest.raises(Xtreme1TransportError, match=r"GET /data/export: HTTP \d+.*may have processed it"):
        fast(export_op(lidar["id"], tmp_path / "x.zip")).execute(context())
    assert len(requests_to(emu, "POST", "/data/upload")) == len(requests_to(emu, "GET", "/data/export")) == 1
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------- lost answers, through Airflow

LOST_ANSWERS = [
    pytest.param("drop_answer", id="dropped"),
    pytest.param("stall_answer", id="past_read_timeout"),
]


def lost_answer(kind: str, path: str, method: str) -> Fault:
    """The request is handled in full, then its answer never arrives (dropped, or later than 1 s)."""
    return Fault(path=path, method=method, kind=kind, delay=2.0)


@pytest.mark.parametrize("kind", LOST_ANSWERS)
def test_lost_import_answer_imports_once_across_retries(emu, dagbag, tmp_path, monkeypatch, capfd, kind):
    from xtreme1_testing import connection_uri, run_dag

    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    monkeypatch.setenv("AIRFLOW_CONN_XTREME1_DEFAULT", connection_uri(emu.url, timeout=1))
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=2, with_results=False)
    before = len(emu._store.uploads)
    emu.inject(lost_answer(kind, r"^/api/data/upload$", "POST"))
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_upload_one_task"),
        conf={"source": str(source), "dataset_name": f"lost-{kind}", "dataset_type": "LIDAR_BASIC"},
        upload={"retries": 2, "retry_delay": timedelta(0)},
    )
    out, err = capfd.readouterr()
    assert run.state == "failed" and tis["upload"].state == "failed"
    assert tis["upload"].try_number == 1, "a lost answer must not be retried by Airflow"
    assert len(emu._store.uploads) == before + 1, "the archive was imported more than once"
    assert len(requests_to(emu, "POST", "/data/upload")) == 1
    assert re.search(r"An import of src\.zip into Xtreme1 dataset \d+ may have started", out + err)
    assert "clear this task" in out + err


@pytest.mark.parametrize("kind", LOST_ANSWERS)
def test_lost_export_answer_exports_once_across_retries(
    emu, dagbag, lidar, tmp_path, monkeypatch, capfd, kind
):
    from xtreme1_testing import connection_uri, run_dag

    monkeypatch.setenv("AIRFLOW_CONN_XTREME1_DEFAULT", connection_uri(emu.url, timeout=1))
    before = len(emu._store.exports)
    emu.inject(lost_answer(kind, r"^/api/data/export$", "GET"))
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_export"),
        conf={"dataset_id": lidar["id"], "destination": f"file://{tmp_path}/exports/"},
        export_ground_truth={"retries": 2, "retry_delay": timedelta(0), "poll_interval": 0.1},
    )
    out, err = capfd.readouterr()
    assert run.state == "failed" and tis["export_ground_truth"].try_number == 1
    assert len(emu._store.exports) == before + 1, "the export was started more than once"
    assert len(requests_to(emu, "GET", "/data/export")) == 1
    assert f"An export of Xtreme1 dataset {lidar['id']}" in out + err
    assert not (tmp_path / "exports").exists() or not list((tmp_path / "exports").iterdir())


def test_try_after_a_worker_died_mid_start_does_not_start_again(emu, lidar):
    """A try that died between sending the start and storing the serial leaves its marker behind."""
    store = StateStore()
    store.set(
        "xtreme1_import_starting",
        {"what": "An import of a.zip into Xtreme1 dataset 1", "try": 1, "sent_at": "T", "reported": False},
    )
    op = fast(
        Xtreme1ImportDatasetOperator(
            task_id="import", dataset_id=lidar["id"], file_url="http://minio:9000/xtreme1/none/a.zip"
        )
    )
    with pytest.raises(Xtreme1AnswerLostError, match=r"a\.zip .* may have started.*try 1 sent the request"):
        op.execute(context(try_number=2, store=store))
    assert not requests_to(emu, "POST", "/data/upload")
    assert store["xtreme1_import_starting"]["reported"] is True


def test_task_cleared_after_a_lost_answer_starts_anew(emu, lidar, uploaded, capfd):
    """After the failure was reported, a new try is the user's decision: it imports (once)."""
    store = StateStore()
    emu.inject(Fault(path=r"^/api/data/upload$", kind="drop_answer"))
    op = fast(Xtreme1ImportDatasetOperator(task_id="import", dataset_id=lidar["id"], file_url=uploaded))
    op.poll_interval = 0.05
    with pytest.raises(Xtreme1AnswerLostError):
        op.execute(context(store=store))
    op = fast(Xtreme1ImportDatasetOperator(task_id="import", dataset_id=lidar["id"], file_url=uploaded))
    op.poll_interval = 0.05
    result = op.execute(context(try_number=2, store=store))
    assert result["status"] == "PARSE_COMPLETED"
    assert len(requests_to(emu, "POST", "/data/upload")) == 2
    assert "xtreme1_import_starting" not in store
    assert "could not tell whether its import started" in "".join(capfd.readouterr())


def test_refused_start_leaves_no_marker(emu, lidar, uploaded):
    store = StateStore()
    emu.inject(Fault(path=r"^/api/data/upload$", kind="envelope", status=500, times=1))
    op = fast(Xtreme1ImportDatasetOperator(task_id="import", dataset_id=lidar["id"], file_url=uploaded))
    with pytest.raises(Xtreme1ApiError):
        op.execute(context(store=store))
    assert "xtreme1_import_starting" not in store


# ---------------------------------------------------------------------------------- refused storage URLs


@pytest.fixture
def archive(tmp_path, lidar):
    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    folder = make_sample_dataset(tmp_path / "set", "LIDAR_FUSION", items=1)
    from airflow_provider_xtreme1.archives import pack_dataset

    return pack_dataset(folder, "LIDAR_FUSION", tmp_path / "set.zip").path


def put_op(emu, lidar, archive, **kwargs: Any) -> Xtreme1PutArchiveOperator:
    with Xtreme1Hook() as hook:
        target = hook.get_presigned_upload_url(lidar["id"], "set.zip")
    return fast(
        Xtreme1PutArchiveOperator(
            task_id="put",
            presigned_url=target["presignedUrl"],
            access_url=target["accessUrl"],
            source=str(archive),
            progress_interval=-1,
            **kwargs,
        )
    )


def test_put_archive_with_dataset_id_gets_a_new_url(emu, lidar, archive):
    op = put_op(emu, lidar, archive, dataset_id=lidar["id"])
    emu.reset()
    emu.inject(Fault(path=r"^/minio/", method="PUT", kind="status", status=403, times=1))
    result = op.execute(context())
    assert [r["status"] for r in emu.storage_log if r["method"] == "PUT"] == [403, 200]
    assert len(requests_to(emu, "GET", "/data/generatePresignedUrl")) == 1  # the renewal
    assert result["access_url"] != op.access_url and result["bytes"] == archive.stat().st_size


def test_put_archive_refused_again_or_without_dataset_id_fails_clearly(emu, lidar, archive):
    emu.inject(Fault(path=r"^/minio/", method="PUT", kind="status", status=403, times=None))
    with pytest.raises(Xtreme1UrlExpiredError, match=r"HTTP 403.*expired or its signature.*GetUploadUrl"):
        put_op(emu, lidar, archive, dataset_id=lidar["id"]).execute(context())
    assert len([r for r in emu.storage_log if r["method"] == "PUT"]) == 2  # the URL, then one new URL
    op = put_op(emu, lidar, archive, dataset_type="LIDAR_FUSION")
    emu.reset()
    emu.inject(Fault(path=r"^/minio/", method="PUT", kind="status", status=403, times=None))
    with pytest.raises(Xtreme1UrlExpiredError, match=r"GetUploadUrl") as info:
        op.execute(context())
    assert "X-Amz-Signature=***" in str(info.value)
    assert len([r for r in emu.storage_log if r["method"] == "PUT"]) == 1
    assert requests_to(emu, "GET", "/data/generatePresignedUrl") == []


def test_export_download_refused_twice_fails_clearly(emu, lidar, tmp_path):
    emu.inject(Fault(path=r"^/minio/", method="GET", kind="status", status=403, times=None))
    with pytest.raises(Xtreme1UrlExpiredError, match=r"HTTP 403.*expired or its signature") as info:
        fast(export_op(lidar["id"], tmp_path / "gt.zip")).execute(context())
    assert "X-Amz-Signature=***" in str(info.value)
    assert len([r for r in emu.storage_log if r["method"] == "GET"]) == 2  # filePath, then a re-signed one
    assert not list(tmp_path.iterdir()), "nothing is left at the destination"


# ---------------------------------------------------------------------------------------------- stalls


@pytest.fixture
def uploaded(emu, lidar, tmp_path) -> str:
    """The access URL of an archive in the emulator's storage (what an import downloads)."""
    from airflow_provider_xtreme1.archives import plan_zip
    from airflow_provider_xtreme1.sample_data import make_sample_dataset
    from airflow_provider_xtreme1.transfer import upload

    folder = make_sample_dataset(tmp_path / "one", "LIDAR_FUSION", items=1)
    with Xtreme1Hook() as hook:
        target = hook.get_presigned_upload_url(lidar["id"], "one.zip")
    upload(target["presignedUrl"], plan_zip(folder, "LIDAR_FUSION"), progress_interval=-1)
    emu.reset()
    return target["accessUrl"]


def run_until_stalled(op: Any, ctx: dict[str, Any], deferrable: bool, message: str) -> None:
    """The task stalls: a sync task while waiting; a deferrable one defers first (asserted on its own,
    so a task that stalls without deferring fails) and the stall comes from its trigger's event."""
    if not deferrable:
        with pytest.raises(Xtreme1JobStalledError, match=message):
            op.execute(ctx)
        return
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    with pytest.raises(Xtreme1JobStalledError, match=message):
        resume(op, ctx, deferred.value)


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
@pytest.mark.parametrize("stall_at", ["UNSTARTED", "DOWNLOAD_COMPLETED"])
def test_stalled_import(emu, lidar, uploaded, fast_retries, stall_at, deferrable):
    # tests/operators/test_upload.py covers DOWNLOADING (sync, dag.test) and the timeout at PARSING.
    emu.inject(Fault(path=r"^/api/data/upload$", kind="stall", stall_at=stall_at))
    op = Xtreme1ImportDatasetOperator(
        task_id="import",
        dataset_id=lidar["id"],
        file_url=uploaded,
        poll_interval=0.05,
        stall_timeout=0.4,
        deferrable=deferrable,
    )
    ctx = context()
    run_until_stalled(op, ctx, deferrable, rf"stalled at {stall_at}: no progress")
    assert ctx["ti"].xcom["serial_numbers"], "the serial was pushed before waiting"


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_stalled_export(emu, lidar, tmp_path, fast_retries, deferrable):
    emu.inject(Fault(path=r"^/api/data/export$", kind="stall"))
    op = export_op(lidar["id"], tmp_path / "gt.zip", stall_timeout=0.4, deferrable=deferrable)
    ctx = context()
    run_until_stalled(op, ctx, deferrable, r"export \d+ stalled at GENERATING")
    assert not list(tmp_path.iterdir())


def test_export_of_nothing_stalls_in_the_trigger(emu, lidar, fast_retries):
    """The server never finishes an export matching no data (it stays GENERATING); the operator refuses
    to start one (tests/operators), and a trigger waiting on one fails on stall_timeout."""
    with Xtreme1Hook() as hook:
        serial = hook.start_export(lidar["id"], ids=[987654321])
    trigger = Xtreme1JobTrigger("xtreme1_default", "export", [serial], poll_interval=0.05, stall_timeout=0.4)
    (event,) = asyncio.run(collect(trigger))
    assert event.payload["outcome"] == "stalled" and "stalled at GENERATING" in event.payload["message"]


def test_model_run_that_never_finishes_stalls_when_deferred(emu, lidar, fast_retries):
    # The sync wait is covered by tests/operators/test_models.py.
    emu.step_delay = 3.0  # the run stays STARTED
    op = run_model(lidar["id"], deferrable=True, stall_timeout=0.4)
    from airflow.sdk.exceptions import TaskDeferred

    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    with pytest.raises(Xtreme1JobStalledError, match=r"model run \d+ stalled at STARTED"):
        resume(op, ctx, deferred.value)
    emu.step_delay = 0.05


# -------------------------------------------------------------------------------- deferrable waits


@pytest.mark.parametrize("kind", ["export", "model_run"])
def test_transient_poll_errors_in_the_trigger_do_not_fail(emu, lidar, fast_retries, kind):
    # More failures in a row than one poll's retries (3 attempts): a whole poll fails, the next succeeds.
    with Xtreme1Hook() as hook:
        if kind == "export":
            ids = [hook.start_export(lidar["id"])]
            path = r"^/api/data/findExportRecordBySerialNumbers$"
        else:
            hook.start_model_run(lidar["id"], LIDAR_MODEL, classes=["CAR"])
            ids = [
                str(
                    hook.find_model_runs(LIDAR_MODEL, dataset_ids=[lidar["id"]], page_size=1)["list"][0]["id"]
                )
            ]
            path = r"^/api/modelRun/findModelRunRecordByDatasetId/\d+$"
    emu.reset()
    emu.inject(Fault(path=path, kind="status", status=503, times=2))
    emu.inject(Fault(path=path, kind="drop", times=2))
    emu.inject(Fault(path=path, kind="status", status=429, retry_after="0.05", times=1))
    trigger = Xtreme1JobTrigger("xtreme1_default", kind, ids, dataset_id=lidar["id"], poll_interval=0.05)
    (event,) = asyncio.run(collect(trigger))
    assert event.payload["outcome"] == "succeeded", event.payload
    polls = [r for r in emu.request_log if r["path"].startswith(("/api/data/find", "/api/modelRun/find"))]
    assert [r["status"] for r in polls][:2] == [503, 503] and polls[-1]["status"] == 200
    assert len(polls) >= 6


@pytest.mark.parametrize("kind", ["export", "model_run"])
def test_triggerer_restart_resumes_the_same_job(emu, lidar, tmp_path, fast_retries, kind):
    emu.step_delay = 0.25
    op = (
        export_op(lidar["id"], tmp_path / "gt.zip", deferrable=True)
        if kind == "export"
        else run_model(lidar["id"], deferrable=True)
    )
    from airflow.sdk.exceptions import TaskDeferred

    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    ids = deferred.value.trigger.ids
    result = resume(op, ctx, deferred.value, restart_after=0.15)
    emu.step_delay = 0.05
    if kind == "export":
        assert result["serial_number"] == ids[0] and (tmp_path / "gt.zip").stat().st_size == result["bytes"]
        assert len(requests_to(emu, "GET", "/data/export")) == 1
    else:
        assert str(result["run_id"]) == ids[0] and result["status"] == "SUCCESS"
        assert len(requests_to(emu, "POST", "/model/modelRun")) == 1


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
@pytest.mark.parametrize("kind", ["export", "model_run"])
def test_task_retry_reattaches_to_the_started_job(emu, lidar, tmp_path, fast_retries, kind, deferrable):
    """The first try fails after the job started (a non-retryable error on the first status poll); the
    retry waits on that job instead of starting a second one."""
    records = (
        r"^/api/data/findExportRecordBySerialNumbers$"
        if kind == "export"
        else r"^/api/modelRun/findModelRunRecordByDatasetId/\d+$"
    )

    def make() -> Any:
        if kind == "export":
            return export_op(lidar["id"], tmp_path / "gt.zip", deferrable=deferrable)
        return run_model(lidar["id"], deferrable=deferrable)

    emu.inject(Fault(path=records, kind="envelope", status=500, code="UNKNOWN", message="boom", times=1))
    store = StateStore()
    first = context(1, store)
    with pytest.raises(Xtreme1ApiError, match="UNKNOWN: boom"):
        make().execute(first)
    ids = first["ti"].xcom[make().ids_xcom_key]

    from airflow.sdk.exceptions import TaskDeferred

    op, second = make(), context(2, store, first["ti"].xcom)
    try:
        result = op.execute(second)
    except TaskDeferred as deferred:
        assert deferred.trigger.ids == ids
        result = resume(op, second, deferred)
    assert second["ti"].xcom[op.ids_xcom_key] == ids
    if kind == "export":
        assert result["serial_number"] == ids[0] and len(requests_to(emu, "GET", "/data/export")) == 1
    else:
        assert str(result["run_id"]) == ids[0] and len(requests_to(emu, "POST", "/model/modelRun")) == 1
