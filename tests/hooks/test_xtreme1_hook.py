"""Both hooks against the emulator over real HTTP, with the same expectations for each twin."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import threading
import time
import urllib.parse
import uuid
import zipfile
from typing import Any

import pytest
import requests
from PIL import Image
from xtreme1_testing import TEST_TOKEN, create_classes

from airflow_provider_xtreme1 import __version__
from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ApiError,
    Xtreme1AuthError,
    Xtreme1ConfigError,
    Xtreme1NotFoundError,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook, Xtreme1Hook
from airflow_provider_xtreme1.retries import RetryPolicy

FAST = RetryPolicy(backoff=0.01, max_backoff=0.05, max_elapsed=20)


class Twin:
    """Calls a sync or an async hook the same way, so one test body checks both."""

    def __init__(
        self, kind: str, hook: Xtreme1Hook | Xtreme1AsyncHook, loop: asyncio.AbstractEventLoop | None
    ):
        self.kind = kind
        self.hook = hook
        self.loop = loop

    def __getattr__(self, name: str):
        method = getattr(self.hook, name)
        if self.kind == "sync":
            return method
        return lambda *args, **kwargs: self.loop.run_until_complete(method(*args, **kwargs))


def add_connection(monkeypatch, conn_id: str, host: str, token: str | None, **extra: Any) -> str:
    payload = {"conn_type": "xtreme1", "host": host, "password": token, "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))
    return conn_id


@pytest.fixture(params=["sync", "async"])
def make_twin(request, emu):
    kind = request.param
    loop = asyncio.new_event_loop() if kind == "async" else None
    made: list[Twin] = []

    def make(conn_id: str = "xtreme1_default", **kwargs: Any) -> Twin:
        kwargs.setdefault("retry_policy", FAST)
        hook = (Xtreme1Hook if kind == "sync" else Xtreme1AsyncHook)(conn_id, **kwargs)
        made.append(Twin(kind, hook, loop))
        return made[-1]

    yield make
    for twin in made:
        if kind == "sync":
            twin.hook.close()
        else:
            loop.run_until_complete(twin.hook.aclose())
    if loop is not None:
        loop.close()


@pytest.fixture
def x1(make_twin) -> Twin:
    return make_twin()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def requests_to(emu, path: str, method: str | None = None) -> list[dict[str, Any]]:
    return [r for r in emu.request_log if r["path"] == path and (method is None or r["method"] == method)]


def image_zip(count: int = 2) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(count):
            img = io.BytesIO()
            Image.new("RGB", (8, 6), (20 * i, 100, 30)).save(img, "PNG")
            zf.writestr(f"batch/image_0/{i:04d}.png", img.getvalue())
    return buf.getvalue()


def wait_for(x1: Twin, kind: str, ids: list[str], done: set[str], dataset_id: int | None = None) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        records = x1.get_job_records(kind, ids, dataset_id=dataset_id)
        if len(records) == len(ids) and all(r["status"] in done for r in records.values()):
            return records
        time.sleep(0.02)
    raise AssertionError(f"{kind} {ids} not finished: {records}")


def settled_count(emu, path: str) -> int:
    """Requests to ``path`` once the emulator handles none (it logs a request when it answers, so a
    delayed one shows up late)."""
    emu.wait_idle()
    return len(requests_to(emu, path))


def imported_dataset(x1: Twin, count: int = 2) -> tuple[int, str]:
    """An IMAGE dataset with ``count`` images, imported through the hook's calls."""
    dataset = x1.create_dataset(unique("img"), "IMAGE")
    urls = x1.get_presigned_upload_url(dataset["id"], "batch-01.zip")
    put = requests.put(urls["presignedUrl"], data=image_zip(count), timeout=10)
    assert put.status_code == 200, put.text
    serial = x1.start_import(dataset["id"], urls["accessUrl"])
    wait_for(x1, "import", [serial], {"PARSE_COMPLETED", "FAILED"})
    return dataset["id"], serial


# --------------------------------------------------------------------------------------------------
# Every method against the emulator
# --------------------------------------------------------------------------------------------------


