"""The fault matrix: every API call the operators make, and storage PUT/GET, against every fault the
emulator injects, over real HTTP. One test per cell; the cells are tabled in docs/reliability.md.

Behaviour per cell:

* 502/503/504 (nginx HTML body), dropped connection, read timeout on a call that only reads → retried
  with backoff; succeeds when the fault clears; fails naming the endpoint when it persists.
* the same on a call that STARTS something (import, export, model run, dataset create) → 503 is retried
  (nginx answered, the backend never saw the request); 502, 504, a drop or a read timeout fail at once
  with a "may have processed it" error naming the endpoint: repeating could import twice.
* 429 with Retry-After → waits that long and succeeds (all calls: the rate limiter answers first).
* HTTP-200 business errors and HTTP-500 UNKNOWN → no retry, the server's code and message.
* 401 → no retry, "rejected the API token", the token is not in the message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from reliability_kit import FAST, unique, wait_settled
from xtreme1_testing import TEST_TOKEN, connection_uri

from airflow_provider_xtreme1 import transfer
from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ApiError,
    Xtreme1AuthError,
    Xtreme1NotFoundError,
    Xtreme1StorageError,
    Xtreme1TransportError,
    Xtreme1UrlExpiredError,
)
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook, Xtreme1Hook

LIDAR_MODEL = 1
#: Read-timeout cells: the hook gives up after TIMEOUT s, the emulator answers after DELAY s.
TIMEOUT, DELAY = 0.08, 0.16
#: nginx's page titles, which the error messages quote.
NGINX = {
    "502": "502 Bad Gateway",
    "503": "503 Service Temporarily Unavailable",
    "504": "504 Gateway Time-out",
}


@dataclass(frozen=True)
class Call:
    """One API call an operator makes: how to make it through the hook, and how the emulator sees it."""

    name: str
    method: str
    path: str  # regex of the path as sent (``/api/...``)
    endpoint: str  # what error messages must name
    starts: bool  # starts something on the server: not repeated once it may have arrived
    invoke: Callable[[Any, dict[str, Any]], Any]


CALLS = [
    Call(
        "presigned_url",
        "GET",
        r"^/api/data/generatePresignedUrl$",
        "GET /data/generatePresignedUrl",
        False,
        lambda h, c: h.get_presigned_upload_url(c["dataset_id"], "cell.zip")["presignedUrl"],
    ),
    Call(
        "start_import",
        "POST",
        r"^/api/data/upload$",
        "POST /data/upload",
        True,
        lambda h, c: h.start_import(c["dataset_id"], "http://minio:9000/xtreme1/none/cell.zip"),
    ),
    Call(
        "upload_records",
        "GET",
        r"^/api/data/findUploadRecordBySerialNumbers$",
        "GET /data/findUploadRecordBySerialNumbers",
        False,
        lambda h, c: h.get_upload_records([c["import_serial"]])[0]["status"],
    ),
    Call(
        "start_export",
        "GET",
        r"^/api/data/export$",
        "GET /data/export",
        True,
        lambda h, c: h.start_export(c["dataset_id"]),
    ),
    Call(
        "export_records",
        "GET",
        r"^/api/data/findExportRecordBySerialNumbers$",
        "GET /data/findExportRecordBySerialNumbers",
        False,
        lambda h, c: h.get_export_records([c["export_serial"]])[0]["status"],
    ),
    Call(
        "start_model_run",
        "POST",
        r"^/api/model/modelRun$",
        "POST /model/modelRun",
        True,
        lambda h, c: h.start_model_run(c["dataset_id"], LIDAR_MODEL, classes=["CAR"]) or "started",
    ),
    Call(
        "run_records",
        "GET",
        r"^/api/modelRun/findModelRunRecordByDatasetId/\d+$",
        "GET /modelRun/findModelRunRecordByDatasetId/",
        False,
        lambda h, c: h.get_job_records("model_run", [c["run_id"]], dataset_id=c["dataset_id"])[c["run_id"]],
    ),
    Call(
        "find_model_runs",
        "GET",
        r"^/api/modelRun/findModelRunRecordByPage$",
        "GET /modelRun/findModelRunRecordByPage",
        False,
        lambda h, c: h.find_model_runs(LIDAR_MODEL, dataset_ids=[c["dataset_id"]])["list"],
    ),
    Call(
        "create_dataset",
        "POST",
        r"^/api/dataset/create$",
        "POST /dataset/create",
        True,
        lambda h, c: h.create_dataset(unique("cell"), "IMAGE")["id"],
    ),
    Call(
        "dataset_info",
        "GET",
        r"^/api/dataset/info/\d+$",
        "GET /dataset/info/",
        False,
        lambda h, c: h.get_dataset(c["dataset_id"])["type"],
    ),
    Call(
        "find_datasets",
        "GET",
        r"^/api/dataset/findByPage$",
        "GET /dataset/findByPage",
        False,
        lambda h, c: h.find_dataset_by_name(c["dataset_name"])["id"],
    ),
    Call(
        "find_data",
        "GET",
        r"^/api/data/findByPage$",
        "GET /data/findByPage",
        False,
        lambda h, c: h.find_data(c["dataset_id"], page_size=1)["total"],
    ),
    Call(
        "model_info",
        "GET",
        r"^/api/model/info/\d+$",
        "GET /model/info/",
        False,
        lambda h, c: h.get_model(LIDAR_MODEL)["id"],
    ),
    Call(
        "model_data_count",
        "GET",
        r"^/api/model/modelRun/dataCount$",
        "GET /model/modelRun/dataCount",
        False,
        lambda h, c: h.count_model_run_data(c["dataset_id"], LIDAR_MODEL),
    ),
]
CALL_IDS = [c.name for c in CALLS]
TRANSPORT_FAULTS = ["502", "503", "504", "drop", "read_timeout"]


def fault_for(call: Call, kind: str, times: int | None) -> Fault:
    if kind == "drop":
        return Fault(path=call.path, method=call.method, kind="drop", times=times)
    if kind == "read_timeout":
        return Fault(path=call.path, method=call.method, kind="delay", delay=DELAY, times=times)
    return Fault(path=call.path, method=call.method, kind="status", status=int(kind), times=times)


@pytest.fixture(scope="module")
def ctx(lidar) -> dict[str, Any]:
    """Ids the calls need: the dataset, and an import, an export and a model run of it."""
    with Xtreme1Hook() as hook:
        dataset_id = lidar["id"]
        export_serial = hook.start_export(dataset_id)
        hook.start_model_run(dataset_id, LIDAR_MODEL, classes=["CAR"])
        run_id = str(
            hook.find_model_runs(LIDAR_MODEL, dataset_ids=[dataset_id], page_size=1)["list"][0]["id"]
        )
        return {
            "dataset_id": dataset_id,
            "dataset_name": lidar["name"],
            "import_serial": lidar["serial"],
            "export_serial": export_serial,
            "run_id": run_id,
        }


@pytest.fixture
def hook():
    made: list[Xtreme1Hook] = []

    def make(conn_id: str = "xtreme1_default", **kwargs: Any) -> Xtreme1Hook:
        made.append(Xtreme1Hook(conn_id, retry_policy=kwargs.pop("retry_policy", FAST), **kwargs))
        return made[-1]

    yield make
    for h in made:
        h.close()


def attempts(emu, call: Call, expect: int) -> int:
    """How many requests the emulator answered for ``call`` (waiting for ``expect``, then for idleness)."""
    return len([r for r in wait_settled(emu, call.path, expect=expect) if r["method"] == call.method])


def count_sends(x1: Xtreme1Hook) -> list[int]:
    """Count the requests the hook sends (a spy: each one still goes over HTTP)."""
    sent = [0]
    send = x1._send

    def counted(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return send(*args, **kwargs)

    x1._send = counted  # type: ignore[method-assign]
    return sent


def assert_clean(error: BaseException) -> None:
    assert TEST_TOKEN not in str(error)


# -------------------------------------------------------------------------------------- API x faults


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_transport_fault(emu, ctx, hook, call, fault):
    x1 = hook(request_timeout=TIMEOUT if fault == "read_timeout" else None)
    sent = count_sends(x1)
    if call.starts and fault != "503":
        # Not repeated: the request may have reached the backend. Fails fast, naming the endpoint.
        emu.inject(fault_for(call, fault, None))
        started = time.monotonic()
        with pytest.raises(Xtreme1TransportError) as info:
            call.invoke(x1, ctx)
        assert time.monotonic() - started < (DELAY if fault == "read_timeout" else 1.0)
        message = str(info.value)
        assert call.endpoint in message and "may have processed it" in message
        assert getattr(info.value, "retryable", True) is False
        assert sent == [1] and attempts(emu, call, 1) == 1
        assert_clean(info.value)
        return

    # The fault clears after one request: retried, then the call succeeds.
    emu.inject(fault_for(call, fault, 1))
    assert call.invoke(x1, ctx) is not None
    assert sent == [2] and attempts(emu, call, 2) == 2
    emu.reset()
    sent[0] = 0

    # The fault persists: retried max_retries times, then an error naming the endpoint.
    emu.inject(fault_for(call, fault, None))
    with pytest.raises(Xtreme1TransportError) as info:
        call.invoke(x1, ctx)
    assert call.endpoint in str(info.value)
    if fault in NGINX:  # the status and the page title, not the HTML
        assert (
            info.value.status == int(fault) and NGINX[fault] in str(info.value) and "<" not in str(info.value)
        )
    assert (
        sent == [FAST.max_retries + 1] and attempts(emu, call, FAST.max_retries + 1) == FAST.max_retries + 1
    )
    assert_clean(info.value)


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_rate_limit_waits_for_retry_after(emu, ctx, hook, call):
    emu.inject(Fault(path=call.path, method=call.method, kind="status", status=429, retry_after="0.2"))
    started = time.monotonic()
    assert call.invoke(hook(), ctx) is not None
    assert time.monotonic() - started >= 0.19  # FAST's own backoff is 0.01 s
    assert [r["status"] for r in wait_settled(emu, call.path, expect=2)] == [429, 200]


def test_retry_after_beyond_the_bound_ends_the_retries(emu, ctx, hook):
    call = CALLS[0]
    emu.inject(Fault(path=call.path, kind="status", status=429, retry_after="3600", times=None))
    with pytest.raises(Xtreme1TransportError, match=r"HTTP 429, Retry-After 3600 s") as info:
        call.invoke(hook(retry_policy=FAST), ctx)  # FAST honours up to max_retry_after=120 s
    assert info.value.retry_after == 3600
    assert attempts(emu, call, 1) == 1


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (200, "PARAM_ERROR", '["datasetId datasetId cannot be null"]'),
        (500, "UNKNOWN", "java.lang.NullPointerException"),
    ],
    ids=["200-PARAM_ERROR", "500-UNKNOWN"],
)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_server_errors_are_not_retried(emu, ctx, hook, call, status, code, message):
    emu.inject(
        Fault(
            path=call.path,
            method=call.method,
            kind="envelope",
            status=status,
            code=code,
            message=message,
            times=None,
        )
    )
    with pytest.raises(Xtreme1ApiError) as info:
        call.invoke(hook(), ctx)
    assert (info.value.code, info.value.server_message, info.value.http_status) == (code, message, status)
    assert call.endpoint in str(info.value) and code in str(info.value) and message in str(info.value)
    assert attempts(emu, call, 1) == 1


REAL_ERRORS = [
    (
        "dataset_info",
        lambda h, c: h.get_dataset(987654),
        Xtreme1NotFoundError,
        "NOT_FOUND",
        "Resource not found",
    ),
    (
        "start_model_run",
        lambda h, c: h.start_model_run(987654, LIDAR_MODEL, classes=["CAR"]),
        Xtreme1NotFoundError,
        "DATASET__NOT_EXIST",
        "dataset not exist",
    ),
    (
        "start_model_run",
        lambda h, c: h.start_model_run(c["dataset_id"], LIDAR_MODEL, classes=["CAR"], split_type="TEST"),
        Xtreme1ApiError,
        "DATASET_DATA_SCENARIO_NOT_FOUND",
        "No data has been found",
    ),
    (
        "create_dataset",
        lambda h, c: h.create_dataset(c["dataset_name"], "LIDAR_FUSION"),
        Xtreme1ApiError,
        "DATASET_NAME_DUPLICATED",
        "Dataset duplicate name",
    ),
    (
        "start_export",
        lambda h, c: h.start_export(987654),
        Xtreme1ApiError,
        "UNKNOWN",
        "java.lang.NullPointerException",
    ),
]


@pytest.mark.parametrize(
    ("name", "invoke", "error", "code", "message"), REAL_ERRORS, ids=[f"{r[0]}-{r[3]}" for r in REAL_ERRORS]
)
def test_real_business_errors_are_not_retried(emu, ctx, hook, name, invoke, error, code, message):
    call = next(c for c in CALLS if c.name == name)
    with pytest.raises(error) as info:
        invoke(hook(), ctx)
    assert info.value.code == code and message in str(info.value) and call.endpoint in str(info.value)
    assert attempts(emu, call, 1) == 1


@pytest.fixture
def bad_token(monkeypatch, emu) -> str:
    token = "rejected-token-9c2f41"
    monkeypatch.setenv("AIRFLOW_CONN_X1_BAD_TOKEN", connection_uri(emu.url, token=token))
    return token


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_rejected_token_fails_at_once(emu, ctx, hook, bad_token, call):
    with pytest.raises(Xtreme1AuthError, match="rejected the API token") as info:
        call.invoke(hook("x1_bad_token"), ctx)
    assert info.value.http_status == 401 and call.endpoint in str(info.value)
    assert bad_token not in str(info.value) and bad_token not in repr(info.value.args)
    assert attempts(emu, call, 1) == 1


# ---------------------------------------------------------------------- the trigger's polls (async twin)

POLLS = [c for c in CALLS if c.name in ("upload_records", "export_records", "run_records")]


@pytest.mark.parametrize("fault", [*TRANSPORT_FAULTS, "429"])
@pytest.mark.parametrize("call", POLLS, ids=[c.name for c in POLLS])
def test_async_poll_recovers(emu, ctx, call, fault):
    async def poll() -> Any:
        async with Xtreme1AsyncHook(
            retry_policy=FAST, request_timeout=TIMEOUT if fault == "read_timeout" else None
        ) as h:
            kind = {"upload_records": "import", "export_records": "export", "run_records": "model_run"}[
                call.name
            ]
            ids = [ctx[{"import": "import_serial", "export": "export_serial", "model_run": "run_id"}[kind]]]
            return await h.get_job_records(kind, ids, dataset_id=ctx["dataset_id"])

    if fault == "429":
        emu.inject(Fault(path=call.path, kind="status", status=429, retry_after="0.2"))
    else:
        emu.inject(fault_for(call, fault, 1))
    assert len(asyncio.run(poll())) == 1
    assert attempts(emu, call, 2) == 2


@pytest.mark.parametrize("call", POLLS, ids=[c.name for c in POLLS])
def test_async_poll_with_rejected_token_fails_at_once(emu, ctx, bad_token, call):
    async def poll() -> Any:
        async with Xtreme1AsyncHook("x1_bad_token", retry_policy=FAST) as h:
            return await h.get_job_records("import", ["1"], dataset_id=ctx["dataset_id"])

    with pytest.raises(Xtreme1AuthError, match="rejected the API token") as info:
        asyncio.run(poll())
    assert bad_token not in str(info.value)


# ------------------------------------------------------------------------------ storage PUT/GET x faults

STORAGE_FAULTS = ["502", "503", "504", "drop", "read_timeout", "429"]


@pytest.fixture(scope="module")
def export_url(ctx) -> str:
    """A presigned GET URL of a finished export (``filePath``), as the export operator downloads it."""
    with Xtreme1Hook() as h:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            record = h.get_export_records([ctx["export_serial"]])[0]
            if record["status"] == "COMPLETED":
                return record["filePath"]
            time.sleep(0.05)
    raise AssertionError(f"export did not finish: {record}")


def storage_fault(method: str, kind: str, times: int | None) -> Fault:
    path = r"^/minio/"
    if kind == "drop":
        return Fault(path=path, method=method, kind="drop", times=times)
    if kind == "read_timeout":
        return Fault(path=path, method=method, kind="delay", delay=DELAY, times=times)
    if kind == "429":
        wait = "0.2" if times == 1 else "0.05"
        return Fault(path=path, method=method, kind="status", status=429, retry_after=wait, times=times)
    return Fault(path=path, method=method, kind="status", status=int(kind), times=times)


def storage_requests(emu, method: str, expect: int) -> list[dict[str, Any]]:
    return [r for r in wait_settled(emu, r"^/minio/", expect=expect) if r["method"] == method]


@pytest.mark.parametrize("fault", STORAGE_FAULTS)
@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_storage_fault(emu, ctx, export_url, tmp_path, method, fault):
    archive = tmp_path / "cell.zip"
    archive.write_bytes(b"PK" + b"x" * 5000)
    timeout = TIMEOUT if fault == "read_timeout" else 30.0
    with Xtreme1Hook() as h:
        put_url = h.get_presigned_upload_url(ctx["dataset_id"], "cell.zip")["presignedUrl"]

    def transfer_once(destination_name: str, **kwargs: Any) -> Any:
        options = {"timeout": timeout, "backoff": 0.01, "progress_interval": -1, **kwargs}
        if method == "PUT":
            return transfer.upload(put_url, archive, **options)
        return transfer.download(export_url, tmp_path / destination_name, **options)

    emu.reset()
    emu.inject(storage_fault(method, fault, 1))
    started = time.monotonic()
    result = transfer_once("first.zip")
    assert result.bytes > 0
    if fault == "429":
        assert time.monotonic() - started >= 0.19  # waited for Retry-After, not the 0.01 s backoff
    assert len(storage_requests(emu, method, 2)) == 2
    emu.reset()

    emu.inject(storage_fault(method, fault, None))
    with pytest.raises(Xtreme1StorageError, match=r"failed after 3 attempts") as info:
        transfer_once("second.zip", max_retries=2)
    assert "X-Amz-Signature=***" in str(info.value)
    assert export_url.rsplit("=", 1)[1] not in str(info.value) and put_url.rsplit("=", 1)[1] not in str(
        info.value
    )
    assert len(storage_requests(emu, method, 3)) == 3
    assert not list(tmp_path.glob("second.zip*")), "a failed download leaves nothing behind"


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_storage_403_is_not_retried(emu, ctx, export_url, tmp_path, method):
    archive = tmp_path / "cell.zip"
    archive.write_bytes(b"PK" + b"x" * 100)
    with Xtreme1Hook() as h:
        put_url = h.get_presigned_upload_url(ctx["dataset_id"], "cell.zip")["presignedUrl"]
    emu.inject(Fault(path=r"^/minio/", method=method, kind="status", status=403, times=None))
    with pytest.raises(Xtreme1UrlExpiredError, match=r"expired or its signature") as info:
        if method == "PUT":
            transfer.upload(put_url, archive, backoff=0.01)
        else:
            transfer.download(export_url, tmp_path / "x.zip", backoff=0.01)
    assert info.value.status == 403 and "X-Amz-Signature=***" in str(info.value)
    assert len(storage_requests(emu, method, 1)) == 1
