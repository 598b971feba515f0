"""Fixtures of the reliability tests: fast retries, datasets in the session emulator, a TLS server, and
session-wide audits that no secret reached object storage, XCom or rendered template fields.

The audits are installed when this folder is collected and checked once, when the session ends, so they
also cover tests in other folders (including those that start their own emulator instances).
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import threading
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from reliability_kit import TLSEndpoint, TLSHandler, make_self_signed
from xtreme1_testing import TEST_TOKEN, ingest

from airflow_provider_xtreme1.emulator.emulator import Xtreme1Emulator
from airflow_provider_xtreme1.retries import RetryPolicy

# -------------------------------------------------------------------------------------------------
# Session-wide audits. tests/conftest.py checks the session emulator's storage log around each test;
# this wraps the storage log of EVERY emulator instance, so emulators that tests start themselves
# (tests/emulator) are covered too. Only requests the provider sent (its User-Agent) count: some tests
# send a bearer header to storage on purpose, with plain requests, to show the store refuses it. The
# presigned fault server and rclone of tests/transfer are not emulators; those tests assert the
# absence of Authorization themselves.

_STORAGE_LEAKS: list[str] = []
_log_storage = Xtreme1Emulator._log_storage


def _audited_log_storage(self: Xtreme1Emulator, entry: dict[str, Any]) -> None:
    headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
    text = json.dumps({k: entry.get(k) for k in ("path", "query", "headers")}, default=str)
    ours = headers.get("user-agent", "").startswith("airflow-provider-xtreme1/")
    if ours and ("authorization" in headers or any(t and t in text for t in {TEST_TOKEN, *self._tokens})):
        _STORAGE_LEAKS.append(f"{entry.get('method')} {entry.get('path')}")
    _log_storage(self, entry)


if Xtreme1Emulator._log_storage.__name__ != "_audited_log_storage":
    Xtreme1Emulator._log_storage = _audited_log_storage  # type: ignore[method-assign]

_UNMASKED_SIGNATURE = re.compile(r"(?i)X-Amz-(Signature|Credential)=(?!\*\*\*)[^&\s\"']+")


def audit_metadata_db() -> list[str]:
    """Every XCom and every rendered-fields row of the session's metadata DB, scanned for secrets."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    problems = []
    with create_session() as session:
        for row in session.query(XComModel).all():
            if TEST_TOKEN in json.dumps(row.value, default=str):
                problems.append(f"API token in XCom {row.dag_id}.{row.task_id}[{row.key}]")
        for row in session.query(RenderedTaskInstanceFields).all():
            text = json.dumps(row.rendered_fields, default=str)
            if TEST_TOKEN in text:
                problems.append(f"API token in rendered fields of {row.dag_id}.{row.task_id}")
            if _UNMASKED_SIGNATURE.search(text):
                problems.append(f"unmasked presigned URL in rendered fields of {row.dag_id}.{row.task_id}")
    return problems


@pytest.fixture(scope="session", autouse=True)
def session_secret_audit(airflow_db):
    """When the session ends: no API token reached any emulator's object storage, no XCom and no rendered
    template field holds the API token, and no rendered template field holds a presigned signature."""
    yield
    problems = [f"API token sent to object storage: {leak}" for leak in _STORAGE_LEAKS]
    problems += audit_metadata_db()
    assert not problems, "\n".join(problems)


# -------------------------------------------------------------------------------------------------
# Fast retries and datasets


@pytest.fixture
def fast_retries(monkeypatch):
    """Hooks that operators and triggers build themselves retry like ``FAST`` (same policy, ms waits)."""
    from airflow_provider_xtreme1.hooks import xtreme1

    monkeypatch.setattr(
        xtreme1,
        "RetryPolicy",
        functools.partial(RetryPolicy, max_retries=2, backoff=0.01, max_backoff=0.02, jitter=False),
    )


@pytest.fixture(scope="module")
def lidar(emulator, tmp_path_factory) -> dict[str, Any]:
    """A LIDAR_FUSION dataset with 2 frames of ground truth (model 1 runs on it), plus its ``serial``."""
    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    emulator.step_delay = 0.05
    folder = make_sample_dataset(tmp_path_factory.mktemp("lidar") / "set", "LIDAR_FUSION", items=2, cameras=1)
    return ingest(folder, "LIDAR_FUSION")


@pytest.fixture(scope="module")
def image(emulator, tmp_path_factory) -> dict[str, Any]:
    """An IMAGE dataset with 2 images, plus its ``serial``."""
    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    emulator.step_delay = 0.05
    folder = make_sample_dataset(tmp_path_factory.mktemp("image") / "set", "IMAGE", items=2)
    return ingest(folder, "IMAGE")


# -------------------------------------------------------------------------------------------------
# TLS


@pytest.fixture(scope="module")
def tls_endpoint(tmp_path_factory):
    """HTTPS on loopback with a self-signed certificate that no default trust store accepts."""
    cert, key = make_self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    handler = type("Handler", (TLSHandler,), {"objects": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield TLSEndpoint(f"https://127.0.0.1:{server.server_address[1]}", cert, handler)
    server.shutdown()
    server.server_close()