def test_current_user_and_request_headers(x1, emu):
    user = x1.get_current_user()
    assert user["username"] == "emulator@xtreme1.local"
    (entry,) = emu.request_log
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    assert headers["authorization"] == f"Bearer {emu.token}"
    library = "requests" if x1.kind == "sync" else "httpx"
    assert headers["user-agent"] == f"airflow-provider-xtreme1/{__version__} (+{library})"
    assert entry["path"] == "/api/user/logged"


def test_dataset_lifecycle(x1, emu):
    name = unique("cars")
    created = x1.create_dataset(name, "LIDAR_FUSION", description="front lidar")
    dataset_id = created["id"]
    assert isinstance(dataset_id, int) and created["name"] == name and created["type"] == "LIDAR_FUSION"
    x1.create_dataset(name + "-copy", "IMAGE")  # also matches the LIKE search

    assert x1.get_dataset(dataset_id)["name"] == name
    page = x1.find_datasets(name=name, page_size=5)
    assert page["total"] == 2 and {d["name"] for d in page["list"]} == {name, name + "-copy"}
    assert x1.find_datasets(name=name, dataset_type="IMAGE")["total"] == 1
    assert x1.find_dataset_by_name(name)["id"] == dataset_id
    assert x1.find_dataset_by_name(name[:-1]) is None
    assert x1.get_dataset_classes(dataset_id) == []  # a new dataset has no classes
    create_classes(emu, dataset_id, "Car", "Truck")
    assert [c["name"] for c in x1.get_dataset_classes(dataset_id)] == ["Car", "Truck"]
    # Xtreme1's @RequestBody endpoints answer any other content type with HTTP 500.
    create = next(e for e in emu.request_log if e["path"] == "/api/dataset/create")
    assert {k.lower(): v for k, v in create["headers"].items()}["content-type"] == "application/json"

    assert x1.delete_dataset(dataset_id) is None
    with pytest.raises(Xtreme1NotFoundError) as missing:
        x1.get_dataset(dataset_id)
    assert missing.value.code == "NOT_FOUND" and missing.value.http_status == 200
    with pytest.raises(Xtreme1NotFoundError) as again:
        x1.delete_dataset(dataset_id)
    assert again.value.code == "DATASET_NOT_FOUND"
    assert len(requests_to(emu, f"/api/dataset/delete/{dataset_id}")) == 2  # neither was retried


def test_business_error_at_http_200_is_not_retried(x1, emu):
    name = unique("dup")
    x1.create_dataset(name, "IMAGE")
    with pytest.raises(Xtreme1ApiError) as excinfo:
        x1.create_dataset(name, "IMAGE")
    assert type(excinfo.value) is Xtreme1ApiError
    assert (excinfo.value.code, excinfo.value.http_status) == ("DATASET_NAME_DUPLICATED", 200)
    assert "DATASET_NAME_DUPLICATED" in str(excinfo.value)
    assert len(requests_to(emu, "/api/dataset/create")) == 2


def test_import_flow_and_data(x1, emu):
    dataset_id, serial = imported_dataset(x1, count=3)
    assert isinstance(serial, str) and serial.isdigit()  # served as text/plain, kept as a string
    (record,) = x1.get_upload_records([serial])
    assert record["serialNumber"] == serial and record["status"] == "PARSE_COMPLETED"
    assert x1.get_job_records("import", [serial, "123"]) == {serial: record}

    page = x1.find_data(dataset_id, page_size=2)
    assert page["total"] == 3 and len(page["list"]) == 2
    assert [d["name"] for d in x1.find_data(dataset_id, page_no=2, page_size=2)["list"]] == ["0002"]
    assert x1.find_data(dataset_id, name="0001")["total"] == 1
    annotations = x1.get_raw_annotations([d["id"] for d in page["list"]])
    assert [a["dataId"] for a in annotations] == [d["id"] for d in page["list"]]
    query = requests_to(emu, "/api/data/findByPage")[-1]["query"]
    assert query["name"] == ["0001"] and query["datasetId"] == [str(dataset_id)]


