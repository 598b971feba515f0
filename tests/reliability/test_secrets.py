"""Secret hygiene: the API token and presigned-URL signatures stay out of logs, errors, XComs, rendered
template fields and trigger events; TLS is verified unless the connection turns it off.

Session-wide audits (tests/reliability/conftest.py) add: no request to any emulator's storage carries
the token, and at the end of the session no XCom / rendered-fields row of the metadata DB holds the
token, and no rendered-fields row an unmasked signature. ``dag.test()`` output is not masked by Airflow
(docs: airflow-notes §5.4), so a secret missing from it was never logged at all.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from reliability_kit import FAST
from xtreme1_testing import TEST_TOKEN, connection_uri, run_dag, xcom

from airflow_provider_xtreme1 import transfer
from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import Xtreme1StorageError, Xtreme1TransportError
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook, Xtreme1Hook
from airflow_provider_xtreme1.operators.upload import (
    Xtreme1GetUploadUrlOperator,
    Xtreme1ImportDatasetOperator,
    Xtreme1PutArchiveOperator,
)
from airflow_provider_xtreme1.sample_data import make_sample_dataset
from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger


def secrets_of(url: str) -> list[str]:
    """The signature and credential values of a presigned URL (as they appear in it and decoded)."""
    raw = dict(part.split("=", 1) for part in urlsplit(url).query.split("&") if "=" in part)
    decoded = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return [value for key in ("X-Amz-Signature", "X-Amz-Credential") for value in {raw[key], decoded[key]}]


def run_xcoms(run) -> list[Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id).all()
        return [row.value for row in rows]


def rendered_fields(run, task_id: str) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(RenderedTaskInstanceFields)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id)
            .one()
        )
        return dict(row.rendered_fields)


# ------------------------------------------------------------------------------ runs through Airflow


def test_run_with_a_rejected_token_leaks_nothing(emu, dagbag, capfd, monkeypatch, tmp_path):
    rejected = "rejected-token-5d1e77ab"
    monkeypatch.setenv("AIRFLOW_CONN_XTREME1_DEFAULT", connection_uri(emu.url, token=rejected))
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=1)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "rejected", "dataset_type": "LIDAR_BASIC"},
    )
    out = "".join(capfd.readouterr())
    assert tis["ensure_dataset"].state == "failed"
    assert "rejected the API token on GET /dataset/findByPage" in out
    assert rejected not in out and TEST_TOKEN not in out
    assert rejected not in json.dumps(run_xcoms(run), default=str)
    assert [r["status"] for r in emu.request_log] == [401]  # not retried


def test_run_that_fails_after_the_upload_leaks_nothing(emu, dagbag, capfd, tmp_path):
    # Every status poll of the import fails with a server error: the run fails after GetUploadUrl and the
    # PUT, with presigned URLs in XCom and in rendered template fields.
    emu.inject(
        Fault(path=r"^/api/data/findUploadRecordBySerialNumbers$", kind="envelope", status=500, times=None)
    )
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=1)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "late-failure", "dataset_type": "LIDAR_BASIC"},
    )
    out = "".join(capfd.readouterr())
    assert tis["put_archive"].state == "success" and tis["import_dataset"].state == "failed"
    assert "findUploadRecordBySerialNumbers failed: UNKNOWN" in out
    urls = xcom(run, "get_upload_url")
    secrets = secrets_of(urls["presigned_url"]) + secrets_of(urls["access_url"])
    # dag.test output is unmasked: the provider itself never logs a token or a signature.
    assert TEST_TOKEN not in out
    assert not [s for s in secrets if s in out], "a presigned signature or credential was logged"
    assert "X-Amz-Signature=***" in out  # the URLs were logged, masked
    # Rendered template fields (stored in the DB, shown in the UI) are masked by Airflow's masker.
    for task_id, field in (
        ("put_archive", "presigned_url"),
        ("put_archive", "access_url"),
        ("import_dataset", "file_url"),
    ):
        value = rendered_fields(run, task_id)[field]
        assert "X-Amz-Signature=***" in value, (task_id, field, value)
        assert not [s for s in secrets if s in value]
    assert TEST_TOKEN not in json.dumps(run_xcoms(run), default=str)


# ------------------------------------------------------------------------------ the secret masker


@pytest.fixture
def masker():
    from airflow.sdk.log import _secrets_masker

    return _secrets_masker()


def fresh_urls(dataset_id: int) -> dict[str, str]:
    """URLs straight from the API, never seen by the provider's masking."""
    with Xtreme1Hook() as hook:
        return hook.get_presigned_upload_url(dataset_id, "fresh.zip")


def test_get_upload_url_registers_its_signatures(emu, lidar, masker):
    class TI:
        def xcom_push(self, key: str, value: Any) -> None:
            pass

    result = Xtreme1GetUploadUrlOperator(task_id="url", dataset_id=lidar["id"], file_name="a.zip").execute(
        {"ti": TI()}
    )
    for url in (result["presigned_url"], result["access_url"]):
        line = masker.redact(f"PUT {url} failed")
        assert "X-Amz-Signature=***" in line and "X-Amz-Credential=***" in line
        assert not [s for s in secrets_of(url) if s in line]


