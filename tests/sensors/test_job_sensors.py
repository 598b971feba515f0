"""The job sensors: the operators' result shape and waiting defaults."""

from __future__ import annotations

import json

import pytest

from airflow_provider_xtreme1.emulator.faults import Fault
from airflow_provider_xtreme1.results import job_summary
from airflow_provider_xtreme1.sensors.xtreme1 import (
    Xtreme1ExportSensor,
    Xtreme1ImportSensor,
    Xtreme1ModelRunSensor,
)
from airflow_provider_xtreme1.statuses import DEFAULT_POLL_INTERVAL, DEFAULT_STALL_TIMEOUT, DEFAULT_TIMEOUT

SIGNED = "http://minio:9000/xtreme1/export/gt.zip?X-Amz-Signature=" + "ab" * 32
EXPORT = {
    "serialNumber": "2127064340229001216",
    "status": "COMPLETED",
    "fileName": "gt.zip",
    "filePath": SIGNED,
}


def answer(emu, path: str, data: object) -> None:
    body = json.dumps({"code": "OK", "message": "", "data": data})
    emu.inject(
        Fault(path=path, method="GET", status=200, body=body, content_type="application/json", times=None)
    )


def test_export_sensor_returns_the_snake_case_shape_without_the_signed_url(emu):
    answer(emu, r"^/api/data/findExportRecordBySerialNumbers$", [EXPORT])
    sensor = Xtreme1ExportSensor(task_id="wait", serial_numbers=EXPORT["serialNumber"], deferrable=False)
    done = sensor.poke({})
    assert done.is_done
    assert done.xcom_value == [
        {
            "serial_number": EXPORT["serialNumber"],
            "status": "COMPLETED",
            "file_name": "gt.zip",
            "error_message": None,
        }
    ]
    assert "X-Amz" not in json.dumps(done.xcom_value)


def test_sensors_share_the_operators_waiting_defaults():
    sensor = Xtreme1ImportSensor(task_id="wait", serial_numbers="1")
    assert (sensor.poke_interval, sensor.timeout) == (DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT)
    assert sensor.stall_timeout == DEFAULT_STALL_TIMEOUT
    assert Xtreme1ImportSensor(task_id="w", serial_numbers="1", stall_timeout=0).stall_timeout is None
    assert Xtreme1ImportSensor(task_id="w", serial_numbers="1", poke_interval=2).poke_interval == 2


@pytest.mark.parametrize(
    ("kind", "record", "expected"),
    [
        (
            "import",
            {"serialNumber": 5, "status": "PARSE_COMPLETED", "totalDataNum": 3, "parsedDataNum": 3},
            {"serial_number": "5", "status": "PARSE_COMPLETED", "total_data_num": 3, "parsed_data_num": 3},
        ),
        (
            "model_run",
            {"id": "12", "runNo": "R1", "status": "SUCCESS", "metrics": '{"mAP": 0.5}', "modelId": 3},
            {"run_id": 12, "run_no": "R1", "status": "SUCCESS", "metrics": {"mAP": 0.5}, "model_id": 3},
        ),
    ],
)
def test_job_summary_keys(kind, record, expected):
    summary = job_summary(kind, record)
    assert {k: summary[k] for k in expected} == expected


def test_model_run_sensor_needs_its_dataset():
    with pytest.raises(TypeError):
        Xtreme1ModelRunSensor(task_id="w", run_ids=[1])  # dataset_id is required