def test_import_problems_show_in_the_record(x1):
    dataset = x1.create_dataset(unique("bad"), "IMAGE")
    urls = x1.get_presigned_upload_url(dataset["id"], "empty.zip")
    requests.put(urls["presignedUrl"], data=image_zip(0), timeout=10).raise_for_status()
    serial = x1.start_import(dataset["id"], urls["accessUrl"])
    (record,) = wait_for(x1, "import", [serial], {"PARSE_COMPLETED", "FAILED"}).values()
    assert record["status"] == "FAILED" and record["errorMessage"]


def test_export_flow(x1, emu):
    dataset_id, _ = imported_dataset(x1)
    serial = x1.start_export(dataset_id)
    assert isinstance(serial, str) and serial.isdigit()
    query = requests_to(emu, "/api/data/export")[-1]["query"]
    assert query["selectModelRunIds"] == ["-1"] and query["dataFormat"] == ["XTREME1"]
    records = wait_for(x1, "export", [serial], {"COMPLETED", "FAILED"})
    assert records[serial]["status"] == "COMPLETED" and records[serial]["filePath"]
    (listed,) = x1.get_export_records(serial)
    assert listed["serialNumber"] == serial and listed["fileName"].endswith(".zip")


def test_model_flow(x1, emu):
    dataset_id, _ = imported_dataset(x1, count=2)
    models = x1.list_models("IMAGE")
    assert [m["id"] for m in models] == [2]
    model = x1.get_model(2)
    assert model["name"] == "COCO Object Detection" and model["url"]
    assert x1.get_model(999) is None
    assert x1.count_model_run_data(dataset_id, 2) == 2
    assert x1.count_model_run_data(dataset_id, 2, annotation_status="ANNOTATED") == 0

    assert x1.start_model_run(dataset_id, 2, classes=["person", "car"], min_confidence=0.1) is None
    body_sent = requests_to(emu, "/api/model/modelRun")
    assert len(body_sent) == 1
    (run,) = x1.find_model_runs(2, dataset_ids=[dataset_id], page_size=1)["list"]
    assert isinstance(run["modelSerialNo"], str)
    run_id = str(run["id"])
    records = wait_for(x1, "model_run", [run_id], {"SUCCESS", "SUCCESS_WITH_ERROR", "FAILURE"}, dataset_id)
    assert records[run_id]["status"] == "SUCCESS"
    assert [r["id"] for r in x1.get_model_runs_of_dataset(dataset_id)] == [run["id"]]
    (finished,) = x1.get_finished_model_runs(dataset_id)
    assert finished["modelId"] == 2 and [r["id"] for r in finished["runRecords"]] == [run["id"]]
    assert x1.find_model_runs(2, dataset_ids=dataset_id, status="FAILURE")["total"] == 0


def test_model_run_errors(x1, emu):
    with pytest.raises(ValueError, match="classes"):
        x1.start_model_run(1, 2, classes=[])
    assert emu.request_log == []  # rejected before any request
    dataset = x1.create_dataset(unique("empty"), "IMAGE")
    with pytest.raises(Xtreme1ApiError) as excinfo:
        x1.start_model_run(dataset["id"], 2, classes=["person"])
    assert excinfo.value.code == "DATASET_DATA_SCENARIO_NOT_FOUND"
    with pytest.raises(Xtreme1NotFoundError) as missing:
        x1.start_model_run(987654, 2, classes=["person"])
    assert missing.value.code == "DATASET__NOT_EXIST"


def test_dataset_url(emu, monkeypatch):
    assert Xtreme1Hook().dataset_url(5) == f"{emu.url}/#/datasets/data?id=5"
    add_connection(monkeypatch, "x1_web", emu.url, emu.token, web_url="https://label.example.com/")
    assert Xtreme1Hook("x1_web").dataset_url("6") == "https://label.example.com/#/datasets/data?id=6"


# --------------------------------------------------------------------------------------------------
# Errors, retries and timeouts
# --------------------------------------------------------------------------------------------------