def test_rendered_template_fields_are_masked(emu, lidar, masker):
    from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields

    urls = fresh_urls(lidar["id"])
    put = Xtreme1PutArchiveOperator(
        task_id="put",
        presigned_url="{{ params.put_url }}",
        access_url="{{ params.get_url }}",
        source="/data/a.zip",
    )
    imp = Xtreme1ImportDatasetOperator(
        task_id="import", dataset_id=lidar["id"], file_url="{{ params.get_url }}"
    )
    context = {"params": {"put_url": urls["presignedUrl"], "get_url": urls["accessUrl"]}}
    for op in (put, imp):
        op.render_template_fields(context)
    assert put.presigned_url == urls["presignedUrl"]  # the task itself gets the real URL
    stored = json.dumps({**_serialize_rendered_fields(put), **_serialize_rendered_fields(imp)})
    assert stored.count("X-Amz-Signature=***") == 3
    assert not [s for s in secrets_of(urls["presignedUrl"]) + secrets_of(urls["accessUrl"]) if s in stored]


def test_export_trigger_event_carries_no_signed_url(emu, lidar):
    """Trigger events are logged by the triggerer and stored in the DB: the export's filePath stays out."""
    with Xtreme1Hook() as hook:
        serial = hook.start_export(lidar["id"])
    (event,) = asyncio.run(
        _collect(Xtreme1JobTrigger("xtreme1_default", "export", [serial], poll_interval=0.05))
    )
    assert event.payload["outcome"] == "succeeded"
    assert "X-Amz-" not in json.dumps(event.payload) and "filePath" not in event.payload["records"][0]


async def _collect(trigger) -> list[Any]:
    return [event async for event in trigger.run()]


def test_errors_and_debug_logs_never_show_the_token(emu, lidar, caplog):
    # tests/hooks checks this for one endpoint; here for a call whose request body and query carry ids.
    import logging

    hook = Xtreme1Hook(retry_policy=FAST)
    hook._log = logging.getLogger("xtreme1.reliability.hook")
    caplog.set_level(logging.DEBUG, logger="xtreme1.reliability.hook")
    emu.inject(Fault(path=r"^/api/data/upload$", kind="status", status=503, times=None))
    with pytest.raises(Xtreme1TransportError) as info:
        hook.start_import(lidar["id"], "http://minio:9000/xtreme1/a.zip")
    assert "POST /data/upload" in caplog.text and "retrying" in caplog.text
    assert TEST_TOKEN not in caplog.text and TEST_TOKEN not in str(info.value)
    assert TEST_TOKEN not in repr(hook.settings)


# ------------------------------------------------------------------------------------------------- TLS


@pytest.mark.parametrize("twin", ["sync", "async"])
def test_api_tls_is_verified_unless_turned_off(tls_endpoint, monkeypatch, twin):
    def user(conn_id: str, **extra: Any) -> Any:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_uri(tls_endpoint.url, **extra))
        if twin == "sync":
            with Xtreme1Hook(conn_id, retry_policy=FAST) as hook:
                return hook.get_current_user()

        async def call() -> Any:
            async with Xtreme1AsyncHook(conn_id, retry_policy=FAST) as hook:
                return await hook.get_current_user()

        return asyncio.run(call())

    seen = len(tls_endpoint.handler.seen)
    with pytest.raises(Xtreme1TransportError, match=r"TLS handshake failed .*verify.*ca_bundle") as info:
        user("x1_tls_default")
    assert info.value.status is None and TEST_TOKEN not in str(info.value)
    assert len(tls_endpoint.handler.seen) == seen, "no request (and no token) went over the unverified link"
    assert user("x1_tls_ca", ca_bundle=str(tls_endpoint.cert))["username"] == "tls"
    assert user("x1_tls_verify_path", verify=str(tls_endpoint.cert))["username"] == "tls"
    assert user("x1_tls_off", verify=False)["username"] == "tls"
    with pytest.raises(Xtreme1TransportError, match="TLS handshake failed"):
        user("x1_tls_on", verify="true")


def test_storage_tls_is_verified_unless_turned_off(tls_endpoint, tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK" + b"z" * 300)
    url = tls_endpoint.presigned("a.zip")
    seen = len(tls_endpoint.handler.seen)
    with pytest.raises(Xtreme1StorageError, match=r"TLS certificate check .*failed.*verify=") as info:
        transfer.upload(url, archive, backoff=0.01)
    assert "X-Amz-Signature=***" in str(info.value)
    assert len(tls_endpoint.handler.seen) == seen
    assert transfer.upload(url, archive, verify=str(tls_endpoint.cert)).bytes == 302
    assert transfer.upload(url, archive, verify=False).bytes == 302
    assert transfer.download(url, tmp_path / "back.zip", verify=str(tls_endpoint.cert)).bytes == 302
    with pytest.raises(Xtreme1StorageError, match=r"TLS certificate check"):
        transfer.download(url, tmp_path / "never.zip", backoff=0.01)
    assert not (tmp_path / "never.zip").exists()
