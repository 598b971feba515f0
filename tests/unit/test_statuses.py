"""The one table of status rules: every (kind, status) pair has exactly one outcome."""

from __future__ import annotations

import pytest

from airflow_provider_xtreme1.exceptions import (
    Xtreme1JobError,
    Xtreme1JobFailedError,
    Xtreme1JobStalledError,
    Xtreme1JobTimeoutError,
    Xtreme1UnknownStatusError,
)
from airflow_provider_xtreme1.statuses import (
    RULES,
    ExportStatus,
    JobKind,
    JobWatch,
    ModelRunStatus,
    Outcome,
    UploadStatus,
    judge,
    validate_event,
)

EXPECTED = {
    (JobKind.IMPORT, "UNSTARTED"): Outcome.RUNNING,
    (JobKind.IMPORT, "DOWNLOADING"): Outcome.RUNNING,
    (JobKind.IMPORT, "DOWNLOAD_COMPLETED"): Outcome.RUNNING,
    (JobKind.IMPORT, "PARSING"): Outcome.RUNNING,
    (JobKind.IMPORT, "PARSE_COMPLETED"): Outcome.SUCCEEDED,
    (JobKind.IMPORT, "FAILED"): Outcome.FAILED,
    (JobKind.EXPORT, "UNSTARTED"): Outcome.RUNNING,
    (JobKind.EXPORT, "GENERATING"): Outcome.RUNNING,
    (JobKind.EXPORT, "COMPLETED"): Outcome.SUCCEEDED,
    (JobKind.EXPORT, "FAILED"): Outcome.FAILED,
    (JobKind.MODEL_RUN, "STARTED"): Outcome.RUNNING,
    (JobKind.MODEL_RUN, "RUNNING"): Outcome.RUNNING,
    (JobKind.MODEL_RUN, "SUCCESS"): Outcome.SUCCEEDED,
    (JobKind.MODEL_RUN, "SUCCESS_WITH_ERROR"): Outcome.SUCCEEDED,
    (JobKind.MODEL_RUN, "FAILURE"): Outcome.FAILED,
}


def record(kind: JobKind, status: str, ref: str = "1", **fields) -> dict:
    return {RULES[kind].id_field: ref, "status": status, **fields}


def test_every_server_status_is_covered():
    enums = {JobKind.IMPORT: UploadStatus, JobKind.EXPORT: ExportStatus, JobKind.MODEL_RUN: ModelRunStatus}
    assert {(k, s.value) for k, e in enums.items() for s in e} == set(EXPECTED)


@pytest.mark.parametrize(
    ("kind", "status"), sorted(EXPECTED, key=str), ids=lambda v: str(getattr(v, "value", v))
)
def test_outcome_of_each_status(kind, status):
    verdict = judge(kind, ["1"], {"1": record(kind, status)}, now=100.0)
    assert verdict.outcome is EXPECTED[(kind, status)]
    assert verdict.statuses == {"1": status}


def test_unknown_status_fails_closed():
    verdict = judge(JobKind.IMPORT, ["1"], {"1": record(JobKind.IMPORT, "QUEUED_FOR_LATER")}, now=0)
    assert verdict.outcome is Outcome.UNKNOWN
    assert "QUEUED_FOR_LATER" in verdict.message


def test_unknown_serial_fails():
    verdict = judge(JobKind.IMPORT, ["42"], {}, now=0)
    assert verdict.outcome is Outcome.FAILED
    assert "does not know the import 42" in verdict.message


def test_failure_carries_server_message():
    rec = record(JobKind.IMPORT, "FAILED", errorMessage="The format of the compressed package is incorrect")
    verdict = judge(JobKind.IMPORT, ["1"], {"1": rec}, now=0)
    assert "compressed package is incorrect" in verdict.message


def test_model_failure_carries_error_reason():
    rec = record(JobKind.MODEL_RUN, "FAILURE", errorReason='["7:Model service connection timed out"]')
    verdict = judge(JobKind.MODEL_RUN, ["1"], {"1": rec}, now=0)
    assert verdict.outcome is Outcome.FAILED and "connection timed out" in verdict.message


def test_import_warnings_and_fail_on_warnings():
    rec = record(
        JobKind.IMPORT, "PARSE_COMPLETED", errorMessage="Duplicate data names;Duplicate scene names:scene_01;"
    )
    ok = judge(JobKind.IMPORT, ["1"], {"1": rec}, now=0)
    assert ok.outcome is Outcome.SUCCEEDED
    assert ok.warnings == ["1: Duplicate data names", "1: Duplicate scene names:scene_01"]
    strict = judge(JobKind.IMPORT, ["1"], {"1": rec}, now=0, fail_on_warnings=True)
    assert strict.outcome is Outcome.FAILED and "Duplicate data names" in strict.message


def test_partial_model_run_is_a_warning_without_reason():
    verdict = judge(
        JobKind.MODEL_RUN, ["5"], {"5": record(JobKind.MODEL_RUN, "SUCCESS_WITH_ERROR", "5")}, now=0
    )
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.warnings == ["5: model run 5 ended SUCCESS_WITH_ERROR"]