def test_rejected_token_is_not_retried(make_twin, emu, monkeypatch):
    x1 = make_twin(add_connection(monkeypatch, "x1_wrong_token", emu.url, "not-the-token"))
    with pytest.raises(Xtreme1AuthError) as excinfo:
        x1.get_current_user()
    assert excinfo.value.http_status == 401 and excinfo.value.code == "LOGIN_STATUS_TIMEOUT"
    assert "password" in str(excinfo.value) and "not-the-token" not in str(excinfo.value)
    assert len(emu.request_log) == 1


def test_revoked_token(make_twin, emu, monkeypatch):
    emu.add_token("short-lived-token")
    x1 = make_twin(add_connection(monkeypatch, "x1_revoked", emu.url, "short-lived-token"))
    assert x1.get_current_user()["id"]
    emu.revoke_token("short-lived-token")
    with pytest.raises(Xtreme1AuthError):
        x1.get_current_user()


def test_missing_token_is_a_config_error(make_twin, emu, monkeypatch):
    x1 = make_twin(add_connection(monkeypatch, "x1_no_token", emu.url, None))
    with pytest.raises(Xtreme1ConfigError, match="x1_no_token"):
        x1.get_current_user()
    assert emu.request_log == []


def test_500_unknown_is_not_retried(x1, emu):
    emu.inject(
        Fault(
            path=r"^/api/dataset/info/", kind="envelope", status=500, message="java.lang.NullPointerException"
        )
    )
    with pytest.raises(Xtreme1ApiError) as excinfo:
        x1.get_dataset(1)
    assert (excinfo.value.code, excinfo.value.http_status) == ("UNKNOWN", 500)
    assert "NullPointerException" in str(excinfo.value)
    assert len(requests_to(emu, "/api/dataset/info/1")) == 1


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (
            Fault(
                path=r"^/api/user/logged$",
                kind="status",
                status=200,
                body="<html><body>Sign in</body></html>",
            ),
            "is not JSON",
        ),
        (Fault(path=r"^/api/user/logged$", kind="status", status=500), "500 Internal Server Error"),
        (Fault(path=r"^/api/user/logged$", kind="empty"), "empty response body"),
        (
            Fault(
                path=r"^/api/user/logged$",
                kind="status",
                status=200,
                body='{"status": "UP"}',
                content_type="application/json",
            ),
            "not an Xtreme1 envelope",
        ),
    ],
    ids=["html-200", "html-500", "empty-200", "foreign-json"],
)
def test_bodies_that_are_not_envelopes(x1, emu, fault, fragment):
    emu.inject(fault)
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.get_current_user()
    assert fragment in str(excinfo.value)
    assert len(emu.request_log) == 1


def test_text_plain_serial_numbers(x1, emu):
    body = '{"code":"OK","message":"","data":"1790000000000000123"}'
    emu.inject(
        Fault(
            path=r"^/api/data/upload$",
            kind="status",
            status=200,
            body=body,
            content_type="text/plain;charset=UTF-8",
        )
    )
    assert x1.start_import(1, "http://minio:9000/xtreme1/a.zip") == "1790000000000000123"
    numeric = '{"code":"OK","message":"","data":1790000000000000124}'
    emu.inject(
        Fault(path=r"^/api/data/export$", kind="status", status=200, body=numeric, content_type="text/plain")
    )
    assert x1.start_export(1) == "1790000000000000124"


def test_gateway_errors_are_retried_until_success(x1, emu):
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=503, times=2))
    assert x1.get_current_user()["username"]
    assert [r["status"] for r in emu.request_log] == [503, 503, 200]


def test_retries_give_up_after_max_retries(make_twin, emu):
    x1 = make_twin(retry_policy=RetryPolicy(max_retries=2, backoff=0.01))
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=502, times=None))
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.get_current_user()
    assert excinfo.value.status == 502 and "502 Bad Gateway" in str(excinfo.value)
    assert len(emu.request_log) == 3


def test_retry_after_is_honoured(x1, emu):
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=429, retry_after=1))
    started = time.monotonic()
    assert x1.get_current_user()["username"]
    assert time.monotonic() - started >= 0.95  # FAST backoff alone would wait at most 0.01 s
    assert [r["status"] for r in emu.request_log] == [429, 200]


