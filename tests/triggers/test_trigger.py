"""The job trigger: serialisation, and polling the emulator on a real event loop."""

from __future__ import annotations

import asyncio
import functools
import json
import time

import pytest
from xtreme1_testing import start_import

from airflow_provider_xtreme1 import retries
from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.sample_data import make_sample_dataset
from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger

TRIGGERS = [
    (Xtreme1JobTrigger, {"conn_id": "c", "kind": "import", "ids": ["1", "2"]}),
    (Xtreme1JobTrigger, {"conn_id": "c", "kind": "export", "ids": ["9"]}),
    (Xtreme1JobTrigger, {"conn_id": "c", "kind": "model_run", "ids": ["5"], "dataset_id": 3}),
]


@pytest.mark.parametrize(("cls", "kwargs"), TRIGGERS, ids=[k["kind"] for _, k in TRIGGERS])
def test_serialize_round_trip(cls, kwargs):
    from airflow.sdk.serde import deserialize, serialize

    trigger = cls(**kwargs, poll_interval=3, end_time=123.5, stall_timeout=60.0, fail_on_warnings=True)
    path, stored = trigger.serialize()
    assert path == f"airflow_provider_xtreme1.triggers.xtreme1.{cls.__name__}"
    stored = deserialize(serialize(json.loads(json.dumps(stored))))
    again = cls(**stored)
    assert again.serialize() == (path, stored)
    assert stored["poll_interval"] == 3 and stored["end_time"] == 123.5 and stored["fail_on_warnings"] is True


@pytest.fixture
def fast_retries(monkeypatch):
    """Hooks built by triggers give up after one quick retry, so trigger-level retries show."""
    from airflow_provider_xtreme1.hooks import xtreme1

    monkeypatch.setattr(
        xtreme1, "RetryPolicy", functools.partial(retries.RetryPolicy, max_retries=1, backoff=0.01)
    )


@pytest.fixture
def started_import(emu, tmp_path):
    """A real import running on the emulator; returns its serial number."""
    emu.step_delay = 0.2
    folder = make_sample_dataset(tmp_path / "set", "LIDAR_BASIC", items=2)
    return start_import(folder, "LIDAR_BASIC", result_type=None)[1]


async def collect(trigger) -> list:
    return [event async for event in trigger.run()]


def test_fires_once_on_success(emu, started_import):
    events = asyncio.run(
        collect(Xtreme1JobTrigger("xtreme1_default", "import", [started_import], poll_interval=0.1))
    )
    assert len(events) == 1
    payload = events[0].payload
    assert payload["outcome"] == "succeeded"
    assert payload["records"][0]["status"] == "PARSE_COMPLETED"
    assert payload["ids"] == [started_import]


def test_transient_poll_errors_do_not_fail(emu, started_import, fast_retries):
    emu.inject(Fault(path=r"^/api/data/findUploadRecordBySerialNumbers$", kind="status", status=503, times=5))
    events = asyncio.run(
        collect(Xtreme1JobTrigger("xtreme1_default", "import", [started_import], poll_interval=0.05))
    )
    assert [e.payload["outcome"] for e in events] == ["succeeded"]
    statuses = [r["status"] for r in emu.request_log if r["path"].endswith("findUploadRecordBySerialNumbers")]
    assert statuses[:5] == [503] * 5 and statuses[-1] == 200


def test_unknown_serial_fails(emu):
    events = asyncio.run(collect(Xtreme1JobTrigger("xtreme1_default", "import", ["1234567890123456789"])))
    assert events[0].payload["outcome"] == "failed"
    assert "does not know the import 1234567890123456789" in events[0].payload["message"]


def test_deadline_times_out(emu, started_import):
    emu.step_delay = 2.0  # the import is still running at the first poll
    trigger = Xtreme1JobTrigger("xtreme1_default", "import", [started_import], end_time=time.time() - 1)
    events = asyncio.run(collect(trigger))
    assert events[0].payload["outcome"] == "timed_out"
    assert "did not finish in time" in events[0].payload["message"]


def test_rejected_token_fails_at_once(emu, started_import, monkeypatch):
    from xtreme1_testing import connection_uri

    monkeypatch.setenv("AIRFLOW_CONN_XTREME1_BAD", connection_uri(emu.url, token="not-a-token"))
    events = asyncio.run(collect(Xtreme1JobTrigger("xtreme1_bad", "import", [started_import])))
    assert events[0].payload["outcome"] == "failed"
    assert "rejected the API token" in events[0].payload["message"]
    assert "not-a-token" not in events[0].payload["message"]


def test_recreated_trigger_resumes_the_same_import(emu, started_import):
    """A triggerer restart: the trigger is stopped mid-wait and rebuilt from its serialised kwargs."""

    async def first_poll_then_stop(trigger):
        task = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.sleep(0.3)
        assert not task.done(), "the import should still be running"
        task.cancel()

    trigger = Xtreme1JobTrigger("xtreme1_default", "import", [started_import], poll_interval=0.1)
    asyncio.run(first_poll_then_stop(trigger))
    _, kwargs = trigger.serialize()
    events = asyncio.run(collect(Xtreme1JobTrigger(**kwargs)))
    assert events[0].payload["outcome"] == "succeeded"
    assert events[0].payload["ids"] == [started_import]
    assert len([r for r in emu.request_log if r["path"] == "/api/data/upload"]) == 1
