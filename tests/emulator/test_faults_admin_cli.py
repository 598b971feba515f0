"""Fault injection, the /_emulator admin endpoints and the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from emulator_kit import TOKEN, image_bytes, make_zip

from airflow_provider_xtreme1.emulator import Fault


def test_status_fault_sends_nginx_html_once(emu, api):
    emu.inject(Fault(path=r"^/api/user/logged$", kind="status", status=502))
    resp = api.get("/user/logged")
    assert resp.status_code == 502 and resp.headers["Content-Type"] == "text/html"
    assert "<center><h1>502 Bad Gateway</h1></center>" in resp.text and "nginx" in resp.text
    assert api.get("/user/logged").status_code == 200
    assert [e["status"] for e in emu.request_log] == [502, 200]


def test_429_with_retry_after_and_method_filter(emu, api):
    emu.inject(
        Fault(path=r"^/api/dataset/", method="POST", kind="status", status=429, retry_after=3, times=2)
    )
    assert api.get("/dataset/findByPage").status_code == 200
    first = api.post("/dataset/create", {"name": "x", "type": "IMAGE"})
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert api.post("/dataset/create", {"name": "x", "type": "IMAGE"}).status_code == 429
    assert api.post("/dataset/create", {"name": "x", "type": "IMAGE"}).json()["code"] == "OK"


def test_drop_delay_envelope_empty(emu, api):
    emu.inject(Fault(path=r"^/api/user/logged$", kind="drop"))
    with pytest.raises(requests.ConnectionError):
        api.get("/user/logged")
    emu.inject(Fault(path=r"^/api/user/logged$", kind="delay", delay=0.6))
    with pytest.raises(requests.ReadTimeout):
        api.s.get(api.base + "/user/logged", timeout=0.2)
    emu.inject(Fault(path=r"^/api/user/logged$", kind="envelope", code="ERROR", message="Service error"))
    assert api.get("/user/logged").json() == {"code": "ERROR", "message": "Service error", "data": None}
    emu.inject(Fault(path=r"^/api/user/logged$", kind="empty"))
    empty = api.get("/user/logged")
    assert empty.status_code == 200 and empty.content == b""
    emu.inject(Fault(path=r"^/api/user/logged$", kind="delay", delay=0.2, times=None))
    started = time.monotonic()
    assert api.get("/user/logged").status_code == 200
    assert api.get("/user/logged").status_code == 200
    assert time.monotonic() - started >= 0.4
    emu.clear_faults()


def test_lost_answers_come_after_the_request_was_handled(emu, api):
    """``drop_answer`` / ``stall_answer``: the dataset is created, only the answer is lost or late."""
    requests.post(
        emu.url + "/_emulator/faults",
        json={"path": "^/api/dataset/create$", "kind": "drop_answer"},
        timeout=5,
    ).raise_for_status()
    with pytest.raises(requests.ConnectionError):
        api.post("/dataset/create", {"name": "lost-1", "type": "IMAGE"})
    emu.inject(Fault(path=r"^/api/dataset/create$", kind="stall_answer", delay=0.6))
    with pytest.raises(requests.ReadTimeout):
        api.s.post(api.base + "/dataset/create", json={"name": "lost-2", "type": "IMAGE"}, timeout=0.2)
    names = [d["name"] for d in api.data(api.get("/dataset/findByPage", name="lost-"))["list"]]
    assert sorted(names) == ["lost-1", "lost-2"]
    assert [e["status"] for e in emu.request_log[:2]] == [200, 200]
    assert not emu._faults.active()


def test_drop_on_storage_put_stores_nothing(emu, api):
    ds = api.dataset("IMAGE")
    urls = api.data(api.get("/data/generatePresignedUrl", fileName="a.zip", datasetId=ds))
    emu.inject(Fault(path=r"^/minio/", method="PUT", kind="drop"))
    with pytest.raises(requests.ConnectionError):
        requests.put(urls["presignedUrl"], data=b"z" * 300_000, timeout=5)
    assert emu.storage_log[-1]["status"] is None
    key = urls["presignedUrl"].split("/minio/xtreme1/")[1].split("?")[0]
    assert not emu._objects.exists(key)
    assert requests.put(urls["presignedUrl"], data=b"z" * 10, timeout=5).status_code == 200


def test_stall_faults_freeze_jobs(emu, api):
    ds = api.dataset("IMAGE")
    payload = make_zip({"image_0/a.png": image_bytes()})
    emu.inject(Fault(path=r"^/api/data/upload$", kind="stall", stall_at="DOWNLOAD_COMPLETED"))
    emu.inject(Fault(path=r"^/api/data/export$", kind="stall"))
    stuck = api.upload(ds, payload)
    fine = api.upload(ds, make_zip({"image_0/b.png": image_bytes()}))
    assert api.wait_upload(fine)[0]["status"] == "PARSE_COMPLETED"
    api.emu.wait_jobs()  # the job returned: what it left now stays
    assert api.upload_record(stuck)["status"] == "DOWNLOAD_COMPLETED"
    frozen = api.data(api.get("/data/export", datasetId=ds))
    done = api.wait_export(api.data(api.get("/data/export", datasetId=ds)))
    assert done["status"] == "COMPLETED"
    assert (
        api.data(api.get("/data/findExportRecordBySerialNumbers", serialNumbers=frozen))[0]["status"]
        == "GENERATING"
    )
    emu.inject(Fault(path=r"^/api/data/upload$", kind="stall"))
    again = api.upload(ds, make_zip({"image_0/c.png": image_bytes()}))
    api.emu.wait_jobs()  # the job returned: what it left now stays
    assert api.upload_record(again)["status"] == "DOWNLOADING"


def test_admin_endpoints_and_reset(emu, api):
    admin = emu.url + "/_emulator"
    resp = requests.post(
        admin + "/faults", json={"path": "^/api/user/logged$", "kind": "status", "status": 503}, timeout=5
    )
    assert resp.status_code == 200 and resp.json()["faults"][0]["status"] == 503
    assert requests.post(admin + "/faults", json={"path": "x", "kind": "boom"}, timeout=5).status_code == 400
    assert api.get("/user/logged").status_code == 503
    requests.post(admin + "/faults", json={"path": "^/api/user/logged$", "kind": "empty"}, timeout=5)
    assert requests.delete(admin + "/faults", timeout=5).json() == {"faults": []}
    assert api.get("/user/logged").status_code == 200
    log = requests.get(admin + "/request-log", timeout=5).json()
    assert [e["status"] for e in log] == [503, 200]
    assert log[-1]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    ds = api.dataset("IMAGE")
    api.put_object(ds, "a.zip", b"abc")
    assert requests.get(admin + "/storage-log", timeout=5).json()[0]["bytes"] == 3
    requests.post(admin + "/reset", json={"state": False}, timeout=5)
    assert emu.request_log == [] and emu.storage_log == []
    assert api.data(api.get(f"/dataset/info/{ds}"))["id"] == ds
    requests.post(admin + "/reset", json={"state": True}, timeout=5)
    assert api.get(f"/dataset/info/{ds}").json()["code"] == "NOT_FOUND"
    assert len(api.data(api.get("/model/list"))) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_starts_answers_and_stops(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_xtreme1.emulator",
            "--port",
            str(port),
            "--token",
            "cli-token",
            "--data-dir",
            str(tmp_path),
            "--step-delay",
            "0.01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        resp = requests.get(
            f"http://127.0.0.1:{port}/api/user/logged",
            headers={"Authorization": "Bearer cli-token"},
            timeout=5,
        )
        assert resp.json()["code"] == "OK"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert (tmp_path / "store").is_dir()