def test_retry_after_beyond_the_cap_ends_retries(make_twin, emu):
    x1 = make_twin(retry_policy=RetryPolicy(backoff=0.01, max_retry_after=0.5))
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=429, retry_after=30))
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.get_current_user()
    assert (excinfo.value.status, excinfo.value.retry_after) == (429, 30)
    assert len(emu.request_log) == 1


def test_dropped_connection_retried_for_reads(x1, emu):
    emu.inject(Fault(path=r"^/api/data/findUploadRecordBySerialNumbers$", kind="drop"))
    assert x1.get_upload_records(["1"]) == []
    assert len(requests_to(emu, "/api/data/findUploadRecordBySerialNumbers")) == 2


def test_dropped_connection_not_retried_for_imports(x1, emu):
    emu.inject(Fault(path=r"^/api/data/upload$", method="POST", kind="drop"))
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.start_import(1, "http://minio:9000/xtreme1/a.zip")
    assert "may have processed it" in str(excinfo.value) and excinfo.value.status is None
    assert len(requests_to(emu, "/api/data/upload")) == 1


def test_gateway_timeout_not_retried_for_model_runs(x1, emu):
    emu.inject(Fault(path=r"^/api/model/modelRun$", kind="status", status=504))
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.start_model_run(1, 2, classes=["person"])
    assert excinfo.value.status == 504 and "may have processed it" in str(excinfo.value)
    assert len(requests_to(emu, "/api/model/modelRun")) == 1


def test_read_timeout_retried_for_reads_only(make_twin, emu):
    x1 = make_twin(request_timeout=0.2)
    dataset = x1.create_dataset(unique("slow"), "IMAGE")
    path = f"/api/dataset/info/{dataset['id']}"
    emu.inject(Fault(path="^" + path + "$", kind="delay", delay=0.6))
    assert x1.get_dataset(dataset["id"])["id"] == dataset["id"]
    assert settled_count(emu, path) == 2

    emu.inject(Fault(path=r"^/api/data/upload$", kind="delay", delay=0.6))
    started = time.monotonic()
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.start_import(dataset["id"], "http://minio:9000/xtreme1/a.zip")
    assert time.monotonic() - started < 0.55
    assert "read timeout" in str(excinfo.value) and "may have processed it" in str(excinfo.value)
    assert settled_count(emu, "/api/data/upload") == 1


def test_unreachable_host(make_twin, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    x1 = make_twin(
        add_connection(monkeypatch, "x1_nowhere", f"http://127.0.0.1:{port}", "tok"),
        retry_policy=RetryPolicy(max_retries=1, backoff=0.01),
    )
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.get_current_user()
    assert excinfo.value.status is None and "cannot connect" in str(excinfo.value)


def test_tls_failure_is_reported_not_retried(make_twin, emu, monkeypatch):
    https_url = emu.url.replace("http://", "https://")  # the emulator speaks plain HTTP
    x1 = make_twin(add_connection(monkeypatch, "x1_tls", https_url, emu.token))
    started = time.monotonic()
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.get_current_user()
    assert "TLS handshake failed" in str(excinfo.value) and "plain HTTP" in str(excinfo.value)
    assert time.monotonic() - started < 1  # not retried with backoff


def test_missing_ca_bundle_is_a_config_error(make_twin, emu, monkeypatch, tmp_path):
    missing = str(tmp_path / "corp-ca.pem")
    x1 = make_twin(add_connection(monkeypatch, "x1_ca", emu.url, emu.token, ca_bundle=missing))
    with pytest.raises(Xtreme1ConfigError, match=r"corp-ca\.pem"):
        x1.get_current_user()
    assert emu.request_log == []


def test_token_never_reaches_logs_or_errors(x1, emu, caplog):
    # Airflow's structlog config drops DEBUG; give the hook a plain logger to see every line.
    x1.hook._log = logging.getLogger("xtreme1.hook.test")
    caplog.set_level(logging.DEBUG, logger="xtreme1.hook.test")
    x1.get_current_user()
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=503, times=None))
    with pytest.raises(Xtreme1TransportError) as excinfo:
        x1.get_current_user()
    assert f"GET {emu.url}/api/user/logged" in caplog.text  # requests were logged at DEBUG …
    assert "retrying" in caplog.text
    assert emu.token not in caplog.text  # … without the token
    assert emu.token not in str(excinfo.value)