def test_stall_is_measured_from_the_last_change():
    running = {"1": record(JobKind.IMPORT, "DOWNLOADING", downloadedFileSize=10)}
    first = judge(JobKind.IMPORT, ["1"], running, now=0, stall_timeout=60)
    assert first.outcome is Outcome.RUNNING
    later = judge(JobKind.IMPORT, ["1"], running, now=59, progress=first.progress, stall_timeout=60)
    assert later.outcome is Outcome.RUNNING
    moved = {"1": record(JobKind.IMPORT, "DOWNLOADING", downloadedFileSize=20)}
    progressed = judge(JobKind.IMPORT, ["1"], moved, now=100, progress=later.progress, stall_timeout=60)
    assert progressed.outcome is Outcome.RUNNING
    stalled = judge(JobKind.IMPORT, ["1"], moved, now=161, progress=progressed.progress, stall_timeout=60)
    assert stalled.outcome is Outcome.STALLED
    assert "stalled at DOWNLOADING" in stalled.message


def test_deadline_times_out_running_jobs_only():
    running = {"1": record(JobKind.EXPORT, "GENERATING")}
    assert judge(JobKind.EXPORT, ["1"], running, now=10, deadline=10).outcome is Outcome.TIMED_OUT
    done = {"1": record(JobKind.EXPORT, "COMPLETED")}
    assert judge(JobKind.EXPORT, ["1"], done, now=10, deadline=5).outcome is Outcome.SUCCEEDED


def test_many_jobs_wait_for_all_and_fail_on_any():
    ids = ["1", "2"]
    one_done = {
        "1": record(JobKind.IMPORT, "PARSE_COMPLETED", "1"),
        "2": record(JobKind.IMPORT, "PARSING", "2"),
    }
    assert judge(JobKind.IMPORT, ids, one_done, now=0).outcome is Outcome.RUNNING
    one_failed = {**one_done, "2": record(JobKind.IMPORT, "FAILED", "2")}
    assert judge(JobKind.IMPORT, ids, one_failed, now=0).outcome is Outcome.FAILED


def test_progress_survives_json():
    import json

    running = {"1": record(JobKind.MODEL_RUN, "RUNNING", completionRate=0.5)}
    first = judge(JobKind.MODEL_RUN, ["1"], running, now=0, stall_timeout=30)
    restored = json.loads(json.dumps(first.progress))
    assert judge(JobKind.MODEL_RUN, ["1"], running, now=31, progress=restored, stall_timeout=30).outcome is (
        Outcome.STALLED
    )


def test_watch_observe_and_poll_failure():
    watch = JobWatch(JobKind.IMPORT, ["1"], end_time=50, stall_timeout=None)
    assert watch.observe({"1": record(JobKind.IMPORT, "PARSING")}, now=1) is None
    assert watch.status_line == "1: PARSING"
    assert watch.poll_failed(RuntimeError("boom"), now=10) is None
    timed_out = watch.poll_failed(RuntimeError("boom"), now=50)
    assert timed_out["outcome"] == "timed_out" and "boom" in timed_out["message"]
    final = watch.observe({"1": record(JobKind.IMPORT, "PARSE_COMPLETED", totalDataNum=3)}, now=11)
    assert final["outcome"] == "succeeded"
    assert final["records"] == [record(JobKind.IMPORT, "PARSE_COMPLETED", totalDataNum=3)]
    assert final["ids"] == ["1"] and final["kind"] == "import"


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (None, Xtreme1JobError),
        ({"message": "no outcome"}, Xtreme1JobError),
        ({"outcome": "exploded"}, Xtreme1JobError),
        ({"outcome": "running"}, Xtreme1JobError),
        ({"outcome": "failed", "message": "m"}, Xtreme1JobFailedError),
        ({"outcome": "stalled", "message": "m"}, Xtreme1JobStalledError),
        ({"outcome": "timed_out", "message": "m"}, Xtreme1JobTimeoutError),
        ({"outcome": "unknown", "message": "m"}, Xtreme1UnknownStatusError),
    ],
    ids=["none", "no-outcome", "bad-outcome", "running", "failed", "stalled", "timed_out", "unknown"],
)
def test_validate_event_rejects(event, error):
    with pytest.raises(error):
        validate_event(event)


def test_validate_event_accepts_success():
    event = {"outcome": "succeeded", "message": "ok", "ids": ["1"]}
    assert validate_event(event) == event


def test_events_leave_out_signed_urls():
    watch = JobWatch(JobKind.EXPORT, ["7"])
    done = record(
        JobKind.EXPORT, "COMPLETED", "7", fileName="a.zip", filePath="http://s/a.zip?X-Amz-Signature=s"
    )
    event = watch.observe({"7": done}, now=0)
    assert event["records"] == [{"serialNumber": "7", "status": "COMPLETED", "fileName": "a.zip"}]


def test_import_status_line_tells_items_and_bytes():
    watch = JobWatch(JobKind.IMPORT, ["1", "2"])
    records = {
        "1": record(
            JobKind.IMPORT,
            "PARSING",
            totalDataNum=10,
            parsedDataNum=3,
            totalFileSize=40 << 20,
            downloadedFileSize=40 << 20,
        ),
        "2": record(JobKind.IMPORT, "DOWNLOADING", totalFileSize=2048, downloadedFileSize=1000),
    }
    assert watch.observe(records, now=1) is None
    assert watch.status_line == (
        "1: PARSING, 3 of 10 items parsed, 40.0 MiB of 40.0 MiB downloaded; "
        "2: DOWNLOADING, 1000 B of 2.0 KiB downloaded"
    )