# --------------------------------------------------------------------------------------------------
# Lifecycle and the event loop
# --------------------------------------------------------------------------------------------------


def test_hooks_do_no_io_until_used(make_twin, emu):
    x1 = make_twin("no_such_connection_anywhere")
    assert emu.request_log == []
    with pytest.raises(Exception, match="no_such_connection_anywhere"):
        x1.get_current_user()


def test_close_then_reuse(x1, emu):
    x1.get_current_user()
    if x1.kind == "sync":
        x1.hook.close()
    else:
        x1.loop.run_until_complete(x1.hook.aclose())
    assert x1.get_current_user()["username"]


def test_sync_hook_keeps_one_session_and_resolves_connection_once(emu, monkeypatch):
    calls = []
    original = Xtreme1Hook.get_connection.__func__

    def counting(cls, conn_id):
        calls.append(conn_id)
        return original(cls, conn_id)

    monkeypatch.setattr(Xtreme1Hook, "get_connection", classmethod(counting))
    with Xtreme1Hook() as hook:
        session = hook.get_conn()
        hook.get_current_user()
        hook.find_datasets()
        assert hook.get_conn() is session
    assert calls == ["xtreme1_default"]


async def test_async_hook_never_looks_up_the_connection_on_the_event_loop(emu, monkeypatch):
    loop_thread = threading.get_ident()
    original = Xtreme1AsyncHook.get_connection.__func__

    def guarded(cls, conn_id):
        assert threading.get_ident() != loop_thread, "blocking get_connection() ran on the event loop"
        return original(cls, conn_id)

    monkeypatch.setattr(Xtreme1AsyncHook, "get_connection", classmethod(guarded))
    async with Xtreme1AsyncHook() as hook:
        assert (await hook.get_current_user())["username"]
        assert (await hook.find_datasets())["pageNo"] == 1


async def test_async_retry_waits_without_blocking_the_loop(emu):
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=503, times=2))
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    async with Xtreme1AsyncHook(retry_policy=RetryPolicy(backoff=0.2, jitter=False)) as hook:
        started = time.monotonic()
        await hook.get_current_user()
        waited = time.monotonic() - started
    beat.cancel()
    assert waited >= 0.6  # 0.2 + 0.4 s of backoff
    assert ticks >= 30  # the loop kept running while the hook slept


# --------------------------------------------------------------------------------------------------
# test_connection (sync only) and registration
# --------------------------------------------------------------------------------------------------


def test_connection_ok(emu):
    ok, message = Xtreme1Hook().test_connection()
    assert ok is True
    assert "emulator@xtreme1.local" in message and emu.url in message


def test_port_in_its_own_field(emu, monkeypatch):
    """The shape the UI's Test button works with: scheme and host in Host, the port in Port."""
    url = urllib.parse.urlsplit(emu.url)
    payload = {
        "conn_type": "xtreme1",
        "host": f"http://{url.hostname}",
        "port": url.port,
        "password": emu.token,
    }
    monkeypatch.setenv("AIRFLOW_CONN_X1_PORT_FIELD", json.dumps(payload))
    ok, message = Xtreme1Hook("x1_port_field").test_connection()
    assert ok, message
    assert f"{emu.url}/api" in message


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("wrong_token", "rejected the API token"),
        ("unreachable", "Cannot reach"),
        ("not_xtreme1", "did not answer like Xtreme1"),
        ("no_token", "no API token"),
        ("no_connection", "Cannot read the connection"),
        ("ports_disagree", "holds port"),
    ],
)
def test_connection_failures(emu, monkeypatch, setup, fragment):
    conn_id = "x1_probe"
    if setup == "wrong_token":
        add_connection(monkeypatch, conn_id, emu.url, "wrong")
    elif setup == "unreachable":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        add_connection(monkeypatch, conn_id, f"http://127.0.0.1:{port}", "tok")
    elif setup == "not_xtreme1":
        add_connection(monkeypatch, conn_id, emu.url, emu.token)
        emu.inject(
            Fault(
                path=r"^/api/user/logged$", kind="status", status=200, body="<html>Welcome to nginx!</html>"
            )
        )
    elif setup == "no_token":
        add_connection(monkeypatch, conn_id, emu.url, "")
    elif setup == "ports_disagree":
        payload = {"conn_type": "xtreme1", "host": emu.url, "port": 1, "password": emu.token}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))
    started = time.monotonic()
    ok, message = Xtreme1Hook(conn_id).test_connection()
    assert ok is False
    assert fragment in message, message
    if setup != "no_connection":
        # The UI tests a copy of the connection under a random temporary id: messages never name it.
        assert conn_id not in message
    assert emu.token not in message
    assert time.monotonic() - started < 5
    assert len(emu.request_log) <= 1  # no retries


def test_registration():
    from airflow.sdk import Connection

    from airflow_provider_xtreme1.get_provider_info import get_provider_info

    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["hook-class-name"] == f"{Xtreme1Hook.__module__}.{Xtreme1Hook.__qualname__}"
    assert (Xtreme1Hook.conn_type, Xtreme1Hook.hook_name) == (
        conn_type["connection-type"],
        conn_type["hook-name"],
    )
    assert (Xtreme1Hook.conn_name_attr, Xtreme1Hook.default_conn_name) == (
        "xtreme1_conn_id",
        "xtreme1_default",
    )
    hook = Connection(
        conn_id="x1_registered", conn_type="xtreme1", host="http://x1:8190", password="t"
    ).get_hook()
    assert isinstance(hook, Xtreme1Hook) and hook.xtreme1_conn_id == "x1_registered"


def test_model_run_data_count_of_an_unknown_dataset_is_zero(x1, emu):
    # ModelController.findModelRunDataCount is a COUNT over the dataset's rows: no dataset, no rows, no error.
    assert x1.count_model_run_data(987654, 1) == 0


# ---------------------------------------------------------------------------- hints at the real cause


def test_doubled_api_prefix_says_the_host_is_wrong(make_twin, emu, monkeypatch):
    conn_id = add_connection(monkeypatch, "x1_double_api", emu.url + "/api/api", TEST_TOKEN)
    with pytest.raises(Xtreme1NotFoundError) as excinfo:
        make_twin(conn_id).find_datasets()
    message = str(excinfo.value)
    assert "HTTP_404" in message and "/api/dataset/findByPage" in message
    assert "host or its path prefix is probably wrong" in message


def test_https_against_plain_http_says_so(make_twin, emu, monkeypatch):
    conn_id = add_connection(
        monkeypatch, "x1_https_on_http", emu.url.replace("http://", "https://"), TEST_TOKEN
    )
    with pytest.raises(Xtreme1TransportError, match=r"seems to speak plain HTTP.*Use http://"):
        make_twin(conn_id).get_current_user()
    twin = make_twin(conn_id)
    if twin.kind == "sync":
        ok, message = twin.test_connection()
        assert not ok and "plain HTTP" in message


def test_host_without_scheme_warns_once_that_the_token_travels_in_clear(make_twin, emu, monkeypatch, caplog):
    from airflow_provider_xtreme1 import _connection

    conn_id = add_connection(monkeypatch, "x1_no_scheme", emu.url.removeprefix("http://"), TEST_TOKEN)
    monkeypatch.setattr(_connection, "_WARNED_CLEAR_TEXT", set())
    with caplog.at_level(logging.WARNING, logger="airflow_provider_xtreme1._connection"):
        assert make_twin(conn_id).get_current_user()["id"]
        make_twin(conn_id).get_current_user()
    warnings = [r.getMessage() for r in caplog.records if "clear text" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert f"Write https://{emu.url.removeprefix('http://')}" in warnings[0]
